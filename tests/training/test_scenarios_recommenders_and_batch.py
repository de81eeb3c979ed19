"""Domain dataset groups with recommenders, and batch jobs after the gate: the
real state machine, the real handlers and the fake Personalize."""
from __future__ import annotations

import json

import pytest

from local_pipeline.fake_personalize import FixedMetricsTrainer
from local_pipeline.harness import LocalPipeline

from .conftest import SCENARIO_DURATIONS
from .exports import RECIPE_USER_PERSONALIZATION, make_export, metrics
from .test_scenarios import assert_failed_once

DURATIONS = {**SCENARIO_DURATIONS, "recommender": 900, "recommender_update": 300,
             "batch_inference_job": 600, "batch_segment_job": 600}
FOR_YOU = "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you"
ITEM_AFFINITY = "arn:aws:personalize:::recipe/aws-item-affinity"


@pytest.fixture
def trainer():
    return FixedMetricsTrainer({"*": metrics(precision_at_10=0.2)})


@pytest.fixture
def local(trainer):
    with LocalPipeline(durations=DURATIONS, trainer=trainer) as pipeline:
        yield pipeline


def domain_params(**recommender) -> dict:
    return {
        "name": "store",
        "dataset_group": {"domain": "ECOMMERCE"},
        "recommenders": [{"name": "for-you", "recipe_arn": FOR_YOU, **recommender}],
        "quality_gate": {"thresholds": {"precision_at_10": 0.05}},
    }


