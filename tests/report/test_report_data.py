"""What the report reads from the manifest and the execution history, without a browser."""
from __future__ import annotations

import json
from datetime import datetime

from local_pipeline import report


def _as_cli_json(history: list[dict], epoch: bool) -> dict:
    """The history as ``aws stepfunctions get-execution-history`` prints it: ISO 8601 times
    (CLI v2) or epoch seconds (CLI v1)."""
    def encode(value):
        if isinstance(value, datetime):
            return value.timestamp() if epoch else value.isoformat()
        raise TypeError(type(value))
    return json.loads(json.dumps({"events": history}, default=encode))


def test_the_timeline_joins_each_wait_loop_and_leaves_map_items_out(harness_run):
    phases = report.timeline(harness_run["result"].history)
    names = [p["phase"] for p in phases]
    assert not [n for n in names if n.endswith(" item")]
    assert not [n for n in names if n.startswith(("Check", "Wait for ")) and n != "CheckDataReadiness"]
    assert {p["phase"] for p in phases if p["waiting"]} >= {"waiting for Imports", "waiting for SolutionVersions", "waiting for Campaigns"}
    assert all(later["start"] >= earlier["start"] for earlier, later in zip(phases, phases[1:]))


def test_the_timeline_shows_simulated_time(harness_run):
    # The fake Personalize trains for two hours of simulated time; the harness stamps
    # history events with that clock, so the report shows the hours, not the seconds.
    training = next(p for p in report.timeline(harness_run["result"].history) if p["phase"] == "waiting for SolutionVersions")
    assert 2 * 3600 <= training["end"] - training["start"] < 3 * 3600


def test_a_history_written_by_the_aws_cli_gives_the_same_report(harness_run):
    history = harness_run["result"].history
    from_boto3 = report.collect(harness_run["manifest"], history)
    for epoch in (False, True):
        from_cli = report.collect(harness_run["manifest"], _as_cli_json(history, epoch))
        assert from_cli == from_boto3


def test_the_summary_is_read_from_the_finalize_step_when_not_given(harness_run):
    result = harness_run["result"]
    given = report.training_metrics(result.history, result.summary)
    assert report.training_metrics(result.history) == given
    assert given["verdicts"][0]["servedMetrics"] == harness_run["first"].summary["solutions"]["personal"]["metrics"]
    assert given["gate"]["thresholds"] == {"precision_at_10": 0.05}


def test_a_gate_rejection_is_reported_with_the_metrics_that_failed(harness_run):
    rejected = harness_run["rejected"]
    data = report.collect(harness_run["rejected_manifest"], rejected.history, rejected.summary)
    assert data["execution"]["status"] == "FAILED"
    assert data["execution"]["failed_step"] == "QualityGate"
    assert data["execution"]["error"] == "QualityGateRejected"
    # The Lambda's error object is reduced to its message.
    assert data["execution"]["cause"].startswith("the new solution versions were not promoted")
    assert "precision_at_10 0.0100 is below the threshold 0.0500" in data["training"]["rejection"]
    assert data["training"]["solutions"]["personal"]["metrics"]["precision_at_10"] == 0.01
    phases = {p["phase"]: p for p in data["timeline"]}
    assert phases["QualityGate"]["failed"] and "DeployCampaigns" not in phases
    page = report.render_html(data)
    assert "<dt>failed at</dt><dd>QualityGate</dd>" in page
    assert "precision_at_10 0.0100 is below the threshold 0.0500" in page


def test_the_command_line_writes_the_report_from_files(harness_run, tmp_path, capsys):
    result = harness_run["result"]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(harness_run["manifest"]), encoding="utf-8")
    history = tmp_path / "history.json"
    history.write_text(json.dumps(_as_cli_json(result.history, epoch=False)), encoding="utf-8")
    out = tmp_path / "out" / "report.html"
    assert report.main(["--manifest", str(manifest), "--history", str(history), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    page = out.read_text(encoding="utf-8")
    assert page.count('<img id="chart-') == 5
    # Self-contained: nothing outside the file is referenced.
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_a_run_without_item_id_reconciliation_or_rejections_still_renders(harness_run):
    manifest = harness_run["rejected_manifest"]
    assert not manifest["item_id_reconciliation"]
    page = report.render_html(report.collect(manifest, harness_run["rejected"].history))
    assert "The export spec reconciles no item ids." in page
    assert 'id="chart-reasons"' not in page and 'id="chart-rows"' in page


def test_a_recommenders_verdict_is_shown_under_its_own_name():
    training = {
        "name": "shop", "gate": {"thresholds": {"precision_at_10": 0.1}},
        "solutions": {"top-picks": {"solutionVersionArn": None, "metrics": {"precision_at_10": 0.3}}},
        "verdicts": [{"recommender": "top-picks", "passed": True, "reasons": [], "servedMetrics": {"precision_at_10": 0.2}}],
    }
    assert report.metric_rows(training) == (
        ["precision_at_10"], [("new: top-picks", {"precision_at_10": 0.3}), ("served by recommender top-picks", {"precision_at_10": 0.2})])
    section = report._metrics_section(training)
    assert '<li data-verdict="recommender top-picks">recommender top-picks: <span class="passed">PASSED</span>' in section


def test_a_domain_run_reports_its_recommenders_metrics_and_verdicts(tmp_path):
    from local_pipeline.fake_personalize import FixedMetricsTrainer
    from local_pipeline.harness import LocalPipeline
    from tests.training.exports import make_export, metrics
    from tests.training.test_scenarios_recommenders_and_batch import DURATIONS, domain_params

    with LocalPipeline(durations=DURATIONS, trainer=FixedMetricsTrainer({"*": metrics(precision_at_10=0.2)})) as pipeline:
        export = make_export(tmp_path / "passed", datasets=("interactions",))
        passed = pipeline.run(domain_params(), export)
        strict = domain_params()
        strict["quality_gate"] = {"thresholds": {"precision_at_10": 0.5}}
        rejected = pipeline.run(strict, make_export(tmp_path / "rejected", run_id="20260108T000000Z", datasets=("interactions",)))
    assert passed.status == "SUCCEEDED" and rejected.status == "FAILED"
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))

    data = report.collect(manifest, passed.history)
    assert data["training"]["recommenders"] == {"for-you": passed.summary["recommenders"]["for-you"]["metrics"]}
    assert [v["recommender"] for v in data["training"]["verdicts"]] == ["for-you"]
    assert "waiting for Recommenders" in [p["phase"] for p in data["timeline"]]
    page = report.render_html(data)
    assert '<th scope="col">recommender: for-you</th>' in page
    assert 'recommender for-you: <span class="passed">PASSED</span>' in page

    failed = report.collect(manifest, rejected.history)
    assert failed["execution"]["failed_step"] == "GateRecommenders"
    assert "precision_at_10 0.2000 is below the threshold 0.5000" in failed["training"]["rejection"]
