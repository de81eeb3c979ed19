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

import boto3
import export_golden as g
import pytest
from glue_stand_in import awsglue_modules
from moto import mock_aws

from export_spec import load_spec
from personalize_export import layout
from personalize_export.glue_entry import changed_rows_read_options, export_main
from personalize_export.incremental import DeltaWindow, ExportPlan
from personalize_export.sources import read_source
from personalize_export.text import is_choice

pytestmark = pytest.mark.spark
RUN = "20240101T000000Z-0a1b2c"


@pytest.fixture
def glue_run(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        glue = boto3.client("glue")
        glue.create_workflow(Name="personalize-export")
        run_id = glue.start_workflow_run(Name="personalize-export")["RunId"]
        # What prepare publishes for a first export: FULL, its own base.
        plan = ExportPlan(RUN, "FULL", "no earlier successful export", "auto", RUN, "0" * 64)
        glue.put_workflow_run_properties(Name="personalize-export", RunId=run_id, RunProperties=dict(plan.as_properties(), run_id=RUN))
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
    for name, module in awsglue_modules(spark, tables, calls).items():
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
    for name, module in awsglue_modules(spark, {}, calls).items():
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


PREVIOUS = "20231231T000000Z-0a1b2b"
DAY = 86400
JUNE_1 = 1717200000  # 2024-06-01T00:00:00Z


def test_an_incremental_read_of_a_day_partitioned_table_prunes_partitions_in_the_catalog(spark, tmp_path, monkeypatch, glue_run):
    from pyspark.sql import functions as F

    # Five days of events in dt=yyyy-MM-dd partitions, one event an hour.
    moments = [JUNE_1 + hour * 3600 for hour in range(5 * 24)]
    events = spark.createDataFrame([("u%d" % (m % 7), "i%d" % (m % 5), m, m) for m in moments],
                                   "customer_id string, sku string, ts long, loaded_at long")
    events = events.withColumn("dt", F.date_format(F.timestamp_seconds("loaded_at"), "yyyy-MM-dd"))
    calls = []
    for name, module in awsglue_modules(spark, {("shop", "events"): (events, ("dt",))}, calls).items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = {
        "sources": {"events": {"format": "parquet", "path": "unused", "catalog": {"database": "shop", "table": "events"}}},
        "datasets": {"interactions": {
            "source": "events",
            "fields": {"USER_ID": "customer_id", "ITEM_ID": "sku", "TIMESTAMP": "ts"},
            "watermark": {"column": "loaded_at", "type": "epoch_seconds", "allowance_seconds": 3600, "partition_column": "dt"},
        }},
    }
    spec_path = tmp_path / "export-spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    root = str(tmp_path / "root")
    high = JUNE_1 + 2 * DAY + 12 * 3600  # the previous export's high-water mark: 2024-06-03T12:00:00Z
    previous = {"run_id": PREVIOUS, "export": {"base_run_id": PREVIOUS},
                "datasets": {"interactions": {"watermark": {"column": "loaded_at", "high": "2024-06-03T12:00:00Z"}}}}
    os.makedirs(layout.run_root(root, PREVIOUS))
    with open(layout.manifest_path(root, PREVIOUS), "w", encoding="utf-8") as handle:
        json.dump(previous, handle)
    plan = ExportPlan(RUN, "INCREMENTAL", "incremental on base %s" % PREVIOUS, "auto", PREVIOUS, "0" * 64, PREVIOUS, 2)
    boto3.client("glue").put_workflow_run_properties(Name="personalize-export", RunId=glue_run, RunProperties=plan.as_properties())

    report = export_main("interactions", [
        "export_interactions.py", "--JOB_NAME", "x", "--spec_uri", str(spec_path), "--export_root", root,
        "--WORKFLOW_NAME", "personalize-export", "--WORKFLOW_RUN_ID", glue_run,
    ])

    # June 1 and 2 are pruned from the catalog; June 3 is read from 11:00 (high minus 1 h).
    assert ("push_down_predicate", "dt >= '2024-06-03'") in calls
    expected = [m for m in moments if m >= high - 3600]
    assert report["rows_read"] == report["rows"] == len(expected)
    assert report["mode"] == "INCREMENTAL"
    assert report["watermark"]["read_from"] == "2024-06-03T11:00:00Z"
    assert report["watermark"]["overlap_rows"] == 2  # 11:00 and 12:00 were within the previous export
    # 61 interactions: under Personalize's 1,000 per import job, so carried; the watermark
    # stays, and the next run reads these rows again.
    assert report["carried"] is True and "minimum of 1000" in report["carried_reason"]
    assert report["watermark"]["high"] == "2024-06-03T12:00:00Z"
    assert report["watermark"]["high_read"] == "2024-06-05T23:00:00Z"


def test_an_incremental_read_of_a_jdbc_catalog_table_sends_the_condition_as_glues_sample_query():
    spec = load_spec({
        "sources": {"orders": {"format": "jdbc", "jdbc": {"url": "jdbc:postgresql://db/shop", "table": "public.orders"},
                               "catalog": {"database": "shop", "table": "shop_public_orders"}}},
        "datasets": {"interactions": {"source": "orders", "fields": {"USER_ID": "c", "ITEM_ID": "s", "TIMESTAMP": "t"},
                                      "watermark": {"column": "loaded_at"}}},
    })
    source = spec.sources["orders"]
    watermark = spec.datasets["interactions"].watermark
    window = DeltaWindow("interactions", "INCREMENTAL", watermark, JUNE_1, JUNE_1)
    assert changed_rows_read_options(source, window) == {"additional_options": {
        "sampleQuery": "SELECT * FROM public.orders "
                       "WHERE (loaded_at >= TIMESTAMP WITH TIME ZONE '2024-06-01 00:00:00+00:00' OR loaded_at IS NULL)"}}
    assert changed_rows_read_options(source, DeltaWindow("interactions", "FULL", watermark)) == {}