def test_domain_group_with_a_recommender_created_then_updated_and_gated(local, tmp_path):
    first = local.run(domain_params(), make_export(tmp_path, datasets=("interactions",)))

    assert first.status == "SUCCEEDED", (first.error, first.cause)
    fake = local.fake
    (group,) = fake.of_kind("dataset_group")
    assert group.fields["domain"] == "ECOMMERCE"
    assert [r["domain"] for r in fake.calls_of("CreateSchema")] == ["ECOMMERCE"]
    (created,) = fake.calls_of("CreateRecommender")
    assert created["recipeArn"] == FOR_YOU and "recommenderConfig" not in created
    arn = first.summary["recommenders"]["for-you"]["recommenderArn"]
    assert fake.describe(arn)["status"] == "ACTIVE"
    # The gate read the metrics DescribeRecommender reports.
    assert first.summary["recommenders"]["for-you"]["metrics"]["precision_at_10"] == 0.2
    assert fake.calls_of("CreateSolution") == [] and fake.calls_of("CreateCampaign") == []
    assert "CheckRecommenders" in first.entered_states() and "GateRecommenders" in first.entered_states()

    # A second export with a changed recommenderConfig: UpdateRecommender, waited for.
    second = local.run(domain_params(recommender_config={"minRecommendationRequestsPerSecond": 2}),
                       make_export(tmp_path, run_id="20260108T000000Z", datasets=("interactions",)))
    assert second.status == "SUCCEEDED", (second.error, second.cause)
    assert len(fake.calls_of("CreateRecommender")) == 1
    (update,) = fake.calls_of("UpdateRecommender")
    assert update == {"recommenderArn": arn, "recommenderConfig": {"minRecommendationRequestsPerSecond": 2}}
    described = fake.describe(arn)
    assert described["latestRecommenderUpdate"]["status"] == "ACTIVE"
    assert described["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 2

    # The same params again: nothing to create or update.
    third = local.run(domain_params(recommender_config={"minRecommendationRequestsPerSecond": 2}),
                      make_export(tmp_path, run_id="20260108T000000Z", datasets=("interactions",)))
    assert third.status == "SUCCEEDED", (third.error, third.cause)
    assert len(fake.calls_of("UpdateRecommender")) == 1 and len(fake.calls_of("CreateRecommender")) == 1


def test_recommender_below_the_thresholds_fails_the_run_at_the_gate(local, tmp_path):
    params = domain_params()
    params["quality_gate"] = {"thresholds": {"precision_at_10": 0.5}}
    result = local.run(params, make_export(tmp_path, datasets=("interactions",)))

    message = assert_failed_once(result, "GateRecommenders", "QualityGateRejected", "for-you",
                                 "precision_at_10 0.2000 is below the threshold 0.5000")
    assert message["error"] == "QualityGateRejected"


def test_domain_schema_missing_a_required_field_is_refused_at_read_params(local, tmp_path):
    # The default items schema has ITEM_ID and CATEGORY only: ECOMMERCE needs PRICE and CATEGORY_L1.
    result = local.run(domain_params(), make_export(tmp_path))

    assert_failed_once(result, "ReadParams", "dataset_group.domain", "PRICE")
    assert local.fake.calls == []


def test_recommenders_need_a_domain(local, tmp_path):
    params = domain_params()
    params.pop("dataset_group")
    result = local.run(params, make_export(tmp_path, datasets=("interactions",)))
    assert_failed_once(result, "ReadParams", "recommenders: needs dataset_group.domain")
    assert local.fake.calls == []


def batch_params() -> dict:
    return {
        "name": "shop",
        "solutions": [
            {"name": "personal", "recipe_arn": RECIPE_USER_PERSONALIZATION},
            {"name": "affinity", "recipe_arn": ITEM_AFFINITY},
        ],
        "filters": [{"name": "not-clicked", "expression": "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"click\")"}],
        "quality_gate": {"thresholds": {"precision_at_10": 0.05}},
        "batch_inference_jobs": [{"name": "emails", "solution": "personal", "num_results": 5, "filter": "not-clicked"}],
        "batch_segment_jobs": [{"name": "audience", "solution": "affinity", "input": "launch/items", "num_results": 3}],
    }


def put_batch_inputs(local) -> None:
    local.s3.put_object(Bucket=local.data_bucket, Key="personalize/batch/input/emails/users.json",
                        Body=b'{"userId": "u1"}\n{"userId": "u2"}\n')
    local.s3.put_object(Bucket=local.data_bucket, Key="personalize/batch/input/launch/items/items.json",
                        Body=b'{"itemId": "i3"}\n')


def read_lines(local, key: str) -> list[dict]:
    body = local.s3.get_object(Bucket=local.data_bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in body.splitlines()]


def test_batch_inference_and_segment_jobs_after_the_gate(local, tmp_path):
    put_batch_inputs(local)
    result = local.run(batch_params(), make_export(tmp_path))

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    fake = local.fake
    (inference,) = fake.calls_of("CreateBatchInferenceJob")
    (segment,) = fake.calls_of("CreateBatchSegmentJob")
    versions = {k: v["solutionVersionArn"] for k, v in result.summary["solutions"].items()}
    assert inference["solutionVersionArn"] == versions["personal"] and segment["solutionVersionArn"] == versions["affinity"]
    assert inference["jobInput"]["s3DataSource"]["path"] == "s3://personalize-data/personalize/batch/input/emails/"
    assert inference["jobOutput"]["s3DataDestination"]["path"] == "s3://personalize-data/personalize/batch/output/20260101T000000Z/emails/"
    assert inference["numResults"] == 5 and inference["roleArn"] == local.role_arn
    assert inference["filterArn"].endswith(":filter/shop-not-clicked")
    assert segment["jobInput"]["s3DataSource"]["path"] == "s3://personalize-data/personalize/batch/input/launch/items/"
    assert "filterArn" not in segment and segment["numResults"] == 3
    # The outputs Personalize wrote, under this run's prefix.
    emails = read_lines(local, "personalize/batch/output/20260101T000000Z/emails/users.json.out")
    assert [line["input"]["userId"] for line in emails] == ["u1", "u2"]
    assert all(len(line["output"]["recommendedItems"]) == 5 for line in emails)
    (audience,) = read_lines(local, "personalize/batch/output/20260101T000000Z/audience/items.json.out")
    assert audience["input"] == {"itemId": "i3"} and len(audience["output"]["usersList"]) == 3
    assert result.summary["batchJobs"]["emails"]["outputPath"].endswith("/batch/output/20260101T000000Z/emails/")
    assert fake.describe(result.summary["batchJobs"]["audience"]["jobArn"])["status"] == "ACTIVE"

    # A replay of the same params version starts no second job.
    again = local.run(batch_params(), make_export(tmp_path))
    assert again.status == "SUCCEEDED", (again.error, again.cause)
    assert len(fake.calls_of("CreateBatchInferenceJob")) == 1 and len(fake.calls_of("CreateBatchSegmentJob")) == 1


def test_a_failed_batch_job_fails_the_run_and_a_rerun_retries_it_under_the_next_name(local, tmp_path):
    put_batch_inputs(local)
    local.fake.fail_next("batch_segment_job", "Internal error while generating segments")
    first = local.run(batch_params(), make_export(tmp_path))

    assert_failed_once(first, "CheckBatchJobs", "ResourceFailed", "batch segment job", "audience",
                       "Internal error while generating segments")
    again = local.run(batch_params(), make_export(tmp_path))
    assert again.status == "SUCCEEDED", (again.error, again.cause)
    names = [r["jobName"] for r in local.fake.calls_of("CreateBatchSegmentJob")]
    assert names == ["shop-audience-20260101T000000Z", "shop-audience-20260101T000000Z-r2"]
    assert len(local.fake.calls_of("CreateBatchInferenceJob")) == 1


def test_batch_jobs_wait_for_the_gate(trainer, local, tmp_path):
    put_batch_inputs(local)
    trainer.metrics = {"*": metrics(precision_at_10=0.01)}
    result = local.run(batch_params(), make_export(tmp_path))

    assert_failed_once(result, "StartBatchJobs", "QualityGateRejected", "no batch job was started", "personal", "affinity")
    assert local.fake.calls_of("CreateBatchInferenceJob") == [] and local.fake.calls_of("CreateBatchSegmentJob") == []


@pytest.mark.parametrize("change, field, rule", [
    (lambda p: p["batch_segment_jobs"][0].update(solution="personal"), "batch_segment_jobs[0].solution", "USER_SEGMENTATION"),
    (lambda p: p["batch_inference_jobs"][0].update(solution="affinity"), "batch_inference_jobs[0].solution", "batch_segment_jobs"),
    (lambda p: p["batch_inference_jobs"][0].update(num_results=501), "batch_inference_jobs[0].num_results", "between 1 and 500"),
    (lambda p: p["batch_inference_jobs"][0].update(theme={"item_name_field": "CATEGORY"}), "batch_inference_jobs[0].theme",
     "Similar-Items"),
    (lambda p: p["batch_segment_jobs"][0].update(filter="not-clicked"), "batch_segment_jobs[0].filter", "needs a filter on UserID"),
    (lambda p: p["batch_inference_jobs"][0].update(solution="nope"), "batch_inference_jobs[0].solution", "not one of the solutions"),
    (lambda p: p["batch_inference_jobs"][0].update(input="../escape"), "batch_inference_jobs[0].input", "folder under the batch input"),
    (lambda p: p["batch_inference_jobs"][0].update(job_config={"itemExplorationConfig": "x"}), "batch_jobs.emails",
     "CreateBatchInferenceJob request built from the params is invalid"),
])
def test_bad_batch_params_are_refused_at_read_params(local, tmp_path, change, field, rule):
    params = batch_params()
    change(params)
    result = local.run(params, make_export(tmp_path))
    assert_failed_once(result, "ReadParams", "ParamsInvalid", field, rule)
    assert local.fake.calls == []
