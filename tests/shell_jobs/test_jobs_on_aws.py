"""The Python-shell job entrypoints against moto's Glue and S3.

prepare and start_training run exactly as Glue starts them: ``--name value`` arguments,
workflow run properties through the Glue API, the spec/template/params in S3.
"""
from __future__ import annotations

import json

import pytest
from export_fixtures import GOOD_INTERACTIONS, GOOD_ITEMS, SPEC, write_dataset, write_good_export

from export_spec import load_spec
from personalize_export import layout
from personalize_export.finalize import ReadinessFailed
from personalize_export.glue_entry import prepare_main, start_training_main
from personalize_export.storage import Storage

ROOT = "s3://data/personalize"


def _workflow(glue):
    glue.create_workflow(Name="export")
    return glue.start_workflow_run(Name="export")["RunId"]


def _args(run_id, *extra):
    return ["prepare.py", "--JOB_NAME", "job", "--WORKFLOW_NAME", "export", "--WORKFLOW_RUN_ID", run_id] + list(extra)


def _prepare_args(run_id, *extra):
    """prepare reads the spec and the last export to choose FULL or INCREMENTAL."""
    return _args(run_id, "--spec_uri", "s3://data/config/spec.json", "--export_root", ROOT, *extra)


def test_prepare_publishes_a_sortable_run_id_and_keeps_it_on_retry(aws):
    _publish_config(aws["s3"])
    workflow_run = _workflow(aws["glue"])
    run_id = prepare_main(_prepare_args(workflow_run), glue_client_factory=lambda: aws["glue"])
    assert layout.RUN_ID_PATTERN.match(run_id)
    stored = aws["glue"].get_workflow_run_properties(Name="export", RunId=workflow_run)["RunProperties"]
    assert stored["run_id"] == run_id
    # a retried prepare in the same workflow run keeps the id the exports already use
    assert prepare_main(_prepare_args(workflow_run), glue_client_factory=lambda: aws["glue"]) == run_id


def _without_job_name(argv):
    at = argv.index("--JOB_NAME")
    return argv[:at] + argv[at + 2:]


def test_shell_jobs_run_without_job_name(aws):
    """The Python-shell jobs have no Job object to name: --JOB_NAME is neither needed nor refused."""
    s3, glue = aws["s3"], aws["glue"]
    storage = Storage(s3)
    _publish_config(s3)
    workflow_run = _workflow(glue)
    run_id = prepare_main(_without_job_name(_prepare_args(workflow_run)), glue_client_factory=lambda: glue)
    assert layout.RUN_ID_PATTERN.match(run_id)
    write_good_export(storage, ROOT, run_id, load_spec(SPEC))

    result = start_training_main(_without_job_name(_start_training_args(workflow_run)), glue_client_factory=lambda: glue,
                                 storage=storage)

    assert json.loads(s3.get_object(Bucket="data", Key="params/params.json")["Body"].read())["export"]["run_id"] == run_id
    assert result.params_version


def test_prepare_fails_without_workflow_arguments(aws):
    with pytest.raises(SystemExit, match="--WORKFLOW_NAME"):
        prepare_main(["prepare.py", "--JOB_NAME", "job"], glue_client_factory=lambda: aws["glue"])


def _start_training_args(workflow_run, keep=None):
    extra = [
        "--spec_uri", "s3://data/config/spec.json",
        "--export_root", ROOT,
        "--params_template_uri", "s3://data/config/params_template.json",
        "--params_uri", "s3://data/params/params.json",
    ]
    if keep is not None:
        extra += ["--keep_exports", str(keep)]
    return _args(workflow_run, *extra)


def _publish_config(s3):
    s3.put_object(Bucket="data", Key="config/spec.json", Body=json.dumps(SPEC).encode())
    s3.put_object(Bucket="data", Key="config/params_template.json", Body=json.dumps({"campaign": {"min_tps": 1}}).encode())


def test_start_training_on_s3_writes_manifest_latest_and_a_params_version(aws):
    s3, glue = aws["s3"], aws["glue"]
    storage = Storage(s3)
    spec = load_spec(SPEC)
    _publish_config(s3)
    workflow_run = _workflow(glue)
    run_id = prepare_main(_prepare_args(workflow_run), glue_client_factory=lambda: glue)
    write_good_export(storage, ROOT, run_id, spec)

    result = start_training_main(_start_training_args(workflow_run), glue_client_factory=lambda: glue, storage=storage)

    manifest = json.loads(s3.get_object(Bucket="data", Key="personalize/exports/%s/manifest.json" % run_id)["Body"].read())
    assert manifest["readiness"]["passed"] is True
    assert manifest["datasets"]["interactions"]["files"] == ["interactions/part-00000-test.csv"]
    latest = json.loads(s3.get_object(Bucket="data", Key="personalize/exports/latest.json")["Body"].read())
    assert latest["run_id"] == run_id
    params_object = s3.get_object(Bucket="data", Key="params/params.json")
    params = json.loads(params_object["Body"].read())
    assert params["campaign"] == {"min_tps": 1}
    assert params["export"] == {"manifest_uri": "s3://data/personalize/exports/%s/manifest.json" % run_id, "run_id": run_id}
    assert result.params_version == params_object["VersionId"]


def test_start_training_on_s3_refuses_and_keeps_the_previous_export(aws):
    s3, glue = aws["s3"], aws["glue"]
    storage = Storage(s3)
    spec = load_spec(SPEC)
    _publish_config(s3)
    good_run = "20240101T000000Z-aaaaaa"
    write_good_export(storage, ROOT, good_run, spec)
    storage.write_json(layout.manifest_path(ROOT, good_run), {"run_id": good_run, "readiness": {"passed": True}})
    storage.write_json(layout.latest_path(ROOT), {"run_id": good_run})

    workflow_run = _workflow(glue)
    run_id = prepare_main(_prepare_args(workflow_run), glue_client_factory=lambda: glue)
    write_dataset(storage, ROOT, run_id, spec, "interactions", GOOD_INTERACTIONS[:1])
    write_dataset(storage, ROOT, run_id, spec, "items", GOOD_ITEMS)
    before = storage.list_files("s3://data/personalize/exports/" + good_run)

    with pytest.raises(ReadinessFailed, match="min_interactions"):
        start_training_main(_start_training_args(workflow_run, keep=1), glue_client_factory=lambda: glue, storage=storage)

    assert storage.read_json(layout.latest_path(ROOT))["run_id"] == good_run
    assert storage.list_files("s3://data/personalize/exports/" + good_run) == before
    assert "Contents" not in s3.list_objects_v2(Bucket="data", Prefix="params/")


def test_start_training_needs_the_run_id_from_prepare(aws):
    _publish_config(aws["s3"])
    workflow_run = _workflow(aws["glue"])
    with pytest.raises(RuntimeError, match="prepare job must run first"):
        start_training_main(_start_training_args(workflow_run), glue_client_factory=lambda: aws["glue"], storage=Storage(aws["s3"]))
