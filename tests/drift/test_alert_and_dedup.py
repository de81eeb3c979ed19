"""Alert rendering limits and the dedup table's expiry, without the rest of the pipeline."""
from __future__ import annotations

import json

from schema_drift.alert import MESSAGE_LIMIT, SUBJECT_LIMIT, build_alert, fit_alert, subject_line
from schema_drift.assess import Assessment
from schema_drift.dedup import Deduplicator
from schema_drift.events import parse_event
from schema_drift.rules import Finding

from .conftest import database_event


def _assessment(count: int) -> Assessment:
    event = parse_event(database_event("BatchDeleteTable", ["t%03d" % i for i in range(100)]))
    findings = [Finding("read_table_deleted", "retail", "t%03d" % (i % 100),
                        "table t%03d deleted; read by export_interactions %s" % (i % 100, "x" * 400),
                        jobs=["export_interactions"]) for i in range(count)]
    return Assessment(event, findings)


def test_small_alert_lists_every_finding():
    alert = fit_alert(_assessment(3), None)
    assert alert.payload["findings_omitted"] == 0 and len(alert.payload["findings"]) == 3


def test_oversized_alert_is_trimmed_below_the_sns_limit_and_says_so():
    assessment = _assessment(3000)
    assert len(build_alert(assessment, None).sns_message().encode()) > MESSAGE_LIMIT
    alert = fit_alert(assessment, None)
    assert len(alert.sns_message().encode()) < MESSAGE_LIMIT
    assert alert.payload["findings_omitted"] == 3000 - len(alert.payload["findings"]) > 0
    assert "more change(s) left out to fit the message size limit" in alert.text


def test_message_structure_gives_text_to_people_and_json_to_machines():
    alert = build_alert(_assessment(1), None)
    per_protocol = json.loads(alert.sns_message())
    assert per_protocol["default"] == per_protocol["email"] == alert.text
    assert per_protocol["sms"] == alert.subject
    for protocol in ("sqs", "lambda", "http", "https", "email-json", "firehose"):
        assert json.loads(per_protocol[protocol]) == alert.payload


def test_subject_keeps_accents_drops_control_characters_and_truncates():
    assert subject_line("[WARNING] café.tàble:\tnew\ncolumn") == "[WARNING] café.tàble: new column"
    long = subject_line("x" * 300)
    assert len(long) == SUBJECT_LIMIT and long.endswith("...")


def test_dedup_claims_once_and_again_after_expiry(aws):
    now = [1_800_000_000.0]
    dedup = Deduplicator(aws.dynamodb, aws.dedup_table, ttl_seconds=60, clock=lambda: now[0])
    assert dedup.claim("event:abc") is True
    assert dedup.claim("event:abc") is False
    assert dedup.claim("event:def") is True
    item = aws.dynamodb.get_item(TableName=aws.dedup_table, Key={"event_id": {"S": "event:abc"}})["Item"]
    assert item["expires_at"] == {"N": str(1_800_000_060)}
    now[0] += 61  # expired but not yet removed by DynamoDB's TTL sweep
    assert dedup.claim("event:abc") is True
    dedup.release("event:abc")
    assert dedup.claim("event:abc") is True
