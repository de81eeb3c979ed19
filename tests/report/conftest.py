"""Runs of the real state machine in the local harness, and the report of one.

Three exports are trained in turn: the second run's gate compares its new version with
the one the campaign served (the run reported), the third's gate rejects its version; the manifest carries rejections, filtered event types and
item-id match classes shaped like the demo's."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_pipeline import report
from local_pipeline.fake_personalize import FixedMetricsTrainer
from local_pipeline.harness import LocalPipeline
from tests.training.exports import full_params, make_export, metrics

# Realistic durations, so the timeline spans hours of simulated time.
DURATIONS = {"dataset_import_job": 30 * 60, "solution_version": 2 * 3600, "campaign": 20 * 60}


def with_export_quirks(run_dir: Path) -> dict:
    """Add rejections, filtered rows, item-id classes and the export's own checks to the
    manifest, keeping every dataset's counts reconciled."""
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    interactions = manifest["datasets"]["interactions"]
    interactions["rejected_by_reason"] = {"duplicate": 30, "null_id": 4, "unparseable_timestamp": 2, "future_timestamp": 1}
    interactions["rejected"] = sum(interactions["rejected_by_reason"].values())
    interactions["filtered_by_event_type"] = {"cancelled": 105, "refunded": 46}
    interactions["filtered"] = sum(interactions["filtered_by_event_type"].values())
    interactions["rows_read"] = interactions["rows"] + interactions["rejected"] + interactions["filtered"]
    items = manifest["datasets"]["items"]
    items["rejected_by_reason"] = {"duplicate": 3, "invalid_number": 2}
    items["rejected"] = 5
    items["rows_read"] = items["rows"] + items["rejected"]
    manifest["item_id_reconciliation"] = {"exact": 900, "normalized": 280, "fuzzy": 12, "missing": 1, "unmatched": 7}
    manifest["readiness"]["checks"].append(
        {"rule": "counts_reconcile.interactions", "passed": True,
         "detail": "rows_read %d = written %d + rejected %d + filtered %d" % (
             interactions["rows_read"], interactions["rows"], interactions["rejected"], interactions["filtered"])})
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


@pytest.fixture(scope="package")
def harness_run(tmp_path_factory):
    """Two runs of the state machine; the second (with better metrics) is the one reported."""
    root = tmp_path_factory.mktemp("report")
    trainer = FixedMetricsTrainer({"*": metrics(precision_at_10=0.2)})
    with LocalPipeline(durations=DURATIONS, trainer=trainer) as pipeline:
        first = pipeline.run(full_params(), make_export(root / "first", run_id="20260101T000000Z"))
        assert first.status == "SUCCEEDED", (first.error, first.cause)
        trainer.metrics = {"*": metrics(precision_at_10=0.3, ndcg_at_10=0.35)}
        run_dir = make_export(root / "second", run_id="20260102T000000Z", interactions=1500)
        manifest = with_export_quirks(run_dir)
        second = pipeline.run(full_params(), run_dir)
        assert second.status == "SUCCEEDED", (second.error, second.cause)
        # A third export whose version falls below the gate's precision_at_10 threshold.
        trainer.metrics = {"*": metrics(precision_at_10=0.01)}
        rejected_dir = make_export(root / "third", run_id="20260103T000000Z", interactions=1300)
        rejected = pipeline.run(full_params(), rejected_dir)
        assert rejected.status == "FAILED"
    out = report.write_report(root / "report.html", manifest, second.history, second.summary)
    return {"manifest": manifest, "result": second, "first": first, "report": out, "root": root,
            "rejected": rejected, "rejected_manifest": json.loads((rejected_dir / "manifest.json").read_text(encoding="utf-8"))}
