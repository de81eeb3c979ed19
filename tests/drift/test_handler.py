"""The Lambda end to end on moto: events in, SNS alerts out to SQS subscribers."""
from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest

from schema_drift import handler as handler_module
from schema_drift.read_map import DriftConfigError
from schema_drift.service import process_event

from .conftest import DATABASE, ORDERS_COLUMNS, SPEC_BUCKET, SPEC_KEY, TRIGGER, database_event, table_event, table_input


@pytest.fixture
def invoke(aws, monkeypatch):
    """Call the real handler with the deployed environment variables and fresh boto3 clients."""
    monkeypatch.setattr(handler_module, "_clients", None)

    def call(event, **env):
        for name, value in aws.env(**env).items():
            monkeypatch.setenv(name, value)
        return handler_module.handler(copy.deepcopy(event), SimpleNamespace(aws_request_id="req-1"))

    return call


def _drop_column(aws, table, name):
    changed = copy.deepcopy(table)
    changed["StorageDescriptor"]["Columns"] = [c for c in changed["StorageDescriptor"]["Columns"] if c["Name"] != name]
    aws.update_table(changed)
    return changed


def _add_column(aws, table, name, column_type="string"):
    changed = copy.deepcopy(table)
    changed["StorageDescriptor"]["Columns"].append({"Name": name, "Type": column_type})
    aws.update_table(changed)
    return changed


def _payload(envelope):
    return json.loads(envelope["Message"])


def test_breaking_alert_reaches_every_subscriber_with_attributes_and_json(aws, catalog, invoke):
    _drop_column(aws, catalog["orders"], "customer_id")
    outcome = invoke(table_event("UpdateTable", "orders"))

    assert outcome["status"] == "published" and outcome["severity"] == "BREAKING"
    [envelope] = aws.received(aws.all_queue)
    assert envelope["Subject"] == "[BREAKING] retail.orders: column customer_id removed"
    assert {k: v["Value"] for k, v in envelope["MessageAttributes"].items()} == {
        "severity": "BREAKING", "database": "retail", "table": "orders", "type_of_change": "UpdateTable",
        "tables": '["orders"]'}
    payload = _payload(envelope)
    assert payload["severity"] == "BREAKING"
    assert payload["versions"] == {"compared": [1, 2], "available": 2}
    assert payload["export_jobs_affected"] == ["export_interactions"]
    [finding] = payload["findings"]
    assert (finding["rule"], finding["column"], finding["before"]) == ("read_column_removed", "customer_id", "string")
    assert payload["pause"]["status"] == "disabled"


def test_filter_policy_on_severity_passes_breaking_and_holds_back_warning(aws, catalog, invoke):
    """The breaking-alerts queue subscribes with FilterPolicy {"severity": ["BREAKING"]}."""
    widened = copy.deepcopy(catalog["orders"])
    for column in widened["StorageDescriptor"]["Columns"]:
        if column["Name"] == "amount":
            column["Type"] = "double"
    aws.update_table(widened)
    assert invoke(table_event("UpdateTable", "orders"))["severity"] == "WARNING"
    _drop_column(aws, widened, "sku")
    assert invoke(table_event("UpdateTable", "orders"))["severity"] == "BREAKING"

    assert [e["MessageAttributes"]["severity"]["Value"] for e in aws.received(aws.all_queue)] == ["WARNING", "BREAKING"]
    breaking_only = aws.received(aws.breaking_queue)
    assert [e["MessageAttributes"]["severity"]["Value"] for e in breaking_only] == ["BREAKING"]
    assert _payload(breaking_only[0])["findings"][0]["column"] == "sku"


def test_the_same_event_delivered_twice_sends_one_alert(aws, catalog, invoke):
    _drop_column(aws, catalog["orders"], "status")
    event = table_event("UpdateTable", "orders")
    assert invoke(event)["status"] == "published"
    assert invoke(event)["status"] == "duplicate_event"
    assert len(aws.received(aws.all_queue)) == 1


def test_out_of_order_updates_compare_the_newest_versions_and_alert_once(aws, catalog, invoke):
    version_2 = _drop_column(aws, catalog["orders"], "status")
    _add_column(aws, version_2, "coupon_code")
    first_update = table_event("UpdateTable", "orders")
    second_update = table_event("UpdateTable", "orders")

    # The event for version 3 arrives first, then the late one for version 2.
    assert invoke(second_update)["status"] == "published"
    assert invoke(first_update)["status"] == "duplicate_content"

    [envelope] = aws.received(aws.all_queue)
    payload = _payload(envelope)
    assert payload["versions"] == {"compared": [2, 3], "available": 3}
    # The removal happened between versions 1 and 2, yet the export's view is still checked.
    assert sorted((f["rule"], f["column"]) for f in payload["findings"]) == [
        ("read_column_missing", "status"), ("read_table_new_column", "coupon_code")]
    assert payload["severity"] == "BREAKING"


