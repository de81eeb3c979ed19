"""What a change column holds, and what an export makes of it: values past year 9999,
extended JSON and mixed JSON types, a watermark type that reads no value, and the new
rows an INCREMENTAL delta brings (which decide whether it is carried)."""
from __future__ import annotations

import json

import export_golden as g
import pytest

from export_spec import load_spec
from personalize_export.export_job import run_export
from personalize_export.incremental import FULL, INCREMENTAL, DeltaWindow, describe_delta, iso_utc, parse_iso_utc
from personalize_export.sources import read_changed_rows, read_source
from personalize_export.text import SourceSchemaError

pytestmark = pytest.mark.spark
RUN = "20240101T000000Z-abcdef"
FEBRUARY = parse_iso_utc("2023-02-01T00:00:00Z")
MARCH = parse_iso_utc("2023-03-01T00:00:00Z")


def _source(tmp_path, rows, fmt="csv"):
    """customers with customer_id, tier and updated_at, as CSV lines or JSON documents."""
    if fmt == "csv":
        path = tmp_path / "customers.csv"
        path.write_text("customer_id,tier,updated_at\n" + "".join(line + "\n" for line in rows), encoding="utf-8")
    else:
        path = tmp_path / "customers.jsonl"
        path.write_text("".join(json.dumps(doc) + "\n" for doc in rows), encoding="utf-8")
    return str(path)


def _spec(path, watermark, fmt="csv", on="users"):
    """users (or interactions) with ``watermark``; interactions read the same rows (the spec needs them)."""
    datasets = {"interactions": {"source": "customers", "fields": {"USER_ID": "customer_id", "ITEM_ID": "tier",
                                                                   "TIMESTAMP": "updated_at"}}}
    if on == "users":
        datasets["users"] = {"source": "customers", "watermark": watermark,
                             "fields": {"USER_ID": "customer_id", "TIER": {"from": "tier", "categorical": True}}}
    else:
        datasets["interactions"]["watermark"] = watermark
    return load_spec({"sources": {"customers": {"format": fmt, "path": path}}, "datasets": datasets})


def _export(spark, tmp_path, spec, mode, name="users", read_from=FEBRUARY, previous_high=FEBRUARY, at_source=True):
    window = DeltaWindow(name, mode, spec.dataset(name).watermark, read_from if mode == INCREMENTAL else None,
                         previous_high if mode == INCREMENTAL else None)
    changes = (lambda s, w: read_changed_rows(spark, s, w.watermark, w.read_from, dataset=w.dataset)) if at_source else None
    return run_export(spark, spec, name, str(tmp_path / "root"), RUN, lambda s: read_source(spark, s), now_epoch=g.NOW,
                      window=window, read_changes=changes)


# --------------------------------------------------------------------------- past year 9999


@pytest.mark.parametrize("mode", [FULL, INCREMENTAL])
def test_a_change_value_past_year_9999_is_a_future_row_and_reported_clamped(spark, tmp_path, mode):
    """Milliseconds in an epoch_seconds column: year 55131, which no ISO-8601 date holds."""
    spec = _spec(_source(tmp_path, ["c1,gold,%d" % MARCH, "c2,gold,%d" % (MARCH * 1000)]),
                 {"column": "updated_at", "type": "epoch_seconds"})
    report = _export(spark, tmp_path, spec, mode)
    watermark = report["watermark"]
    assert (watermark["high_read"], watermark["high"]) == ("9999-12-31T23:59:59Z", iso_utc(g.NOW))
    if mode == INCREMENTAL:
        assert watermark["future_rows"] == 1
    assert describe_delta(report)[-1] == (
        "the highest updated_at read is past year 9999 (shown as 9999-12-31T23:59:59Z): is datasets.users.watermark.type "
        "the unit the column holds (milliseconds in an epoch_seconds column)?")


# --------------------------------------------------------------------------- extended JSON, choices


