"""The Spark export entrypoint as Glue runs it.

awsglue cannot run here (no Glue JARs), so a minimal stand-in of the three names the
entrypoint uses (GlueContext, its DynamicFrame reader, Job) hands it DataFrames of the
catalog tables; the workflow run properties come from moto's Glue. What is proven: the
entrypoint reads its arguments, takes the run id from the workflow run, reads every
table it needs from the Data Catalog (not from file paths), writes the export and its
report, and commits the job.
"""
from __future__ import annotations

import json
import os
import sys
import types

import boto3
import export_golden as g
import pytest
from moto import mock_aws

from export_spec import load_spec
from personalize_export import layout
from personalize_export.glue_entry import export_main
from personalize_export.sources import read_source
from personalize_export.text import is_choice

pytestmark = pytest.mark.spark
RUN = "20240101T000000Z-0a1b2c"


class _DynamicFrame:
    def __init__(self, frame):
        self._frame = frame

    def toDF(self):
        return self._frame


def _awsglue_stand_in(spark, tables, calls):
    package = types.ModuleType("awsglue")
    package.__path__ = []
    context = types.ModuleType("awsglue.context")
    job = types.ModuleType("awsglue.job")

    class GlueContext:
        def __init__(self, spark_context):
            self.spark_session = spark
            self.create_dynamic_frame = self

        def from_catalog(self, database, table_name, transformation_ctx=None):
            calls.append(("from_catalog", database, table_name))
            return _DynamicFrame(tables[(database, table_name)])

    class Job:
        def __init__(self, glue_context):
            pass

        def init(self, name, args):
            calls.append(("init", name))

        def commit(self):
            calls.append(("commit",))

    context.GlueContext = GlueContext
    job.Job = Job
    return {"awsglue": package, "awsglue.context": context, "awsglue.job": job}


@pytest.fixture
def glue_run(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        glue = boto3.client("glue")
        glue.create_workflow(Name="personalize-export")
        run_id = glue.start_workflow_run(Name="personalize-export")["RunId"]
        glue.put_workflow_run_properties(Name="personalize-export", RunId=run_id, RunProperties={"run_id": RUN})
        yield run_id


def test_export_entrypoint_reads_the_catalog_and_commits(spark, tmp_path, monkeypatch, glue_run):
    folder = str(tmp_path)
    g.write_inputs(folder)
    spec = load_spec(g.SPEC)
    # What the catalog tables hold: the same rows the crawler would have catalogued.
    tables = {
        (source.catalog.database, source.catalog.table): read_source(spark, source, folder)
        for source in spec.sources.values()
    }
    # Glue gives a field whose JSON type varies across documents a choice (one struct
    # member per type): order timestamps are text in some documents, {"$date": ...} in others.
    assert is_choice(tables[("shop", "orders")].schema["ts"].dataType)
    calls = []
    for name, module in _awsglue_stand_in(spark, tables, calls).items():
        monkeypatch.setitem(sys.modules, name, module)
    spec_path = tmp_path / "export-spec.json"
    spec_path.write_text(json.dumps(g.SPEC), encoding="utf-8")
    root = str(tmp_path / "root")

    report = export_main("interactions", [
        "export_interactions.py", "--JOB_NAME", "retail-export-interactions", "--spec_uri", str(spec_path),
        "--export_root", root, "--WORKFLOW_NAME", "personalize-export", "--WORKFLOW_RUN_ID", glue_run,
    ])

    # Orders for the interactions, products for the item-id reconciliation: both from the catalog.
    assert ("from_catalog", "shop", "orders") in calls and ("from_catalog", "shop", "products") in calls
    assert calls[0] == ("init", "retail-export-interactions") and calls[-1] == ("commit",)
    assert report["rows_read"] == len(g.ORDERS)
    assert report["rows_read"] == report["rows"] + report["rejected"] + report["filtered"]
    written = os.listdir(layout.dataset_prefix(root, RUN, "interactions"))
    assert written and all(name.endswith(".csv") for name in written)
    with open(layout.report_path(root, RUN, "interactions"), encoding="utf-8") as handle:
        assert json.load(handle)["rows"] == report["rows"]


def test_export_entrypoint_names_a_source_without_a_catalog_table(spark, tmp_path, monkeypatch, glue_run):
    calls = []
    for name, module in _awsglue_stand_in(spark, {}, calls).items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = json.loads(json.dumps(g.SPEC))
    del spec["sources"]["orders"]["catalog"]
    spec_path = tmp_path / "export-spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")

    with pytest.raises(ValueError, match=r"sources\.orders\.catalog: in AWS every source needs its Data Catalog table"):
        export_main("interactions", [
            "export_interactions.py", "--JOB_NAME", "x", "--spec_uri", str(spec_path), "--export_root", str(tmp_path / "root"),
            "--WORKFLOW_NAME", "personalize-export", "--WORKFLOW_RUN_ID", glue_run,
        ])
    assert ("commit",) not in calls
