"""The interactions export of the demo spec runs as generated code in every stage.

A stage whose generated Java grows beyond Janino's 64 KB limit fails to compile; Spark
only logs "Code grows beyond 64 KB" and runs that stage interpreted, much slower. With
``spark.sql.codegen.fallback`` off the same failure raises, so this test sees it.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from pyspark.sql import functions as F

from export_spec import load_spec
from personalize_export import layout
from personalize_export.export_job import run_export
from personalize_export.sources import read_source
from sample_data.generate import EXPECTED_FILE, ORDERS_FILE, generate
from sample_data.postgres import LOAD_TIME_COLUMN
from sample_data.spec import demo_spec, expected_counts

pytestmark = pytest.mark.spark

# The column types PostgreSQL's orders table has over JDBC (tests/sample_data reads them
# from the server); read here from the generated file, so no server is needed.
ORDERS_AS_JDBC_READS_THEM = (
    "order_id string, line_no int, customer_id string, sku string, product_title string, status string,"
    " quantity int, amount decimal(10,2), channel string, ordered_at string"
)
LOADED_AT = "2025-12-31 23:00:00"


def test_demo_interactions_export_compiles_every_stage(spark, tmp_path):
    data = tmp_path / "data"
    generate(data, seed=7)
    truth = json.loads((data / EXPECTED_FILE).read_text(encoding="utf-8"))
    # A FULL export with the change column: its high-water mark comes from the rows the
    # reader gives (run_export's default), here the generated file in the database's place.
    spec = load_spec(demo_spec(data))

    def read(source):
        if source.format == "jdbc":
            orders = spark.read.options(header=True, escape='"', encoding="UTF-8").schema(ORDERS_AS_JDBC_READS_THEM).csv(str(data / ORDERS_FILE))
            # The change column the database sets when it stores a line.
            return orders.withColumn(LOAD_TIME_COLUMN, F.lit(LOADED_AT).cast("timestamp"))
        return read_source(spark, source)

    previous = spark.conf.get("spark.sql.codegen.fallback")
    spark.conf.set("spark.sql.codegen.fallback", "false")
    try:
        report = run_export(spark, spec, "interactions", str(tmp_path / "out"), layout.new_run_id(), read,
                            now_epoch=int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()))
    finally:
        spark.conf.set("spark.sql.codegen.fallback", previous)

    assert report["watermark"]["high"] == "2025-12-31T23:00:00Z"
    expected = expected_counts(truth)["interactions"]
    assert {key: report[key] for key in expected} == expected
    # The lines without SKU were matched on their title: the fuzzy match ran (compiled).
    assert report["item_id_reconciliation"]["fuzzy"] == len(truth["orders"]["fuzzy_title_lines"])
