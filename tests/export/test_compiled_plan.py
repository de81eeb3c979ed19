"""The classify pass compiles into methods the JVM will JIT-compile.

HotSpot never compiles a method above 8,000 bytes of bytecode, and Spark generates one
method per chain of projections; above that limit the export sets Spark to fall back to
slower per-expression code. A typical interactions spec must stay below it.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from export_spec import load_spec
from personalize_export.columns import FILTER_KEY
from personalize_export.duplicates import with_key_hash
from personalize_export.export_job import persist_classified
from personalize_export.reconcile import item_catalog
from personalize_export.transform import ClassifyOptions, classify, narrow
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


def test_the_benchmark_interactions_classify_pass_compiles_within_the_jit_limit(spark):
    # The benchmark's spec has the shape of a relational order table: six fields, four
    # timestamp formats, four id rules, event types, reconciliation against the catalog.
    spec = load_spec(bench_spec(Path("unused")))
    dataset = spec.dataset("interactions")
    orders = spark.createDataFrame(
        [("C1", "SKU-0001", "2021-03-04T05:06:07+00:00", "completed", Decimal("9.99"), "web")],
        "customer_id string, sku string, ordered_at string, status string, amount decimal(10,2), channel string",
    )
    products = spark.createDataFrame([("SKU-0001", 9.99)], "sku string, price double")
    options = ClassifyOptions(now_epoch=1700000000, timestamp_floor=spec.run.timestamp_floor, text_may_wrap_json=False)
    classified = classify(orders, dataset, spec, options, item_catalog(products, spec, text_may_wrap_json=False), labels=False)

    assert _largest_generated_method(narrow(with_key_hash(classified, dataset), F.col(FILTER_KEY).isNull())) <= JIT_LIMIT_BYTES
    persisted = persist_classified(classified, dataset)
    try:
        assert persisted.count() == 1
    finally:
        persisted.unpersist()
