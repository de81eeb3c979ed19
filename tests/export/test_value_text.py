"""Text values: what trimming means, characters no id may hold, undecodable bytes, and
epoch numbers whose unit cannot be told from their size."""
from __future__ import annotations

import pytest

from export_spec import load_spec
from personalize_export.sources import read_source
from personalize_export.transform import REASON, REASON_FIELD, STATUS, ClassifyOptions, classify, out_col

pytestmark = pytest.mark.spark

NOW = 1_700_000_000
FIELDS = ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "CHANNEL")


def _spec(formats=("iso8601", "epoch_seconds", "epoch_millis"), path="orders.csv", source_format="csv"):
    return load_spec({
        "sources": {"orders": {"format": source_format, "path": path}},
        "datasets": {"interactions": {
            "source": "orders",
            "fields": {
                "USER_ID": "user", "ITEM_ID": "item",
                "TIMESTAMP": {"from": "ts", "timestamp": {"formats": list(formats)}},
                "EVENT_TYPE": "status",
                "CHANNEL": {"from": "channel", "categorical": True, "nullable": True, "delimiter": ";"},
            },
            "event_types": {"map": {"completed": "purchase"}, "drop": ["cancelled"], "unmapped": "keep"},
        }},
    })


def _classify(spark, rows, spec=None):
    """rows: (oid, user, item, ts, status, channel) -> {oid: (status or reason, values or field)}."""
    spec = spec or _spec()
    frame = spark.createDataFrame(rows, "oid string, user string, item string, ts string, status string, channel string")
    result = classify(frame, spec.datasets["interactions"], spec, ClassifyOptions(now_epoch=NOW, text_may_wrap_json=False))
    outcomes = {}
    for row in result.collect():
        if row[STATUS] == "written":
            outcomes[row["oid"]] = ("written", tuple(row[out_col(f)] for f in FIELDS))
        elif row[STATUS] == "filtered":
            outcomes[row["oid"]] = ("filtered", None)
        else:
            outcomes[row["oid"]] = (row[REASON], row[REASON_FIELD])
    return outcomes


def _outcomes_read_from(spark, spec):
    """{oid: (status, reason, field)} of the rows read from the spec's source file."""
    frame = read_source(spark, spec.sources["orders"])
    result = classify(frame, spec.datasets["interactions"], spec, ClassifyOptions(now_epoch=NOW, text_may_wrap_json=False))
    return {row["oid"]: (row[STATUS], row[REASON], row[REASON_FIELD]) for row in result.collect()}


def _row(oid, user="U1", item="I1", ts="1600000000", status="completed", channel="web"):
    return (oid, user, item, ts, status, channel)


AROUND = ["\t", "\r", "\n", "\u00a0", "\u3000", "\u200b", "\ufeff", "\u2028", "\u202f", " \t\u00a0 "]


@pytest.mark.parametrize("pad", AROUND, ids=[repr(p) for p in AROUND])
def test_unicode_white_space_and_format_characters_around_values_are_trimmed(spark, pad):
    outcomes = _classify(spark, [
        _row("ids", user=pad + "U7" + pad, item=pad + "I7"),
        _row("status", status="Completed" + pad, channel=pad + "web" + pad + ";" + pad + "app"),
        _row("dropped", status=pad + "Cancelled" + pad),
    ])
    assert outcomes["ids"] == ("written", ("U7", "I7", 1600000000, "purchase", "web"))
    assert outcomes["status"] == ("written", ("U1", "I1", 1600000000, "purchase", "web|app"))
    assert outcomes["dropped"] == ("filtered", None)


@pytest.mark.parametrize("blank", ["\t", "\u00a0", "\u3000\u3000", "\u200b", "\ufeff", " \r\n ", "\u2007\u205f"])
def test_an_id_that_is_only_white_space_or_format_characters_is_a_null_id(spark, blank):
    outcomes = _classify(spark, [_row("user", user=blank), _row("item", item=blank)])
    assert outcomes == {"user": ("null_id", "USER_ID"), "item": ("null_id", "ITEM_ID")}


@pytest.mark.parametrize("inside", ["\x00", "\t", "\r", "\n", "\x1f", "\x7f", "\x85", "\u200b", "\ufeff", "\u200e", "\u2028", "\u2060"])
def test_control_and_invisible_characters_inside_an_id_are_rejected(spark, inside):
    outcomes = _classify(spark, [_row("user", user="U" + inside + "916"), _row("item", item="I" + inside + "1"),
                                 _row("channel", channel="w" + inside + "eb"), _row("ok", user="U916")])
    assert outcomes["user"] == ("control_character", "USER_ID")
    assert outcomes["item"] == ("control_character", "ITEM_ID")
    assert outcomes["channel"] == ("control_character", "CHANNEL")
    assert outcomes["ok"][0] == "written"


def test_kept_unmapped_statuses_with_control_characters_are_rejected(spark):
    outcomes = _classify(spark, [_row("nul", status="refunded\x00"), _row("fine", status="refunded")])
    assert outcomes["nul"] == ("control_character", "EVENT_TYPE")
    assert outcomes["fine"][1][3] == "refunded"


def test_white_space_inside_an_id_is_kept(spark):
    outcomes = _classify(spark, [_row("nbsp", user="U\u00a01"), _row("space", user="U 1")])
    assert outcomes["nbsp"][1][0] == "U\u00a01"
    assert outcomes["space"][1][0] == "U 1"


