"""Every alert fits SNS's limits, whatever the event or the catalog holds, and says what it left out.

moto's SNS is lenient here; conftest.sns_publish_problems holds the rules SNS applies, and
every publish in these tests goes through them.
"""
from __future__ import annotations

import copy
import json

import pytest

from schema_drift.alert import MESSAGE_LIMIT, SUBJECT_LIMIT, fit_alert
from schema_drift.assess import Assessment
from schema_drift.events import parse_event
from schema_drift.rules import Finding
from schema_drift.service import Clients, process_event

from .conftest import DATABASE, RecordingSns, database_event, sns_publish_problems, table_event


def _publish(aws, event, **settings):
    """Handle one event; returns the outcome, the SNS request and the SQS delivery (if any)."""
    sns = RecordingSns(aws.sns)
    clients = Clients(glue=aws.glue, sns=sns, dynamodb=aws.dynamodb, s3=aws.s3)
    outcome = process_event(event, aws.settings(**settings), clients)
    [request] = sns.published
    attributes = {name: {"Type": a["DataType"], "Value": a["StringValue"]}
                  for name, a in request["MessageAttributes"].items()}
    assert sns_publish_problems(request["Message"], request["Subject"], attributes, request["MessageStructure"]) == []
    [envelope] = aws.received(aws.all_queue)
    return outcome, request, envelope


def _email(request) -> str:
    return json.loads(request["Message"])["email"]


def _shortened_copy_of(original: str, shown: str) -> bool:
    return shown == original or (shown.startswith(original[:64]) and shown.endswith("more characters)"))


@pytest.mark.parametrize("count,length,char", [(100, 400, "x"), (100, 2000, "y"), (100, 900, "表"), (1000, 400, "z")],
                         ids=["100x400", "100x2000", "100x900-multibyte", "1000x400"])
def test_many_long_deleted_partitions_still_alert(aws, catalog, count, length, char):
    partitions = ["[2026-11-%04d-%s]" % (i, char * length) for i in range(count)]
    outcome, request, envelope = _publish(aws, table_event("BatchDeletePartition", "orders", partitions))
    assert (outcome.status, outcome.severity) == ("published", "WARNING")

    payload = json.loads(envelope["Message"])
    shown = payload["event"]["changed_partitions"]
    assert 0 < len(shown) < count
    assert len(shown) + payload["changed_partitions_omitted"] == count
    assert all(_shortened_copy_of(original, kept) for original, kept in zip(partitions, shown))
    assert payload["findings"][0]["summary"].startswith("%d partitions deleted on orders" % count)
    assert "%d changed partition(s) left out" % (count - len(shown)) in _email(request)


def test_huge_column_types_are_cut_short_and_counted(aws, catalog):
    """Glue allows column types of up to 131,072 characters; a struct with thousands of fields is one."""
    fields = ["f%05d:string" % i for i in range(9000)]
    wide = copy.deepcopy(catalog["customers"])
    wide["StorageDescriptor"]["Columns"][1]["Type"] = "struct<age:int,%s>" % ",".join(fields)
    aws.update_table(wide)
    narrower = copy.deepcopy(wide)
    narrower["StorageDescriptor"]["Columns"][1]["Type"] = "struct<age:int,%s>" % ",".join(fields[1:])
    aws.update_table(narrower)

    outcome, request, envelope = _publish(aws, table_event("UpdateTable", "customers"))
    assert (outcome.status, outcome.severity) == ("published", "BREAKING")
    payload = json.loads(envelope["Message"])
    [finding] = [f for f in payload["findings"] if f["rule"] == "read_column_type_incompatible"]
    assert finding["column"] == "profile"
    assert finding["before"].startswith("struct<age:int,f00000:string") and finding["before"].endswith("more characters)")
    assert payload["values_shortened"] > 0
    assert "long value(s) cut short" in _email(request)


def test_a_batch_of_100_tables_with_the_longest_names_keeps_every_name_for_filters(aws, catalog):
    names = [("t%03d_" % i) + "n" * 250 for i in range(97)] + ["orders", "products", "customers"]
    aws.glue.batch_delete_table(DatabaseName=DATABASE, TablesToDelete=["orders", "products", "customers"])
    outcome, request, envelope = _publish(aws, database_event("BatchDeleteTable", names))
    assert outcome.severity == "BREAKING"
    assert json.loads(envelope["MessageAttributes"]["tables"]["Value"]) == names
    assert "tables_omitted" not in envelope["MessageAttributes"]


