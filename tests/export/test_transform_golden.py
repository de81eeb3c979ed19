"""Golden tests: each quirk of real retail history, classified by the pure transforms."""
from __future__ import annotations

import export_golden as g
import pytest
from classified import transform

from export_spec import load_spec
from personalize_export.columns import MATCH, REASON, REASON_FIELD, STATUS, out_col
from personalize_export.reconcile import item_catalog
from personalize_export.sources import read_source
from personalize_export.transform import ClassifyOptions, classify

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def golden(spark, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("golden"))
    g.write_inputs(folder)
    spec = load_spec(g.SPEC)
    orders = read_source(spark, spec.sources["orders"], folder)
    products = read_source(spark, spec.sources["products"], folder)
    options = ClassifyOptions(now_epoch=g.NOW, timestamp_floor=spec.run.timestamp_floor)
    catalog = item_catalog(products, spec)
    interactions = classify(orders, spec.datasets["interactions"], spec, options, catalog).collect()
    items = classify(products, spec.datasets["items"], spec, options).collect()
    return spec, interactions, items


def _outcome(row, fields):
    if row[STATUS] == "written":
        return ("written", tuple(row[out_col(f)] for f in fields))
    if row[STATUS] == "filtered":
        return ("filtered", None)
    return (row[REASON], None)


def _by_oid(rows):
    result = {}
    for row in rows:
        result.setdefault(row["oid"], []).append(row)
    return result


def test_every_order_gets_its_expected_outcome(golden):
    spec, interactions, _ = golden
    fields = spec.datasets["interactions"].field_names
    rows = _by_oid(interactions)
    assert len(interactions) == len(g.ORDERS)
    expected_by_oid = {}
    for source, (status, values, _match) in g.ORDERS:
        expected_by_oid.setdefault(source["oid"], []).append((status, values))
    for oid, expected in expected_by_oid.items():
        got = sorted((_outcome(r, fields) for r in rows[oid]), key=repr)
        want = sorted(((s, v if s == "written" else None) for s, v in expected), key=repr)
        assert got == want, oid


def test_mixed_timestamp_formats_become_epoch_seconds(golden):
    _, interactions, _ = golden
    stamps = {r["oid"]: r[out_col("TIMESTAMP")] for r in interactions if r[STATUS] == "written"}
    # ISO with offset, epoch seconds, epoch millis, {"$date": {"$numberLong"}}, {"$date": ISO}: one instant
    assert {stamps[o] for o in ("o01", "o02", "o03", "o04", "o05")} == {g.T}
    assert stamps["o06"] == g.T - 7  # custom pattern dd/MM/yyyy HH:mm (no seconds)


def test_extended_json_ids_and_nested_paths(golden):
    _, interactions, _ = golden
    users = {r["oid"]: r[out_col("USER_ID")] for r in interactions if r[STATUS] == "written"}
    assert users["o01"] == "u1" and users["o05"] == "u3"  # customer._id = {"$oid": ...}


def test_cancelled_orders_are_filtered_not_rejected(golden):
    _, interactions, _ = golden
    (row,) = [r for r in interactions if r["oid"] == "o07"]
    assert row[STATUS] == "filtered" and row[REASON] is None
    assert row["__pe_filtered_status"] == "cancelled"  # trimmed, case-insensitive


def test_exact_duplicates_keep_one_copy(golden):
    _, interactions, _ = golden
    statuses = sorted((r[STATUS], r[REASON]) for r in interactions if r["oid"] == "o10")
    assert statuses == [("rejected", "duplicate"), ("written", None)]


def test_sku_spellings_reconcile_including_fuzzy_titles(golden):
    _, interactions, _ = golden
    expected = {source["oid"]: match for source, (status, _, match) in g.ORDERS if status == "written"}
    got = {r["oid"]: r[MATCH] for r in interactions if r[STATUS] == "written"}
    assert got == expected
    assert {r[out_col("ITEM_ID")] for r in interactions if r["oid"] in ("o01", "o02", "o03")} == {"1"}


def test_rejections_name_the_field(golden):
    _, interactions, _ = golden
    fields = {r["oid"]: r[REASON_FIELD] for r in interactions if r[STATUS] == "rejected" and r["oid"] != "o10"}
    assert fields == {
        "o12": "USER_ID", "o13": "ITEM_ID", "o14": "TIMESTAMP", "o15": "TIMESTAMP", "o16": "TIMESTAMP",
        "o17": "EVENT_VALUE", "o18": "EVENT_TYPE", "o19": "ITEM_ID", "o20": "USER_ID", "o21": "TAGS",
    }


def test_items_numbers_booleans_categoricals_textual_and_duplicate_ids(golden):
    spec, _, items = golden
    fields = spec.datasets["items"].field_names
    got = sorted((_outcome(r, fields) for r in items), key=repr)
    want = sorted(((status, values) for _, (status, values) in g.PRODUCTS), key=repr)
    assert got == want


def test_transform_returns_personalize_rows_and_rejected_rows_with_original_columns(spark, golden, tmp_path):
    spec = golden[0]
    g.write_inputs(str(tmp_path))
    products = read_source(spark, spec.sources["products"], str(tmp_path))
    valid, rejected = transform(products, spec.datasets["items"], spec, ClassifyOptions(now_epoch=g.NOW))
    assert valid.columns == list(spec.datasets["items"].field_names)
    # Source columns as read (the reader's line count per record is internal).
    assert rejected.columns == [c for c in products.columns if not c.startswith("__pe_")] + ["reason", "rejected_field"]
    assert valid.count() + rejected.count() == len(g.PRODUCTS)
    row = rejected.where("reason = 'invalid_boolean'").collect()[0]
    assert (row["sku"], row["in_stock"], row["rejected_field"]) == ("SKU-0006", "maybe", "IN_STOCK")
