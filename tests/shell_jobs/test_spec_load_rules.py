"""Spec settings that would otherwise fail late (deep in Spark) or be silently overridden
are refused when the spec loads, naming the dotted path (stdlib only: also Python 3.9)."""
from __future__ import annotations

import copy
import math

import pytest
from export_fixtures import SPEC

from export_spec import SpecError, load_spec, status_key, trim_text

_YAML = """\
sources:
  orders: {format: csv, path: orders.csv}
datasets:
  interactions:
    source: orders
    fields:
      USER_ID: customer_id
      ITEM_ID: sku
      TIMESTAMP: ordered_at
run:
  max_rejected_share: 0.1
  keep_exports: 3
"""


def _error(spec) -> SpecError:
    with pytest.raises(SpecError) as error:
        load_spec(spec)
    return error.value


# ----------------------------------------------------------------------------- duplicate keys


@pytest.mark.parametrize("text,path,lines", [
    (_YAML + "  max_rejected_share: 0.9\n", "run.max_rejected_share", (13, 11)),
    (_YAML.replace("      ITEM_ID: sku\n", "      ITEM_ID: sku\n      USER_ID: other\n"), "datasets.interactions.fields.USER_ID", (9, 7)),
    (_YAML + "sources: {}\n", "sources", (13, 1)),
    (_YAML.replace("{format: csv, path: orders.csv}", "{format: csv, path: a.csv, path: b.csv}"), "sources.orders.path", (2, 2)),
])
def test_duplicate_yaml_keys_are_refused_naming_the_key_and_both_lines(text, path, lines):
    error = _error(text)
    assert error.path == path
    assert "line %d (first on line %d)" % lines in error.rule


def test_duplicate_keys_in_nested_mappings_and_list_items_are_refused_with_their_path():
    nested = _YAML.replace("TIMESTAMP: ordered_at", "TIMESTAMP: {from: ordered_at, timestamp: {timezone: UTC, timezone: CET}}")
    assert _error(nested).path == "datasets.interactions.fields.TIMESTAMP.timestamp.timezone"
    in_list = _YAML.replace("ITEM_ID: sku", "ITEM_ID: {from: sku, normalize: [trim, {strip_prefix: A, strip_prefix: B}]}")
    assert _error(in_list).path == "datasets.interactions.fields.ITEM_ID.normalize[1].strip_prefix"


def test_a_spec_without_duplicates_still_loads_from_yaml():
    assert load_spec(_YAML).run.keep_exports == 3


@pytest.mark.parametrize("text", [
    '{"sources": {}, "sources": {}}',
    '{"sources": {"orders": {"format": "csv", "format": "jsonl", "path": "x"}}, "datasets": {}}',
])
def test_duplicate_json_keys_are_refused_naming_the_key(text):
    error = _error(text)
    assert "appears twice" in error.rule
    assert ("'sources'" in error.rule) or ("'format'" in error.rule)


# ----------------------------------------------------------------------------- colliding statuses


def _with_event_types(event_types):
    spec = copy.deepcopy(SPEC)
    spec["datasets"]["interactions"]["event_types"] = event_types
    return spec


@pytest.mark.parametrize("mapping,second", [
    ({"buy": "purchase", "Buy": "view"}, "Buy"),
    ({"BUY": "purchase", "buy": "purchase"}, "buy"),
    ({"buy": "purchase", " buy ": "view"}, " buy "),
    ({"buy": "purchase", "buy\u00a0": "view"}, "buy\u00a0"),
    ({"Cancelled": "x", "\ufeffcancelled\u200b": "y"}, "\ufeffcancelled\u200b"),
])
def test_statuses_that_collide_after_trimming_and_case_folding_are_refused_naming_both(mapping, second):
    error = _error(_with_event_types({"map": mapping}))
    assert error.path == "datasets.interactions.event_types.map." + second
    first = next(iter(mapping))
    assert "collides with %r" % first in error.rule


def test_case_sensitive_statuses_may_differ_in_case_only():
    spec = load_spec(_with_event_types({"map": {"buy": "purchase", "Buy": "view"}, "case_sensitive": True}))
    assert spec.datasets["interactions"].event_types.mapping == {"buy": "purchase", "Buy": "view"}
    error = _error(_with_event_types({"map": {"buy": "purchase", "buy\t": "view"}, "case_sensitive": True}))
    assert "collides with 'buy'" in error.rule


def test_a_dropped_status_that_matches_a_mapped_one_after_trimming_is_refused():
    error = _error(_with_event_types({"map": {"completed": "purchase"}, "drop": ["\u200bCompleted\u3000"]}))
    assert error.path == "datasets.interactions.event_types.drop"
    assert "both mapped and dropped" in error.rule


@pytest.mark.parametrize("event", ["purchase ", "\tpurchase", "pur\x00chase", "purchase\u200b", "\u00a0purchase"])
def test_event_types_that_would_be_written_with_white_space_or_control_characters_are_refused(event):
    error = _error(_with_event_types({"map": {"completed": event}}))
    assert error.path == "datasets.interactions.event_types.map.completed"
    assert "written to the CSV as is" in error.rule


def test_trimming_strips_unicode_whitespace_and_format_characters_only():
    assert trim_text("\t\r\n\u00a0\u3000\u200b\ufeff U1 \u2028\u2060") == "U1"
    assert trim_text("U\u00a01") == "U\u00a01"  # inside is kept
    assert trim_text("\x00U1\x01") == "\x00U1\x01"  # control characters are not whitespace
    assert status_key(" Buy\u00a0", False) == "buy"