def test_undecodable_bytes_in_a_csv_are_rejected_and_never_merge_two_ids(spark, tmp_path):
    lines = [b"oid,user,item,ts,status,channel", b"a,U\xff916,I1,1600000000,completed,web", b"b,U\xfe916,I1,1600000000,completed,web",
             b"c,U\xc3\x28916,I2,1600000000,completed,web", b"d,U916,I\xed\xa0\x80,1600000000,completed,web",
             b"e,U916,I1,1600000000,completed,w\xffeb", b"f,U916,I1,1600000000,completed,web"]
    (tmp_path / "orders.csv").write_bytes(b"\n".join(lines) + b"\n")
    assert _outcomes_read_from(spark, _spec(path=str(tmp_path / "orders.csv"))) == {
        "a": ("rejected", "undecodable_value", "USER_ID"),
        "b": ("rejected", "undecodable_value", "USER_ID"),
        "c": ("rejected", "undecodable_value", "USER_ID"),
        "d": ("rejected", "undecodable_value", "ITEM_ID"),
        "e": ("rejected", "undecodable_value", "CHANNEL"),
        "f": ("written", None, None),
    }


def test_replacement_characters_from_a_database_driver_are_rejected(spark):
    # A JDBC driver hands over text it could not decode with U+FFFD in place of the bytes.
    outcomes = _classify(spark, [_row("a", user="U\ufffd916"), _row("b", user="U\ufffd\ufffd916"), _row("c", item="\ufffd")])
    assert outcomes == {"a": ("undecodable_value", "USER_ID"), "b": ("undecodable_value", "USER_ID"), "c": ("undecodable_value", "ITEM_ID")}


@pytest.mark.parametrize("value", ["253402300799", "100000000000", "999999999999", "-253402300799", "500000000000.5"])
def test_epoch_numbers_that_read_as_far_future_seconds_or_old_milliseconds_are_ambiguous(spark, value):
    assert _classify(spark, [_row("x", ts=value)])["x"] == ("ambiguous_epoch", "TIMESTAMP")


@pytest.mark.parametrize("value,seconds", [("1600000000", 1600000000), ("99999999999", None), ("1600000000123", 1600000000),
                                           ("1000000000000", 1000000000), ("0", 0)])
def test_epoch_numbers_outside_the_ambiguous_band_keep_their_reading(spark, value, seconds):
    outcome = _classify(spark, [_row("x", ts=value)])["x"]
    if seconds is None:
        assert outcome == ("future_timestamp", "TIMESTAMP")  # seconds of the year 5138
    else:
        assert outcome == ("written", ("U1", "I1", seconds, "purchase", "web"))


def test_a_spec_that_names_the_unit_reads_every_magnitude_in_it(spark):
    as_seconds = _classify(spark, [_row("x", ts="253402300799"), _row("y", ts="1600000000")], _spec(formats=["epoch_seconds"]))
    assert as_seconds["x"] == ("future_timestamp", "TIMESTAMP")  # the year 9999, not 1978
    assert as_seconds["y"][1][2] == 1600000000
    as_millis = _classify(spark, [_row("x", ts="500000000000")], _spec(formats=["epoch_millis"]))
    assert as_millis["x"] == ("written", ("U1", "I1", 500000000, "purchase", "web"))


def test_textual_values_keep_their_spacing_and_line_breaks_but_not_other_control_characters(spark):
    spec = load_spec({
        "sources": {"products": {"format": "csv", "path": "products.csv"}, "orders": {"format": "csv", "path": "orders.csv"}},
        "datasets": {
            "interactions": {"source": "orders", "fields": {"USER_ID": "user", "ITEM_ID": "item", "TIMESTAMP": "ts"}},
            "items": {"source": "products", "fields": {"ITEM_ID": "sku", "DESCRIPTION": {"from": "text", "textual": True, "nullable": True}}},
        },
    })
    frame = spark.createDataFrame([("a", " Line one\n\tline two "), ("b", "bad\x00byte"), ("c", "bad\ufffdbyte"),
                                   ("d", "\u00a0\u3000"), ("e", "zero\u200bwidth")], "sku string, text string")
    rows = classify(frame, spec.datasets["items"], spec, ClassifyOptions(now_epoch=NOW, text_may_wrap_json=False)).collect()
    outcomes = {row["sku"]: (row[STATUS], row[REASON], row[out_col("DESCRIPTION")]) for row in rows}
    assert outcomes["a"] == ("written", None, " Line one\n\tline two ")
    assert outcomes["b"][:2] == ("rejected", "control_character")
    assert outcomes["c"][:2] == ("rejected", "undecodable_value")
    assert outcomes["d"] == ("written", None, None)  # blank: missing, and the field is nullable
    assert outcomes["e"][:2] == ("rejected", "control_character")


def test_undecodable_bytes_in_json_lines_are_rejected_and_never_merge_two_ids(spark, tmp_path):
    lines = [b'{"oid":"a","user":"U\xff916","item":"I1","ts":"1600000000","status":"completed","channel":"web"}',
             b'{"oid":"b","user":"U\xfe916","item":"I1","ts":"1600000000","status":"completed","channel":"web"}',
             b'{"oid":"c","user":"U916","item":"I\xed\xa0\x80","ts":"1600000000","status":"completed","channel":"web"}',
             b'{"oid":"d","user":"U916","item":"I1","ts":"1600000000","status":"completed","channel":"web"}']
    (tmp_path / "orders.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    assert _outcomes_read_from(spark, _spec(path=str(tmp_path / "orders.jsonl"), source_format="jsonl")) == {
        "a": ("rejected", "undecodable_value", "USER_ID"),
        "b": ("rejected", "undecodable_value", "USER_ID"),
        "c": ("rejected", "undecodable_value", "ITEM_ID"),
        "d": ("written", None, None),
    }
