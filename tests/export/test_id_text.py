"""Id text: the normalisation rules on edge cases, and where extended JSON held as text is unwrapped."""
from __future__ import annotations

import pytest

from export_spec import load_spec
from personalize_export.reconcile import item_catalog

pytestmark = pytest.mark.spark


def _spec(source: dict) -> dict:
    return {
        "version": 1,
        "sources": {"products": source},
        "item_ids": {"normalize": ["trim", "upper", {"strip_prefix": ["SKU-", "SKU"]}, "strip_leading_zeros"]},
        "datasets": {
            # Personalize needs interactions; only the items dataset is used here.
            "interactions": {"source": "products", "fields": {
                "USER_ID": "sku", "ITEM_ID": "sku", "TIMESTAMP": {"from": "price", "timestamp": {"formats": ["epoch_seconds"]}}}},
            "items": {"source": "products", "fields": {"ITEM_ID": "sku", "PRICE": {"from": "price", "type": "double"}}},
        },
    }


def _normalised(spark, skus, text_may_wrap_json=True):
    spec = load_spec(_spec({"format": "csv", "path": "products.csv"}))
    frame = spark.createDataFrame([(sku, 1.0) for sku in skus], "sku string, price double")
    return {row["raw_id"]: row["item_id"] for row in item_catalog(frame, spec, text_may_wrap_json).collect()}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0012", "12"),
        (" 0012 ", "12"),
        ("000", "0"),  # all zeros keep one
        ("0", "0"),
        ("SKU-000", "0"),
        ("sku-12", "12"),
        ("SKU12", "12"),
        ("SKUSKU-1", "SKU-1"),  # one prefix is removed: the first listed that matches
        ("SKU-", None),  # nothing left: no id
        ("A0", "A0"),
        ("ÉTÉ-01", "ÉTÉ-01"),
    ],
)
def test_id_normalisation_rules_on_edge_cases(spark, raw, expected):
    assert _normalised(spark, [raw])[raw.strip()] == expected


def test_extended_json_held_as_text_is_unwrapped_where_it_can_occur(spark):
    wrapped = '{"$oid": "SKU-0042"}'
    assert _normalised(spark, [wrapped], text_may_wrap_json=True)["SKU-0042"] == "42"
    # A CSV cell that happens to look like a wrapper stays text.
    assert _normalised(spark, [wrapped], text_may_wrap_json=False)[wrapped] == wrapped.upper()


def test_sources_that_may_hold_extended_json_as_text():
    def may_wrap(source):
        return load_spec(_spec(source)).sources["products"].text_may_wrap_json

    assert may_wrap({"format": "jsonl", "path": "products.jsonl"})
    assert may_wrap({"format": "csv", "path": "products.csv", "catalog": {"database": "shop", "table": "products"}})
    assert not may_wrap({"format": "csv", "path": "products.csv"})
    assert not may_wrap({"format": "parquet", "path": "products"})