# ----------------------------------------------------------------------------- late failures

_T = "datasets.interactions.fields.TIMESTAMP"


def _timestamp(formats=None, timezone=None):
    spec = copy.deepcopy(SPEC)
    settings = {}
    if formats is not None:
        settings["formats"] = formats
    if timezone is not None:
        settings["timezone"] = timezone
    spec["datasets"]["interactions"]["fields"]["TIMESTAMP"] = {"from": "ordered_at", "timestamp": settings}
    return spec


@pytest.mark.parametrize("timezone", [
    "Mars/Olympus", "utc", "europe/berlin", "America/New_York ", "+19:00", "-18:30", "UTC+25", "+05:60", "+530", "Europe/Berlin/x", "",
])
def test_time_zones_spark_refuses_are_refused_at_load(timezone):
    error = _error(_timestamp(timezone=timezone))
    assert error.path == _T + ".timestamp.timezone"


@pytest.mark.parametrize("timezone", [
    "UTC", "Z", "GMT", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "US/Pacific", "EST", "PST",
    "+05:00", "+5:00", "-05", "+0530", "+18:00", "UTC+1", "GMT+01:00", "+05:30:15",
])
def test_time_zones_spark_accepts_load(timezone):
    assert load_spec(_timestamp(timezone=timezone)).datasets["interactions"].field("TIMESTAMP").timestamp.timezone == timezone


@pytest.mark.parametrize("pattern,rule", [
    ("epoch_second", "week-based"),
    ("epoch_milis", "week-based"),
    ("YYYY-MM-dd HH:mm", "week-based"),
    ("yyyy-ww", "week-based"),
    ("EEE, dd MMM yyyy", "cannot be used to parse"),
    ("dd/MM/yyyy hh:mm a b", "unknown pattern letter 'b'"),
    ("yyyy-MM-ddTHH:mm", "unknown pattern letter 'T'"),
    ("yyyy-MM-dd'T", "not closed"),
    ("yyyy-MM-dd]", "closes no optional section"),
    ("yyyy-MM-dd HH:mm:ss.SSSSSSSSSS", "'S' may repeat"),
    ("yyyyyyy", "'y' may repeat"),
    ("dd-MMMMM-yyyy", "'M' may repeat"),
    ("ddd/MM/yyyy", "'d' may repeat"),
    ("yyyy-MM-dd #", "reserved"),
    ("HH:mm {x}", "reserved"),
    ("---", "at least one date or time letter"),
    ("'yyyy'", "at least one date or time letter"),
])
def test_datetime_patterns_spark_refuses_are_refused_at_load(pattern, rule):
    error = _error(_timestamp(formats=["iso8601", pattern]))
    assert error.path == _T + ".timestamp.formats[1]"
    assert rule in error.rule


@pytest.mark.parametrize("pattern", [
    "dd/MM/yyyy HH:mm", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "yyyyMMddHHmmss", "dd.MM.yy h:mm a", "yyyy-MM-dd HH:mm:ss VV",
    "yyyy-MM-dd HH:mm z", "yyyy-MM-dd[ HH:mm[:ss]]", "d MMM uuuu".replace("uuuu", "yyyy"), "''yyyy''", "yyyy-DDD",
])
def test_datetime_patterns_spark_accepts_load(pattern):
    load_spec(_timestamp(formats=[pattern]))


def _run(**settings):
    spec = copy.deepcopy(SPEC)
    spec["run"].update(settings)
    return spec


@pytest.mark.parametrize("floor", [math.nan, math.inf, -math.inf, -1e300, 1e300, 2**70, -(2**63), 253402300800, "10000-01-01"])
def test_timestamp_floors_that_are_not_finite_or_out_of_range_are_refused(floor):
    error = _error(_run(timestamp_floor=floor))
    assert error.path == "run.timestamp_floor"


def test_timestamp_floor_from_yaml_special_floats_is_refused():
    for literal in (".nan", ".inf", "-.inf", "-1e300"):
        error = _error(_YAML + "  timestamp_floor: %s\n" % literal)
        assert error.path == "run.timestamp_floor"


@pytest.mark.parametrize("floor,seconds", [(0, 0), (1420070400.9, 1420070400), ("2015-01-01T00:00:00Z", 1420070400),
                                           (-62135596800, -62135596800), (253402300799, 253402300799)])
def test_timestamp_floors_in_range_load(floor, seconds):
    assert load_spec(_run(timestamp_floor=floor)).run.timestamp_floor == seconds


@pytest.mark.parametrize("path,value", [
    ("max_future_skew_seconds", 10**20),
    ("max_future_skew_seconds", 2**63),
    ("max_rejected_share", math.nan),
    ("max_rejected_share", math.inf),
])
def test_numeric_run_settings_out_of_range_are_refused(path, value):
    assert _error(_run(**{path: value})).path == "run." + path


@pytest.mark.parametrize("key", ["block_prefix_length", "min_key_length"])
def test_fuzzy_lengths_beyond_what_spark_takes_are_refused(key):
    spec = copy.deepcopy(SPEC)
    spec["item_ids"] = {"fuzzy": {"interactions_key": "title", "items_key": "title", key: 2**31}}
    assert _error(spec).path == "item_ids.fuzzy." + key
