"""Any typeOfChange in either detail-type is handled: by what it means, or reported as unknown; never a crash.

Glue documents table changes (UpdateTable, partitions) for Table State Change events and
table-list changes (CreateTable, DeleteTable, BatchDeleteTable) for Database State Change
events; an event that mixes them still names its tables in tableName or changedTables.
"""
from __future__ import annotations

import copy
import json

import pytest

from schema_drift.events import TABLE_STATE_CHANGE
from schema_drift.service import process_event

from .conftest import DATABASE, ORDERS_COLUMNS, database_event, table_event


def _publish(aws, event, **settings):
    return process_event(event, aws.settings(**settings), aws.clients)


def _payload(aws):
    [envelope] = aws.received(aws.all_queue)
    return json.loads(envelope["Message"])


def _drop(aws, table, column):
    changed = copy.deepcopy(table)
    changed["StorageDescriptor"]["Columns"] = [c for c in changed["StorageDescriptor"]["Columns"] if c["Name"] != column]
    aws.update_table(changed)


def test_update_table_in_a_database_event_compares_the_named_table(aws, catalog):
    _drop(aws, catalog["orders"], "customer_id")
    outcome = _publish(aws, database_event("UpdateTable", ["orders"]))
    assert (outcome.status, outcome.severity) == ("published", "BREAKING")
    payload = _payload(aws)
    assert [(f["rule"], f["column"]) for f in payload["findings"]] == [("read_column_removed", "customer_id")]
    assert payload["versions"] == {"compared": [1, 2], "available": 2}
    assert any("Glue documents typeOfChange UpdateTable for Glue Data Catalog Table State Change events" in note
               for note in payload["notes"])


def test_update_table_in_a_database_event_naming_several_tables_compares_each(aws, catalog):
    _drop(aws, catalog["orders"], "sku")
    _drop(aws, catalog["products"], "price")
    outcome = _publish(aws, database_event("UpdateTable", ["orders", "products"]))
    assert outcome.severity == "BREAKING"
    findings = _payload(aws)["findings"]
    assert sorted((f["table"], f["column"]) for f in findings if f["rule"] == "read_column_removed") == [
        ("orders", "sku"), ("products", "price")]


def test_update_table_in_a_database_event_naming_no_table_is_reported_not_raised(aws, catalog):
    _drop(aws, catalog["customers"], "customer_id")
    outcome = _publish(aws, database_event("UpdateTable"))
    assert (outcome.status, outcome.severity) == ("published", "BREAKING")
    findings = _payload(aws)["findings"]
    [unknown] = [f for f in findings if f["rule"] == "unknown_change_type"]
    assert "UpdateTable in a Glue Data Catalog Database State Change event that names no table" in unknown["summary"]
    # Every table the export reads there is still checked as it is now.
    assert [(f["rule"], f["table"], f["column"]) for f in findings if f["severity"] == "BREAKING"] == [
        ("read_column_missing", "customers", "customer_id")]


def test_delete_table_in_a_table_event_for_a_read_table_is_breaking(aws, catalog):
    aws.glue.delete_table(DatabaseName=DATABASE, Name="orders")
    outcome = _publish(aws, table_event("DeleteTable", "orders"))
    assert (outcome.status, outcome.severity) == ("published", "BREAKING")
    [finding] = _payload(aws)["findings"]
    assert (finding["rule"], finding["table"], finding["export_jobs"]) == (
        "read_table_deleted", "orders", ["export_interactions"])


@pytest.mark.parametrize("type_of_change", ["DeleteTable", "BatchDeleteTable"])
def test_deleting_a_read_table_named_in_another_case_is_breaking(aws, catalog, type_of_change):
    aws.glue.delete_table(DatabaseName=DATABASE, Name="products")
    event = database_event(type_of_change, ["Products"], database="RETAIL")
    assert _publish(aws, event).severity == "BREAKING"
    assert {f["rule"] for f in _payload(aws)["findings"]} == {"read_table_deleted"}


def test_create_table_in_a_table_event_checks_the_read_columns(aws):
    aws.create_table("orders", [c for c in ORDERS_COLUMNS if c[0] != "ordered_at"])
    outcome = _publish(aws, table_event("CreateTable", "orders"))
    assert outcome.severity == "BREAKING"
    assert [(f["rule"], f["column"]) for f in _payload(aws)["findings"]] == [("read_column_missing", "ordered_at")]


