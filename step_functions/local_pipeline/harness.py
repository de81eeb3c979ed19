"""Run the real training state machine locally.

moto's Step Functions interpreter executes the rendered ASL template; Lambda
Task states are dispatched in-process to the real handlers; S3, SNS and SSM
come from moto; Personalize is the stateful fake on a simulated clock that the
state machine's Wait states advance (so a two-hour training takes no time).

    with LocalPipeline(durations={...}, trainer=...) as pipeline:
        result = pipeline.run(params, export_dir)
        pipeline.recommend("my-campaign", "user-1", 10)
"""
from __future__ import annotations

import json
import os
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Optional
from unittest import mock

import boto3

from . import asl, moto_internals
from .fake_personalize import FakePersonalize
from .sim_clock import SimClock

REGISTRY_PATH = Path(__file__).resolve().parents[2] / "lambda_src" / "personalize_pipeline" / "functions.json"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"  # moto's default account
# The training-pipeline module's default lambda.reserved_concurrent_executions, which
# Terraform also passes as the Map states' MaxConcurrency.
DEFAULT_MAP_MAX_CONCURRENCY = 3
PARAMS_KEY = "training/params.json"
EXECUTION_STATUS_POLL = 0.02
# A guard against a hung interpreter thread, not a performance assertion.
EXECUTION_REAL_TIME_LIMIT = 600


def _load_handler(dotted: str) -> Callable[[dict, Any], Any]:
    module_name, func_name = dotted.rsplit(".", 1)
    module = __import__(module_name, fromlist=[func_name])
    return getattr(module, func_name)


def load_registry(path: Path = REGISTRY_PATH) -> dict[str, dict]:
    return json.loads(path.read_text(encoding="utf-8"))["functions"]


@dataclass
class RunResult:
    execution_arn: str
    status: str
    output: Optional[dict]
    error: Optional[str]
    cause: Optional[str]
    history: list[dict]
    notifications: list[dict]
    lambda_invocations: Counter
    simulated_seconds: float

    @property
    def failure_notifications(self) -> list[dict]:
        return [n for n in self.notifications if n["subject"].startswith("Personalize training FAILED")]

    @property
    def success_notifications(self) -> list[dict]:
        return [n for n in self.notifications if n["subject"].startswith("Personalize training succeeded")]

    @property
    def summary(self) -> Optional[dict]:
        """The success notification's content: ARNs, metrics, gate verdicts."""
        found = self.success_notifications
        return found[0]["message"] if found else None

    @property
    def failure(self) -> Optional[dict]:
        """The failure notification's content: step, error, cause."""
        found = self.failure_notifications
        return found[0]["message"] if found else None

    def entered_states(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.history if "stateEnteredEventDetails" in e]

    def counts(self) -> dict[str, int]:
        """State transitions (every state entered plus every retry attempt, as
        Step Functions bills them), Lambda invocations and error events."""
        types = Counter(e["type"] for e in self.history)
        entered = sum(n for t, n in types.items() if t.endswith("StateEntered"))
        scheduled = types["LambdaFunctionScheduled"] + types["TaskScheduled"]
        task_states = types["TaskStateEntered"]
        # A retry re-schedules the task inside the same state: one more transition.
        retries = max(0, scheduled - task_states)
        errors = sum(n for t, n in types.items() if t.endswith("Failed") or t.endswith("TimedOut"))
        return {
            "state_transitions": entered + retries,
            "lambda_invocations": sum(self.lambda_invocations.values()),
            "error_events": errors,
        }


