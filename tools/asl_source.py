"""The source of step_functions/training.asl.json.tftpl.

The state machine repeats a few patterns (a wait loop per phase, a failure
recorder per step, the same Retry rules on every Lambda task), so the template
is generated from this module: `.venv/bin/python -m tools.asl_source` (or
`make generate`) rewrites it, and tests/training/test_definition.py checks the
committed template matches. The local harness renders the template with
step_functions/local_pipeline/asl.py, as Terraform's templatefile() does.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "step_functions" / "training.asl.json.tftpl"

RETRY = [
    {
        # Only throttling and quota errors are retried: a Personalize resource
        # that is not ready yet is waited for by the Wait/Choice loops instead.
        "ErrorEquals": ["ThrottlingException", "LimitExceededException"],
        "IntervalSeconds": 5,
        "MaxAttempts": 8,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 300,
        "JitterStrategy": "FULL",
    },
    {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 4,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    },
]

# Wait loops: phase key -> (state name stem, Parameters value for "resources.$").
LOOPS = {
    "dataset_group": ("DatasetGroup", "$.resources.datasetGroup"),
    "datasets": ("Datasets", "$.resources.datasets"),
    "imports": ("Imports", "$.resources.imports"),
    "data_deletion": ("DataDeletion", "$.resources.dataDeletion"),
    "solutions": ("Solutions", "States.Array($.resources.solutions, $.resources.extras)"),
    "solution_versions": ("SolutionVersions", "$.resources.solutionVersions"),
    "campaigns": ("Campaigns", "$.resources.campaigns"),
    "recommenders": ("Recommenders", "$.resources.recommenders"),
    "batch_jobs": ("BatchJobs", "$.resources.batchJobs"),
}


# Filled in by Terraform's templatefile(): the partition the state machine runs in (aws,
# aws-cn, aws-us-gov...), which service integration ARNs name, and the Map states' concurrency.
# Each Map iteration invokes one Lambda, so the Maps run no more iterations at once than
# each function's reserved concurrency; more would only be throttled. Terraform passes the
# same variable to both (training-pipeline's lambda.reserved_concurrent_executions).
SNS_PUBLISH = "arn:${partition}:states:::sns:publish"
MAP_MAX_CONCURRENCY = "${map_max_concurrency}"


def fn(key: str) -> str:
    """A Lambda ARN, filled in by Terraform's templatefile()."""
    return '${function_arns["%s"]}' % key


def _with_execution(parameters: dict) -> dict:
    return {**parameters, "executionName.$": "$$.Execution.Name"}


class Builder:
    def __init__(self) -> None:
        self.states: dict[str, Any] = {}
        self.catching: list[str] = []

    def add(self, name: str, state: dict, catch: bool = True) -> None:
        self.states[name] = state
        if catch:
            state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{name} failed"}]
            self.catching.append(name)

    def task(self, name: str, key: str, parameters: dict, result_path: str | None, next_state: str, comment: str) -> None:
        self.add(name, {
            "Type": "Task",
            "Comment": comment,
            "Resource": fn(key),
            "Parameters": _with_execution(parameters),
            "ResultPath": result_path,
            "Retry": RETRY,
            "Next": next_state,
        })

    def map(self, name: str, key: str, items_path: str, item_name: str, result_path: str, next_state: str,
            comment: str, extra: dict | None = None) -> None:
        inner = f"{name} item"
        self.add(name, {
            "Type": "Map",
            "Comment": comment,
            "ItemsPath": items_path,
            "MaxConcurrency": MAP_MAX_CONCURRENCY,
            "ItemSelector": _with_execution({"plan.$": "$.plan", f"{item_name}.$": "$$.Map.Item.Value", **(extra or {})}),
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": inner,
                "States": {inner: {"Type": "Task", "Resource": fn(key), "Retry": RETRY, "End": True}},
            },
            "ResultPath": result_path,
            "Next": next_state,
        })

    def wait_loop(self, phase: str, next_state: str) -> str:
        """Check -> Ready? -> Wait -> Check. The check returns the next wait
        (growing, capped, sized from history) and fails on a FAILED resource or
        on the loop's overall time limit; it never fails while merely pending."""
        stem, resources = LOOPS[phase]
        check, ready, wait = f"Check{stem}", f"{stem} ready?", f"Wait for {stem}"
        self.task(check, "check_resources", {
            "phase": phase,
            "resources.$": resources,
            "progress.$": f"$.progress.{phase}",
            "waits.$": f"$.plan.waits.{phase}",
            "expected.$": "$.plan.expected",
        }, f"$.progress.{phase}", ready, f"One status check of the {phase.replace('_', ' ')}")
        self.add(ready, {
            "Type": "Choice",
            "Choices": [{"Variable": f"$.progress.{phase}.done", "BooleanEquals": True, "Next": next_state}],
            "Default": wait,
        }, catch=False)
        self.add(wait, {"Type": "Wait", "SecondsPath": f"$.progress.{phase}.seconds", "Next": check}, catch=False)
        return check


