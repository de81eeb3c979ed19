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
from personalize_export.export_job import classified_copy, persist_classified
from personalize_export.reconcile import item_catalog
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


def test_the_benchmark_interactions_classify_pass_compiles_within_the_jit_limit(spark, tmp_path):
    # The benchmark's spec has the shape of a relational order table: six fields, four
    # timestamp formats, four id rules, event types, reconciliation against the catalog.
    # The source has the benchmark's ten columns: the persisted copy carries every source
    # column, so the per-row method grows with the source's width. Read from Parquet, as
    # in the benchmark: the columnar reader's row conversion is part of the same method.
    spec = load_spec(bench_spec(Path("unused")))
    dataset = spec.dataset("interactions")
    orders = spark.createDataFrame(
        [("SO-000000001", 1, "C1", "SKU-0001", "Product 1", "completed", 1, Decimal("9.99"), "web", "2021-03-04T05:06:07+00:00")],
        "order_id string, line_no int, customer_id string, sku string, product_title string, status string, quantity int, "
        "amount decimal(10,2), channel string, ordered_at string",
    )
    orders.write.parquet(str(tmp_path / "orders"))
    orders = spark.read.parquet(str(tmp_path / "orders"))
    products = spark.createDataFrame([("SKU-0001", 9.99)], "sku string, price double")
    options = ClassifyOptions(now_epoch=1700000000, timestamp_floor=spec.run.timestamp_floor, text_may_wrap_json=False)
    classified = classify(orders, dataset, spec, options, item_catalog(products, spec, text_may_wrap_json=False), labels=False)

    assert _largest_generated_method(classified_copy(classified)) <= JIT_LIMIT_BYTES
    persisted = persist_classified(classified)
    try:
        assert persisted.count() == 1
    finally:
        persisted.unpersist()
