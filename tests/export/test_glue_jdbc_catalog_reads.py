"""The Glue export job reads a JDBC catalog table only through Glue's connection: the FULL
export's high-water mark, and an incremental delta split the way the spec splits the table.

Glue runs a ``sampleQuery`` in one query unless ``enablePartitioningForSampleQuery`` is
true, and then appends each parallel query's condition to it, so it must end with WHERE or
AND (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-connect-jdbc-home.html,
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-pushdown.html). The stand-in
runs the queries with Spark SQL in the database's place.
"""
from __future__ import annotations

import json
import os
import sys

import boto3
import pytest
from glue_stand_in import GlueReadRefused, JdbcTable, awsglue_modules
from moto import mock_aws

from export_spec import load_spec
from personalize_export import layout
from personalize_export.glue_entry import changed_rows_read_options, export_main, high_water_mark_read_options
from personalize_export.incremental import DeltaWindow, ExportPlan

pytestmark = pytest.mark.spark
RUN = "20240701T000000Z-0a1b2c"
PREVIOUS = "20240630T000000Z-0a1b2b"
JUNE_1 = 1717200000  # 2024-06-01T00:00:00Z
HOUR = 3600
# One order line an hour for five days; loaded_at is when the line reached the database.
MOMENTS = [JUNE_1 + hour * HOUR for hour in range(5 * 24)]
PREVIOUS_HIGH = JUNE_1 + 3 * 24 * HOUR  # 2024-06-04T00:00:00Z
ALLOWANCE = 2 * HOUR
DELTA = [m for m in MOMENTS if m >= PREVIOUS_HIGH - ALLOWANCE]
# Never set: a Spark JDBC read of the spec's own url would stop on it.
UNSET_PASSWORD_ENV = "SHOP_DB_PASSWORD_NOT_IN_GLUE"


def _spec(jdbc_read=None):
    orders = {
        "format": "jdbc",
        # In AWS the job connects through the catalog table's Glue connection (VPC, secret);
        # the url points nowhere and the password variable is unset, so only Glue can read.
        "jdbc": {"url": "jdbc:postgresql://unreachable.invalid:5432/shop", "table": "orders",
                 "password_env": UNSET_PASSWORD_ENV},
        "catalog": {"database": "shop", "table": "shop_public_orders"},
    }
    if jdbc_read is not None:
        orders["jdbc_read"] = jdbc_read
    return {
        "sources": {"orders": orders},
        "datasets": {"interactions": {
            "source": "orders",
            "fields": {"USER_ID": "customer_id", "ITEM_ID": "sku", "TIMESTAMP": "ts"},
            "watermark": {"column": "loaded_at", "type": "epoch_seconds", "allowance_seconds": ALLOWANCE},
        }},
    }


def _orders(spark, unstamped=0):
    """The orders table; ``unstamped`` more lines have no loaded_at."""
    rows = [(index, "u%d" % (index % 7), "i%d" % (index % 5), moment, moment) for index, moment in enumerate(MOMENTS)]
    rows += [(1000 + index, "u%d" % index, "i0", JUNE_1, None) for index in range(unstamped)]
    frame = spark.createDataFrame(rows, "order_no long, customer_id string, sku string, ts long, loaded_at long")
    # Several partitions, as a table read in pieces would be: one query must give one.
    return JdbcTable(frame.repartition(3), "orders")


@pytest.fixture
def orders_table(spark):
    return _orders(spark)


