"""Every documented Glue Data Catalog event parses; malformed events fail naming the field."""
from __future__ import annotations

import copy

import pytest

from schema_drift.events import DATABASE_CHANGE_TYPES, TABLE_CHANGE_TYPES, InvalidEventError, parse_event

from .conftest import database_event, table_event


@pytest.mark.parametrize("type_of_change", TABLE_CHANGE_TYPES)
def test_table_state_change_samples(type_of_change):
    partitions = None if type_of_change == "UpdateTable" else ["[2026-11-27]", "[2026-11-28]"]
    raw = table_event(type_of_change, "orders", partitions)
    event = parse_event(raw)
    assert (event.database, event.table, event.type_of_change) == ("retail", "orders", type_of_change)
    assert event.tables == ["orders"]
    assert event.changed_partitions == (partitions or [])
    assert event.event_id == raw["id"]


@pytest.mark.parametrize("type_of_change", DATABASE_CHANGE_TYPES)
def test_database_state_change_samples(type_of_change):
    tables = None if type_of_change.endswith("Database") else ["orders", "products"]
    event = parse_event(database_event(type_of_change, tables))
    assert (event.database, event.table, event.type_of_change) == ("retail", None, type_of_change)
    assert event.tables == (tables or [])


def test_batch_delete_carries_up_to_100_tables():
    names = ["t%03d" % i for i in range(100)]
    assert parse_event(database_event("BatchDeleteTable", names)).changed_tables == names


def _broken(mutate):
    event = table_event("UpdateTable", "orders")
    mutate(event)
    return event


@pytest.mark.parametrize("event,message", [
    ("not an event", "event: must be a JSON object"),
    (_broken(lambda e: e.update(source="aws.s3")), "source: must be \"aws.glue\""),
    (_broken(lambda e: e.update({"detail-type": "Glue Job State Change"})), "detail-type: must be"),
    (_broken(lambda e: e.pop("detail")), "detail: must be an object"),
    (_broken(lambda e: e["detail"].pop("databaseName")), "detail.databaseName: is required"),
    (_broken(lambda e: e["detail"].pop("tableName")), "detail.tableName: is required"),
    (_broken(lambda e: e["detail"].pop("typeOfChange")), "detail.typeOfChange: is required"),
    (_broken(lambda e: e["detail"].update(tableName=7)), "detail.tableName: must be a string"),
    (_broken(lambda e: e["detail"].update(changedPartitions="2026")), "detail.changedPartitions: must be a list"),
    (_broken(lambda e: e.pop("id")), "id: is required"),
    (database_event("DeleteTable", []), "detail.changedTables: must list at least one table for DeleteTable"),
    (database_event("BatchDeleteTable", None), "detail.changedTables: must list at least one table"),
])
def test_malformed_events_name_the_field(event, message):
    with pytest.raises(InvalidEventError) as error:
        parse_event(copy.deepcopy(event))
    assert message in str(error.value)
