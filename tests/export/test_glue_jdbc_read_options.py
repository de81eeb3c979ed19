"""What the Glue export job passes to ``from_catalog`` for a JDBC table: the spec's split
(Glue's hashfield or hashexpression with hashpartitions) and fetch size.
https://docs.aws.amazon.com/glue/latest/dg/run-jdbc-parallel-read-job.html"""
from __future__ import annotations

import json
import sys

import boto3
import export_golden as g
import pytest
from glue_stand_in import JdbcTable, awsglue_modules
from moto import mock_aws

from export_spec import load_spec
from personalize_export.glue_entry import catalog_read_options, describe_catalog_read, export_main
from personalize_export.incremental import ExportPlan
from personalize_export.sources import read_source

RUN = "20240101T000000Z-0a1b2c"
FIELDS = {"USER_ID": "customer_id", "ITEM_ID": "sku", "TIMESTAMP": "ordered_at"}


def _source(source):
    spec = load_spec({"sources": {"orders": source}, "datasets": {"interactions": {"source": "orders", "fields": FIELDS}}})
    return spec.sources["orders"]


def _catalog_jdbc(jdbc_read=None):
    source = {"format": "jdbc", "catalog": {"database": "retail", "table": "shop_public_orders"}}
    if jdbc_read is not None:
        source["jdbc_read"] = jdbc_read
    return _source(source)


@pytest.mark.parametrize("jdbc_read,options", [
    ({"column": "order_no"}, {"hashfield": "order_no", "hashpartitions": "8", "fetchsize": "10000"}),
    ({"column": "order_id", "partitions": 16, "fetch_size": 2000}, {"hashfield": "order_id", "hashpartitions": "16", "fetchsize": "2000"}),
    # Glue's own expression wins over the column (the column still splits the local read).
    ({"column": "order_no", "hash_expression": "order_no % 97", "partitions": 4},
     {"hashexpression": "order_no % 97", "hashpartitions": "4", "fetchsize": "10000"}),
    ({"column": "order_no", "partitions": 1}, {"fetchsize": "10000"}),
    ({}, {"fetchsize": "10000"}),
])
def test_the_split_and_fetch_size_become_glue_read_options(jdbc_read, options):
    assert catalog_read_options(_catalog_jdbc(jdbc_read)) == options


def test_other_formats_get_no_jdbc_options():
    source = _source({"format": "parquet", "catalog": {"database": "retail", "table": "orders"}})
    assert catalog_read_options(source) == {}
    assert describe_catalog_read(source, {}) == "read from the Data Catalog"


def test_an_unsplit_jdbc_read_says_which_field_would_split_it():
    source = _catalog_jdbc()
    message = describe_catalog_read(source, catalog_read_options(source))
    assert message.startswith("JDBC read in one query over one connection: name sources.orders.jdbc_read.column")
    split = _catalog_jdbc({"column": "order_no", "partitions": 4})
    assert describe_catalog_read(split, catalog_read_options(split)) == (
        "JDBC read in 4 parallel queries on hashfield order_no, fetch size 10000")


@pytest.mark.spark
def test_the_export_job_passes_the_split_to_from_catalog(spark, tmp_path, monkeypatch, capsys):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    folder = str(tmp_path)
    g.write_inputs(folder)
    local = load_spec(g.SPEC)
    tables = {(s.catalog.database, s.catalog.table): read_source(spark, s, folder) for s in local.sources.values()}
    tables[("shop", "orders")] = JdbcTable(tables[("shop", "orders")], "orders")
    # The same orders, catalogued from a JDBC database this time.
    spec = json.loads(json.dumps(g.SPEC))
    spec["sources"]["orders"] = {"format": "jdbc", "catalog": {"database": "shop", "table": "orders"},
                                 "jdbc_read": {"column": "oid", "partitions": 6, "fetch_size": 500}}
    spec_path = tmp_path / "export-spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    calls = []
    for name, module in awsglue_modules(spark, tables, calls).items():
        monkeypatch.setitem(sys.modules, name, module)
    with mock_aws():
        glue = boto3.client("glue")
        glue.create_workflow(Name="personalize-export")
        run_id = glue.start_workflow_run(Name="personalize-export")["RunId"]
        # What prepare publishes for a first export: FULL, its own base.
        plan = ExportPlan(RUN, "FULL", "no earlier successful export", "auto", RUN, "0" * 64)
        glue.put_workflow_run_properties(Name="personalize-export", RunId=run_id, RunProperties=dict(plan.as_properties(), run_id=RUN))
        report = export_main("interactions", [
            "export_interactions.py", "--JOB_NAME", "x", "--spec_uri", str(spec_path), "--export_root", str(tmp_path / "root"),
            "--WORKFLOW_NAME", "personalize-export", "--WORKFLOW_RUN_ID", run_id,
        ])
    reads = {call[2]: call[3] for call in calls if call[0] == "additional_options"}
    assert reads == {"orders": {"hashfield": "oid", "hashpartitions": "6", "fetchsize": "500"}, "products": {}}
    assert ("partitions", "shop", "orders", 6) in calls  # one per parallel query
    assert report["rows_read"] == len(g.ORDERS)
    assert "sources.orders: JDBC read in 6 parallel queries on hashfield oid, fetch size 500" in capsys.readouterr().out


def test_a_derived_table_is_not_searched_for_a_primary_key():
    from personalize_export.sources import plan_jdbc_split

    source = _source({"format": "jdbc", "jdbc": {
        "url": "jdbc:postgresql://db/shop", "table": "(SELECT * FROM public.orders WHERE loaded_at >= 0) AS changed_rows"}})
    # Decided before any connection is opened (no Spark session is needed to say so).
    split = plan_jdbc_split(None, source, connection={"url": "jdbc:postgresql://db/shop"})
    assert split.partitions == 1
    assert split.describe() == "one query (a derived table has no primary key: name sources.orders.jdbc_read.column to split it)"
