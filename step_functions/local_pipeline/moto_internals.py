"""Every moto internal the local harness reaches into, in one place.

moto runs the state machine, but the harness changes how: Lambda tasks call
the real handlers in-process, Wait states and Retry back-offs advance the
simulated clock instead of sleeping, every interpreter thread keeps its own
simulated time, and the SNS notifications are read back from the backend.
None of that is moto's public API: the classes, method names and signatures
below belong to one moto release. ``check_moto_version`` refuses any other
release, so an upgrade fails at once, with a message saying what to re-check,
instead of running the state machine subtly wrong."""
from __future__ import annotations

import threading
import time
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any, Callable, ContextManager, Optional
from unittest import mock

from .sim_clock import SimClock

# The release every hook below was written against; requirements.lock pins it.
SUPPORTED_MOTO = "5.2.5"

HOOKS = (
    "moto.awslambda_simple.models.LambdaSimpleBackend.invoke",
    "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function.WaitFunction._wait_interval",
    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.time",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state.ExecutionState._eval_execution",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state.ExecutionState._evaluate_with_timeout",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job.JobPool.close_job",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.inline_iteration_component"
    ".InlineIterationComponent._eval_body",
    "moto.stepfunctions.parser.asl.component.program.program.Program.eval",
    "moto.stepfunctions.parser.utils.TMP_THREADS",
    "moto.stepfunctions.parser.asl.eval.event.event_manager.EventManager._get_current_timestamp",
    "moto.sns.models.sns_backends[...].topics[...].sent_notifications",
)

# invoke(function_name, body, response_headers) -> the response payload
Invoke = Callable[[str, Any, dict], bytes]


class UnsupportedMotoVersion(RuntimeError):
    """The installed moto is not the release the harness's hooks were written against."""


def check_moto_version(installed: Optional[str] = None) -> None:
    installed = installed or version("moto")
    if installed != SUPPORTED_MOTO:
        raise UnsupportedMotoVersion(
            f"the local harness patches moto internals written against moto {SUPPORTED_MOTO}, "
            f"but moto {installed} is installed. Re-check each hook in local_pipeline/moto_internals.py "
            f"against moto {installed} ({', '.join(HOOKS)}), then set SUPPORTED_MOTO and the pin "
            f"in requirements.lock to {installed}."
        )


def interpreter_patches(clock: SimClock, invoke: Invoke) -> list[ContextManager[Any]]:
    """The patches that make moto's interpreter run the harness's way, to be
    entered in order (and exited in reverse) while ``mock_aws`` is active."""
    check_moto_version()
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.inline_iteration_component import (
        InlineIterationComponent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    def lambda_invoke(backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: dict) -> bytes:
        return invoke(function_name, body, response_headers)

    def wait_interval(wait_self: Any, env: Any, wait_seconds: int) -> None:
        clock.advance(wait_seconds)

    original_start = threading.Thread.start

    def start_thread(thread: threading.Thread) -> None:
        # Every interpreter thread (execution, task, Map worker) gets its own
        # simulated time, forked from the thread that starts it.
        clock.fork(thread)
        run = thread.run

        def run_and_join() -> None:
            try:
                run()
            finally:
                clock.join(thread)

        thread.run = run_and_join  # type: ignore[method-assign]
        original_start(thread)

    original_close_job = JobPool.close_job
    original_map_body = InlineIterationComponent._eval_body

    def close_job(pool: Any, job: Any) -> None:
        clock.report()
        original_close_job(pool, job)

    def map_body(component: Any, env: Any) -> None:
        try:
            original_map_body(component, env)
        finally:
            clock.fold()

    original_program_eval = Program.eval

    def program_eval(program: Any, env: Any) -> None:
        try:
            original_program_eval(program, env)
        finally:
            clock.fold()

    original_execution = ExecutionState._eval_execution
    original_with_timeout = ExecutionState._evaluate_with_timeout

    def eval_execution(state: Any, env: Any) -> None:
        # Runs in the state's own thread; report before the state is seen as done.
        try:
            original_execution(state, env)
        finally:
            clock.report()

    def evaluate_with_timeout(state: Any, env: Any) -> None:
        try:
            original_with_timeout(state, env)
        finally:
            clock.fold()

    return [
        mock.patch.object(LambdaSimpleBackend, "invoke", lambda_invoke),
        mock.patch.object(WaitFunction, "_wait_interval", wait_interval),
        # Retry back-offs advance the simulated clock too (the reference
        # pipelines poll with them), and never sleep for real.
        mock.patch.object(retrier_decl, "time", SimpleNamespace(sleep=clock.advance, time=time.time)),
        mock.patch.object(threading.Thread, "start", start_thread),
        # History events carry simulated time, so the run report's timeline shows
        # the hours a run takes rather than the seconds the harness takes.
        mock.patch.object(EventManager, "_get_current_timestamp", staticmethod(clock.now)),
        mock.patch.object(ExecutionState, "_eval_execution", eval_execution),
        mock.patch.object(ExecutionState, "_evaluate_with_timeout", evaluate_with_timeout),
        mock.patch.object(JobPool, "close_job", close_job),
        mock.patch.object(InlineIterationComponent, "_eval_body", map_body),
        mock.patch.object(Program, "eval", program_eval),
    ]


def join_interpreter_threads(forget_all: bool = False, timeout: float = 30) -> None:
    """Wait for the interpreter's threads. moto keeps them in a module-level
    list; finished ones are dropped from it (all of them with ``forget_all``,
    at teardown, so nothing leaks into the next test)."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    for thread in list(TMP_THREADS):
        thread.join(timeout=timeout)
        if not forget_all and not thread.is_alive():
            TMP_THREADS.remove(thread)
    if forget_all:
        TMP_THREADS.clear()


def sent_notifications(account: str, region: str, topic_arn: str) -> list[tuple[str, str]]:
    """(subject, message) of every notification moto's SNS published to the topic, oldest first."""
    from moto.sns.models import sns_backends

    return [(entry[2] or "", entry[1]) for entry in sns_backends[account][region].topics[topic_arn].sent_notifications]