@pytest.fixture
def glue(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(UNSET_PASSWORD_ENV, raising=False)
    with mock_aws():
        client = boto3.client("glue")
        client.create_workflow(Name="personalize-export")
        yield client, client.start_workflow_run(Name="personalize-export")["RunId"]


def _export(spark, tmp_path, monkeypatch, glue, table, spec, plan):
    client, workflow_run = glue
    calls = []
    for name, module in awsglue_modules(spark, {("shop", "shop_public_orders"): table}, calls).items():
        monkeypatch.setitem(sys.modules, name, module)
    spec_path = tmp_path / "export-spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    client.put_workflow_run_properties(Name="personalize-export", RunId=workflow_run, RunProperties=dict(plan.as_properties(), run_id=RUN))
    report = export_main("interactions", [
        "export_interactions.py", "--JOB_NAME", "x", "--spec_uri", str(spec_path), "--export_root", str(tmp_path / "root"),
        "--WORKFLOW_NAME", "personalize-export", "--WORKFLOW_RUN_ID", workflow_run,
    ])
    return report, calls


def _incremental(tmp_path):
    root = str(tmp_path / "root")
    previous = {"run_id": PREVIOUS, "export": {"base_run_id": PREVIOUS},
                "datasets": {"interactions": {"watermark": {"column": "loaded_at", "high": "2024-06-04T00:00:00Z"}}}}
    os.makedirs(layout.run_root(root, PREVIOUS))
    with open(layout.manifest_path(root, PREVIOUS), "w", encoding="utf-8") as handle:
        json.dump(previous, handle)
    return ExportPlan(RUN, "INCREMENTAL", "incremental on base %s" % PREVIOUS, "auto", PREVIOUS, "0" * 64, PREVIOUS, 2)


def _delta_query(read_from, ending=""):
    """The sample query of an incremental read: rows at or past ``read_from``, or without a change value."""
    return "SELECT * FROM orders WHERE (loaded_at >= %d OR loaded_at IS NULL)%s" % (read_from, ending)


def _reads(calls):
    return [(call[3], next(c[3] for c in calls[index:] if c[0] == "partitions"))
            for index, call in enumerate(calls) if call[0] == "additional_options"]


def test_a_full_export_asks_the_high_water_mark_through_the_catalog_connection(spark, tmp_path, monkeypatch, glue, orders_table):
    plan = ExportPlan(RUN, "FULL", "no earlier successful export", "auto", RUN, "0" * 64)

    report, calls = _export(spark, tmp_path, monkeypatch, glue, orders_table, _spec(), plan)

    # The rows in one query (the spec names no split column), then max(loaded_at) in one more.
    assert _reads(calls) == [
        ({"fetchsize": "10000"}, 1),
        ({"sampleQuery": "SELECT max(loaded_at) AS high FROM orders"}, 1),
    ]
    assert report["rows_read"] == len(MOMENTS)
    assert report["mode"] == "FULL"
    assert report["watermark"]["high"] == report["watermark"]["high_read"] == "2024-06-05T23:00:00Z"


@pytest.mark.parametrize("jdbc_read,split", [
    ({"column": "order_no", "partitions": 4}, {"hashfield": "order_no", "hashpartitions": "4"}),
    ({"column": "order_no", "hash_expression": "order_no * 7", "partitions": 3},
     {"hashexpression": "order_no * 7", "hashpartitions": "3"}),
])
def test_a_split_incremental_read_runs_one_delta_query_per_partition(spark, tmp_path, monkeypatch, glue, orders_table,
                                                                    jdbc_read, split):
    report, calls = _export(spark, tmp_path, monkeypatch, glue, orders_table, _spec(jdbc_read), _incremental(tmp_path))

    options = dict(split, fetchsize="10000", enablePartitioningForSampleQuery="true",
                   sampleQuery=_delta_query(PREVIOUS_HIGH - ALLOWANCE, " AND"))
    assert _reads(calls) == [(options, int(split["hashpartitions"]))]
    # Only the delta, each row once across the parallel queries.
    assert report["rows_read"] == report["rows"] == len(DELTA)
    assert report["watermark"]["overlap_rows"] == 3  # 22:00, 23:00 and 00:00 were in the previous export
    assert report["watermark"]["high_read"] == "2024-06-05T23:00:00Z"


def test_an_unsplit_incremental_read_is_one_delta_query(spark, tmp_path, monkeypatch, glue, orders_table):
    report, calls = _export(spark, tmp_path, monkeypatch, glue, orders_table, _spec({"partitions": 1}), _incremental(tmp_path))

    assert _reads(calls) == [({"fetchsize": "10000", "sampleQuery": _delta_query(PREVIOUS_HIGH - ALLOWANCE)}, 1)]
    assert report["rows_read"] == report["rows"] == len(DELTA)


def test_lines_without_a_change_value_are_in_every_split_delta_query(spark, tmp_path, monkeypatch, glue, capsys):
    split = {"column": "order_no", "partitions": 4}
    report, calls = _export(spark, tmp_path, monkeypatch, glue, _orders(spark, unstamped=2), _spec(split), _incremental(tmp_path))
    assert "export_interactions: 2 rows without a loaded_at value (empty, or not a time): every delta reads them again" in capsys.readouterr().out

    assert _reads(calls)[0][0]["sampleQuery"] == _delta_query(PREVIOUS_HIGH - ALLOWANCE, " AND")
    assert report["rows_read"] == report["rows"] == len(DELTA) + 2
    assert (report["watermark"]["unstamped_rows"], report["watermark"]["overlap_rows"]) == (2, 3)


def test_the_options_follow_the_split():
    spec = load_spec(_spec({"column": "order_no", "partitions": 5}))
    source, watermark = spec.sources["orders"], spec.datasets["interactions"].watermark
    window = DeltaWindow("interactions", "INCREMENTAL", watermark, JUNE_1, JUNE_1)
    assert changed_rows_read_options(source, window) == {"additional_options": {
        "sampleQuery": _delta_query(JUNE_1, " AND"), "enablePartitioningForSampleQuery": "true"}}
    # The high-water mark is one row: never split.
    assert high_water_mark_read_options(source, watermark) == {"additional_options": {
        "sampleQuery": "SELECT max(loaded_at) AS high FROM orders"}}
    query_source = load_spec(dict(_spec(), sources={"orders": dict(_spec()["sources"]["orders"], jdbc={
        "url": "jdbc:postgresql://db/shop", "query": "SELECT * FROM public.orders WHERE status <> 'test'"})})).sources["orders"]
    assert high_water_mark_read_options(query_source, watermark) == {"additional_options": {
        "sampleQuery": "SELECT max(loaded_at) AS high FROM (SELECT * FROM public.orders WHERE status <> 'test') AS source_rows"}}


def _stand_in_read(spark, table, options):
    calls = []
    glue_context = awsglue_modules(spark, {("shop", "shop_public_orders"): table}, calls)["awsglue.context"].GlueContext(None)
    frame = glue_context.create_dynamic_frame.from_catalog(
        database="shop", table_name="shop_public_orders", additional_options=options).toDF()
    return frame


@pytest.mark.parametrize("options,refusal", [
    ({"sampleQuery": "SELECT * FROM orders WHERE loaded_at >= 0", "enablePartitioningForSampleQuery": "true",
      "hashfield": "order_no", "hashpartitions": "4"}, "must end with WHERE or AND"),
    ({"sampleQuery": "SELECT * FROM orders WHERE", "enablePartitioningForSampleQuery": "true"},
     "needs hashfield or hashexpression"),
    ({"enablePartitioningForSampleQuery": "true", "hashfield": "order_no"}, "without a sampleQuery"),
    ({"hashfield": "order_no", "hashPartitions": "4"}, "'hashPartitions' is no option"),
    ({"hashfield": "order_no", "hashexpression": "order_no", "hashpartitions": "4"}, "hashfield and hashexpression together"),
    ({"hashfield": "order_no", "hashpartitions": "0"}, "not a positive whole number"),
])
def test_the_stand_in_refuses_what_glue_cannot_run(spark, orders_table, options, refusal):
    with pytest.raises(GlueReadRefused, match=refusal):
        _stand_in_read(spark, orders_table, options)


def test_the_stand_in_appends_the_partition_condition_to_a_sample_query_ending_in_where(spark, orders_table):
    frame = _stand_in_read(spark, orders_table, {
        "sampleQuery": "SELECT order_no FROM orders WHERE", "enablePartitioningForSampleQuery": True, "hashfield": "order_no"})
    # Glue's default of 7 parallel queries; every row in exactly one.
    assert frame.rdd.getNumPartitions() == 7
    assert sorted(row["order_no"] for row in frame.collect()) == list(range(len(MOMENTS)))
