"""Manifest, readiness, the latest pointer, retention and hand-off (no Spark)."""
from __future__ import annotations

import json
import os

import pytest
from export_fixtures import GOOD_INTERACTIONS, GOOD_ITEMS, write_dataset, write_good_export

from personalize_export import layout
from personalize_export.finalize import (
    HandOffRefused,
    ReadinessFailed,
    build_manifest,
    cleanup,
    finalize_export,
    hand_off,
)
from personalize_export.storage import Storage

RUNS = ["20240101T000000Z-aaaaaa", "20240102T000000Z-bbbbbb", "20240103T000000Z-cccccc", "20240104T000000Z-dddddd"]


def _template(tmp_path, content=None):
    path = tmp_path / "params_template.json"
    path.write_text(json.dumps(content if content is not None else {"solutions": [{"name": "sims"}]}))
    return str(path)


def _finalize(spec, root, run_id, tmp_path, keep=None):
    return finalize_export(spec, root, run_id, _template(tmp_path), str(tmp_path / "params.json"), keep_exports=keep)


def test_manifest_has_the_contract_fields_with_relative_paths(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_good_export(storage, root, RUNS[0], spec)
    result = _finalize(spec, root, RUNS[0], tmp_path)
    manifest = json.loads((tmp_path / "root" / "exports" / RUNS[0] / "manifest.json").read_text())
    assert manifest == result.manifest
    assert manifest["run_id"] == RUNS[0]
    assert manifest["created_at"].endswith("Z")
    assert set(manifest["datasets"]) == {"interactions", "items"}
    interactions = manifest["datasets"]["interactions"]
    assert interactions["prefix"] == "interactions/"
    assert interactions["files"] == ["interactions/part-00000-test.csv"]
    assert interactions["schema"] == "schemas/interactions.json"
    assert (interactions["rows"], interactions["rejected"], interactions["rows_read"]) == (5, 0, 6)
    assert interactions["rejected_by_reason"] == {}
    assert manifest["readiness"]["passed"] is True
    rules = {c["rule"] for c in manifest["readiness"]["checks"]}
    assert {"min_interactions", "min_users", "counts_reconcile.interactions", "files_valid.items",
            "max_rejected_share.interactions", "schema_metadata_fields.items", "schema_textual_fields.items"} <= rules
    assert manifest["item_id_reconciliation"]["exact"] == 5
    # relative paths resolve against the manifest's own folder
    run_dir = os.path.dirname(result.manifest_uri)
    assert os.path.isfile(os.path.join(run_dir, interactions["files"][0]))


def test_success_moves_latest_and_hands_off(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_good_export(storage, root, RUNS[0], spec)
    _finalize(spec, root, RUNS[0], tmp_path)
    latest = json.loads((tmp_path / "root" / "exports" / "latest.json").read_text())
    assert latest["run_id"] == RUNS[0]
    assert latest["manifest"] == RUNS[0] + "/manifest.json"
    params = json.loads((tmp_path / "params.json").read_text())
    assert params["solutions"] == [{"name": "sims"}]  # the template is kept
    assert params["export"] == {
        "manifest_uri": os.path.abspath(layout.manifest_path(root, RUNS[0])),
        "run_id": RUNS[0],
    }


def test_too_few_interactions_fails_naming_the_rule_and_moves_nothing(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_good_export(storage, root, RUNS[0], spec)
    _finalize(spec, root, RUNS[0], tmp_path)
    write_dataset(storage, root, RUNS[1], spec, "interactions", GOOD_INTERACTIONS[:2])
    write_dataset(storage, root, RUNS[1], spec, "items", GOOD_ITEMS)
    (tmp_path / "params.json").unlink()
    with pytest.raises(ReadinessFailed) as failure:
        _finalize(spec, root, RUNS[1], tmp_path, keep=1)
    message = str(failure.value)
    assert "min_interactions" in message and "2 interactions after event-type filtering (need at least 4)" in message
    assert "min_users" in message
    # latest still points at the previous good export, which still exists; no params written
    assert json.loads((tmp_path / "root" / "exports" / "latest.json").read_text())["run_id"] == RUNS[0]
    assert os.path.isdir(layout.run_root(root, RUNS[0]))
    assert not (tmp_path / "params.json").exists()
    failed_manifest = json.loads(open(layout.manifest_path(root, RUNS[1])).read())
    assert failed_manifest["readiness"]["passed"] is False


def test_rejected_share_above_threshold_fails(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_dataset(storage, root, RUNS[0], spec, "interactions", GOOD_INTERACTIONS, {"null_id": 1, "invalid_number": 1})
    write_dataset(storage, root, RUNS[0], spec, "items", GOOD_ITEMS)
    with pytest.raises(ReadinessFailed) as failure:
        _finalize(spec, root, RUNS[0], tmp_path)
    assert "max_rejected_share.interactions" in str(failure.value)
    assert "28.57% of 7 rows rejected (at most 10.00%)" in str(failure.value)
    assert not os.path.exists(layout.latest_path(root))


def test_missing_dataset_report_fails_dataset_written(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_dataset(storage, root, RUNS[0], spec, "interactions", GOOD_INTERACTIONS)
    manifest = build_manifest(spec, root, RUNS[0], storage)
    failed = [c["rule"] for c in manifest["readiness"]["checks"] if not c["passed"]]
    assert failed == ["dataset_written.items"]


def test_header_out_of_schema_order_fails_files_valid(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_dataset(storage, root, RUNS[0], spec, "interactions", GOOD_INTERACTIONS, header="ITEM_ID,USER_ID,TIMESTAMP,EVENT_TYPE")
    write_dataset(storage, root, RUNS[0], spec, "items", GOOD_ITEMS)
    manifest = build_manifest(spec, root, RUNS[0], storage)
    failed = {c["rule"]: c["detail"] for c in manifest["readiness"]["checks"] if not c["passed"]}
    assert list(failed) == ["files_valid.interactions"]
    assert "does not match the schema order" in failed["files_valid.interactions"]


def test_stray_objects_in_a_dataset_prefix_fail_files_valid(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_good_export(storage, root, RUNS[0], spec)
    storage.write_text(layout.dataset_prefix(root, RUNS[0], "items") + "/_SUCCESS", "")
    manifest = build_manifest(spec, root, RUNS[0], storage)
    failed = [c["rule"] for c in manifest["readiness"]["checks"] if not c["passed"]]
    assert failed == ["files_valid.items"]


def test_counts_that_do_not_reconcile_fail(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_good_export(storage, root, RUNS[0], spec)
    report_uri = layout.report_path(root, RUNS[0], "items")
    report = storage.read_json(report_uri)
    report["rows_read"] += 1  # one row unaccounted for
    storage.write_json(report_uri, report)
    manifest = build_manifest(spec, root, RUNS[0], storage)
    failed = [c["rule"] for c in manifest["readiness"]["checks"] if not c["passed"]]
    assert failed == ["counts_reconcile.items"]


def test_retention_keeps_the_newest_successful_exports(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    for run_id in RUNS[:3]:
        write_good_export(storage, root, run_id, spec)
        storage.write_bytes(os.path.join(layout.rejected_prefix(root, run_id, "interactions"), "part-0.json"), b"{}\n")
        _finalize(spec, root, run_id, tmp_path, keep=2)
    remaining = storage.list_children(layout.exports_root(root))
    assert remaining == RUNS[1:3]
    # A removed run's rejected rows go with it; the kept runs keep theirs.
    assert storage.list_children(os.path.join(root, "rejected")) == RUNS[1:3]


def test_retention_never_deletes_latest_or_runs_in_progress(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    for run_id in RUNS[:3]:
        write_good_export(storage, root, run_id, spec)
        storage.write_json(layout.manifest_path(root, run_id), build_manifest(spec, root, run_id, storage))
    # latest points at the oldest; RUNS[3] has data but no manifest yet (in progress)
    storage.write_json(layout.latest_path(root), {"run_id": RUNS[0]})
    write_dataset(storage, root, RUNS[3], spec, "interactions", GOOD_INTERACTIONS)
    deleted = cleanup(storage, root, keep=1)
    assert deleted == [RUNS[1]]
    assert storage.list_children(layout.exports_root(root)) == [RUNS[0], RUNS[2], RUNS[3]]


def test_retention_removes_failed_runs_older_than_the_kept_ones(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_dataset(storage, root, RUNS[0], spec, "interactions", GOOD_INTERACTIONS[:1])
    write_dataset(storage, root, RUNS[0], spec, "items", GOOD_ITEMS)
    with pytest.raises(ReadinessFailed):
        _finalize(spec, root, RUNS[0], tmp_path)
    assert storage.list_children(layout.exports_root(root)) == [RUNS[0]]  # a failure deletes nothing
    write_good_export(storage, root, RUNS[1], spec)
    _finalize(spec, root, RUNS[1], tmp_path, keep=1)
    assert storage.list_children(layout.exports_root(root)) == [RUNS[1]]


def test_hand_off_refuses_a_manifest_that_failed_readiness(tmp_path):
    manifest = {"run_id": RUNS[0], "readiness": {"passed": False, "checks": [
        {"rule": "min_users", "passed": False, "detail": "3 users"}]}}
    with pytest.raises(HandOffRefused, match="min_users"):
        hand_off(Storage(), "/x/manifest.json", manifest, _template(tmp_path), str(tmp_path / "p.json"))
    assert not (tmp_path / "p.json").exists()


def test_unusable_params_template_fails_before_latest_moves(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_good_export(storage, root, RUNS[0], spec)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    with pytest.raises(HandOffRefused, match="not valid JSON"):
        finalize_export(spec, root, RUNS[0], str(bad), str(tmp_path / "params.json"))
    assert not os.path.exists(layout.latest_path(root))