def test_versions_are_ordered_by_number_not_text(aws, catalog, invoke):
    table = catalog["orders"]
    for index in range(9):  # versions 2..10 only touch statistics
        table = copy.deepcopy(table)
        table["Parameters"]["recordCount"] = str(index)
        aws.update_table(table)
    _drop_column(aws, table, "sku")  # version 11
    invoke(table_event("UpdateTable", "orders"))
    payload = _payload(aws.received(aws.all_queue)[0])
    assert payload["versions"] == {"compared": [10, 11], "available": 11}
    assert [f["rule"] for f in payload["findings"]] == ["read_column_removed"]


def test_batch_delete_of_100_tables_sends_one_alert_naming_the_read_ones(aws, catalog, invoke):
    unread = ["landing_%02d" % i for i in range(97)]
    for name in unread:
        aws.create_table(name, [("id", "string")])
    deleted = ["orders", "products", "customers"] + unread
    aws.glue.batch_delete_table(DatabaseName=DATABASE, TablesToDelete=deleted)

    outcome = invoke(database_event("BatchDeleteTable", deleted))

    assert outcome["severity"] == "BREAKING"
    [envelope] = aws.received(aws.all_queue)
    assert envelope["Subject"].startswith("[BREAKING] retail (100 tables): table ")
    assert len(envelope["Subject"]) <= 99
    attributes = envelope["MessageAttributes"]
    assert attributes["table"]["Value"] == "(multiple)"
    assert json.loads(attributes["tables"]["Value"]) == deleted
    payload = _payload(envelope)
    deleted_reads = sorted((f["table"], tuple(f["export_jobs"])) for f in payload["findings"] if f["rule"] == "read_table_deleted")
    assert deleted_reads == [("customers", ("export_users",)), ("orders", ("export_interactions",)),
                             ("products", ("export_interactions", "export_items"))]
    [unread_summary] = [f for f in payload["findings"] if f["rule"] == "unread_table_changed"]
    assert unread_summary["summary"].startswith("97 tables the export does not read were deleted: landing_00")
    assert payload["tables"] == deleted
    assert "export_users" in envelope["Message"] and "landing_96" in envelope["Message"]


def test_update_for_a_table_that_is_gone_says_so(aws, catalog, invoke):
    _drop_column(aws, catalog["orders"], "channel")
    aws.glue.delete_table(DatabaseName=DATABASE, Name="orders")

    outcome = invoke(table_event("UpdateTable", "orders"))

    assert outcome["status"] == "published"
    payload = _payload(aws.received(aws.all_queue)[0])
    assert [f["rule"] for f in payload["findings"]] == ["read_table_deleted"]
    assert payload["versions"] is None
    assert payload["notes"] == ["Table retail.orders no longer exists in the Data Catalog, so there are no versions "
                                "to compare (it was deleted after this update)."]


def test_update_for_a_table_of_a_database_that_is_gone(aws, invoke):
    outcome = invoke(table_event("UpdateTable", "orders", database="archive"))
    # The spec reads nothing in that database: informational and silent.
    assert (outcome["status"], outcome["severity"]) == ("silenced", "INFO")
    assert aws.received(aws.all_queue) == []


def test_single_version_table_is_said_plainly(aws, catalog, invoke):
    assert invoke(table_event("UpdateTable", "orders"))["status"] == "silenced"
    outcome = invoke(table_event("UpdateTable", "orders"), NOTIFY_INFO="true")
    assert (outcome["status"], outcome["severity"]) == ("published", "INFO")
    payload = _payload(aws.received(aws.all_queue)[0])
    assert payload["notes"] == ["Only one version (1) of retail.orders exists, so there is nothing to compare it with."]
    assert payload["versions"] == {"compared": None, "available": 1}


def test_single_version_table_missing_a_read_column_is_breaking(aws, invoke):
    aws.create_table("orders", [c for c in ORDERS_COLUMNS if c[0] != "ordered_at"])
    outcome = invoke(table_event("UpdateTable", "orders"))
    assert outcome["severity"] == "BREAKING"
    payload = _payload(aws.received(aws.all_queue)[0])
    assert [(f["rule"], f["column"]) for f in payload["findings"] if f["severity"] == "BREAKING"] == [
        ("read_column_missing", "ordered_at")]


