"""Nothing moves or is deleted before every step of start_training that can fail has passed.

A hand-off that fails leaves ``latest`` and every older export where they were, and the
run does not count as a successful export for retention. ``keep_exports`` below 1 is
refused before anything is written. Local folders and moto's S3 (no Spark).
"""
from __future__ import annotations

import json
import os

import pytest
from export_fixtures import SPEC, write_good_export

from personalize_export import layout
from personalize_export.finalize import HandOffRefused, check_keep_exports, finalize_export
from personalize_export.glue_entry import prepare_main, start_training_main
from personalize_export.storage import Storage

RUNS = ["20240101T000000Z-aaaaaa", "20240102T000000Z-bbbbbb", "20240103T000000Z-cccccc"]


def _template(tmp_path):
    path = tmp_path / "params_template.json"
    path.write_text(json.dumps({"solutions": [{"name": "sims"}]}))
    return str(path)


def _good_run(spec, storage, root, run_id, tmp_path, keep):
    write_good_export(storage, root, run_id, spec)
    return finalize_export(spec, root, run_id, _template(tmp_path), str(tmp_path / "params.json"), keep_exports=keep, storage=storage)


def _unwritable_params(tmp_path, kind):
    if kind == "directory":
        target = tmp_path / "params_dir"
        target.mkdir()
        return str(target)
    if kind == "under_a_file":
        (tmp_path / "plain_file").write_text("x")
        return str(tmp_path / "plain_file" / "params.json")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["directory", "under_a_file"])
def test_a_params_destination_that_cannot_be_written_moves_and_deletes_nothing(spec, tmp_path, kind):
    storage, root = Storage(), str(tmp_path / "root")
    _good_run(spec, storage, root, RUNS[0], tmp_path, keep=1)
    before = storage.list_files(layout.run_root(root, RUNS[0]))
    write_good_export(storage, root, RUNS[1], spec)

    with pytest.raises(HandOffRefused, match="params destination"):
        finalize_export(spec, root, RUNS[1], _template(tmp_path), _unwritable_params(tmp_path, kind), keep_exports=1)

    assert storage.read_json(layout.latest_path(root))["run_id"] == RUNS[0]
    assert storage.list_files(layout.run_root(root, RUNS[0])) == before  # the previous export is intact
    assert storage.read_json(layout.manifest_path(root, RUNS[1]))["hand_off"] is None
    params = json.loads((tmp_path / "params.json").read_text())
    assert params["export"]["run_id"] == RUNS[0]  # the last hand-off still points at a live export


