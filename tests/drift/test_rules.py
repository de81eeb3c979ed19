"""One case per classification rule, each built as a real catalog change in moto's Glue."""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, NamedTuple, Optional

import pytest

from export_spec import load_spec
from schema_drift.assess import assess
from schema_drift.catalog import GlueCatalog
from schema_drift.events import parse_event
from schema_drift.read_map import ReadMap
from schema_drift.rules import BREAKING, INFO, RULES, WARNING

from .conftest import DATABASE, ORDERS_COLUMNS, SPEC, database_event, table_event, table_input


class Case(NamedTuple):
    rule: str
    severity: str
    # Changes the catalog and returns the event Glue would emit for that change.
    act: Callable[[Any, Dict[str, Any]], Dict[str, Any]]
    column: Optional[str] = None
    jobs: Optional[List[str]] = None


def _update(aws, tables, name: str, change: Callable[[Dict[str, Any]], None]) -> Dict[str, Any]:
    table = copy.deepcopy(tables[name])
    change(table)
    aws.update_table(table)
    return table_event("UpdateTable", name)


def _columns(table: Dict[str, Any]) -> List[Dict[str, str]]:
    return table["StorageDescriptor"]["Columns"]


def _drop(name: str) -> Callable[[Dict[str, Any]], None]:
    def change(table):
        table["StorageDescriptor"]["Columns"] = [c for c in _columns(table) if c["Name"] != name]
    return change


def _set_type(name: str, new_type: str) -> Callable[[Dict[str, Any]], None]:
    def change(table):
        for column in _columns(table):
            if column["Name"] == name:
                column["Type"] = new_type
    return change


def _rename_in_place(old: str, new: str) -> Callable[[Dict[str, Any]], None]:
    def change(table):
        for column in _columns(table):
            if column["Name"] == old:
                column["Name"] = new
    return change


def _rename_and_move(old: str, new: str) -> Callable[[Dict[str, Any]], None]:
    def change(table):
        kept = [c for c in _columns(table) if c["Name"] != old]
        moved = [dict(c, Name=new) for c in _columns(table) if c["Name"] == old]
        table["StorageDescriptor"]["Columns"] = kept + moved
    return change


def _add(name: str, column_type: str) -> Callable[[Dict[str, Any]], None]:
    return lambda table: _columns(table).append({"Name": name, "Type": column_type})


def _set(path: List[str], value: Any) -> Callable[[Dict[str, Any]], None]:
    def change(table):
        node = table
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _both(*changes: Callable[[Dict[str, Any]], None]) -> Callable[[Dict[str, Any]], None]:
    def change(table):
        for step in changes:
            step(table)
    return change


def _create_orders_without_status(aws, tables):
    aws.glue.delete_table(DatabaseName=DATABASE, Name="orders")
    aws.create_table("orders", [c for c in ORDERS_COLUMNS if c[0] != "status"])
    return database_event("CreateTable", ["orders"])


def _delete_orders(aws, tables):
    aws.glue.delete_table(DatabaseName=DATABASE, Name="orders")
    return database_event("DeleteTable", ["orders"])


def _delete_then_recreate_orders(aws, tables):
    # The DeleteTable event is handled only after the table was created again.
    aws.glue.delete_table(DatabaseName=DATABASE, Name="orders")
    aws.create_table("orders", ORDERS_COLUMNS)
    return database_event("DeleteTable", ["orders"])


def _csv_orders(aws, tables):
    """orders as a crawler writes a CSV folder: delimited text, read by position."""
    aws.glue.delete_table(DatabaseName=DATABASE, Name="orders")
    return aws.create_table("orders", ORDERS_COLUMNS, **CSV)


def _swap(first: str, second: str) -> Callable[[Dict[str, Any]], None]:
    def change(table):
        columns = _columns(table)
        i = [c["Name"] for c in columns].index(first)
        j = [c["Name"] for c in columns].index(second)
        columns[i], columns[j] = columns[j], columns[i]
    return change


def _update_csv_orders(change: Callable[[Dict[str, Any]], None]):
    def act(aws, tables):
        table = copy.deepcopy(_csv_orders(aws, tables))
        change(table)
        aws.update_table(table)
        return table_event("UpdateTable", "orders")
    return act


def _drop_then_restore(aws, tables):
    _update(aws, tables, "orders", _drop("customer_id"))
    aws.update_table(copy.deepcopy(tables["orders"]))
    return table_event("UpdateTable", "orders")


def _unread_table_update(aws, tables):
    sessions = aws.create_table("web_sessions", [("session_id", "string")])
    _columns(sessions).append({"Name": "referrer", "Type": "string"})
    aws.update_table(sessions)
    return table_event("UpdateTable", "web_sessions")


