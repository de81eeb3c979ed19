"""The fake Personalize applies a batch job's filter to what it writes, on the
datasets it imported, and refuses a filter it cannot evaluate."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_pipeline.fake_personalize import FakePersonalize, FixedMetricsTrainer, SimClock

from .exports import metrics

PREFIX = "arn:aws:personalize:us-east-1:123456789012"
GROUP = f"{PREFIX}:dataset-group/g"
ROLE = "arn:aws:iam::123456789012:role/personalize"
BUCKET = "personalize-data"
SCHEMAS = {
    "Interactions": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                     {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"}],
    "Items": [{"name": "ITEM_ID", "type": "string"}, {"name": "GENRE", "type": "string", "categorical": True},
              {"name": "PRICE", "type": "float"}],
    "Users": [{"name": "USER_ID", "type": "string"}, {"name": "AGE", "type": "int"}],
}
ITEMS = {"i0": ("drama", 5), "i1": ("comedy|drama", 12), "i2": ("horror", 8), "i3": ("comedy", 30),
         "i4": ("drama", 2), "i5": ("horror|comedy", 20)}
USERS = {"u0": 17, "u1": 35, "u2": 52}


# Views per item: i0 the most popular, i5 the least (the fixed trainer recommends by popularity).
VIEWS = {"i0": 300, "i1": 250, "i2": 200, "i3": 180, "i4": 150, "i5": 120}


def interactions() -> bytes:
    items = [item for item, count in VIEWS.items() for _ in range(count)]
    rows = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"] + [f"u{i % 3},{item},{1_700_000_000 + i},View" for i, item in enumerate(items)]
    # Training needs 25 users with 2 or more interactions: 25 more users view i2 and i3
    # once each, which keeps the items' order of popularity and i0's viewers.
    rows += [f"f{n},{item},{1_700_005_000 + 2 * n + k},View" for n in range(25) for k, item in enumerate(("i2", "i3"))]
    rows += ["u1,i0,1700009000,Purchase", "u1,i3,1700009001,purchase", "u2,i2,1700009002,Click"]
    return ("\n".join(rows) + "\n").encode()


def csv_of(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def imported(fake, client, dataset_type: str, data: bytes) -> None:
    schema = client.create_schema(name=dataset_type.lower(), schema=json.dumps(
        {"type": "record", "name": dataset_type, "namespace": "com.amazonaws.personalize.schema", "fields": SCHEMAS[dataset_type]}))["schemaArn"]
    dataset = client.create_dataset(name=dataset_type.lower(), schemaArn=schema, datasetGroupArn=GROUP, datasetType=dataset_type)["datasetArn"]
    fake.clock.advance(100)
    job = client.create_dataset_import_job(jobName=dataset_type.lower(), datasetArn=dataset,
                                           dataSource={"dataLocation": f"s3://{BUCKET}/personalize/exports/r1/{dataset_type.lower()}/"})["datasetImportJobArn"]
    fake.clock.advance(10_000)
    fake.resources[job].failure_reason = None  # hand the job its data
    fake.resources[job].fields["_data"] = [data]


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def fake(s3):
    """(the fake with a custom group whose three datasets are imported, its client)"""
    durations = {"dataset_group": 100, "dataset": 100, "solution": 100, "solution_version": 1000, "filter": 100,
                 "batch_inference_job": 1000, "batch_segment_job": 1000}
    fake = FakePersonalize(clock=SimClock(), durations=durations, trainer=FixedMetricsTrainer({"*": metrics(0.3)}), s3_client=s3)
    client = fake.client()
    client.create_dataset_group(name="g")
    fake.clock.advance(100)
    imported(fake, client, "Interactions", interactions())
    imported(fake, client, "Items", csv_of("ITEM_ID,GENRE,PRICE", [f"{i},{g},{p}" for i, (g, p) in ITEMS.items()]))
    imported(fake, client, "Users", csv_of("USER_ID,AGE", [f"{u},{a}" for u, a in USERS.items()]))
    return fake, client


def trained(fake, client, recipe: str) -> str:
    solution = client.create_solution(name=recipe, datasetGroupArn=GROUP, recipeArn=f"arn:aws:personalize:::recipe/{recipe}")["solutionArn"]
    fake.clock.advance(100)
    version = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(2000)
    return version


def a_filter(fake, client, expression: str, name: str = "f") -> str:
    arn = client.create_filter(name=name, datasetGroupArn=GROUP, filterExpression=expression)["filterArn"]
    fake.clock.advance(200)
    return arn


def job_request(version: str, filter_arn: str | None, name: str = "j", num_results: int = 6) -> dict:
    return {"jobName": name, "solutionVersionArn": version, "roleArn": ROLE, "numResults": num_results,
            "jobInput": {"s3DataSource": {"path": f"s3://{BUCKET}/personalize/batch/input/{name}/"}},
            "jobOutput": {"s3DataDestination": {"path": f"s3://{BUCKET}/personalize/batch/output/{name}/"}},
            **({"filterArn": filter_arn} if filter_arn else {})}


def put_lines(s3, name: str, lines: list[dict]) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"personalize/batch/input/{name}/lines.json", Body="".join(json.dumps(line) + "\n" for line in lines).encode())


def outputs(fake, client, s3, kind: str, arn: str, name: str = "j") -> list[dict]:
    fake.clock.advance(2000)
    if kind == "inference":
        assert client.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]["status"] == "ACTIVE"
    else:
        assert client.describe_batch_segment_job(batchSegmentJobArn=arn)["batchSegmentJob"]["status"] == "ACTIVE"
    body = s3.get_object(Bucket=BUCKET, Key=f"personalize/batch/output/{name}/lines.json.out")["Body"].read()
    return [json.loads(line) for line in body.splitlines()]


def recommended(fake, s3, expression: str | None, lines: list[dict], num_results: int = 6) -> list[list[str]]:
    fake, client = fake
    version = trained(fake, client, "aws-user-personalization")
    put_lines(s3, "j", lines)
    filter_arn = a_filter(fake, client, expression) if expression else None
    arn = client.create_batch_inference_job(**job_request(version, filter_arn, num_results=num_results))["batchInferenceJobArn"]
    return [line["output"]["recommendedItems"] for line in outputs(fake, client, s3, "inference", arn)]


def test_unfiltered_output_is_every_item_by_popularity(fake, s3):
    assert recommended(fake, s3, None, [{"userId": "u1"}]) == [["i0", "i1", "i2", "i3", "i4", "i5"]]


@pytest.mark.parametrize("expression, lines, expected", [
    # Item metadata: categorical values separated by |, and numbers.
    ('EXCLUDE ItemID WHERE Items.GENRE IN ("drama")', [{"userId": "u1"}], [["i2", "i3", "i5"]]),
    ('INCLUDE ItemID WHERE Items.GENRE IN ("comedy", "horror")', [{"userId": "u1"}], [["i1", "i2", "i3", "i5"]]),
    ('INCLUDE ItemID WHERE Items.GENRE NOT IN ("drama")', [{"userId": "u1"}], [["i2", "i3", "i5"]]),
    ('EXCLUDE ItemID WHERE Items.PRICE > 10', [{"userId": "u1"}], [["i0", "i2", "i4"]]),
    ('INCLUDE ItemID WHERE Items.PRICE <= 8 AND Items.GENRE IN ("drama")', [{"userId": "u1"}], [["i0", "i4"]]),
    ('INCLUDE ItemID WHERE Items.PRICE = 30 OR Items.GENRE IN ("horror")', [{"userId": "u1"}], [["i2", "i3", "i5"]]),
    # The line's user's interactions, event types matched without case.
    ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")', [{"userId": "u1"}, {"userId": "u2"}],
     [["i1", "i2", "i4", "i5"], ["i0", "i1", "i2", "i3", "i4", "i5"]]),
    ('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("Click")', [{"userId": "u1"}, {"userId": "u2"}], [[], ["i2"]]),
    # $PARAMETERS from each line's filterValues.
    ('EXCLUDE ItemID WHERE Items.GENRE IN ($GENRES)',
     [{"userId": "u0", "filterValues": {"GENRES": '"drama"'}}, {"userId": "u0", "filterValues": {"GENRES": '"horror","comedy"'}}],
     [["i2", "i3", "i5"], ["i0", "i4"]]),
    ('INCLUDE ItemID WHERE Items.PRICE < $MAX', [{"userId": "u0", "filterValues": {"MAX": "9"}}], [["i0", "i2", "i4"]]),
    # Joined expressions: INCLUDE (A or B) - EXCLUDE C.
    ('INCLUDE ItemID WHERE Items.GENRE IN ("comedy") | INCLUDE ItemID WHERE Items.PRICE < 6 '
     '| EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("Purchase")', [{"userId": "u1"}], [["i1", "i4", "i5"]]),
])
def test_batch_inference_output_leaves_out_what_the_filter_removes(fake, s3, expression, lines, expected):
    assert recommended(fake, s3, expression, lines) == expected


def test_filtered_output_fills_num_results_from_the_items_the_filter_keeps(fake, s3):
    assert recommended(fake, s3, 'EXCLUDE ItemID WHERE Items.GENRE IN ("drama")', [{"userId": "u1"}], num_results=2) == [["i2", "i3"]]


def test_batch_segment_output_leaves_out_the_users_the_filter_removes(fake, s3):
    fake, client = fake
    version = trained(fake, client, "aws-item-affinity")
    put_lines(s3, "j", [{"itemId": "i0"}])
    unfiltered = client.create_batch_segment_job(**job_request(version, None))["batchSegmentJobArn"]
    # Users by their interactions with the item: u1 also bought it.
    assert outputs(fake, client, s3, "segment", unfiltered)[0]["output"]["usersList"] == ["u1", "u0", "u2"]
    for name, expression, expected in [("adults", "INCLUDE UserID WHERE Users.AGE >= 18", ["u1", "u2"]),
                                       ("no-clickers", 'EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("click")', ["u1", "u0"])]:
        put_lines(s3, name, [{"itemId": "i0"}])
        arn = client.create_batch_segment_job(**job_request(version, a_filter(fake, client, expression, name), name=name))["batchSegmentJobArn"]
        assert outputs(fake, client, s3, "segment", arn, name)[0]["output"]["usersList"] == expected, expression


@pytest.mark.parametrize("expression, why", [
    ('INCLUDE ItemID WHERE Items.PRICE < 10 IF CurrentUser.AGE > 18', "IF CurrentUser"),
    ('EXCLUDE ItemID WHERE CurrentItem.GENRE IN ("drama")', "CurrentItem.GENRE"),
    ('EXCLUDE ItemID WHERE Items.GENRE IN ("drama") AND Items.PRICE > 3 OR Items.PRICE < 1', "AND mixed with OR"),
    ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', 'event type "*"'),
    ('EXCLUDE ItemID WHERE Users.AGE > 3', "Users.AGE"),
])
def test_a_filter_the_fake_cannot_evaluate_is_refused_naming_the_expression(fake, s3, expression, why):
    fake, client = fake
    version = trained(fake, client, "aws-user-personalization")
    put_lines(s3, "j", [{"userId": "u1"}])
    filter_arn = a_filter(fake, client, expression)
    with pytest.raises(ClientError) as info:
        client.create_batch_inference_job(**job_request(version, filter_arn))
    assert info.value.response["Error"]["Code"] == "InvalidInputException"
    message = info.value.response["Error"]["Message"]
    assert expression in message and why in message and "cannot apply it" in message
    assert fake.of_kind("batch_inference_job") == []


@pytest.mark.parametrize("lines, why", [
    ([{"userId": "u1", "filterValues": {"MIN": "3"}}], "line 1: filterValues has no value for $GENRES"),
    ([{"userId": "u1", "filterValues": {"GENRES": '"drama"', "MIN": "3"}}, {"userId": "u2", "filterValues": {"GENRES": "drama", "MIN": "3"}}],
     "line 2: filterValues $GENRES = 'drama'"),
    ([{"userId": "u1", "filterValues": {"GENRES": '"drama"', "MIN": '"cheap"'}}], "$MIN = '\"cheap\"': a comparison takes one number"),
    ([{"userId": "u1", "filterValues": {"GENRES": '"drama"', "MIN": "3,4"}}], "$MIN = '3,4': a comparison takes one number"),
])
def test_a_line_without_usable_filter_values_is_refused(fake, s3, lines, why):
    fake, client = fake
    version = trained(fake, client, "aws-user-personalization")
    put_lines(s3, "j", lines)
    filter_arn = a_filter(fake, client, "EXCLUDE ItemID WHERE Items.GENRE IN ($GENRES) | EXCLUDE ItemID WHERE Items.PRICE > $MIN")
    with pytest.raises(ClientError, match="cannot apply it") as info:
        client.create_batch_inference_job(**job_request(version, filter_arn))
    assert why in info.value.response["Error"]["Message"]


def test_an_interactions_filter_needs_the_line_user(fake, s3):
    fake, client = fake
    version = trained(fake, client, "aws-similar-items")
    put_lines(s3, "j", [{"itemId": "i1"}])
    filter_arn = a_filter(fake, client, 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("Purchase")')
    with pytest.raises(ClientError, match="the filter reads interactions, but the line has no userId"):
        client.create_batch_inference_job(**job_request(version, filter_arn))
