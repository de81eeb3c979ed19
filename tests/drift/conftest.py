"""moto-backed AWS for the schema-drift Lambda: catalog, spec, topic, queues, dedup table."""
from __future__ import annotations

import copy
import itertools
import json
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from moto.glue.exceptions import InvalidInputException
from moto.glue.models import GlueBackend
from moto.sns.models import SNSBackend

from schema_drift.service import Clients, Settings

REGION = "eu-west-1"
ACCOUNT = "123456789012"
DATABASE = "retail"
SPEC_BUCKET = "personalize-artifacts"
SPEC_KEY = "spec/export_spec.json"
TRIGGER = "personalize-dev-start"

# A spec as docs/export-spec.md describes it: orders -> interactions, products -> items,
# customers (document store, nested profile) -> users.
SPEC: Dict[str, Any] = {
    "version": 1,
    "sources": {
        "orders": {"format": "parquet", "catalog": {"database": DATABASE, "table": "orders"}},
        "products": {"format": "parquet", "catalog": {"database": DATABASE, "table": "products"}},
        "customers": {"format": "jsonl", "catalog": {"database": DATABASE, "table": "customers"}},
    },
    "datasets": {
        "interactions": {
            "source": "orders",
            "fields": {
                "USER_ID": "customer_id",
                "ITEM_ID": "sku",
                "TIMESTAMP": {"from": "ordered_at", "timestamp": {"formats": ["epoch_seconds"]}},
                "EVENT_TYPE": "status",
                "EVENT_VALUE": {"from": "amount", "type": "float", "nullable": True},
            },
        },
        "items": {
            "source": "products",
            "fields": {
                "ITEM_ID": "sku",
                "PRICE": {"from": "price", "type": "double"},
                "CATEGORY": {"from": "category", "categorical": True},
            },
        },
        "users": {
            "source": "customers",
            "fields": {
                "USER_ID": "customer_id",
                "AGE": {"from": "profile.age", "type": "int", "nullable": True},
            },
        },
    },
}

ORDERS_COLUMNS = [
    ("order_id", "string"),
    ("customer_id", "string"),
    ("sku", "string"),
    ("ordered_at", "bigint"),
    ("status", "string"),
    ("amount", "float"),
    ("quantity", "int"),
    ("channel", "string"),
]
PRODUCTS_COLUMNS = [("sku", "string"), ("title", "string"), ("price", "double"), ("category", "string")]
CUSTOMERS_COLUMNS = [("customer_id", "string"), ("profile", "struct<age:int,city:string>"), ("email", "string")]

_event_ids = itertools.count(1)


class RecordingSns:
    """Passes calls to the real (moto) SNS client and keeps what was published."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.published: List[Dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> Dict[str, Any]:
        self.published.append(kwargs)
        return self.client.publish(**kwargs)

# What Amazon SNS refuses in Publish and moto 5 lets through: moto counts characters
# rather than UTF-8 bytes, leaves message attributes out of the size and accepts any
# subject. Rules from https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
# (Message, Subject, MessageStructure) and
# https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html (attributes
# count toward the size). Subject: "UTF-8 text with no line breaks or control
# characters, and less than 100 characters long" (the reference and botocore's model);
# its length is counted here in UTF-16 code units, the strictest way to count it.
SNS_MESSAGE_BYTES = 262_144
SNS_SUBJECT_CHARACTERS = 100
SNS_SMS_CHARACTERS = 1600


def sns_publish_problems(message: str, subject: Optional[str], attributes: Optional[Dict[str, Any]],
                         structure: Optional[str]) -> List[str]:
    """Why SNS would refuse this Publish of a topic message; empty when it would accept it.
    ``attributes`` are in moto's parsed form: name -> {"Type": ..., "Value": ...}."""
    problems = []
    size = len(message.encode("utf-8"))
    for name, attribute in (attributes or {}).items():
        value = attribute.get("Value")
        if not name or not attribute.get("Type") or value in (None, ""):
            problems.append("MessageAttributes %r: name, type and value must not be empty" % name)
        value_bytes = value if isinstance(value, bytes) else str(value if value is not None else "").encode("utf-8")
        size += len(name.encode("utf-8")) + len(attribute.get("Type", "")) + len(value_bytes)
    if size > SNS_MESSAGE_BYTES:
        problems.append("Message too long: %d bytes with attributes, at most %d" % (size, SNS_MESSAGE_BYTES))
    if subject is not None:
        length = len(subject.encode("utf-16-le")) // 2
        if length >= SNS_SUBJECT_CHARACTERS:
            problems.append("Subject: must be less than 100 characters, got %d" % length)
        if any(c in "\r\n\u2028\u2029" or unicodedata.category(c) in ("Cc", "Cf") for c in subject):
            problems.append("Subject: must have no line breaks or control characters")
        if not subject.strip():
            problems.append("Subject: must not be empty")
    if structure == "json":
        def no_duplicates(pairs):
            keys = [key for key, _ in pairs]
            if len(keys) != len(set(keys)):
                raise ValueError("duplicate keys")
            return dict(pairs)
        try:
            forms = json.loads(message, object_pairs_hook=no_duplicates)
        except ValueError as error:
            return problems + ["Message: MessageStructure json needs a JSON object without duplicate keys (%s)" % error]
        if not isinstance(forms, dict) or not isinstance(forms.get("default"), str):
            problems.append("Message: MessageStructure json needs a string under \"default\"")
        elif isinstance(forms.get("sms"), str) and len(forms["sms"]) > SNS_SMS_CHARACTERS:
            problems.append("Message: the sms form exceeds %d characters" % SNS_SMS_CHARACTERS)
    return problems