def _create_database(aws, tables):
    aws.glue.create_database(DatabaseInput={"Name": "staging"})
    return database_event("CreateDatabase", database="staging")


def _delete_database(aws, tables):
    aws.glue.create_database(DatabaseInput={"Name": "staging"})
    aws.glue.delete_database(Name="staging")
    return database_event("DeleteDatabase", database="staging")


ORDERS_JOB = ["export_interactions"]
CSV = dict(classification="csv", serde="org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe")
CASES = {
    "read columns of a CSV table swapped": Case(
        "read_column_moved", BREAKING, _update_csv_orders(_swap("customer_id", "sku")), "customer_id", ORDERS_JOB),
    "read column back after a removal": Case(
        "read_column_added", WARNING, _drop_then_restore, "customer_id", ORDERS_JOB),
    "unread columns of a CSV table swapped": Case(
        "column_order_changed", WARNING, _update_csv_orders(_swap("quantity", "channel")), None, ORDERS_JOB),
    "read column removed": Case(
        "read_column_removed", BREAKING, lambda aws, t: _update(aws, t, "orders", _drop("customer_id")),
        "customer_id", ORDERS_JOB),
    "read column renamed in place (same type, same position)": Case(
        "read_column_renamed", BREAKING, lambda aws, t: _update(aws, t, "orders", _rename_in_place("customer_id", "client_ref")),
        "customer_id", ORDERS_JOB),
    "read column renamed to a similar name elsewhere": Case(
        "read_column_renamed", BREAKING, lambda aws, t: _update(aws, t, "orders", _rename_and_move("ordered_at", "orderedat")),
        "ordered_at", ORDERS_JOB),
    "read column float -> string": Case(
        "read_column_type_incompatible", BREAKING, lambda aws, t: _update(aws, t, "orders", _set_type("amount", "string")),
        "amount", ORDERS_JOB),
    "read column bigint -> int (narrowing)": Case(
        "read_column_type_incompatible", BREAKING, lambda aws, t: _update(aws, t, "orders", _set_type("ordered_at", "int")),
        "ordered_at", ORDERS_JOB),
    "read struct lost a field": Case(
        "read_column_type_incompatible", BREAKING,
        lambda aws, t: _update(aws, t, "customers", _set_type("profile", "struct<city:string>")),
        "profile", ["export_users"]),
    "read column float -> double": Case(
        "read_column_type_widened", WARNING, lambda aws, t: _update(aws, t, "orders", _set_type("amount", "double")),
        "amount", ORDERS_JOB),
    "read struct gained a field": Case(
        "read_column_type_widened", WARNING,
        lambda aws, t: _update(aws, t, "customers", _set_type("profile", "struct<age:int,city:string,zip:string>")),
        "profile", ["export_users"]),
    "read column missing from a created table": Case(
        "read_column_missing", BREAKING, _create_orders_without_status, "status", ORDERS_JOB),
    "read table deleted": Case("read_table_deleted", BREAKING, _delete_orders, None, ORDERS_JOB),
    "read table partition keys changed": Case(
        "read_partition_keys_changed", BREAKING,
        lambda aws, t: _update(aws, t, "orders", _set(["PartitionKeys"], [{"Name": "year", "Type": "string"},
                                                                           {"Name": "month", "Type": "string"}])),
        None, ORDERS_JOB),
    "read table moved to another bucket": Case(
        "read_location_moved", BREAKING,
        lambda aws, t: _update(aws, t, "orders", _set(["StorageDescriptor", "Location"], "s3://other-landing/orders/")),
        None, ORDERS_JOB),
    "read table format changed": Case(
        "read_format_changed", BREAKING,
        lambda aws, t: _update(aws, t, "orders", _both(
            _set(["Parameters", "classification"], "csv"),
            _set(["StorageDescriptor", "SerdeInfo"], {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                                                      "Parameters": {"field.delim": ","}}))),
        None, ORDERS_JOB),
    "read table new column": Case(
        "read_table_new_column", WARNING, lambda aws, t: _update(aws, t, "orders", _add("coupon_code", "string")),
        "coupon_code", ORDERS_JOB),
    "read table location changed in the same bucket": Case(
        "read_location_changed", WARNING,
        lambda aws, t: _update(aws, t, "orders", _set(["StorageDescriptor", "Location"], "s3://retail-landing/orders_v2/")),
        None, ORDERS_JOB),
    "read table deleted and re-created before the event is handled": Case(
        "read_table_recreated", WARNING, _delete_then_recreate_orders, None, ORDERS_JOB),
    "read table partitions deleted": Case(
        "read_partitions_deleted", WARNING,
        lambda aws, t: table_event("BatchDeletePartition", "orders", ["[2026-11-01]", "[2026-11-02]"]), None, ORDERS_JOB),
    "unknown change type": Case(
        "unknown_change_type", WARNING, lambda aws, t: table_event("UpdatePartition", "orders", ["[2026-11-01]"]),
        None, ORDERS_JOB),
    "unread column removed from a read table": Case(
        "unread_column_changed", INFO, lambda aws, t: _update(aws, t, "orders", _drop("channel")), "channel", []),
    "unread column widened on a read table": Case(
        "unread_column_changed", INFO, lambda aws, t: _update(aws, t, "orders", _set_type("quantity", "bigint")),
        "quantity", []),
    "read table created": Case(
        "read_table_created", INFO, lambda aws, t: database_event("CreateTable", ["orders"]), None, ORDERS_JOB),
    "partitions added": Case(
        "partitions_added", INFO, lambda aws, t: table_event("BatchCreatePartition", "orders", ["[2026-11-28]"]),
        None, ORDERS_JOB),
    "unread table updated": Case("unread_table_changed", INFO, _unread_table_update, "referrer", []),
    "database created": Case("database_created", INFO, _create_database),
    "database without read tables deleted": Case("database_deleted", INFO, _delete_database),
    "only table statistics changed": Case(
        "no_schema_change", INFO,
        lambda aws, t: _update(aws, t, "orders", _set(["Parameters", "recordCount"], "12345")), None, ORDERS_JOB),
    "only one version exists": Case(
        "single_version", INFO, lambda aws, t: table_event("UpdateTable", "orders"), None, ORDERS_JOB),
}


