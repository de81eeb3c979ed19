"""Two different catalog changes never share a dedup key; the same comparison always does."""
from __future__ import annotations

import copy
import json

import pytest

from export_spec import load_spec
from schema_drift.assess import assess
from schema_drift.catalog import GlueCatalog
from schema_drift.dedup import Deduplicator
from schema_drift.events import parse_event
from schema_drift.read_map import ReadMap
from schema_drift.service import process_event

from .conftest import DATABASE, ORDERS_COLUMNS, SPEC, database_event, table_event, table_input


def _columns(table):
    return table["StorageDescriptor"]["Columns"]


def _with_column(table, name, column_type="string"):
    changed = copy.deepcopy(table)
    _columns(changed).append({"Name": name, "Type": column_type})
    return changed


def _without_column(table, name):
    changed = copy.deepcopy(table)
    changed["StorageDescriptor"]["Columns"] = [c for c in _columns(changed) if c["Name"] != name]
    return changed


def _publish(aws, event, **settings):
    return process_event(event, aws.settings(**settings), aws.clients)


def _version_ids(aws, table, database=DATABASE):
    versions = aws.glue.get_table_versions(DatabaseName=database, TableName=table)["TableVersions"]
    return sorted(int(v["VersionId"]) for v in versions)


def test_a_recreated_table_that_breaks_is_alerted_although_its_version_ids_repeat(aws, catalog):
    orders = catalog["orders"]
    aws.update_table(_with_column(orders, "coupon_code"))
    assert _publish(aws, table_event("UpdateTable", "orders")).status == "published"  # WARNING, versions 1 -> 2

    aws.glue.delete_table(DatabaseName=DATABASE, Name="orders")
    aws.create_table("orders", ORDERS_COLUMNS)
    aws.update_table(_without_column(orders, "customer_id"))
    # Glue starts a re-created table at VersionId 1 again, so the pair is again 1 -> 2.
    assert _version_ids(aws, "orders") == [1, 2]

    outcome = _publish(aws, table_event("UpdateTable", "orders"))
    assert (outcome.status, outcome.severity) == ("published", "BREAKING")
    payloads = [json.loads(e["Message"]) for e in aws.received(aws.all_queue)]
    assert [p["severity"] for p in payloads] == ["WARNING", "BREAKING"]
    assert payloads[1]["findings"][0]["rule"] == "read_column_removed"


def test_the_same_change_on_a_recreated_table_is_a_new_alert(aws, catalog):
    """Identical version pairs of two lifetimes of one table are still two changes."""
    changed = _with_column(catalog["orders"], "coupon_code")
    aws.update_table(changed)
    assert _publish(aws, table_event("UpdateTable", "orders")).status == "published"
    aws.glue.delete_table(DatabaseName=DATABASE, Name="orders")
    aws.create_table("orders", ORDERS_COLUMNS)
    aws.update_table(changed)
    assert _publish(aws, table_event("UpdateTable", "orders")).status == "published"
    assert len(aws.received(aws.all_queue)) == 2


def test_a_recreated_database_does_not_inherit_the_old_tables_keys(aws, catalog):
    aws.update_table(_without_column(catalog["orders"], "sku"))
    assert _publish(aws, table_event("UpdateTable", "orders")).status == "published"
    aws.glue.delete_database(Name=DATABASE)
    aws.glue.create_database(DatabaseInput={"Name": DATABASE})
    aws.create_table("orders", ORDERS_COLUMNS)
    aws.update_table(_without_column(catalog["orders"], "status"))
    outcome = _publish(aws, table_event("UpdateTable", "orders"))
    assert (outcome.status, outcome.severity) == ("published", "BREAKING")
    assert json.loads(aws.received(aws.all_queue)[-1]["Message"])["findings"][0]["column"] == "status"


def test_names_that_join_to_the_same_text_get_different_keys(aws):
    """Glue names may hold ':'; database 'a:b' with table 'c' is not database 'a' with table 'b:c'."""
    for database, table in (("a:b", "c"), ("a", "b:c")):
        aws.glue.create_database(DatabaseInput={"Name": database})
        created = table_input(table, [("id", "string")])
        aws.glue.create_table(DatabaseName=database, TableInput=created)
        aws.glue.update_table(DatabaseName=database, TableInput=_with_column(created, "extra"))
    outcomes = [_publish(aws, table_event("UpdateTable", table, database=database), notify_info=True)
                for database, table in (("a:b", "c"), ("a", "b:c"))]
    assert [o.status for o in outcomes] == ["published", "published"]


def test_two_events_for_the_same_comparison_still_share_one_key(aws, catalog):
    read_map = ReadMap.from_spec(load_spec(SPEC))
    aws.update_table(_without_column(catalog["orders"], "sku"))
    keys = {assess(parse_event(table_event("UpdateTable", "orders")), GlueCatalog(aws.glue), read_map).content_key
            for _ in range(2)}
    assert len(keys) == 1 and None not in keys
    # Delivered as the documented event and as a database event naming the table: one alert.
    assert _publish(aws, table_event("UpdateTable", "orders")).status == "published"
    assert _publish(aws, database_event("UpdateTable", ["orders"])).status == "duplicate_content"


def test_an_event_id_longer_than_a_dynamodb_key_is_still_deduplicated(aws, catalog):
    """DynamoDB refuses partition keys over 2,048 bytes; such ids are stored as a digest."""
    aws.update_table(_without_column(catalog["orders"], "sku"))
    event = table_event("UpdateTable", "orders", event_id="e" * 3000)
    assert _publish(aws, event).status == "published"
    assert _publish(aws, event).status == "duplicate_event"
    other = table_event("UpdateTable", "orders", event_id="e" * 2999 + "f")
    assert _publish(aws, other).status == "duplicate_content"


@pytest.mark.parametrize("key", ["event:" + "x" * 5000, "content:update:" + "表" * 1000], ids=["ascii", "multibyte"])
def test_long_keys_claim_once(aws, key):
    dedup = Deduplicator(aws.dynamodb, aws.dedup_table)
    assert dedup.claim(key) is True
    assert dedup.claim(key) is False
    assert dedup.claim(key + "!") is True


def test_the_same_versions_judged_against_a_changed_spec_alert_again(aws, catalog):
    """The content key covers the findings: a spec that now reads the removed column is a new alert."""
    from .conftest import SPEC_BUCKET, SPEC_KEY

    aws.update_table(_without_column(catalog["orders"], "quantity"))
    assert _publish(aws, table_event("UpdateTable", "orders"), notify_info=True).severity == "INFO"
    spec = copy.deepcopy(SPEC)
    spec["datasets"]["interactions"]["fields"]["EVENT_VALUE"] = {"from": "quantity", "type": "float", "nullable": True}
    aws.s3.put_object(Bucket=SPEC_BUCKET, Key=SPEC_KEY, Body=json.dumps(spec).encode("utf-8"))
    outcome = _publish(aws, table_event("UpdateTable", "orders"), notify_info=True)
    assert (outcome.status, outcome.severity) == ("published", "BREAKING")