def _hostile_event(**overrides):
    raw = database_event("BatchDeleteTable", ["orders"] + ["t%04d_%s" % (i, "q" * 5000) for i in range(99)])
    raw["id"] = "i" * 300_000
    raw["detail"].update(overrides)
    return raw


@pytest.mark.parametrize("event", [
    _hostile_event(),
    _hostile_event(changedPartitions=["p" * 1000] * 20_000),
    table_event("DeletePartition", "orders", ["表" * 100_000]),
    database_event("SomethingNew", ["t%03d" % i + "w" * 20_000 for i in range(100)]),
], ids=["huge-id-and-table-names", "huge-partition-list", "one-huge-multibyte-partition", "unknown-change-huge-names"])
def test_events_with_unbounded_lists_and_values_fit(event):
    parsed = parse_event(event)
    findings = [Finding("read_table_deleted", DATABASE, table, "table %s deleted; read by export_interactions" % table,
                        jobs=["export_interactions"]) for table in parsed.tables]
    alert = fit_alert(Assessment(parsed, findings, notes=["note %s" % ("n" * 50_000)] * 300), None)
    attributes = {name: {"Type": a["DataType"], "Value": a["StringValue"]} for name, a in alert.attributes.items()}
    assert sns_publish_problems(alert.sns_message(), alert.subject, attributes, "json") == []
    payload = alert.payload
    assert payload["findings_omitted"] + len(payload["findings"]) == len(findings)
    assert payload["notes_omitted"] + len(payload["notes"]) == 300
    assert payload["tables_omitted"] + len(payload["tables"]) == len(parsed.tables)
    if "tables_omitted" in alert.attributes:
        listed = json.loads(alert.attributes["tables"]["StringValue"])
        assert int(alert.attributes["tables_omitted"]["StringValue"]) + len(listed) == len(parsed.tables)


def test_nothing_is_cut_when_the_alert_fits():
    event = parse_event(table_event("BatchDeletePartition", "orders", ["[2026-11-%02d]" % d for d in range(1, 29)]))
    alert = fit_alert(Assessment(event, [Finding("read_partitions_deleted", DATABASE, "orders", "28 partitions")]), None)
    payload = alert.payload
    assert len(payload["event"]["changed_partitions"]) == 28
    assert (payload["changed_partitions_omitted"], payload["values_shortened"], payload["findings_omitted"]) == (0, 0, 0)
    assert "Shortened to fit" not in alert.text


# The stand-in itself: it must refuse what SNS refuses (Publish API reference), or the
# tests above would pass against a lenient moto.
@pytest.mark.parametrize("message,subject,attributes,structure,problem", [
    ("é" * 140_000, None, None, None, "Message too long"),  # 140,000 characters, 280,000 bytes
    ("m" * 262_000, None, {"a": {"Type": "String", "Value": "v" * 200}}, None, "Message too long"),
    ("m", "a" * 100, None, None, "less than 100 characters"),
    ("m", "\U0001f600" * 50, None, None, "less than 100 characters"),  # 100 UTF-16 code units
    ("m", "line\nbreak", None, None, "no line breaks or control characters"),
    ("m", "bell\x07", None, None, "no line breaks or control characters"),
    ("m", "zero\u200bwidth", None, None, "no line breaks or control characters"),
    ('{"email": "x"}', None, None, "json", "default"),
    ('{"default": "x", "default": "y"}', None, None, "json", "duplicate keys"),
    (json.dumps({"default": "x", "sms": "s" * 1601}), None, None, "json", "sms form"),
    ("m", None, {"a": {"Type": "String", "Value": ""}}, None, "must not be empty"),
])
def test_the_sns_stand_in_refuses_what_sns_refuses(message, subject, attributes, structure, problem):
    problems = sns_publish_problems(message, subject, attributes, structure)
    assert any(problem in p for p in problems), problems


def test_the_sns_stand_in_accepts_a_message_at_the_limit():
    body = json.dumps({"default": "d" * (MESSAGE_LIMIT - 200)})
    assert sns_publish_problems(body, "[INFO] " + "s" * (SUBJECT_LIMIT - 7), None, "json") == []
    assert sns_publish_problems("m", "[INFO] retail.表格: table 表格 created", None, None) == []


def test_moto_publish_refuses_an_oversized_message_through_the_stand_in(aws):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as error:
        aws.sns.publish(TopicArn=aws.topic_arn, Message="é" * 140_000)
    assert "Message too long" in str(error.value)