@pytest.fixture
def read_map() -> ReadMap:
    return ReadMap.from_spec(load_spec(SPEC))


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_each_rule_classifies_its_change(aws, catalog, read_map, case: Case):
    event = parse_event(case.act(aws, catalog))
    assessment = assess(event, GlueCatalog(aws.glue), read_map)

    matching = [f for f in assessment.findings if f.rule == case.rule]
    assert matching, "expected rule %s, got %s" % (case.rule, [(f.rule, f.summary) for f in assessment.findings])
    finding = matching[0]
    assert finding.severity == case.severity == RULES[case.rule].severity
    assert assessment.severity == case.severity, [(f.rule, f.summary) for f in assessment.findings]
    if case.column is not None:
        assert finding.column == case.column
    if case.jobs is not None:
        assert finding.jobs == case.jobs


def test_every_rule_has_a_case():
    assert {case.rule for case in CASES.values()} == set(RULES)


def test_rename_reports_old_and_new_name(aws, catalog, read_map):
    event = parse_event(_update(aws, catalog, "orders", _rename_in_place("customer_id", "client_ref")))
    findings = assess(event, GlueCatalog(aws.glue), read_map).findings
    renamed = [f for f in findings if f.rule == "read_column_renamed"]
    assert len(renamed) == 1
    assert "customer_id renamed to client_ref" in renamed[0].summary
    # The rename is one change, not a removal plus an addition.
    assert not [f for f in findings if f.rule in ("read_column_removed", "read_table_new_column", "read_column_missing")]


def test_several_changes_in_one_update_are_all_listed(aws, catalog, read_map):
    event = parse_event(_update(aws, catalog, "orders", _both(
        _drop("status"), _set_type("amount", "double"), _add("coupon_code", "string"))))
    assessment = assess(event, GlueCatalog(aws.glue), read_map)
    assert sorted(f.rule for f in assessment.findings) == [
        "read_column_removed", "read_column_type_widened", "read_table_new_column"]
    assert assessment.severity == BREAKING
    assert assessment.versions_compared == [1, 2]


def test_column_names_match_the_spec_regardless_of_case(aws, read_map):
    aws.create_table("orders", ORDERS_COLUMNS)
    upper = table_input("orders", [(n.upper(), t) for n, t in ORDERS_COLUMNS if n != "sku"])
    aws.update_table(upper)
    findings = assess(parse_event(table_event("UpdateTable", "orders")), GlueCatalog(aws.glue), read_map).findings
    assert [(f.rule, f.column) for f in findings if f.severity == BREAKING] == [("read_column_removed", "sku")]


def test_a_table_read_by_two_jobs_names_both(aws, catalog, read_map):
    # The interactions job reads the products' sku to reconcile item ids.
    findings = assess(parse_event(_update(aws, catalog, "products", _drop("sku"))), GlueCatalog(aws.glue), read_map).findings
    assert [(f.rule, f.jobs) for f in findings] == [("read_column_removed", ["export_interactions", "export_items"])]