@pytest.mark.parametrize("mode", [FULL, INCREMENTAL])
@pytest.mark.parametrize("at_source", [True, False], ids=["filtered-by-the-reader", "filtered-after-read"])
def test_an_extended_json_date_change_column_is_read_through(spark, tmp_path, mode, at_source):
    path = _source(tmp_path, [
        {"customer_id": "c1", "tier": "gold", "updated_at": {"$date": "2023-03-01T00:00:00Z"}},
        {"customer_id": "c2", "tier": "gold", "updated_at": {"$date": "2023-01-01T00:00:00Z"}},
    ], "jsonl")
    report = _export(spark, tmp_path, _spec(path, {"column": "updated_at"}, "jsonl"), mode, at_source=at_source)
    assert report["watermark"]["high"] == "2023-03-01T00:00:00Z"
    assert report["rows"] == (2 if mode == FULL else 1)  # c2 is before the window


@pytest.mark.parametrize("mode", [FULL, INCREMENTAL])
def test_a_numeric_extended_json_date_is_read_as_epoch_millis(spark, tmp_path, mode):
    path = _source(tmp_path, [
        {"customer_id": "c1", "tier": "gold", "updated_at": {"$date": {"$numberLong": str(MARCH * 1000)}}},
        {"customer_id": "c2", "tier": "gold", "updated_at": {"$date": {"$numberLong": str(FEBRUARY * 1000 - 1000)}}},
    ], "jsonl")
    report = _export(spark, tmp_path, _spec(path, {"column": "updated_at", "type": "epoch_millis"}, "jsonl"), mode)
    assert report["watermark"]["high"] == iso_utc(MARCH)
    assert report["rows"] == (2 if mode == FULL else 1)


@pytest.mark.parametrize("mode", [FULL, INCREMENTAL])
def test_a_change_column_of_mixed_json_types_is_read_by_the_type_each_row_holds(spark, tmp_path, mode):
    path = _source(tmp_path, [
        {"customer_id": "c1", "tier": "gold", "updated_at": MARCH},             # a number
        {"customer_id": "c2", "tier": "gold", "updated_at": str(FEBRUARY - 1)},  # text: a choice of long and string
    ], "jsonl")
    report = _export(spark, tmp_path, _spec(path, {"column": "updated_at", "type": "epoch_seconds"}, "jsonl"), mode)
    assert report["watermark"]["high"] == iso_utc(MARCH)
    assert report["rows"] == (2 if mode == FULL else 1)


@pytest.mark.parametrize("mode", [FULL, INCREMENTAL])
@pytest.mark.parametrize("at_source", [True, False], ids=["filtered-by-the-reader", "filtered-after-read"])
def test_a_nested_change_column_is_refused_naming_the_field_its_type_and_what_is_read(spark, tmp_path, mode, at_source):
    path = _source(tmp_path, [{"customer_id": "c1", "tier": "gold", "updated_at": {"at": "2023-03-01T00:00:00Z"}}], "jsonl")
    with pytest.raises(SourceSchemaError) as caught:
        _export(spark, tmp_path, _spec(path, {"column": "updated_at"}, "jsonl"), mode, at_source=at_source)
    assert str(caught.value) == (
        "datasets.users.watermark.column: 'updated_at' is struct<at:string>; a change column must be a timestamp, date, "
        "number or text (extended JSON {\"$date\": ...} and a JSON field of mixed types are read through)")


# --------------------------------------------------------------------------- a type that reads no value


TYPE_MISMATCH = ("datasets.users.watermark.type: no value of column 'updated_at' read is a time under type %r (e.g. %r): "
                 "timestamp reads timestamps, dates and ISO-8601 text; epoch_seconds and epoch_millis read numbers "
                 "(a numeric {\"$date\": ...} is epoch_millis)")


@pytest.mark.parametrize("type_, values", [
    ("epoch_seconds", ["2023-03-01T00:00:00Z", "2023-03-02T00:00:00Z"]),  # ISO text
    ("timestamp", ["1677628800", "1677715200"]),                           # epoch text
])
@pytest.mark.parametrize("mode", [FULL, INCREMENTAL])
def test_a_watermark_type_that_reads_no_value_is_refused_with_a_sample(spark, tmp_path, type_, values, mode):
    spec = _spec(_source(tmp_path, ["c1,gold,%s" % values[0], "c2,gold,", "c3,gold,%s" % values[1]]),
                 {"column": "updated_at", "type": type_})
    # INCREMENTAL: the chain has not seen a change value yet (the FULL before it would have refused)
    with pytest.raises(SourceSchemaError) as caught:
        _export(spark, tmp_path, spec, mode, read_from=None, previous_high=None)
    assert str(caught.value) == TYPE_MISMATCH % (type_, values[1])


