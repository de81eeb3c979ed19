"""Alerts say what happened: returning read columns, column order of delimited text, non-ASCII names."""
from __future__ import annotations

import copy
import json
from typing import Any, Dict, List

import pytest

from export_spec import load_spec
from schema_drift.alert import SUBJECT_LIMIT, subject_line
from schema_drift.assess import assess
from schema_drift.catalog import GlueCatalog
from schema_drift.events import parse_event
from schema_drift.read_map import ReadMap
from schema_drift.service import process_event

from .conftest import ORDERS_COLUMNS, SPEC, database_event, table_event

LAZY_SIMPLE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPEN_CSV = "org.apache.hadoop.hive.serde2.OpenCSVSerde"


@pytest.fixture
def read_map() -> ReadMap:
    return ReadMap.from_spec(load_spec(SPEC))


def _findings(aws, read_map, table="orders"):
    return assess(parse_event(table_event("UpdateTable", table)), GlueCatalog(aws.glue), read_map).findings


def _columns(table: Dict[str, Any]) -> List[Dict[str, str]]:
    return table["StorageDescriptor"]["Columns"]


def _changed(table, change):
    changed = copy.deepcopy(table)
    change(changed)
    return changed


def _drop(name):
    def change(table):
        table["StorageDescriptor"]["Columns"] = [c for c in _columns(table) if c["Name"] != name]
    return change


def _rename(old, new):
    def change(table):
        for column in _columns(table):
            if column["Name"] == old:
                column["Name"] = new
    return change


# A read column that comes back ------------------------------------------------------------

def test_a_read_column_that_comes_back_is_named_as_read(aws, catalog, read_map):
    aws.update_table(_changed(catalog["orders"], _drop("customer_id")))
    aws.update_table(copy.deepcopy(catalog["orders"]))
    [finding] = _findings(aws, read_map)
    assert (finding.rule, finding.severity, finding.column) == ("read_column_added", "WARNING", "customer_id")
    assert "not mapped" not in finding.summary
    assert finding.summary == "column customer_id (string) added, a column the export reads; read by export_interactions"
    assert finding.jobs == ["export_interactions"]


def test_a_read_column_renamed_back_is_named_as_read(aws, catalog, read_map):
    aws.update_table(_changed(catalog["orders"], _rename("customer_id", "client_ref")))
    aws.update_table(copy.deepcopy(catalog["orders"]))
    [finding] = _findings(aws, read_map)
    assert (finding.rule, finding.column, finding.renamed_to) == ("read_column_added", "client_ref", "customer_id")
    assert finding.summary == ("column client_ref renamed to customer_id (same type at the same position), a column "
                               "the export reads; read by export_interactions")


def test_a_nested_read_column_that_comes_back_names_its_job(aws, catalog, read_map):
    aws.update_table(_changed(catalog["customers"], _drop("profile")))
    aws.update_table(copy.deepcopy(catalog["customers"]))
    [finding] = _findings(aws, read_map, "customers")
    assert (finding.rule, finding.jobs) == ("read_column_added", ["export_users"])


def test_a_new_unread_column_is_still_not_mapped(aws, catalog, read_map):
    aws.update_table(_changed(catalog["orders"], lambda t: _columns(t).append({"Name": "coupon", "Type": "string"})))
    [finding] = _findings(aws, read_map)
    assert finding.rule == "read_table_new_column"
    assert finding.summary == "column coupon (string) added; not mapped by the export spec"


# Column order of delimited text -----------------------------------------------------------

def _text_table(aws, serde=LAZY_SIMPLE, classification="csv", columns=ORDERS_COLUMNS):
    return aws.create_table("orders", columns, classification=classification, serde=serde)


def _swap(first, second):
    def change(table):
        names = [c["Name"] for c in _columns(table)]
        i, j = names.index(first), names.index(second)
        _columns(table)[i], _columns(table)[j] = _columns(table)[j], _columns(table)[i]
    return change


@pytest.mark.parametrize("serde,classification", [(LAZY_SIMPLE, "csv"), (OPEN_CSV, "csv"), (LAZY_SIMPLE, "tsv"),
                                                  (OPEN_CSV, "")], ids=["csv", "opencsv", "tsv", "serde-only"])
