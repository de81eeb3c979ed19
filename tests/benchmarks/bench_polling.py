"""Cost and noise of waiting for Personalize: this pipeline's Wait/Choice loops
against the reference pipelines' Retry-based polling, on the same simulated
durations (import 30 min, training 2 h, campaign 20 min).

Both state machines run in the local harness (moto's interpreter, the real
handlers, the fake Personalize on a simulated clock), first on a fresh account
and then again on a new export once a previous run's durations are known.

    .venv/bin/python tests/benchmarks/bench_polling.py [--markdown]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for source_root in ("glue", "lambda_src", "step_functions", "."):
    if str(ROOT / source_root) not in sys.path:
        sys.path.insert(0, str(ROOT / source_root))

from local_pipeline.fake_personalize import FixedMetricsTrainer  # noqa: E402
from local_pipeline.harness import LocalPipeline  # noqa: E402
from personalize_pipeline import personalize_ops, steps  # noqa: E402
from personalize_pipeline.errors import ResourceFailed  # noqa: E402
from tests.training.exports import full_params, make_export, metrics  # noqa: E402

DURATIONS = {
    "dataset_import_job": 30 * 60,
    "solution_version": 2 * 3600,
    "campaign": 20 * 60,
    "campaign_update": 20 * 60,
}
# The reference pipelines poll by retrying a Lambda that raises ResourcePending.
REFERENCE_RETRY = [{"ErrorEquals": ["ResourcePending"], "IntervalSeconds": 60, "BackoffRate": 1.02, "MaxAttempts": 200}]
GOAL_MAX_DETECTION_SECONDS = 300


class ResourcePending(Exception):
    """Raised by the reference poller while a resource is not ready yet."""


def reference_poll(event: dict, context: Any) -> Any:
    # A dataset's import step gives a list of jobs (several for a split delta).
    polled = event["resource"]
    for res in polled if isinstance(polled, list) else [polled]:
        state, reason, _ = steps.resource_state(res, personalize_ops.describe(res["kind"], res["arn"]))
        if state == "failed":
            raise ResourceFailed(f"{res['arn']}: {reason}")
        if state == "pending":
            raise ResourcePending(f"{res['arn']} is not ready yet")
    return polled


def reference_definition(arns: dict[str, str], topic_arn: str) -> str:
    """The shape of the reference pipelines: each resource is created and then
    polled in its own branch by a Task retried on ResourcePending."""

    def task(key: str, next_state: str | None, parameters: dict | None = None, result_path: Any = "$", retry: list | None = None) -> dict:
        state: dict[str, Any] = {"Type": "Task", "Resource": arns[key], "ResultPath": result_path}
        if parameters is not None:
            state["Parameters"] = parameters
        if retry:
            state["Retry"] = retry
        state.update({"Next": next_state} if next_state else {"End": True})
        return state

    def poll(path: str, next_state: str | None) -> dict:
        return task("ref_poll", next_state, {"resource.$": path}, None, REFERENCE_RETRY)

    def item_map(items: str, selector: dict, states: dict, start: str, result_path: Any, next_state: str) -> dict:
        return {
            "Type": "Map", "ItemsPath": items, "ItemSelector": selector, "ResultPath": result_path, "Next": next_state,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": start, "States": states},
        }

    states = {
        "ReadParams": task("read_params", "CreateDatasetGroup", {
            "bucket.$": "$.detail.bucket.name", "key.$": "$.detail.object.key", "versionId.$": "$.detail.object.version-id"}),
        "CreateDatasetGroup": task("ensure_dataset_group", "PollDatasetGroup", {"plan.$": "$.plan"}, "$.datasetGroup"),
        "PollDatasetGroup": poll("$.datasetGroup[0]", "Datasets"),
        "Datasets": item_map("$.plan.datasets", {"plan.$": "$.plan", "dataset.$": "$$.Map.Item.Value"}, {
            "CreateDataset": task("ensure_dataset", "PollDataset", None, "$.resource"),
            "PollDataset": poll("$.resource", None),
        }, "CreateDataset", None, "Imports"),
        "Imports": item_map("$.plan.datasets", {"plan.$": "$.plan", "dataset.$": "$$.Map.Item.Value"}, {
            "CreateImport": task("start_import", "PollImport", None, "$.resource"),
            "PollImport": poll("$.resource", None),
        }, "CreateImport", None, "Extras"),
        "Extras": task("ensure_extras", "PollExtras", {"plan.$": "$.plan"}, "$.extras"),
        "PollExtras": item_map("$.extras", {"resource.$": "$$.Map.Item.Value"}, {"PollExtra": poll("$.resource", None)}, "PollExtra", None, "Solutions"),
        "Solutions": item_map("$.plan.solutions", {"plan.$": "$.plan", "solution.$": "$$.Map.Item.Value"}, {
            "CreateSolution": task("ensure_solution", "PollSolution", None, "$.resource"),
            "PollSolution": poll("$.resource", "CreateSolutionVersion"),
            "CreateSolutionVersion": task("start_solution_version", "PollSolutionVersion", None, "$.version"),
            "PollSolutionVersion": poll("$.version", "GetMetrics"),
            "GetMetrics": task("read_metrics", None, {"version.$": "$.version"}),
        }, "CreateSolution", "$.evaluations", "Deployments"),
        "Deployments": task("quality_gate", "Campaigns", {"plan.$": "$.plan", "evaluations.$": "$.evaluations"}, "$.gate"),
        "Campaigns": item_map("$.gate.deployments", {"plan.$": "$.plan", "deployment.$": "$$.Map.Item.Value"}, {
            "DeployCampaign": task("deploy_campaign", "PollCampaign", None, "$.resource"),
            "PollCampaign": poll("$.resource", None),
        }, "DeployCampaign", None, "Notify"),
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "ResultPath": None, "Next": "Done",
                   "Parameters": {"TopicArn": topic_arn, "Message": "training finished"}},
        "Done": {"Type": "Succeed"},
    }
    return json.dumps({"StartAt": "ReadParams", "States": states})


def _delays(pipeline: LocalPipeline, since: int) -> dict[str, int]:
    """Per resource kind, the longest delay between ACTIVE and the first
    Describe that saw it (only the long-running kinds matter for cost)."""
    delays: dict[str, int] = {}
    for activation in pipeline.fake.activations[since:]:
        if activation.detected_at is None:
            continue
        delay = int(activation.detected_at - activation.active_at)
        delays[activation.kind] = max(delay, delays.get(activation.kind, 0))
    return delays


def _measure(pipeline: LocalPipeline, params: dict, export: Path, machine: str | None) -> dict:
    since = len(pipeline.fake.activations)
    result = pipeline.run(params, export, state_machine_arn=machine)
    if result.status != "SUCCEEDED":
        raise RuntimeError(f"benchmark run failed: {result.error}: {result.cause}")
    figures = result.counts()
    figures["simulated_minutes"] = round(result.simulated_seconds / 60)
    figures["detection_delay_seconds"] = _delays(pipeline, since)
    return figures


def run_figures() -> dict[str, dict[str, dict]]:
    """{"this pipeline"|"reference": {"first run"|"repeat run": figures}}."""
    figures: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        first_export = make_export(Path(tmp) / "a", run_id="20260101T000000Z")
        second_export = make_export(Path(tmp) / "b", run_id="20260108T000000Z", seed=8)
        for label in ("this pipeline", "reference"):
            trainer = FixedMetricsTrainer({"*": metrics(precision_at_10=0.2)})
            with LocalPipeline(durations=DURATIONS, trainer=trainer) as pipeline:
                machine = None
                if label == "reference":
                    pipeline.register_function("ref_poll", reference_poll)
                    machine = pipeline.create_state_machine("reference-polling", reference_definition(pipeline.function_arns, pipeline.topic_arn))
                figures[label] = {
                    "first run": _measure(pipeline, full_params(), first_export, machine),
                    "repeat run": _measure(pipeline, full_params(), second_export, machine),
                }
    return figures


def goals(figures: dict) -> dict[str, bool]:
    ours, ref = figures["this pipeline"], figures["reference"]
    delays = [d for run in ours.values() for d in run["detection_delay_seconds"].values()]
    return {
        "zero error events from polling": all(run["error_events"] == 0 for run in ours.values()),
        "detection delay <= 5 min": max(delays) <= GOAL_MAX_DETECTION_SECONDS,
        "first run: transitions <= reference": ours["first run"]["state_transitions"] <= ref["first run"]["state_transitions"],
        "repeat run: transitions <= 1/3 of reference": 3 * ours["repeat run"]["state_transitions"] <= ref["repeat run"]["state_transitions"],
    }


def render(figures: dict, markdown: bool) -> str:
    rows = [("metric", "first run: this pipeline", "first run: reference", "repeat run: this pipeline", "repeat run: reference")]
    keys = ("state_transitions", "lambda_invocations", "error_events", "simulated_minutes")
    for key in keys:
        rows.append((key.replace("_", " "),) + tuple(str(figures[p][r][key]) for r in ("first run", "repeat run") for p in ("this pipeline", "reference")))
    kinds = sorted({k for p in figures.values() for r in p.values() for k in r["detection_delay_seconds"]})
    for kind in kinds:
        rows.append((f"detection delay (s): {kind.replace('_', ' ')}",) + tuple(
            str(figures[p][r]["detection_delay_seconds"].get(kind, "-")) for r in ("first run", "repeat run") for p in ("this pipeline", "reference")))
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.append("")
    lines += [f"{'PASS' if ok else 'FAIL'}  {goal}" for goal, ok in goals(figures).items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    figures = run_figures()
    print(render(figures, args.markdown))
    return 0 if all(goals(figures).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