class LocalPipeline:
    """Local execution environment for the training state machine."""

    def __init__(self, durations: Optional[dict[str, float]] = None, trainer: Any = None,
                 region: str = DEFAULT_REGION, template: Optional[str] = None,
                 ssm_prefix: str = "/personalize-pipeline/local", kms_key_arn: str = "",
                 map_max_concurrency: int = DEFAULT_MAP_MAX_CONCURRENCY) -> None:
        self.region = region
        self.map_max_concurrency = map_max_concurrency
        self.partition = boto3.session.Session().get_partition_for_region(region)
        self.account = DEFAULT_ACCOUNT
        self.clock = SimClock()
        self._durations = durations
        self._trainer = trainer
        self._template = template
        self.ssm_prefix = ssm_prefix
        self.kms_key_arn = kms_key_arn
        # Finalize's CloudWatch namespace (Terraform: PersonalizePipeline/<module name>).
        self.metrics_namespace = "PersonalizePipeline/local"
        self.params_bucket = "personalize-params"
        self.data_bucket = "personalize-data"
        self.export_root = f"s3://{self.data_bucket}/personalize"
        self.role_arn = f"arn:{self.partition}:iam::{self.account}:role/personalize-service"
        self.functions: dict[str, Callable] = {}
        self.function_arns: dict[str, str] = {}
        self.invocations: Counter = Counter()
        self._handler_faults: dict[str, list[BaseException]] = {}
        self._stack: list[Any] = []
        self.fake: Optional[FakePersonalize] = None
        self.state_machine_arn = ""
        self.topic_arn = ""

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> "LocalPipeline":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        moto_internals.check_moto_version()
        from moto import mock_aws

        from personalize_pipeline import clients

        env = {
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "PERSONALIZE_ROLE_ARN": self.role_arn,
            "PERSONALIZE_KMS_KEY_ARN": self.kms_key_arn,
            "SSM_PARAMETER_PREFIX": self.ssm_prefix,
            "METRICS_NAMESPACE": self.metrics_namespace,
            "LOG_LEVEL": "WARNING",
        }
        self._enter(mock.patch.dict(os.environ, env))
        self._enter(mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}))
        self._patch_interpreter()

        self.s3 = boto3.client("s3", region_name=self.region)
        self.sfn = boto3.client("stepfunctions", region_name=self.region)
        self.sns = boto3.client("sns", region_name=self.region)
        self.ssm = boto3.client("ssm", region_name=self.region)
        # Outside us-east-1, S3 wants the bucket's region as its location constraint.
        location = {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        for bucket in (self.params_bucket, self.data_bucket):
            self.s3.create_bucket(Bucket=bucket, **location)
        self.s3.put_bucket_versioning(Bucket=self.params_bucket, VersioningConfiguration={"Status": "Enabled"})
        self.topic_arn = self.sns.create_topic(Name="personalize-pipeline-notifications")["TopicArn"]
        self.fake = FakePersonalize(self.region, self.account, self.clock, self._durations, self._trainer, s3_client=self.s3)
        personalize = self.fake.client()

        made: dict[str, Any] = {"personalize": personalize}
        lock = threading.Lock()

        def factory(service: str) -> Any:
            # Clients are thread-safe and costly to build: one per service.
            with lock:
                if service not in made:
                    made[service] = boto3.client(service, region_name=self.region)
                return made[service]

        clients.set_client_factory(factory)
        self._stack.append(lambda: clients.set_client_factory(None))

        for key, entry in load_registry().items():
            self.register_function(key, _load_handler(entry["handler"]))
        definition = asl.render_definition(self.function_arns, self.topic_arn, self._template,
                                           partition=self.partition, map_max_concurrency=self.map_max_concurrency)
        self.state_machine_arn = self.create_state_machine("personalize-training", definition)

    def _patch_interpreter(self) -> None:
        """Hook moto's interpreter (see moto_internals): Lambda tasks run the
        real handlers in-process; Wait states and Retry back-offs advance the
        simulated clock; every interpreter thread gets its own simulated time
        (see SimClock)."""
        for patch in moto_internals.interpreter_patches(self.clock, self._invoke):
            self._enter(patch)

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _enter(self, context: Any) -> Any:
        value = context.__enter__()
        self._stack.append(lambda: context.__exit__(None, None, None))
        return value

    def close(self) -> None:
        """Stop running executions and join the interpreter's threads before the
        mocks go away, so nothing leaks into the next test."""
        try:
            if self.state_machine_arn:
                for machine in self.sfn.list_state_machines()["stateMachines"]:
                    for execution in self.sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")["executions"]:
                        self.sfn.stop_execution(executionArn=execution["executionArn"], error="Teardown", cause="test teardown")
        finally:
            moto_internals.join_interpreter_threads(forget_all=True)
            while self._stack:
                self._stack.pop()()

    # ----------------------------------------------------------- functions
    def register_function(self, key: str, handler: Callable[[dict, Any], Any]) -> str:
        arn = f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:personalize-pipeline-{key.replace('_', '-')}"
        self.functions[arn.rsplit(":", 1)[-1]] = handler
        self.function_arns[key] = arn
        return arn

    def fail_handler(self, key: str, exception: BaseException, times: int = 1) -> None:
        """Make the next ``times`` invocations of a function raise ``exception``."""
        self._handler_faults.setdefault(key, []).extend([exception] * times)

    def _invoke(self, function_name: str, body: Any, response_headers: dict) -> bytes:
        name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        handler = self.functions.get(name)
        key = next((k for k, a in self.function_arns.items() if a.endswith(":" + name)), name)
        self.invocations[key] += 1
        event = json.loads(body) if body else {}
        context = SimpleNamespace(
            invoked_function_arn=self.function_arns.get(key, function_name), function_name=name,
            aws_request_id=str(uuid.uuid4()), get_remaining_time_in_millis=lambda: 60_000,
        )
        try:
            if handler is None:
                raise LookupError(f"no function {name} is registered")
            faults = self._handler_faults.get(key)
            if faults:
                raise faults.pop(0)
            result = handler(event, context)
            return json.dumps(result).encode("utf-8")
        except Exception as exc:  # reported the way the Lambda service reports it
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__)[-3:],
            }).encode("utf-8")

    # ----------------------------------------------------------- executions
    def create_state_machine(self, name: str, definition: str) -> str:
        return self.sfn.create_state_machine(
            name=name, definition=definition, roleArn=f"arn:{self.partition}:iam::{self.account}:role/{name}-states",
        )["stateMachineArn"]

    def upload_export(self, export_dir: Path) -> tuple[str, str]:
        """Copy an export run folder (the one holding manifest.json) into moto S3
        under the export root; return (manifest URI, run id)."""
        export_dir = Path(export_dir)
        latest = export_dir / "exports" / "latest.json"
        if not (export_dir / "manifest.json").is_file() and latest.is_file():
            # An export root: follow its latest pointer to the last good run.
            export_dir = export_dir / "exports" / json.loads(latest.read_text(encoding="utf-8"))["run_id"]
        manifest_path = export_dir / "manifest.json"
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{export_dir} holds no manifest.json (pass an export run folder or an export root with exports/latest.json)")
        run_id = json.loads(manifest_path.read_text(encoding="utf-8"))["run_id"]
        base = f"personalize/exports/{run_id}"
        for path in sorted(export_dir.rglob("*")):
            if path.is_file():
                self.s3.put_object(Bucket=self.data_bucket, Key=f"{base}/{path.relative_to(export_dir).as_posix()}", Body=path.read_bytes())
        return f"s3://{self.data_bucket}/{base}/manifest.json", run_id

    def put_params(self, params: dict) -> tuple[str, str]:
        """Write a new version of the params object; (key, version id)."""
        response = self.s3.put_object(Bucket=self.params_bucket, Key=PARAMS_KEY, Body=json.dumps(params).encode("utf-8"))
        return PARAMS_KEY, response["VersionId"]

    def object_created_event(self, key: str, version_id: str) -> dict:
        """The EventBridge event S3 sends for the new params version."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": self.account,
            "region": self.region,
            "resources": [f"arn:{self.partition}:s3:::{self.params_bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": self.params_bucket},
                "object": {"key": key, "version-id": version_id},
                "reason": "PutObject",
            },
        }

    def run(self, params: dict, export_dir: Optional[Path] = None, state_machine_arn: Optional[str] = None) -> RunResult:
        """Upload the export (when given), write the params version with the
        export hand-off pointing at the uploaded manifest (as start_training
        does), start the state machine as EventBridge would and wait for the end.

        ``export_dir`` is an export run folder (holding manifest.json) or an
        export root (holding exports/latest.json). Without it, the params must
        already carry an ``export`` hand-off to data in the harness's S3."""
        params = json.loads(json.dumps(params))
        if export_dir is not None:
            manifest_uri, run_id = self.upload_export(export_dir)
            params["export"] = {"manifest_uri": manifest_uri, "run_id": run_id}
        key, version = self.put_params(params)
        return self.execute(self.object_created_event(key, version), state_machine_arn)

    def execute(self, event: dict, state_machine_arn: Optional[str] = None) -> RunResult:
        machine = state_machine_arn or self.state_machine_arn
        sent_before = len(moto_internals.sent_notifications(self.account, self.region, self.topic_arn))
        invocations_before = Counter(self.invocations)
        started_at = self.clock.elapsed()
        execution_arn = self.sfn.start_execution(stateMachineArn=machine, name=f"run-{uuid.uuid4().hex[:12]}", input=json.dumps(event))["executionArn"]
        deadline = time.monotonic() + EXECUTION_REAL_TIME_LIMIT
        while True:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"execution {execution_arn} still RUNNING after {EXECUTION_REAL_TIME_LIMIT} s of real time")
            time.sleep(EXECUTION_STATUS_POLL)
        moto_internals.join_interpreter_threads()
        history = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        notifications = [
            {"subject": subject, "message": json.loads(message) if message.startswith("{") else message}
            for subject, message in moto_internals.sent_notifications(self.account, self.region, self.topic_arn)[sent_before:]
        ]
        output = described.get("output")
        return RunResult(
            execution_arn=execution_arn,
            status=described["status"],
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
            history=history,
            notifications=notifications,
            lambda_invocations=self.invocations - invocations_before,
            simulated_seconds=self.clock.elapsed() - started_at,
        )

    # ------------------------------------------------------------- results
    def parameter(self, name: str) -> Optional[str]:
        try:
            return self.ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except self.ssm.exceptions.ParameterNotFound:
            return None

    def campaign_arn(self, campaign_name: str, params_name: str) -> str:
        return f"arn:{self.partition}:personalize:{self.region}:{self.account}:campaign/{params_name}-{campaign_name}"

    def recommend(self, campaign_arn: str, user_id: str, num_results: int = 10) -> list[str]:
        """Recommendations from the model the campaign serves."""
        return self.fake.model_for_campaign(campaign_arn).recommend(user_id, num_results)
