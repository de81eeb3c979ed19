"""Asking prepare for a mode, the way AWS runs it: the job's default arguments from
Terraform (``--export_mode auto``), and run properties given to StartWorkflowRun (moto's Glue)."""
from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import re

import pytest
from export_fixtures import SPEC, write_good_export

from export_spec import load_spec
from personalize_export import layout
from personalize_export.glue_entry import prepare_main, start_training_main
from personalize_export.storage import Storage

ROOT = "s3://data/personalize"
JOBS_TF = os.path.join(os.path.dirname(__file__), "..", "..", "modules", "dataset-export", "jobs.tf")


VARIABLES_TF = os.path.join(os.path.dirname(JOBS_TF), "variables.tf")


def _terraform_prepare_arguments():
    """The prepare job's default arguments in modules/dataset-export/jobs.tf, as Glue passes
    them with the module's defaults (a ``tostring(var.data_bucket.<key>)`` is that key's default)."""
    text = open(JOBS_TF).read()
    block = re.search(r"python_shell_job_arguments\s*=\s*\{.*?\bprepare\s*=\s*\{(.*?)\}", text, re.S)
    assert block, "no python_shell_job_arguments.prepare in %s" % JOBS_TF
    arguments = []
    for name, quoted, expression in re.findall(r'"(--[a-z_]+)"\s*=\s*(?:"([^"]*)"|(\S+))', block.group(1)):
        arguments += [name, quoted or _data_bucket_default(re.fullmatch(r"tostring\(var\.data_bucket\.(\w+)\)", expression).group(1))]
    return arguments


def _data_bucket_default(key):
    default = re.search(r"\b%s\s*=\s*optional\(number,\s*(\d+)\)" % key, open(VARIABLES_TF).read())
    assert default, "no default for data_bucket.%s in %s" % (key, VARIABLES_TF)
    return default.group(1)


def _spec():
    raw = copy.deepcopy(SPEC)
    raw["datasets"]["interactions"]["watermark"] = {"column": "loaded_at"}
    return raw


def _args(workflow_run, *extra):
    return ["prepare.py", "--WORKFLOW_NAME", "export", "--WORKFLOW_RUN_ID", workflow_run,
            "--spec_uri", "s3://data/config/spec.json", "--export_root", ROOT] + list(extra)


@pytest.fixture
def exported(aws):
    """A first FULL export, handed off: an ``auto`` run after it is INCREMENTAL."""
    s3, glue = aws["s3"], aws["glue"]
    s3.put_object(Bucket="data", Key="config/spec.json", Body=json.dumps(_spec()).encode())
    s3.put_object(Bucket="data", Key="config/params_template.json", Body=b"{}")
    glue.create_workflow(Name="export")
    first = glue.start_workflow_run(Name="export")["RunId"]
    run_id = prepare_main(_args(first, *_terraform_prepare_arguments()), glue_client_factory=lambda: glue)
    write_good_export(Storage(s3), ROOT, run_id, load_spec(_spec()))
    start_training_main(["start_training.py", "--WORKFLOW_NAME", "export", "--WORKFLOW_RUN_ID", first,
                         "--spec_uri", "s3://data/config/spec.json", "--export_root", ROOT,
                         "--params_template_uri", "s3://data/config/params_template.json",
                         "--params_uri", "s3://data/params/params.json"],
                        glue_client_factory=lambda: glue, storage=Storage(s3))
    return aws


def _prepare(glue, run_properties, *extra):
    workflow_run = glue.start_workflow_run(Name="export", RunProperties=run_properties)["RunId"]
    prepare_main(_args(workflow_run, *(extra or _terraform_prepare_arguments())), glue_client_factory=lambda: glue)
    return glue.get_workflow_run_properties(Name="export", RunId=workflow_run)["RunProperties"]


def test_terraform_gives_prepare_export_mode_auto_and_the_exports_expiry():
    assert _terraform_prepare_arguments() == ["--export_mode", "auto", "--export_expiry_days", "90"]


def test_a_base_near_the_buckets_expiry_starts_a_new_chain(exported):
    s3, glue = exported["s3"], exported["glue"]
    storage = Storage(s3)
    base = storage.read_json(layout.latest_path(ROOT))["run_id"]
    manifest = storage.read_json(layout.manifest_path(ROOT, base))
    assert _prepare(glue, {})["export_mode"] == "INCREMENTAL"
    # The same base, written 83 days ago: 7 days before the bucket's 90-day expiry.
    manifest["export"]["base_created_at"] = layout.utc_now_iso(_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=83))
    storage.write_json(layout.manifest_path(ROOT, base), manifest)
    stored = _prepare(glue, {})
    assert stored["export_mode"] == "FULL"
    assert "the bucket expires exports 90 days after they are written (data_bucket.export_retention_days)" in stored["export_reason"]


def test_a_bad_expiry_argument_is_named():
    with pytest.raises(SystemExit, match="job argument --export_expiry_days must be an integer"):
        prepare_main(_args("run", "--export_expiry_days", "ninety"))


def test_a_run_property_export_requested_wins_over_the_default_argument_auto(exported):
    glue = exported["glue"]
    assert _prepare(glue, {})["export_mode"] == "INCREMENTAL"
    stored = _prepare(glue, {"export_requested": "FULL"})
    assert stored["export_mode"] == "FULL"
    assert stored["export_reason"] == "requested by run property export_requested FULL"
    assert stored["export_requested"] == "FULL"


def test_a_run_property_that_disagrees_with_an_explicit_argument_is_refused_naming_both(exported):
    with pytest.raises(SystemExit, match="--export_mode FULL and run property export_requested INCREMENTAL disagree"):
        _prepare(exported["glue"], {"export_requested": "incremental"}, "--export_mode", "FULL")
    # the same mode both ways is no conflict
    assert _prepare(exported["glue"], {"export_requested": "FULL"}, "--export_mode", "full")["export_mode"] == "FULL"


def test_a_bad_run_property_is_named_as_the_run_property(exported):
    with pytest.raises(SystemExit, match=r"run property export_requested must be one of auto, FULL, INCREMENTAL \(got 'weekly'\)"):
        _prepare(exported["glue"], {"export_requested": "weekly"})


def test_a_run_property_export_mode_set_at_start_says_to_use_export_requested(exported):
    with pytest.raises(SystemExit) as caught:
        _prepare(exported["glue"], {"export_mode": "FULL"})
    message = str(caught.value)
    assert "run property export_mode='FULL' was set when the workflow run started" in message
    assert "run property export_requested" in message and "must run first" not in message