# Glue refuses a database or table name outside NameString (1 to 255 characters of
# [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*) with InvalidInputException; moto looks
# any name up and answers EntityNotFoundException. From the Glue API reference
# https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-catalog-tables.html#aws-glue-api-catalog-tables-GetTable
# and the botocore model of GetTable / GetTableVersions (shape NameString, error InvalidInputException).
_moto_get_table = GlueBackend.get_table


def _glue_name_problem(name: str) -> Optional[str]:
    if not 1 <= len(name) <= 255:
        return "Member must have length between 1 and 255, got %d" % len(name)
    if any(c != "\t" and not ("\u0020" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff") for c in name):
        return "Member must satisfy the single-line string pattern"
    return None


def _strict_get_table(self, database_name: str, table_name: str):
    for field, name in (("databaseName", database_name), ("name", table_name)):
        problem = _glue_name_problem(name)
        if problem:
            raise InvalidInputException("GetTable", "1 validation error detected: Value at '%s' failed to satisfy "
                                                    "constraint: %s" % (field, problem))
    return _moto_get_table(self, database_name, table_name)


_moto_publish = SNSBackend.publish


def _strict_publish(self, message, arn=None, phone_number=None, subject=None, message_attributes=None, **kwargs):
    problems = sns_publish_problems(message, subject, message_attributes, kwargs.get("message_structure"))
    if problems:
        # moto turns a ValueError from the backend into an InvalidParameter error.
        raise ValueError("Invalid parameter: " + "; ".join(problems))
    return _moto_publish(self, message, arn, phone_number=phone_number, subject=subject,
                         message_attributes=message_attributes, **kwargs)


PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def table_input(name: str, columns, partition_keys=(("dt", "string"),), location: Optional[str] = None,
                classification: str = "parquet", serde: str = PARQUET_SERDE) -> Dict[str, Any]:
    """A TableInput as a crawler writes it for a Parquet folder (or, with ``serde``, another format)."""
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": classification},
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in partition_keys],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "Location": location or "s3://retail-landing/%s/" % name,
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": {"serialization.format": "1"}},
        },
    }


def _event(detail_type: str, detail: Dict[str, Any], resources: List[str], event_id: Optional[str]) -> Dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or "00000000-0000-0000-0000-%012d" % next(_event_ids),
        "detail-type": detail_type,
        "source": "aws.glue",
        "account": ACCOUNT,
        "time": "2026-11-28T09:15:00Z",
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


def table_event(type_of_change: str, table: str, partitions: Optional[List[str]] = None,
                event_id: Optional[str] = None, database: str = DATABASE) -> Dict[str, Any]:
    """A 'Glue Data Catalog Table State Change' event shaped like the AWS documentation's samples."""
    detail = {"databaseName": database, "tableName": table, "typeOfChange": type_of_change}
    if partitions is not None:
        detail["changedPartitions"] = partitions
    arn = "arn:aws:glue:%s:%s:table/%s/%s" % (REGION, ACCOUNT, database, table)
    return _event("Glue Data Catalog Table State Change", detail, [arn], event_id)


