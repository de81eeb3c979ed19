"""The fake Personalize's deletions: DELETE PENDING > DELETE IN_PROGRESS, then
gone, and the dependency errors of each Delete* page of the API reference."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from local_pipeline.fake_deletes import DELETE_SECONDS
from local_pipeline.fake_personalize import FakePersonalize, FixedMetricsTrainer
from local_pipeline.sim_clock import SimClock

from .exports import INTERACTIONS_SCHEMA, metrics

RECIPE = "arn:aws:personalize:::recipe/aws-popularity-count"


@pytest.fixture
def fake():
    return FakePersonalize(clock=SimClock(), trainer=FixedMetricsTrainer({"*": metrics(0.2)}),
                           durations={k: 10 for k in ("dataset_group", "dataset", "solution", "solution_version", "campaign",
                                                      "filter", "event_tracker", "dataset_import_job")})


def _code(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def _group_with_solution(fake):
    api = fake.client()
    group = api.create_dataset_group(name="g")["datasetGroupArn"]
    fake.clock.advance(20)
    schema = api.create_schema(name="g-interactions", schema=json.dumps(INTERACTIONS_SCHEMA))["schemaArn"]
    dataset = api.create_dataset(name="g-i", datasetGroupArn=group, datasetType="Interactions", schemaArn=schema)["datasetArn"]
    solution = api.create_solution(name="g-s", datasetGroupArn=group, recipeArn=RECIPE, performAutoTraining=False)["solutionArn"]
    fake.clock.advance(20)
    return api, group, schema, dataset, solution


def test_a_deletion_goes_pending_then_in_progress_then_is_gone(fake):
    api, group, schema, dataset, solution = _group_with_solution(fake)
    tracker = api.create_event_tracker(name="t", datasetGroupArn=group)["eventTrackerArn"]
    fake.clock.advance(20)
    api.delete_event_tracker(eventTrackerArn=tracker)
    assert api.describe_event_tracker(eventTrackerArn=tracker)["eventTracker"]["status"] == "DELETE PENDING"
    fake.clock.advance(DELETE_SECONDS * 0.5)
    assert api.describe_event_tracker(eventTrackerArn=tracker)["eventTracker"]["status"] == "DELETE IN_PROGRESS"
    assert _code(lambda: api.delete_event_tracker(eventTrackerArn=tracker)) == "ResourceInUseException"
    fake.clock.advance(DELETE_SECONDS)
    assert _code(lambda: api.describe_event_tracker(eventTrackerArn=tracker)) == "ResourceNotFoundException"


def test_a_solution_used_by_a_campaign_cannot_be_deleted(fake):
    api, group, schema, dataset, solution = _group_with_solution(fake)
    version = fake._new("solution_version", solution + "/v1", {"solutionVersionArn": solution + "/v1", "solutionArn": solution})
    fake.clock.advance(20)
    campaign = api.create_campaign(name="c", solutionVersionArn=version.arn)["campaignArn"]
    assert _code(lambda: api.delete_solution(solutionArn=solution)) == "ResourceInUseException"
    api.delete_campaign(campaignArn=campaign)
    # Still there while it is being deleted.
    assert _code(lambda: api.delete_solution(solutionArn=solution)) == "ResourceInUseException"
    fake.clock.advance(DELETE_SECONDS + 1)
    api.delete_solution(solutionArn=solution)
    assert api.describe_solution(solutionArn=solution)["solution"]["status"] == "DELETE PENDING"
    fake.clock.advance(DELETE_SECONDS + 1)
    # The solution's versions go with it.
    assert _code(lambda: api.describe_solution_version(solutionVersionArn=version.arn)) == "ResourceNotFoundException"


def test_a_solution_training_a_version_cannot_be_deleted(fake):
    api, group, schema, dataset, solution = _group_with_solution(fake)
    fake._new("solution_version", solution + "/v1", {"solutionVersionArn": solution + "/v1", "solutionArn": solution})
    assert _code(lambda: api.delete_solution(solutionArn=solution)) == "ResourceInUseException"
    assert _code(lambda: api.delete_dataset(datasetArn=dataset)) == "ResourceInUseException"
    fake.clock.advance(20)
    api.delete_solution(solutionArn=solution)


def test_a_dataset_group_with_datasets_solutions_or_trackers_cannot_be_deleted(fake):
    api, group, schema, dataset, solution = _group_with_solution(fake)
    assert _code(lambda: api.delete_dataset_group(datasetGroupArn=group)) == "ResourceInUseException"
    api.delete_solution(solutionArn=solution)
    api.delete_dataset(datasetArn=dataset)
    assert _code(lambda: api.delete_dataset_group(datasetGroupArn=group)) == "ResourceInUseException"
    assert _code(lambda: api.delete_schema(schemaArn=schema)) == "ResourceInUseException"
    fake.clock.advance(DELETE_SECONDS + 1)
    api.delete_dataset_group(datasetGroupArn=group)
    # A dataset group shows DELETE PENDING only.
    fake.clock.advance(DELETE_SECONDS * 0.9)
    assert api.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"] == "DELETE PENDING"
    api.delete_schema(schemaArn=schema)
    assert _code(lambda: api.describe_schema(schemaArn=schema)) == "ResourceNotFoundException"


def test_deleting_what_does_not_exist_is_not_found(fake):
    api = fake.client()
    arn = "arn:aws:personalize:us-east-1:123456789012:campaign/nope"
    assert _code(lambda: api.delete_campaign(campaignArn=arn)) == "ResourceNotFoundException"
