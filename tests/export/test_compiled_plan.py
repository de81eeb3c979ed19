"""The classify pass compiles into methods the JVM will JIT-compile.

HotSpot never compiles a method above 8,000 bytes of bytecode, and Spark generates one
method per chain of projections; above that limit the export sets Spark to fall back to
slower per-expression code. A typical interactions spec must stay below it.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from export_spec import load_spec
from personalize_export.export_job import classified_copy, columns_read, persist_classified
from personalize_export.reconcile import item_catalog
from personalize_export.sources import SourceFrame
from personalize_export.transform import ClassifyOptions, classify
from tests.benchmarks.bench_export import bench_spec

pytestmark = pytest.mark.spark

JIT_LIMIT_BYTES = 8000

def _largest_generated_method(frame) -> int:
    spark = frame.sparkSession
    previous = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")  # the final plan, without re-planning
    try:
        plan = frame._jdf.queryExecution().executedPlan()
        stages = spark._jvm.org.apache.spark.sql.execution.debug.package.codegenStringSeq(plan)
        sizes, iterator = [], stages.iterator()
        while iterator.hasNext():
            sizes.append(iterator.next()._3().maxMethodCodeSize())
        return max(sizes)
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", previous)


def _bench_orders(spark, tmp_path, extra_columns: int = 0):
    """The benchmark's ten order columns (plus ``extra_columns`` more), read from Parquet."""
    from pyspark.sql import functions as F

    orders = spark.createDataFrame(
        [("SO-000000001", 1, "C1", "SKU-0001", "Product 1", "completed", 1, Decimal("9.99"), "web", "2021-03-04T05:06:07+00:00")],
        "order_id string, line_no int, customer_id string, sku string, product_title string, status string, quantity int, "
        "amount decimal(10,2), channel string, ordered_at string",
    ).select("*", *[F.lit("x").alias("note_%d" % i) for i in range(extra_columns)])
    orders.write.parquet(str(tmp_path / "orders"))
    return spark.read.parquet(str(tmp_path / "orders"))


def test_the_benchmark_interactions_classify_pass_compiles_within_the_jit_limit(spark, tmp_path):
    # The benchmark's spec has the shape of a relational order table: six fields, four
    # timestamp formats, four id rules, event types, reconciliation against the catalog.
    # The source has the benchmark's ten columns: the persisted copy carries every source
    # column, so the per-row method grows with the source's width. Read from Parquet, as
    # in the benchmark: the columnar reader's row conversion is part of the same method.
    spec = load_spec(bench_spec(Path("unused")))
    dataset = spec.dataset("interactions")
    orders = _bench_orders(spark, tmp_path)
    products = spark.createDataFrame([("SKU-0001", 9.99)], "sku string, price double")
    options = ClassifyOptions(now_epoch=1700000000, timestamp_floor=spec.run.timestamp_floor, text_may_wrap_json=False)
    classified = classify(orders, dataset, spec, options, item_catalog(products, spec, text_may_wrap_json=False), labels=False)

    assert _largest_generated_method(classified_copy(classified)) <= JIT_LIMIT_BYTES
    persisted = persist_classified(classified)
    try:
        assert persisted.count() == 1
    finally:
        persisted.unpersist()


def test_a_wide_source_compiles_within_the_jit_limit_when_its_rejected_row_columns_are_listed(spark, tmp_path):
    # Every source column the pass carries adds code to its per-row method: forty columns
    # take it past the limit. Listing the columns rejected rows keep (here the order's id
    # and line) leaves the others unread, and the pass compiles again.
    raw = bench_spec(Path("unused"))
    products = spark.createDataFrame([("SKU-0001", 9.99)], "sku string, price double")
    orders = SourceFrame(_bench_orders(spark, tmp_path, extra_columns=30))
    sizes = {}
    for listed in (None, ["order_id", "line_no"]):
        if listed is not None:
            raw["datasets"]["interactions"]["rejected_row_columns"] = listed
        spec = load_spec(raw)
        dataset = spec.dataset("interactions")
        options = ClassifyOptions(now_epoch=1700000000, timestamp_floor=spec.run.timestamp_floor, text_may_wrap_json=False)
        source = columns_read(orders, spec, dataset).frame
        classified = classify(source, dataset, spec, options, item_catalog(products, spec, text_may_wrap_json=False), labels=False)
        copy = classified_copy(classified)
        method = _largest_generated_method(copy)  # first: it plans without adaptive execution
        plan = copy._jdf.queryExecution().executedPlan().toString()
        read_schema = [line for line in plan.splitlines() if "FileScan parquet" in line and "ReadSchema" in line]
        assert len(read_schema) == 1 and "order_id" in read_schema[0]
        sizes[listed is not None] = (method, len(source.columns), "note_" in read_schema[0])
    assert sizes[False][0] > JIT_LIMIT_BYTES and sizes[False][1] == 40 and sizes[False][2]
    # The Parquet scan itself no longer reads the unlisted columns.
    assert sizes[True][0] <= JIT_LIMIT_BYTES and sizes[True][1] < 10 and not sizes[True][2]