def test_new_partitions_are_silent_unless_info_is_on(aws, catalog, invoke):
    event = table_event("BatchCreatePartition", "orders", ["[2026-11-28]"])
    assert invoke(event)["status"] == "silenced"
    assert aws.received(aws.all_queue) == []
    assert invoke(event, NOTIFY_INFO="true")["status"] == "published"
    [envelope] = aws.received(aws.all_queue)
    assert envelope["Subject"] == "[INFO] retail.orders: 1 partition added on orders: [2026-11-28]"
    assert aws.received(aws.breaking_queue) == []


def test_deleting_the_database_breaks_every_read_table(aws, invoke):
    outcome = invoke(database_event("DeleteDatabase"))
    assert outcome["severity"] == "BREAKING"
    envelope = aws.received(aws.all_queue)[0]
    assert envelope["MessageAttributes"]["table"]["Value"] == "(database)"
    payload = _payload(envelope)
    assert sorted(f["table"] for f in payload["findings"]) == ["customers", "orders", "products"]
    assert {f["rule"] for f in payload["findings"]} == {"read_table_deleted"}


def test_breaking_change_pauses_the_schedule_and_says_how_to_resume(aws, catalog, invoke):
    _drop_column(aws, catalog["orders"], "sku")
    outcome = invoke(table_event("UpdateTable", "orders"), PAUSE_ON_BREAKING="true")

    assert outcome["pause"] == "stopped"
    assert aws.glue.get_trigger(Name=TRIGGER)["Trigger"]["State"] == "DEACTIVATED"
    payload = _payload(aws.received(aws.all_queue)[0])
    assert payload["pause"] == {"status": "stopped", "trigger": TRIGGER, "detail": "the trigger was deactivated",
                                "resume_command": "aws glue start-trigger --name %s" % TRIGGER}

    # A second breaking change while paused keeps the schedule paused and says how to resume.
    aws.update_table(table_input("orders", [c for c in ORDERS_COLUMNS if c[0] not in ("sku", "status")]))
    assert invoke(table_event("UpdateTable", "orders"), PAUSE_ON_BREAKING="true")["pause"] == "stopped"
    assert aws.glue.get_trigger(Name=TRIGGER)["Trigger"]["State"] == "DEACTIVATED"
    assert "aws glue start-trigger --name %s" % TRIGGER in json.loads(aws.received(aws.all_queue)[0]["Message"])["pause"]["resume_command"]


def test_warnings_never_pause(aws, catalog, invoke):
    _add_column(aws, catalog["orders"], "coupon_code")
    outcome = invoke(table_event("UpdateTable", "orders"), PAUSE_ON_BREAKING="true")
    assert (outcome["severity"], outcome["pause"]) == ("WARNING", None)
    assert aws.glue.get_trigger(Name=TRIGGER)["Trigger"]["State"] == "ACTIVATED"


def test_pause_failure_is_reported_in_the_alert_not_raised(aws, catalog, invoke):
    _drop_column(aws, catalog["orders"], "sku")
    outcome = invoke(table_event("UpdateTable", "orders"), PAUSE_ON_BREAKING="true", SCHEDULE_TRIGGER_NAME="no-such-trigger")
    assert (outcome["status"], outcome["pause"]) == ("published", "failed")
    envelope = aws.received(aws.all_queue)[0]
    assert "EntityNotFoundException" in _payload(envelope)["pause"]["detail"]


def test_on_demand_workflow_has_nothing_to_pause(aws, catalog, invoke):
    _drop_column(aws, catalog["orders"], "sku")
    outcome = invoke(table_event("UpdateTable", "orders"), PAUSE_ON_BREAKING="true", SCHEDULE_TRIGGER_NAME="")
    assert outcome["pause"] == "no_schedule_trigger"
    assert aws.glue.get_trigger(Name=TRIGGER)["Trigger"]["State"] == "ACTIVATED"


def test_failed_publish_releases_the_claim_so_a_retry_alerts(aws, catalog, invoke):
    _drop_column(aws, catalog["orders"], "sku")
    event = table_event("UpdateTable", "orders")
    missing_topic = aws.topic_arn.replace("schema-drift", "no-such-topic")
    with pytest.raises(Exception) as error:
        invoke(event, SNS_TOPIC_ARN=missing_topic)
    assert "NotFound" in type(error.value).__name__ or "NotFound" in str(error.value)
    assert invoke(event)["status"] == "published"
    assert len(aws.received(aws.all_queue)) == 1