def test_empty_change_values_alone_are_no_type_mismatch(spark, tmp_path):
    spec = _spec(_source(tmp_path, ["c1,gold,", "c2,gold,"]), {"column": "updated_at", "type": "epoch_seconds"})
    report = _export(spark, tmp_path, spec, FULL)
    assert report["rows"] == 2 and report["watermark"]["high"] is None


def test_a_delta_after_a_matched_type_keeps_values_that_are_no_time_as_unstamped(spark, tmp_path):
    """Once the chain has a high-water mark the type matched: a stray value is one unstamped row, not a failure."""
    spec = _spec(_source(tmp_path, ["c1,gold,yesterday"]), {"column": "updated_at"})
    report = _export(spark, tmp_path, spec, INCREMENTAL)
    assert report["watermark"]["unstamped_rows"] == 1 and report["watermark"]["high"] == iso_utc(FEBRUARY)


# --------------------------------------------------------------------------- new rows and carried deltas


def _interactions(spark, tmp_path, again, new):
    """An interactions delta: ``again`` rows stamped inside the allowance (read again), ``new`` after the mark."""
    lines = ["a%04d,gold,%d" % (n, FEBRUARY - 60) for n in range(again)] + ["n%04d,gold,%d" % (n, MARCH + n) for n in range(new)]
    spec = _spec(_source(tmp_path, lines), {"column": "updated_at", "type": "epoch_seconds", "allowance_seconds": 3600},
                 on="interactions")
    return _export(spark, tmp_path, spec, INCREMENTAL, name="interactions", read_from=FEBRUARY - 3600)


def test_an_interactions_delta_of_1050_rows_with_100_read_again_is_carried(spark, tmp_path):
    report = _interactions(spark, tmp_path, again=100, new=950)
    assert (report["rows"], report["new_rows"], report["watermark"]["overlap_rows"]) == (1050, 950, 100)
    assert report["carried"] is True
    assert report["carried_reason"].startswith(
        "1050 interactions rows in this delta, 950 of them new (the others read again inside the allowance, without a "
        "updated_at value or stamped after the run started), below Personalize's minimum of 1000 new interaction "
        "records to append with an import job: not imported now; the watermark stays at %s" % iso_utc(FEBRUARY))
    assert report["watermark"]["high"] == iso_utc(FEBRUARY)


def test_an_interactions_delta_with_1000_new_rows_is_imported(spark, tmp_path):
    report = _interactions(spark, tmp_path, again=100, new=1000)
    assert (report["rows"], report["new_rows"], report["carried"]) == (1100, 1000, False)
    assert report["watermark"]["high"] == iso_utc(MARCH + 999)


def test_an_empty_users_delta_is_carried_because_an_empty_import_fails(spark, tmp_path):
    spec = _spec(_source(tmp_path, ["c1,gold,2023-01-01T00:00:00Z"]), {"column": "updated_at"})
    report = _export(spark, tmp_path, spec, INCREMENTAL)
    assert (report["rows"], report["new_rows"], report["carried"]) == (0, 0, True)
    assert report["carried_reason"] == ("no users rows in this delta: an import job with no records fails: not imported "
                                        "now; the watermark stays at %s so the next delta holds these rows too" % iso_utc(FEBRUARY))


def test_a_full_export_counts_every_row_as_new(spark, tmp_path):
    spec = _spec(_source(tmp_path, ["c1,gold,2023-01-01T00:00:00Z", "c2,gold,"]), {"column": "updated_at"})
    report = _export(spark, tmp_path, spec, FULL)
    assert (report["rows"], report["new_rows"], report["carried"]) == (2, 2, False)