def test_swapping_two_read_columns_of_delimited_text_is_breaking(aws, read_map, serde, classification):
    table = _text_table(aws, serde, classification)
    aws.update_table(_changed(table, _swap("customer_id", "sku")))
    findings = _findings(aws, read_map)
    assert sorted((f.rule, f.severity, f.column, f.before, f.after) for f in findings) == [
        ("read_column_moved", "BREAKING", "customer_id", "position 2", "position 3"),
        ("read_column_moved", "BREAKING", "sku", "position 3", "position 2")]
    assert all("is read by position, so the column order is the mapping; read by export_interactions" in f.summary
               for f in findings)


def test_a_column_inserted_before_read_columns_of_a_csv_table_moves_them(aws, read_map):
    table = _text_table(aws)
    aws.update_table(_changed(table, lambda t: _columns(t).insert(0, {"Name": "region", "Type": "string"})))
    findings = _findings(aws, read_map)
    moved = sorted(f.column for f in findings if f.rule == "read_column_moved")
    assert moved == ["amount", "customer_id", "ordered_at", "sku", "status"]
    assert [f.rule for f in findings if f.column == "region"] == ["read_table_new_column"]
    assert [f.summary for f in findings if f.rule == "column_order_changed"] == [
        "columns not read by the export changed position: order_id (position 1 -> position 2), quantity (position 7 "
        "-> position 8), channel (position 8 -> position 9); CSV is read by position, so files written in the old "
        "order no longer match the table"]


def test_swapping_unread_columns_of_a_csv_table_is_a_warning(aws, read_map):
    table = _text_table(aws)
    aws.update_table(_changed(table, _swap("quantity", "channel")))
    [finding] = _findings(aws, read_map)
    assert (finding.rule, finding.severity, finding.jobs) == ("column_order_changed", "WARNING", ["export_interactions"])


def test_appending_a_column_to_a_csv_table_moves_nothing(aws, read_map):
    table = _text_table(aws)
    aws.update_table(_changed(table, lambda t: _columns(t).append({"Name": "coupon", "Type": "string"})))
    assert [f.rule for f in _findings(aws, read_map)] == ["read_table_new_column"]


def test_swapping_columns_of_a_table_read_by_name_changes_nothing(aws, catalog, read_map):
    aws.update_table(_changed(catalog["orders"], _swap("customer_id", "sku")))
    assert [f.rule for f in _findings(aws, read_map)] == ["no_schema_change"]


def test_swapping_columns_of_an_unread_csv_table_is_informational(aws, read_map):
    table = aws.create_table("web_logs", [("a", "string"), ("b", "string")], classification="csv", serde=LAZY_SIMPLE)
    aws.update_table(_changed(table, _swap("a", "b")))
    findings = _findings(aws, read_map, "web_logs")
    assert {(f.rule, f.severity) for f in findings} == {("unread_table_changed", "INFO")}
    assert sorted(f.summary for f in findings) == ["column a moved from position 1 to position 2",
                                                   "column b moved from position 2 to position 1"]


# Names that are not ASCII -----------------------------------------------------------------

@pytest.mark.parametrize("name,shown", [
    ("表格", "表格"),
    ("ventes_été", "ventes_été"),
    ("straße", "straße"),
    ("t\u200bx", "t x"),  # a zero-width space is invisible in a mail client
    ("emoji_\U0001f600", "emoji_\U0001f600"),
])
def test_a_non_ascii_table_name_shows_as_it_is_in_the_subject(aws, name, shown):
    aws.create_table(name, [("id", "string")])
    outcome = process_event(database_event("CreateTable", [name]), aws.settings(notify_info=True), aws.clients)
    assert outcome.subject == "[INFO] retail.%s: table %s created" % (shown, shown)
    [envelope] = aws.received(aws.all_queue)
    assert envelope["Subject"] == outcome.subject
    assert json.loads(envelope["Message"])["table"] == name


def test_a_long_subject_is_cut_under_the_limit_counting_utf16_code_units():
    subject = subject_line("[BREAKING] retail.%s: table deleted" % ("表" * 120))
    assert len(subject) <= SUBJECT_LIMIT and subject.endswith("表...")
    astral = subject_line("[INFO] " + "\U0001f600" * 60)
    assert len(astral.encode("utf-16-le")) // 2 <= SUBJECT_LIMIT and astral.endswith("\U0001f600...")


def test_a_subject_never_starts_with_a_space_or_holds_control_characters():
    assert subject_line("\u3000\t[INFO]\u00a0a\x00b\nc\u2028d\ufeffe  ") == "[INFO] a b c d e"
