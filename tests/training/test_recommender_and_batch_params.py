"""The params sections of Domain dataset groups, recommenders and batch jobs:
each bad input is refused at ReadParams naming its field (no state machine)."""
from __future__ import annotations

import json

import pytest

from personalize_pipeline import api_requests, params
from personalize_pipeline.errors import ParamsInvalid

from .exports import INTERACTIONS_SCHEMA, ITEMS_SCHEMA, RECIPE_USER_PERSONALIZATION

MANIFEST_URI = "s3://b/personalize/exports/r1/manifest.json"
FOR_YOU = "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you"
ECOMMERCE_ITEMS = {**ITEMS_SCHEMA, "fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "PRICE", "type": "float"},
                                              {"name": "CATEGORY_L1", "type": "string", "categorical": True}]}


def plan_for(p: dict, items_schema: dict = ECOMMERCE_ITEMS, manifest_uri: str = MANIFEST_URI) -> dict:
    normalised = params.parse_params({**p, "export": {"manifest_uri": manifest_uri, "run_id": "r1"}})
    manifest = {"datasets": {"interactions": {"prefix": "interactions/"}, "items": {"prefix": "items/"}}}
    schemas = {"interactions": json.dumps(INTERACTIONS_SCHEMA), "items": json.dumps(items_schema)}
    plan = params.build_plan(normalised, manifest, manifest_uri, schemas, "aws", "eu-west-1", "111122223333", {}, "/pp/dev")
    api_requests.validate_all(plan, "arn:aws:iam::111122223333:role/personalize")
    return plan


def domain(**recommender) -> dict:
    return {"name": "store", "dataset_group": {"domain": "ECOMMERCE"},
            "recommenders": [{"name": "for-you", "recipe_arn": FOR_YOU, **recommender}]}


def test_a_domain_plan_names_the_recommender_and_creates_domain_schemas():
    plan = plan_for(domain(recommender_config={"minRecommendationRequestsPerSecond": 2}))
    assert plan["domain"] == "ECOMMERCE" and plan["solutions"] == [] and plan["batchJobs"] == []
    (rec,) = plan["recommenders"]
    assert rec["arn"] == "arn:aws:personalize:eu-west-1:111122223333:recommender/store-for-you"
    assert api_requests.create_dataset_group(plan, "r")["domain"] == "ECOMMERCE"
    assert api_requests.create_schema(plan["datasets"][0], plan["domain"])["domain"] == "ECOMMERCE"
    # A domain schema is named apart from a custom schema with the same fields.
    custom = plan_for({"name": "store", "solutions": [{"name": "p", "recipe_arn": RECIPE_USER_PERSONALIZATION}]})
    assert custom["datasets"][0]["schemaName"] != plan["datasets"][0]["schemaName"]


@pytest.mark.parametrize("p, message", [
    ({**domain(), "dataset_group": {"domain": "RETAIL"}}, "dataset_group.domain: must be one of ECOMMERCE, VIDEO_ON_DEMAND"),
    ({**domain(), "dataset_group": {}}, "recommenders: needs dataset_group.domain"),
    (domain(recipe_arn="arn:aws:personalize:::recipe/aws-vod-top-picks"), "recommenders[0].recipe_arn: arn:aws:personalize:::recipe/aws-vod-top-picks is not a use case of the ECOMMERCE domain"),
    (domain(recommender_config="fast"), "recommenders[0].recommender_config: must be an object"),
    (domain(min_tps=2), "recommenders[0].min_tps: unknown field"),
    ({**domain(), "recommenders": [{"name": "a", "recipe_arn": FOR_YOU}, {"name": "a", "recipe_arn": FOR_YOU}]}, "recommenders[1].name: 'a' is used twice"),
    (domain(recommender_config={"minRecommendationRequestsPerSecond": 0}), "recommenders.for-you: the CreateRecommender request built from the params is invalid"),
    (domain(recommender_config={"trainingDataConfig": {"excludedDatasetColumns": {"A": [], "B": [], "C": [], "D": []}}}),
     "at most 3 entries allowed"),
    ({"name": "store", "dataset_group": {"domain": "ECOMMERCE"}}, "solutions: is required: list at least one solution (or recommenders"),
])
def test_bad_domain_params_name_the_field(p, message):
    with pytest.raises(ParamsInvalid) as info:
        plan_for(p)
    assert message in str(info.value), str(info.value)


def test_the_exported_schemas_must_hold_the_domain_fields():
    with pytest.raises(ParamsInvalid, match="dataset_group.domain: ECOMMERCE requires the field PRICE"):
        plan_for(domain(), items_schema=ITEMS_SCHEMA)
    uncategorised = {**ECOMMERCE_ITEMS, "fields": [*ECOMMERCE_ITEMS["fields"][:2], {"name": "CATEGORY_L1", "type": "string"}]}
    with pytest.raises(ParamsInvalid, match="requires items.CATEGORY_L1 to be a categorical string field"):
        plan_for(domain(), items_schema=uncategorised)


def batch(**job) -> dict:
    return {"name": "shop", "solutions": [{"name": "similar", "recipe_arn": "arn:aws:personalize:::recipe/aws-similar-items"}],
            "batch_inference_jobs": [{"name": "themes", "solution": "similar", **job}]}


def test_batch_plan_paths_carry_the_run_id_and_themes_are_sent():
    (job,) = plan_for(batch(theme={"item_name_field": "PRICE"}, num_results=10))["batchJobs"]
    assert job["name"] == "shop-themes-r1"
    assert job["inputPath"] == "s3://b/personalize/batch/input/themes/"
    assert job["outputPath"] == "s3://b/personalize/batch/output/r1/themes/"
    plan = plan_for(batch(theme={"item_name_field": "PRICE"}))
    (label, operation, request), = [r for r in api_requests.planned_requests(plan, "arn:aws:iam::111122223333:role/p") if r[0].startswith("batch")]
    assert operation == "CreateBatchInferenceJob" and request["batchInferenceJobMode"] == "THEME_GENERATION"
    assert request["themeGenerationConfig"] == {"fieldsForThemeGeneration": {"itemName": "PRICE"}}


@pytest.mark.parametrize("p, message", [
    (batch(theme={"item_name_field": "TITLE"}), "batch_inference_jobs[0].theme.item_name_field: TITLE is not a field of the exported items schema"),
    (batch(theme={"name": "TITLE"}), "batch_inference_jobs[0].theme: must be"),
    (batch(num_results=0), "batch_inference_jobs[0].num_results: must be an integer between 1 and 500"),
    (batch(num_results=True), "batch_inference_jobs[0].num_results"),
    (batch(filter="none-such"), "batch_inference_jobs[0].filter: 'none-such' is not one of the filters"),
    (batch(input="/abs"), "batch_inference_jobs[0].input"),
    (batch(name="bad name"), "batch_inference_jobs[0].name"),
    ({**batch(), "batch_segment_jobs": [{"name": "themes", "solution": "similar"}]}, "batch_segment_jobs[0].name: 'themes' is used twice"),
    ({**batch(), "batch_segment_jobs": [{"name": "seg", "solution": "similar", "theme": {}}]}, "batch_segment_jobs[0].theme: unknown field"),
])
def test_bad_batch_params_name_the_field(p, message):
    with pytest.raises(ParamsInvalid) as info:
        plan_for(p)
    assert message in str(info.value), str(info.value)


def test_batch_jobs_need_the_export_layout():
    with pytest.raises(ParamsInvalid, match="export.manifest_uri: .*<export root>/exports/<run id>/manifest.json"):
        plan_for(batch(), manifest_uri="s3://b/elsewhere/r1/manifest.json")
