"""The fake Personalize's Domain dataset groups, recommenders and batch jobs:
what it refuses and the states it goes through."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from local_pipeline.fake_personalize import FakeError, FakePersonalize, FixedMetricsTrainer, SimClock

from .exports import metrics

PREFIX = "arn:aws:personalize:us-east-1:123456789012"
GROUP = f"{PREFIX}:dataset-group/g"
FOR_YOU = "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you"
TOP_PICKS = "arn:aws:personalize:::recipe/aws-vod-top-picks"
INTERACTIONS = {"type": "record", "name": "Interactions", "fields": [
    {"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
    {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"}]}
ROWS = ("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n" + "".join(
    f"u{i % 40},i{i % 9},{1_700_000_000 + i},View\n" for i in range(1200))).encode()


def code_of(info) -> str:
    return info.value.response["Error"]["Code"]


@pytest.fixture
def fake():
    durations = {"dataset_group": 100, "dataset": 100, "recommender": 1000, "recommender_update": 500,
                 "solution": 100, "solution_version": 1000, "filter": 100, "batch_inference_job": 1000, "batch_segment_job": 1000}
    return FakePersonalize(clock=SimClock(), durations=durations, trainer=FixedMetricsTrainer({"*": metrics(0.3)}))


def domain_group(fake, domain="ECOMMERCE", rows=ROWS):
    """An ACTIVE Domain dataset group with imported interactions."""
    client = fake.client()
    client.create_dataset_group(name="g", **({"domain": domain} if domain else {}))
    fake.clock.advance(100)
    schema = client.create_schema(name="s", schema=json.dumps(INTERACTIONS), **({"domain": domain} if domain else {}))["schemaArn"]
    dataset = client.create_dataset(name="d", schemaArn=schema, datasetGroupArn=GROUP, datasetType="Interactions")["datasetArn"]
    fake.clock.advance(100)
    job = client.create_dataset_import_job(jobName="j", datasetArn=dataset, dataSource={"dataLocation": "s3://personalize-data/personalize/exports/r1/interactions/"})["datasetImportJobArn"]
    fake.clock.advance(10_000)
    fake.resources[job].failure_reason = None  # no S3 here: hand the job its data
    fake.resources[job].fields["_data"] = [rows]
    return client


def test_a_domain_group_takes_only_schemas_of_its_domain_with_the_required_fields(fake):
    client = fake.client()
    client.create_dataset_group(name="g", domain="ECOMMERCE")
    fake.clock.advance(100)
    custom = client.create_schema(name="custom", schema=json.dumps(INTERACTIONS))["schemaArn"]
    with pytest.raises(ClientError, match="created for domain none") as info:
        client.create_dataset(name="d", schemaArn=custom, datasetGroupArn=GROUP, datasetType="Interactions")
    assert code_of(info) == "InvalidInputException"
    no_event_type = {**INTERACTIONS, "fields": INTERACTIONS["fields"][:3]}
    schema = client.create_schema(name="no-event-type", schema=json.dumps(no_event_type), domain="ECOMMERCE")["schemaArn"]
    with pytest.raises(ClientError, match="EVENT_TYPE"):
        client.create_dataset(name="d", schemaArn=schema, datasetGroupArn=GROUP, datasetType="Interactions")
    items = {"type": "record", "name": "Items", "fields": [{"name": "ITEM_ID", "type": "string"},
                                                           {"name": "CATEGORY_L1", "type": "string", "categorical": True}]}
    schema = client.create_schema(name="items", schema=json.dumps(items), domain="ECOMMERCE")["schemaArn"]
    with pytest.raises(ClientError, match="PRICE"):
        client.create_dataset(name="i", schemaArn=schema, datasetGroupArn=GROUP, datasetType="Items")
    uncategorised = {**items, "fields": [items["fields"][0], {"name": "PRICE", "type": "float"}, {"name": "CATEGORY_L1", "type": "string"}]}
    schema = client.create_schema(name="items2", schema=json.dumps(uncategorised), domain="ECOMMERCE")["schemaArn"]
    with pytest.raises(ClientError, match="CATEGORY_L1 must be a categorical string"):
        client.create_dataset(name="i", schemaArn=schema, datasetGroupArn=GROUP, datasetType="Items")
    assert fake.of_kind("dataset") == []
    with pytest.raises(ClientError, match="RETAIL") as info:
        client.create_dataset_group(name="other", domain="RETAIL")
    assert code_of(info) == "InvalidInputException"


def test_recommender_needs_a_domain_group_and_a_use_case_of_its_domain(fake):
    client = domain_group(fake, domain=None)
    with pytest.raises(ClientError, match="not a Domain dataset group") as info:
        client.create_recommender(name="r", datasetGroupArn=GROUP, recipeArn=FOR_YOU)
    assert code_of(info) == "InvalidInputException"

    other = FakePersonalize(clock=SimClock(), durations={"dataset_group": 100, "dataset": 100},
                            trainer=FixedMetricsTrainer({"*": metrics(0.3)}))
    client = domain_group(other)
    with pytest.raises(ClientError, match="not a use case of the ECOMMERCE domain"):
        client.create_recommender(name="r", datasetGroupArn=GROUP, recipeArn=TOP_PICKS)
    # The model's minimum, whether botocore checks it or the request arrives another way.
    with pytest.raises(ParamValidationError):
        client.create_recommender(name="r", datasetGroupArn=GROUP, recipeArn=FOR_YOU,
                                  recommenderConfig={"minRecommendationRequestsPerSecond": 0})
    with pytest.raises(FakeError, match="minRecommendationRequestsPerSecond"):
        other.handle("CreateRecommender", {"name": "r", "datasetGroupArn": GROUP, "recipeArn": FOR_YOU,
                                           "recommenderConfig": {"minRecommendationRequestsPerSecond": 0}})
    assert other.of_kind("recommender") == []


def test_recommender_states_metrics_and_one_update_at_a_time(fake):
    client = domain_group(fake)
    arn = client.create_recommender(name="r", datasetGroupArn=GROUP, recipeArn=FOR_YOU)["recommenderArn"]
    with pytest.raises(ClientError) as info:
        client.create_recommender(name="r", datasetGroupArn=GROUP, recipeArn=FOR_YOU)
    assert code_of(info) == "ResourceAlreadyExistsException"
    seen = []
    for _ in range(3):
        described = client.describe_recommender(recommenderArn=arn)["recommender"]
        seen.append((described["status"], "modelMetrics" in described))
        if described["status"] != "ACTIVE":
            with pytest.raises(ClientError) as info:
                client.update_recommender(recommenderArn=arn, recommenderConfig={"minRecommendationRequestsPerSecond": 2})
            assert code_of(info) == "ResourceInUseException"
        fake.clock.advance(500)
    # modelMetrics is absent while the recommender is being created.
    assert seen == [("CREATE PENDING", False), ("CREATE IN_PROGRESS", False), ("ACTIVE", True)]
    assert described["recommenderConfig"] == {"minRecommendationRequestsPerSecond": 1}  # the documented default
    assert described["modelMetrics"]["precision_at_10"] == 0.3
    assert "latestRecommenderUpdate" not in described

    client.update_recommender(recommenderArn=arn, recommenderConfig={"minRecommendationRequestsPerSecond": 3})
    running = client.describe_recommender(recommenderArn=arn)["recommender"]
    # It keeps serving with the old configuration while the update runs.
    assert running["status"] == "ACTIVE" and running["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 1
    assert running["latestRecommenderUpdate"]["status"] == "CREATE PENDING"
    assert running["latestRecommenderUpdate"]["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 3
    with pytest.raises(ClientError) as info:
        client.update_recommender(recommenderArn=arn, recommenderConfig={"minRecommendationRequestsPerSecond": 4})
    assert code_of(info) == "ResourceInUseException"
    fake.clock.advance(600)
    done = client.describe_recommender(recommenderArn=arn)["recommender"]
    assert done["latestRecommenderUpdate"]["status"] == "ACTIVE"
    assert done["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 3


def test_recommender_without_enough_interactions_fails(fake):
    few = b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n" + b"".join(b"u%d,i1,%d,View\n" % (i % 5, i) for i in range(900))
    client = domain_group(fake, rows=few)
    arn = client.create_recommender(name="r", datasetGroupArn=GROUP, recipeArn=FOR_YOU)["recommenderArn"]
    fake.clock.advance(2000)
    described = client.describe_recommender(recommenderArn=arn)["recommender"]
    assert described["status"] == "CREATE FAILED"
    assert "900 interactions" in described["failureReason"] and "5 users" in described["failureReason"]
    assert "modelMetrics" not in described


# ------------------------------------------------------------------ batch jobs
# The harness's data bucket and batch prefixes, which the IAM proof pairs with the
# deployed ones (the fake's S3 access is recorded as Personalize's).
ROLE = "arn:aws:iam::123456789012:role/personalize"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="personalize-data")
        yield client


def trained(fake, recipe: str):
    """An ACTIVE solution version of ``recipe`` in a custom group."""
    client = domain_group(fake, domain=None)
    solution = client.create_solution(name=recipe.rsplit("/", 1)[-1], datasetGroupArn=GROUP, recipeArn=recipe)["solutionArn"]
    fake.clock.advance(100)
    version = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(2000)
    return client, version


def job(version, **extra):
    return {"jobName": "j", "solutionVersionArn": version, "roleArn": ROLE,
            "jobInput": {"s3DataSource": {"path": "s3://personalize-data/personalize/batch/input/j/"}}, "jobOutput": {"s3DataDestination": {"path": "s3://personalize-data/personalize/batch/output/run-1/j/"}},
            **extra}


def test_batch_jobs_only_with_the_recipes_that_allow_them(fake, s3):
    fake.s3 = s3
    client, personal = trained(fake, "arn:aws:personalize:::recipe/aws-user-personalization")
    with pytest.raises(ClientError, match="USER_SEGMENTATION recipe") as info:
        client.create_batch_segment_job(**job(personal))
    assert code_of(info) == "InvalidInputException"
    with pytest.raises(ClientError, match="Similar-Items"):
        client.create_batch_inference_job(**job(personal, batchInferenceJobMode="THEME_GENERATION",
                                                themeGenerationConfig={"fieldsForThemeGeneration": {"itemName": "TITLE"}}))
    with pytest.raises(ClientError, match="numResults must be between 1 and 500"):
        client.create_batch_inference_job(**job(personal, numResults=501))
    user_filter = client.create_filter(name="adults", datasetGroupArn=GROUP,
                                       filterExpression='INCLUDE UserID WHERE Users.AGE >= 18')["filterArn"]
    fake.clock.advance(200)
    with pytest.raises(ClientError, match="takes filters on ItemID"):
        client.create_batch_inference_job(**job(personal, filterArn=user_filter))
    fresh = client.create_solution_version(solutionArn=personal.rsplit("/", 1)[0])["solutionVersionArn"]
    with pytest.raises(ClientError) as info:
        client.create_batch_inference_job(**job(fresh))
    assert code_of(info) == "ResourceInUseException"  # the version is still training

    other = FakePersonalize(clock=SimClock(), durations={"dataset_group": 100, "dataset": 100, "solution": 100, "solution_version": 1000},
                            trainer=FixedMetricsTrainer({"*": metrics(0.3)}), s3_client=s3)
    client, affinity = trained(other, "arn:aws:personalize:::recipe/aws-item-affinity")
    with pytest.raises(ClientError, match="create a batch segment job"):
        client.create_batch_inference_job(**job(affinity))
    other_client, trending = trained(FakePersonalize(clock=SimClock(), durations={"dataset_group": 100, "dataset": 100, "solution": 100,
                                                                                   "solution_version": 1000},
                                                     trainer=FixedMetricsTrainer({"*": metrics(0.3)})),
                                     "arn:aws:personalize:::recipe/aws-trending-now")
    with pytest.raises(ClientError, match="not available for the recipe aws-trending-now"):
        other_client.create_batch_inference_job(**job(trending))
    assert fake.of_kind("batch_inference_job") == [] and other.of_kind("batch_segment_job") == []


def test_batch_job_states_and_output_written_when_done(fake, s3):
    fake.s3 = s3
    client, affinity = trained(fake, "arn:aws:personalize:::recipe/aws-item-affinity")
    s3.put_object(Bucket="personalize-data", Key="personalize/batch/input/j/items.json", Body=b'{"itemId": "i1"}\n{"itemId": "i2"}\n')
    arn = client.create_batch_segment_job(**job(affinity, numResults=3))["batchSegmentJobArn"]
    statuses = []
    for _ in range(3):
        statuses.append(client.describe_batch_segment_job(batchSegmentJobArn=arn)["batchSegmentJob"]["status"])
        if statuses[-1] != "ACTIVE":
            assert "Contents" not in s3.list_objects_v2(Bucket="personalize-data", Prefix="personalize/batch/output/")
        fake.clock.advance(500)
    assert statuses == ["PENDING", "IN PROGRESS", "ACTIVE"]
    lines = [json.loads(line) for line in s3.get_object(Bucket="personalize-data", Key="personalize/batch/output/run-1/j/items.json.out")["Body"].read().splitlines()]
    assert [line["input"]["itemId"] for line in lines] == ["i1", "i2"]
    assert all(len(line["output"]["usersList"]) == 3 and line["error"] is None for line in lines)


def test_batch_job_without_input_or_with_bad_lines_fails(fake, s3):
    fake.s3 = s3
    client, personal = trained(fake, "arn:aws:personalize:::recipe/aws-user-personalization")
    empty = client.create_batch_inference_job(**job(personal))["batchInferenceJobArn"]
    s3.put_object(Bucket="personalize-data", Key="personalize/batch/input/bad/users.json", Body=b'{"userId": "u1"}\n{"itemId": "i1"}\n')
    bad = client.create_batch_inference_job(**{**job(personal, jobName="k"), "jobInput": {"s3DataSource": {"path": "s3://personalize-data/personalize/batch/input/bad/"}}})
    fake.clock.advance(2000)
    first = client.describe_batch_inference_job(batchInferenceJobArn=empty)["batchInferenceJob"]
    second = client.describe_batch_inference_job(batchInferenceJobArn=bad["batchInferenceJobArn"])["batchInferenceJob"]
    assert first["status"] == "CREATE FAILED" and "no objects under s3://personalize-data/personalize/batch/input/j/" in first["failureReason"]
    assert second["status"] == "CREATE FAILED" and "batch/input/bad/users.json line 2 has no userId" in second["failureReason"]
    assert "Contents" not in s3.list_objects_v2(Bucket="personalize-data", Prefix="personalize/batch/output/")