# The steps that raise QualityGateRejected: the campaigns' gate and the recommenders'.
GATE_STEPS = ("QualityGate", "GateRecommenders")


def add_gate_rejection_metrics(b: Builder) -> None:
    """A rejected gate ends the run before Finalize, so its metrics (a verdict of
    0 per campaign, one more rejection) are published on the failure path by the
    Finalize function; a metrics error never replaces the failure notice."""
    b.add("Gate rejected?", {
        "Type": "Choice",
        "Choices": [{"Variable": "$.failure.error", "StringEquals": "QualityGateRejected", "Next": "RecordGateRejection"}],
        "Default": "NotifyFailure",
    }, catch=False)
    b.add("RecordGateRejection", {
        "Type": "Task",
        "Comment": "CloudWatch metrics of the rejected gate",
        "Resource": fn("finalize"),
        "Parameters": _with_execution({"plan.$": "$.plan", "gateRejected": True, "step.$": "$.failure.step"}),
        "ResultPath": "$.gateRejectionMetrics",
        "Retry": RETRY,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.gateRejectionMetricsError", "Next": "NotifyFailure"}],
        "Next": "NotifyFailure",
    }, catch=False)


def build_definition() -> dict:
    b = Builder()
    b.task("ReadParams", "read_params", {
        "bucket.$": "$.detail.bucket.name",
        "key.$": "$.detail.object.key",
        "versionId.$": "$.detail.object.version-id",
        "executionArn.$": "$$.Execution.Id",
    }, "$", "CheckDataReadiness", "Read the params object version named by the S3 event; validate it and every Personalize request it implies")
    b.task("CheckDataReadiness", "check_readiness", {"export.$": "$.export", "rules.$": "$.plan.readinessRules"},
           "$.readiness", "EnsureDatasetGroup", "Fail fast on not enough data, before any Personalize resource is touched")
    b.task("EnsureDatasetGroup", "ensure_dataset_group", {"plan.$": "$.plan"}, "$.resources.datasetGroup",
           "CheckDatasetGroup", "Describe, else create, the dataset group")
    b.wait_loop("dataset_group", "EnsureDatasets")
    b.map("EnsureDatasets", "ensure_dataset", "$.plan.datasets", "dataset", "$.resources.datasets", "CheckDatasets",
          "Schema and dataset per exported dataset (interactions; items and users when exported)")
    b.wait_loop("datasets", "StartImports")
    b.map("StartImports", "start_import", "$.plan.datasets", "dataset", "$.resources.imports", "CheckImports",
          "One import job per dataset, from the manifest's prefixes")
    b.wait_loop("imports", "Delete vanished users?")
    # Opt-in (delete_vanished_users): after the imports, before anything trains.
    b.add("Delete vanished users?", {
        "Type": "Choice",
        "Choices": [{"Variable": "$.plan.dataDeletion", "IsNull": False, "Next": "DeleteVanishedUsers"}],
        "Default": "Recommenders?",
    }, catch=False)
    b.task("DeleteVanishedUsers", "start_data_deletion", {"plan.$": "$.plan"}, "$.resources.dataDeletion",
           "CheckDataDeletion", "A data deletion job for the users the export lists as vanished")
    b.wait_loop("data_deletion", "Recommenders?")
    # Recommenders (Domain dataset groups) train as they are created, beside the solution versions.
    b.add("Recommenders?", {
        "Type": "Choice",
        "Choices": [{"Variable": "$.plan.recommenders[0]", "IsPresent": True, "Next": "EnsureRecommenders"}],
        "Default": "EnsureSolutions",
    }, catch=False)
    b.map("EnsureRecommenders", "ensure_recommender", "$.plan.recommenders", "recommender", "$.resources.recommenders",
          "EnsureSolutions", "Describe, else create, each recommender; UpdateRecommender when its recommenderConfig changed")
    b.map("EnsureSolutions", "ensure_solution", "$.plan.solutions", "solution", "$.resources.solutions",
          "EnsureFiltersAndEventTracker", "Describe, else create, each solution")
    b.task("EnsureFiltersAndEventTracker", "ensure_extras", {"plan.$": "$.plan"}, "$.resources.extras", "CheckSolutions",
           "Optional filters and event tracker")
    b.wait_loop("solutions", "StartSolutionVersions")
    b.map("StartSolutionVersions", "start_solution_version", "$.plan.solutions", "solution", "$.resources.solutionVersions",
          "CheckSolutionVersions", "Train one solution version per solution (FULL or UPDATE)")
    b.wait_loop("solution_versions", "Recommenders trained?")
    b.add("Recommenders trained?", {
        "Type": "Choice",
        "Choices": [{"Variable": "$.plan.recommenders[0]", "IsPresent": True, "Next": "CheckRecommenders"}],
        "Default": "ReadMetrics",
    }, catch=False)
    b.wait_loop("recommenders", "GateRecommenders")
    b.task("GateRecommenders", "gate_recommenders", {"plan.$": "$.plan"}, "$.recommenderGate", "ReadMetrics",
           "Each recommender's modelMetrics against the quality gate's thresholds")
    b.add("ReadMetrics", {
        "Type": "Map",
        "Comment": "Offline metrics of each new solution version",
        "ItemsPath": "$.resources.solutionVersions",
        "MaxConcurrency": MAP_MAX_CONCURRENCY,
        "ItemSelector": _with_execution({"version.$": "$$.Map.Item.Value"}),
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "ReadMetrics item",
            "States": {"ReadMetrics item": {"Type": "Task", "Resource": fn("read_metrics"), "Retry": RETRY, "End": True}},
        },
        "ResultPath": "$.evaluations",
        "Next": "QualityGate",
    })
    b.task("QualityGate", "quality_gate", {"plan.$": "$.plan", "evaluations.$": "$.evaluations"}, "$.gate", "DeployCampaigns",
           "Promote only versions that meet the thresholds and are no worse than what each campaign serves now")
    b.map("DeployCampaigns", "deploy_campaign", "$.gate.deployments", "deployment", "$.resources.campaigns", "CheckCampaigns",
          "Create or update each campaign (minProvisionedTPS from the params)")
    b.wait_loop("campaigns", "Batch jobs?")
    b.add("Batch jobs?", {
        "Type": "Choice",
        "Choices": [{"Variable": "$.plan.batchJobs[0]", "IsPresent": True, "Next": "StartBatchJobs"}],
        "Default": "Finalize",
    }, catch=False)
    b.task("StartBatchJobs", "start_batch_jobs", {"plan.$": "$.plan", "evaluations.$": "$.evaluations"},
           "$.resources.batchJobs", "CheckBatchJobs",
           "Batch inference and batch segment jobs on the gated solution versions, output under the run id")
    b.wait_loop("batch_jobs", "Finalize")
    b.task("Finalize", "finalize", {
        "plan.$": "$.plan",
        "state": {
            "extras.$": "$.resources.extras",
            "progress.$": "$.progress",
            "evaluations.$": "$.evaluations",
            "deployments.$": "$.gate.deployments",
            "verdicts.$": "$.gate.verdicts",
            "recommenders.$": "$.recommenderGate",
            "batchJobs.$": "$.resources.batchJobs",
            "export.$": "$.export",
            "imports.$": "$.resources.imports",
        },
    }, "$.summary", "CleanUp", "Store the event tracker id and this run's durations; build the summary")
    b.task("CleanUp", "clean_up", {"plan.$": "$.plan"}, "$.cleanup", "NotifySuccess",
           "What the params no longer name: removed when cleanup.remove_unlisted, else listed while it bills")
    b.add("NotifySuccess", {
        "Type": "Task",
        "Resource": SNS_PUBLISH,
        "Parameters": {
            "TopicArn": "${notification_topic_arn}",
            "Subject.$": "States.Format('Personalize training succeeded: {}', $.plan.name)",
            "Message.$": "States.JsonToString(States.JsonMerge($.summary, $.cleanup, false))",
        },
        "ResultPath": None,
        "Next": "Succeeded",
    })
    b.add("Succeeded", {"Type": "Succeed"}, catch=False)

    # One recorder per step, so the notification names the step that failed.
    for step in list(b.catching):
        recorded = "Gate rejected?" if step in GATE_STEPS else "NotifyFailure"
        b.add(f"{step} failed", {
            "Type": "Pass",
            "Parameters": {
                "step": step,
                "error.$": "$.error.Error",
                "cause.$": "$.error.Cause",
                "execution.$": "$$.Execution.Id",
            },
            "ResultPath": "$.failure",
            "Next": recorded,
        }, catch=False)
    add_gate_rejection_metrics(b)
    b.add("NotifyFailure", {
        "Type": "Task",
        "Resource": SNS_PUBLISH,
        "Parameters": {
            "TopicArn": "${notification_topic_arn}",
            "Subject.$": "States.Format('Personalize training FAILED at {}', $.failure.step)",
            "Message.$": "States.JsonToString($.failure)",
        },
        "ResultPath": None,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL"}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.notifyError", "Next": "Failed"}],
        "Next": "Failed",
    }, catch=False)
    # The execution always ends FAILED after a failure, whatever the notification did.
    b.add("Failed", {"Type": "Fail", "ErrorPath": "$.failure.error", "CausePath": "$.failure.cause"}, catch=False)
    return {
        "Comment": "Amazon Personalize training: params file -> dataset group -> datasets -> imports -> solutions -> "
                   "solution versions -> metrics -> quality gate -> campaigns -> notification",
        "StartAt": "ReadParams",
        # No execution-wide timeout: it would end the run without the failure
        # notification. Every wait loop has its own limit instead.
        "States": b.states,
    }


def render_template_text() -> str:
    text = json.dumps(build_definition(), indent=2) + "\n"
    # Inside ${...} the quotes belong to Terraform's template language, not JSON.
    text = re.sub(r'\$\{function_arns\[\\"([a-z_]+)\\"\]\}', r'${function_arns["\1"]}', text)
    # MaxConcurrency is a JSON number: the template writes the variable unquoted.
    return text.replace(json.dumps(MAP_MAX_CONCURRENCY), MAP_MAX_CONCURRENCY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed template is out of date")
    args = parser.parse_args()
    text = render_template_text()
    if args.check:
        if TEMPLATE_PATH.read_text(encoding="utf-8") != text:
            raise SystemExit(f"{TEMPLATE_PATH} is out of date: run make generate")
        return
    TEMPLATE_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {TEMPLATE_PATH}")


if __name__ == "__main__":
    main()
