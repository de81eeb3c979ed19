"""Finalize's CloudWatch metrics, read back from moto's CloudWatch after a run
of the real state machine (and after a rejected gate)."""
from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from personalize_pipeline import cloudwatch_metrics as cw

from .exports import full_params, make_export, metrics


def _export_with_rejects(tmp_path):
    run_dir = make_export(tmp_path)
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    items = manifest["datasets"]["items"]
    items.update(rejected=5, rejected_by_reason={"id_too_long": 3, "bad_timestamp": 2}, rows_read=items["rows"] + 5)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    return run_dir


def _series(cloudwatch, namespace: str, name: str, dimensions: dict, stat: str = "Sum") -> list[float]:
    now = datetime.now(timezone.utc)
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()]},
            "Period": 3600, "Stat": stat}}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5))
    return response["MetricDataResults"][0]["Values"]


def test_a_run_publishes_offline_metrics_verdicts_rows_and_durations(pipeline, tmp_path):
    import boto3

    result = pipeline.run(full_params(), _export_with_rejects(tmp_path))
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    namespace = pipeline.metrics_namespace
    report = result.summary["metrics"]
    assert report["namespace"] == namespace and "error" not in report, report

    cloudwatch = boto3.client("cloudwatch", region_name=pipeline.region)
    model = {"Pipeline": "shop", "ResourceType": "solution"}
    assert _series(cloudwatch, namespace, "precision_at_10", {**model, "Resource": "personal"}) == [0.2]
    assert _series(cloudwatch, namespace, "coverage", {**model, "Resource": "popular"}) == [0.4]
    campaign = {"Pipeline": "shop", "ResourceType": "campaign", "Resource": "home"}
    assert _series(cloudwatch, namespace, "GateVerdict", campaign) == [1.0]
    assert _series(cloudwatch, namespace, "MinProvisionedTPS", campaign) == [2.0]
    assert _series(cloudwatch, namespace, "GateRejections", {}) == [0.0]
    assert _series(cloudwatch, namespace, "RunSucceeded", {"Pipeline": "shop"}) == [1.0]

    assert _series(cloudwatch, namespace, "RowsExported", {"Pipeline": "shop", "Dataset": "interactions"}) == [1200.0]
    assert _series(cloudwatch, namespace, "RowsImported", {"Pipeline": "shop", "Dataset": "interactions"}) == [1200.0]
    assert _series(cloudwatch, namespace, "RowsRejected", {"Pipeline": "shop", "Dataset": "items"}) == [5.0]
    assert _series(cloudwatch, namespace, "RowsRejectedByReason",
                   {"Pipeline": "shop", "Dataset": "items", "Reason": "id_too_long"}) == [3.0]

    listed = cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace, MetricName="PhaseDuration")
    phases = {d["Value"] for page in listed for m in page["Metrics"] for d in m["Dimensions"] if d["Name"] == "Phase"}
    assert phases == {"dataset_group", "datasets", "imports", "solutions", "solution_versions", "campaigns"}
    training = _series(cloudwatch, namespace, "PhaseDuration", {"Pipeline": "shop", "Phase": "solution_versions"})
    # The fake trains for 600 simulated seconds; the loop waits at least that long.
    assert len(training) == 1 and training[0] >= 600


def test_a_rejected_gate_publishes_a_rejection_and_still_notifies_the_failure(pipeline, trainer, tmp_path):
    import boto3

    first = pipeline.run(full_params(), make_export(tmp_path / "a"))
    assert first.status == "SUCCEEDED", first.cause
    trainer.metrics = {"*": metrics(precision_at_10=0.01)}
    second = pipeline.run(full_params(), make_export(tmp_path / "b", run_id="20260102T000000Z"))

    assert second.status == "FAILED" and second.error == "QualityGateRejected"
    assert second.failure["step"] == "QualityGate"
    assert "RecordGateRejection" in second.entered_states()
    cloudwatch = boto3.client("cloudwatch", region_name=pipeline.region)
    # The first run's 0 and this run's 1 (datapoints may fall in two periods).
    assert sum(_series(cloudwatch, pipeline.metrics_namespace, "GateRejections", {})) == 1.0
    home = {"Pipeline": "shop", "ResourceType": "campaign", "Resource": "home"}
    # The first run's verdict (1) and the rejected one (0).
    assert sum(_series(cloudwatch, pipeline.metrics_namespace, "GateVerdict", home, "SampleCount")) == 2.0
    assert min(_series(cloudwatch, pipeline.metrics_namespace, "GateVerdict", home, "Minimum")) == 0.0