def test_a_run_that_failed_at_hand_off_does_not_count_for_retention(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    _good_run(spec, storage, root, RUNS[0], tmp_path, keep=2)
    write_good_export(storage, root, RUNS[1], spec)
    with pytest.raises(HandOffRefused):
        finalize_export(spec, root, RUNS[1], _template(tmp_path), _unwritable_params(tmp_path, "directory"), keep_exports=2)

    result = _good_run(spec, storage, root, RUNS[2], tmp_path, keep=2)

    # The two newest successful exports are the first and the third; the second never
    # reached training, so it must not push the first out.
    assert result.deleted_runs == []
    assert os.path.isfile(layout.manifest_path(root, RUNS[0]))
    assert result.manifest["hand_off"]["params_uri"] == str(tmp_path / "params.json")
    assert storage.read_json(layout.manifest_path(root, RUNS[2]))["hand_off"] == result.manifest["hand_off"]


def test_a_missing_params_template_is_refused_before_latest_moves(spec, tmp_path):
    storage, root = Storage(), str(tmp_path / "root")
    write_good_export(storage, root, RUNS[0], spec)
    with pytest.raises(HandOffRefused, match="cannot be read"):
        finalize_export(spec, root, RUNS[0], str(tmp_path / "no_template.json"), str(tmp_path / "params.json"))
    assert not os.path.exists(layout.latest_path(root))


@pytest.mark.parametrize("keep", [0, -1, -5, True, 1.5, "2"])
def test_keep_exports_below_one_or_not_an_integer_is_refused_before_anything_is_written(spec, tmp_path, keep):
    storage, root = Storage(), str(tmp_path / "root")
    write_good_export(storage, root, RUNS[0], spec)
    with pytest.raises(ValueError, match="keep_exports must be an integer of at least 1"):
        finalize_export(spec, root, RUNS[0], _template(tmp_path), str(tmp_path / "params.json"), keep_exports=keep)
    assert not os.path.exists(layout.manifest_path(root, RUNS[0]))
    assert not os.path.exists(layout.latest_path(root))


def test_check_keep_exports_accepts_positive_integers():
    assert [check_keep_exports(n) for n in (1, 2, 30)] == [1, 2, 30]


# ----------------------------------------------------------------------------- S3

ROOT = "s3://data/personalize"


def _s3_setup(aws):
    s3, glue = aws["s3"], aws["glue"]
    s3.put_object(Bucket="data", Key="config/spec.json", Body=json.dumps(SPEC).encode())
    s3.put_object(Bucket="data", Key="config/params_template.json", Body=json.dumps({"campaign": {"min_tps": 1}}).encode())
    glue.create_workflow(Name="export")
    return glue.start_workflow_run(Name="export")["RunId"]


def _s3_args(workflow_run, params_uri, keep):
    return ["start_training.py", "--JOB_NAME", "job", "--WORKFLOW_NAME", "export", "--WORKFLOW_RUN_ID", workflow_run,
            "--spec_uri", "s3://data/config/spec.json", "--export_root", ROOT,
            "--params_template_uri", "s3://data/config/params_template.json", "--params_uri", params_uri,
            "--keep_exports", str(keep)]


@pytest.mark.parametrize("params_uri", ["s3://no-such-bucket/params.json", "s3://data/params/"])
def test_on_s3_a_failed_hand_off_keeps_latest_and_the_previous_export(aws, spec, params_uri):
    storage = Storage(aws["s3"])
    workflow_run = _s3_setup(aws)
    previous = RUNS[0]
    write_good_export(storage, ROOT, previous, spec)
    finalize_export(spec, ROOT, previous, "s3://data/config/params_template.json", "s3://data/params/params.json",
                    keep_exports=1, storage=storage)
    before = storage.list_files(layout.run_root(ROOT, previous))
    run_id = prepare_main(["prepare.py", "--JOB_NAME", "job", "--WORKFLOW_NAME", "export", "--WORKFLOW_RUN_ID", workflow_run,
                           "--spec_uri", "s3://data/config/spec.json", "--export_root", ROOT],
                          glue_client_factory=lambda: aws["glue"])
    write_good_export(storage, ROOT, run_id, spec)

    with pytest.raises(HandOffRefused, match=params_uri.rstrip("/")):
        start_training_main(_s3_args(workflow_run, params_uri, keep=1), glue_client_factory=lambda: aws["glue"], storage=storage)

    assert storage.read_json(layout.latest_path(ROOT))["run_id"] == previous
    assert storage.list_files(layout.run_root(ROOT, previous)) == before
    assert storage.read_json(layout.manifest_path(ROOT, run_id))["hand_off"] is None
    assert storage.read_json("s3://data/params/params.json")["export"]["run_id"] == previous


@pytest.mark.parametrize("keep", ["0", "-1"])
def test_on_s3_keep_exports_below_one_stops_start_training_before_it_writes(aws, spec, keep):
    storage = Storage(aws["s3"])
    workflow_run = _s3_setup(aws)
    run_id = prepare_main(["prepare.py", "--JOB_NAME", "job", "--WORKFLOW_NAME", "export", "--WORKFLOW_RUN_ID", workflow_run,
                           "--spec_uri", "s3://data/config/spec.json", "--export_root", ROOT],
                          glue_client_factory=lambda: aws["glue"])
    write_good_export(storage, ROOT, run_id, spec)
    with pytest.raises(SystemExit, match="--keep_exports must be an integer of at least 1"):
        start_training_main(_s3_args(workflow_run, "s3://data/params/params.json", keep), glue_client_factory=lambda: aws["glue"],
                            storage=storage)
    assert not storage.exists(layout.manifest_path(ROOT, run_id))
    assert not storage.exists(layout.latest_path(ROOT))