def test_partition_deletes_in_a_database_event_are_about_the_named_table(aws, catalog):
    event = database_event("BatchDeletePartition", ["orders"])
    event["detail"]["changedPartitions"] = ["[2026-11-01]", "[2026-11-02]"]
    outcome = _publish(aws, event)
    assert outcome.severity == "WARNING"
    [finding] = _payload(aws)["findings"]
    assert (finding["rule"], finding["table"]) == ("read_partitions_deleted", "orders")
    assert finding["summary"].startswith("2 partitions deleted on orders")


@pytest.mark.parametrize("with_table", [True, False], ids=["with-tableName", "without-tableName"])
def test_delete_database_in_a_table_event_breaks_every_read_table(aws, with_table):
    event = table_event("DeleteDatabase", "orders")
    if not with_table:
        event["detail"].pop("tableName")
    assert event["detail-type"] == TABLE_STATE_CHANGE
    outcome = _publish(aws, event)
    assert outcome.severity == "BREAKING"
    assert sorted(f["table"] for f in _payload(aws)["findings"] if f["rule"] == "read_table_deleted") == [
        "customers", "orders", "products"]


@pytest.mark.parametrize("make_event", [
    lambda: table_event("RenameTable", "orders"),
    lambda: database_event("UpdateDatabase"),
    lambda: database_event("UpdateTableColumnStatistics", ["orders"]),
    lambda: table_event("updatetable", "orders"),
], ids=["RenameTable", "UpdateDatabase", "statistics", "lower-case"])
def test_unknown_change_types_are_reported_clearly(aws, catalog, make_event):
    event = make_event()
    outcome = _publish(aws, event)
    assert (outcome.status, outcome.severity) == ("published", "WARNING")
    [finding] = _payload(aws)["findings"]
    assert finding["rule"] == "unknown_change_type"
    assert finding["summary"].startswith("unrecognised change %s on retail" % event["detail"]["typeOfChange"])


def test_a_database_event_naming_its_table_in_table_name_is_about_that_table(aws, catalog):
    _drop(aws, catalog["orders"], "status")
    event = database_event("UpdateTable")
    event["detail"]["tableName"] = "orders"
    assert _publish(aws, event).severity == "BREAKING"
    assert [(f["rule"], f["column"]) for f in _payload(aws)["findings"]] == [("read_column_removed", "status")]


def test_a_table_event_naming_its_tables_in_changed_tables_is_about_those_tables(aws, catalog):
    aws.glue.delete_table(DatabaseName=DATABASE, Name="customers")
    event = table_event("DeleteTable", "customers")
    event["detail"].pop("tableName")
    event["detail"]["changedTables"] = ["customers"]
    assert _publish(aws, event).severity == "BREAKING"
    assert [(f["rule"], f["table"]) for f in _payload(aws)["findings"]] == [("read_table_deleted", "customers")]


def test_an_unknown_change_to_a_read_table_that_is_gone_is_breaking(aws, catalog):
    aws.glue.delete_table(DatabaseName=DATABASE, Name="orders")
    outcome = _publish(aws, table_event("DropTable", "orders"))
    assert outcome.severity == "BREAKING"
    assert sorted(f["rule"] for f in _payload(aws)["findings"]) == ["read_table_deleted", "unknown_change_type"]


@pytest.mark.parametrize("name", ["x" * 256, "line\nbreak", "nul\x00byte"], ids=["too-long", "line-break", "nul"])
@pytest.mark.parametrize("make_event", [lambda name: table_event("UpdateTable", name),
                                        lambda name: database_event("UpdateTable", [name])],
                         ids=["table-event", "database-event"])
def test_a_table_name_glue_refuses_is_reported_not_raised(aws, catalog, name, make_event):
    """Glue answers InvalidInputException for such names, so no such table exists."""
    outcome = _publish(aws, make_event(name), notify_info=True)
    assert (outcome.status, outcome.severity) == ("published", "INFO")
    [finding] = _payload(aws)["findings"]
    assert (finding["rule"], finding["table"]) == ("unread_table_changed", name)


def test_the_glue_stand_in_refuses_names_glue_refuses(aws):
    from botocore.exceptions import ClientError

    for name in ("x" * 256, "line\nbreak"):
        with pytest.raises(ClientError) as error:
            aws.glue.get_table_versions(DatabaseName=DATABASE, TableName=name)
        assert error.value.response["Error"]["Code"] == "InvalidInputException"
    with pytest.raises(ClientError) as error:
        aws.glue.get_table(DatabaseName=DATABASE, Name="x" * 255)
    assert error.value.response["Error"]["Code"] == "EntityNotFoundException"