def test_other_failures_do_not_record_a_gate_rejection(pipeline, tmp_path):
    """A failure elsewhere than the gate does not go through RecordGateRejection."""
    pipeline.fail_handler("check_readiness", RuntimeError("boom"))
    result = pipeline.run(full_params(), make_export(tmp_path))
    assert result.status == "FAILED"
    assert "RecordGateRejection" not in result.entered_states()


@pytest.mark.parametrize("bad, problem", [
    (cw.datum("x", math.nan, "None"), "finite"),
    (cw.datum("x", 2.0 ** 361, "None"), "2^360"),
    (cw.datum("x", 1.0, "None", Reason="r" * 1025), "1-1024"),
    ({**cw.datum("x", 1.0, "None"), "Dimensions": [{"Name": f"d{i}", "Value": "v"} for i in range(31)]}, "at most 30"),
    (cw.datum("", 1.0, "None"), "MetricName"),
    (cw.datum("x", 1.0, "Furlongs"), "Unit"),
])
def test_data_outside_put_metric_data_limits_is_refused_naming_the_datum(bad, problem):
    with pytest.raises(cw.MetricsInvalid) as caught:
        cw.check_request("PersonalizePipeline/x", [cw.datum("ok", 1.0, "Count"), bad])
    assert problem in str(caught.value)


def test_reserved_namespace_and_too_many_metrics_are_refused():
    with pytest.raises(cw.MetricsInvalid, match="AWS reserves"):
        cw.check_request("AWS/Personalize", [cw.datum("ok", 1.0, "Count")])
    with pytest.raises(cw.MetricsInvalid, match="at most 1000"):
        cw.check_request("PersonalizePipeline/x", [cw.datum("ok", 1.0, "Count")] * 1001)


def test_more_than_a_request_of_metrics_is_sent_in_batches(monkeypatch):
    sent = []

    class Recorder:
        def put_metric_data(self, Namespace, MetricData):
            sent.append(len(MetricData))

    monkeypatch.setattr(cw.clients, "client", lambda service: Recorder())
    report = cw.publish([cw.datum("ok", 1.0, "Count")] * 2500, namespace="PersonalizePipeline/x")
    assert sent == [1000, 1000, 500] and report == {"namespace": "PersonalizePipeline/x", "published": 2500}


def test_an_unset_namespace_is_reported_in_the_summary():
    report = cw.publish([cw.datum("ok", 1.0, "Count")], namespace="")
    assert report["published"] == 0 and cw.NAMESPACE_ENV in report["error"]


def test_every_datum_is_published_with_a_dimension_set_the_table_declares():
    """cloudwatch_metrics.DIMENSIONS is what the dashboard test reads: it must be
    what run_metrics and rejection_metrics actually send."""
    plan = {"name": "shop", "campaigns": [{"key": "home", "minProvisionedTPS": 2}]}
    state = {
        "evaluations": [{"solutionKey": "personal", "metrics": metrics(0.2)}],
        "verdicts": [{"campaign": "home", "passed": True}],
        "export": {"rows": {"items": 10}, "rejected": {"items": 1}, "rejectedByReason": {"items": {"bad": 1}}},
        "imports": [{"kind": "dataset_import_job", "label": "items"}],
        "progress": {"campaigns": {"done": True, "waited": 60}},
    }
    sent = cw.run_metrics(plan, state) + cw.rejection_metrics(plan)
    names = {d["MetricName"] for d in sent}
    assert set(cw.DIMENSIONS) <= names
    for item in sent:
        dims = tuple(d["Name"] for d in item["Dimensions"])
        allowed = cw.DIMENSIONS.get(item["MetricName"], [cw.OFFLINE_METRIC_DIMENSIONS])
        assert dims in allowed, (item["MetricName"], dims)