def database_event(type_of_change: str, tables: Optional[List[str]] = None, event_id: Optional[str] = None,
                   database: str = DATABASE) -> Dict[str, Any]:
    """A 'Glue Data Catalog Database State Change' event (changedTables holds up to 100 names)."""
    detail: Dict[str, Any] = {"databaseName": database, "typeOfChange": type_of_change}
    if tables is not None:
        detail["changedTables"] = tables
    if tables:
        resources = ["arn:aws:glue:%s:%s:table/%s/%s" % (REGION, ACCOUNT, database, t) for t in tables]
    else:
        resources = ["arn:aws:glue:%s:%s:database/%s" % (REGION, ACCOUNT, database)]
    return _event("Glue Data Catalog Database State Change", detail, resources, event_id)


@dataclass
class DriftAws:
    """Handles on the moto resources one test works with."""

    glue: Any
    sns: Any
    sqs: Any
    dynamodb: Any
    s3: Any
    topic_arn: str
    all_queue: str
    breaking_queue: str
    dedup_table: str

    @property
    def clients(self) -> Clients:
        return Clients(glue=self.glue, sns=self.sns, dynamodb=self.dynamodb, s3=self.s3)

    def settings(self, **overrides: Any) -> Settings:
        values = dict(topic_arn=self.topic_arn, spec_uri="s3://%s/%s" % (SPEC_BUCKET, SPEC_KEY),
                      dedup_table=self.dedup_table, schedule_trigger_name=TRIGGER)
        values.update(overrides)
        return Settings(**values)

    def env(self, **overrides: str) -> Dict[str, str]:
        values = {
            "SNS_TOPIC_ARN": self.topic_arn,
            "EXPORT_SPEC_URI": "s3://%s/%s" % (SPEC_BUCKET, SPEC_KEY),
            "DEDUP_TABLE_NAME": self.dedup_table,
            "NOTIFY_INFO": "false",
            "PAUSE_ON_BREAKING": "false",
            "SCHEDULE_TRIGGER_NAME": TRIGGER,
            "LOG_LEVEL": "INFO",
        }
        values.update(overrides)
        return values

    def create_table(self, name: str, columns, **kwargs: Any) -> Dict[str, Any]:
        table = table_input(name, columns, **kwargs)
        self.glue.create_table(DatabaseName=DATABASE, TableInput=table)
        return table

    def update_table(self, table: Dict[str, Any]) -> None:
        self.glue.update_table(DatabaseName=DATABASE, TableInput=copy.deepcopy(table))

    def received(self, queue_url: str) -> List[Dict[str, Any]]:
        """Every SNS envelope waiting in a queue (removed from it)."""
        envelopes = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return envelopes
            for message in batch:
                envelopes.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


AWS_TEST_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}


@contextmanager
def moto_drift_aws() -> Iterator[DriftAws]:
    """Everything the Lambda talks to, in moto: catalog database, published spec, dedup table,
    SNS topic with two SQS subscribers (all alerts; BREAKING only) and the schedule trigger."""
    with mock_aws(), mock.patch.object(SNSBackend, "publish", _strict_publish), \
            mock.patch.object(GlueBackend, "get_table", _strict_get_table):
        glue = boto3.client("glue", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)

        glue.create_database(DatabaseInput={"Name": DATABASE})
        s3.create_bucket(Bucket=SPEC_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=SPEC_BUCKET, Key=SPEC_KEY, Body=json.dumps(SPEC).encode("utf-8"))
        dynamodb.create_table(
            TableName="schema-drift-dedup",
            KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(TableName="schema-drift-dedup",
                                     TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
        topic_arn = sns.create_topic(Name="schema-drift")["TopicArn"]
        queues = {}
        for name, policy in (("all-alerts", None), ("breaking-alerts", {"severity": ["BREAKING"]})):
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes = {"FilterPolicy": json.dumps(policy)} if policy else {}
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
            queues[name] = url
        glue.create_trigger(Name=TRIGGER, Type="SCHEDULED", Schedule="cron(0 2 * * ? *)",
                            Actions=[{"JobName": "prepare"}], StartOnCreation=True)
        yield DriftAws(glue, sns, sqs, dynamodb, s3, topic_arn, queues["all-alerts"], queues["breaking-alerts"],
                       "schema-drift-dedup")


@pytest.fixture
def aws(monkeypatch):
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    with moto_drift_aws() as handles:
        yield handles


@pytest.fixture
def catalog(aws):
    """The three source tables the spec reads, as crawlers first create them."""
    tables = {
        "orders": aws.create_table("orders", ORDERS_COLUMNS),
        "products": aws.create_table("products", PRODUCTS_COLUMNS, partition_keys=()),
        "customers": aws.create_table("customers", CUSTOMERS_COLUMNS, partition_keys=(), classification="json"),
    }
    return tables
