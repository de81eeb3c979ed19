"""Lambda entry points of the training state machine.

Each handler only unpacks its event, calls one domain function and returns
JSON-serialisable data. An exception's class name is the error name the state
machine sees (see errors.py)."""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

from . import batch_jobs, cleanup, cloudwatch_metrics, deletion, imports, logs, recommenders, steps

log = logs.get_logger()


def _partition_region_and_account(context: Any) -> tuple[str, str, str]:
    """Where this function runs, from its own ARN:
    arn:<partition>:lambda:<region>:<account>:function:<name> (partition aws, aws-cn, aws-us-gov...)."""
    parts = context.invoked_function_arn.split(":")
    return parts[1], parts[3], parts[4]


def handler(func: Callable[[dict, Any], Any]) -> Callable[[dict, Any], Any]:
    """Set the log context (correlation id = execution name) and log failures."""

    @functools.wraps(func)
    def wrapper(event: dict, context: Any) -> Any:
        logs.get_logger()  # picks up a changed LOG_LEVEL
        logs.bind(correlation_id=str(event.get("executionName") or getattr(context, "aws_request_id", "")),
                  function=func.__name__)
        try:
            result = func(event, context)
        except Exception as exc:
            log.error("step failed", extra={"error": type(exc).__name__, "detail": str(exc)})
            raise
        # Round-trip through JSON so that nothing unserialisable reaches the state.
        return json.loads(json.dumps(result, default=str))

    return wrapper


@handler
def read_params(event: dict, context: Any) -> dict:
    partition, region, account = _partition_region_and_account(context)
    if event.get("executionArn"):
        steps.refuse_concurrent_run(event["executionArn"])
    return steps.read_params(event["bucket"], event["key"], event.get("versionId"), partition, region, account,
                             steps.Settings.from_env())


@handler
def check_readiness(event: dict, context: Any) -> dict:
    return steps.readiness(event["export"], event["rules"])


@handler
def ensure_dataset_group(event: dict, context: Any) -> list:
    return steps.ensure_dataset_group(event["plan"], steps.Settings.from_env())


@handler
def ensure_dataset(event: dict, context: Any) -> dict:
    return steps.ensure_dataset(event["plan"], event["dataset"])


@handler
def start_import(event: dict, context: Any) -> list:
    return imports.start_import(event["plan"], event["dataset"], steps.Settings.from_env())


@handler
def start_data_deletion(event: dict, context: Any) -> list:
    return deletion.start_data_deletion(event["plan"], steps.Settings.from_env())


@handler
def ensure_solution(event: dict, context: Any) -> dict:
    return steps.ensure_solution(event["plan"], event["solution"])


@handler
def ensure_extras(event: dict, context: Any) -> list:
    return steps.ensure_extras(event["plan"])


@handler
def start_solution_version(event: dict, context: Any) -> dict:
    return steps.start_solution_version(event["plan"], event["solution"])


@handler
def check_resources(event: dict, context: Any) -> dict:
    return steps.check_resources(event["phase"], event["resources"], event.get("progress") or {}, event["waits"], event.get("expected") or {})


@handler
def read_metrics(event: dict, context: Any) -> dict:
    return steps.read_metrics(event["version"])


@handler
def quality_gate(event: dict, context: Any) -> dict:
    return steps.quality_gate(event["plan"], event["evaluations"])


@handler
def deploy_campaign(event: dict, context: Any) -> dict:
    return steps.deploy_campaign(event["plan"], event["deployment"])


@handler
def finalize(event: dict, context: Any) -> dict:
    if event.get("gateRejected"):
        # RecordGateRejection: the run stops at the gate, so Finalize's own path never runs.
        return cloudwatch_metrics.publish(cloudwatch_metrics.rejection_metrics(event["plan"], event.get("step") or "QualityGate"))
    return steps.finalize(event["plan"], event["state"])


@handler
def ensure_recommender(event: dict, context: Any) -> dict:
    return recommenders.ensure_recommender(event["plan"], event["recommender"])


@handler
def gate_recommenders(event: dict, context: Any) -> list:
    return recommenders.gate_recommenders(event["plan"])


@handler
def start_batch_jobs(event: dict, context: Any) -> list:
    return batch_jobs.start_batch_jobs(event["plan"], event["evaluations"], steps.Settings.from_env().personalize_role_arn)


@handler
def clean_up(event: dict, context: Any) -> dict:
    return cleanup.clean_up(event["plan"])