@pytest.mark.parametrize("env,message", [
    ({"SNS_TOPIC_ARN": ""}, "SNS_TOPIC_ARN: is required"),
    ({"DEDUP_TABLE_NAME": ""}, "DEDUP_TABLE_NAME: is required"),
    ({"NOTIFY_INFO": "yes"}, "NOTIFY_INFO: must be \"true\" or \"false\""),
    ({"PAUSE_ON_BREAKING": "1"}, "PAUSE_ON_BREAKING: must be \"true\" or \"false\""),
    ({"EXPORT_SPEC_URI": "/local/spec.json"}, "EXPORT_SPEC_URI: must be an s3://bucket/key URI"),
])
def test_bad_configuration_fails_naming_the_variable(aws, catalog, invoke, env, message):
    with pytest.raises(DriftConfigError) as error:
        invoke(table_event("UpdateTable", "orders"), **env)
    assert message in str(error.value)


def test_invalid_spec_fails_naming_the_spec_field(aws, catalog, invoke):
    broken = {"sources": {"orders": {"format": "parquet", "catalog": {"database": DATABASE, "table": "orders"}}}, "datasets": {"interactions": {
        "source": "orders", "fields": {"USER_ID": "customer_id", "ITEM_ID": "sku", "TIMESTAMP": {"from": "at", "type": "string"}}}}}
    aws.s3.put_object(Bucket=SPEC_BUCKET, Key=SPEC_KEY, Body=json.dumps(broken).encode())
    with pytest.raises(DriftConfigError) as error:
        invoke(table_event("UpdateTable", "orders"))
    assert "the export spec is invalid" in str(error.value)
    assert "datasets.interactions.fields.TIMESTAMP" in str(error.value)


def test_subject_is_short_and_keeps_unicode_names_as_they_are(aws, invoke):
    table = "commandes_" + "é" * 40 + "_" + "x" * 80
    aws.create_table(table, [("id", "string")])
    outcome = invoke(database_event("CreateTable", [table]), NOTIFY_INFO="true")
    subject = outcome["subject"]
    assert len(subject) <= 99 and subject.endswith("...")
    assert subject.startswith("[INFO] retail.commandes_éééé")
    assert aws.received(aws.all_queue)[0]["Subject"] == subject


def test_logs_are_one_json_object_per_line(aws, catalog, invoke, capsys):
    _drop_column(aws, catalog["orders"], "sku")
    event = table_event("UpdateTable", "orders")
    invoke(event)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    published = [line for line in lines if line["message"] == "alert published"]
    assert len(published) == 1
    assert published[0]["event_id"] == event["id"] and published[0]["request_id"] == "req-1"
    assert published[0]["severity"] == "BREAKING" and published[0]["level"] == "INFO"


def test_domain_function_accepts_injected_clients(aws, catalog):
    """process_event is usable without the environment, with any clients handed in."""
    _drop_column(aws, catalog["customers"], "profile")
    outcome = process_event(table_event("UpdateTable", "customers"), aws.settings(), aws.clients)
    assert (outcome.status, outcome.severity) == ("published", "BREAKING")
    assert "export_users" in aws.received(aws.breaking_queue)[0]["Message"]


def test_filter_policy_on_tables_matches_inside_batch_events(aws, catalog, invoke):
    """The "tables" attribute is a String.Array, so a policy naming one table matches batch events too."""
    url = aws.sqs.create_queue(QueueName="products-alerts")["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.sns.subscribe(TopicArn=aws.topic_arn, Protocol="sqs", Endpoint=arn,
                      Attributes={"FilterPolicy": json.dumps({"tables": ["products"]})})
    _drop_column(aws, catalog["orders"], "sku")
    invoke(table_event("UpdateTable", "orders"))
    aws.glue.batch_delete_table(DatabaseName=DATABASE, TablesToDelete=["products", "customers"])
    invoke(database_event("BatchDeleteTable", ["products", "customers"]))

    received = aws.received(url)
    assert [e["MessageAttributes"]["type_of_change"]["Value"] for e in received] == ["BatchDeleteTable"]
    assert len(aws.received(aws.all_queue)) == 2


def test_failures_are_logged_as_json_and_raised(aws, invoke, capsys):
    from schema_drift.events import InvalidEventError

    event = table_event("UpdateTable", "orders")
    event["detail"].pop("databaseName")
    with pytest.raises(InvalidEventError):
        invoke(event)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    [failure] = [line for line in lines if line["level"] == "ERROR"]
    assert failure["event_id"] == event["id"] and failure["error_type"] == "InvalidEventError"
    assert "detail.databaseName: is required" in failure["message"] and "Traceback" in failure["exception"]
