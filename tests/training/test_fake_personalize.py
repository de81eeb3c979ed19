"""The fake Personalize: botocore validation, status sequences, faults."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from local_pipeline.fake_personalize import FakePersonalize, FixedMetricsTrainer, SimClock

from .exports import metrics

GROUP = "arn:aws:personalize:us-east-1:123456789012:dataset-group/g"


@pytest.fixture
def fake():
    return FakePersonalize(clock=SimClock(), durations={"dataset_group": 100, "campaign": 100, "campaign_update": 50},
                           trainer=FixedMetricsTrainer({"*": metrics(0.3)}))


def test_malformed_requests_are_rejected(fake):
    client = fake.client()
    with pytest.raises(ParamValidationError, match='Missing required parameter in input: "name"'):
        client.create_dataset_group(nam="g")
    with pytest.raises(ClientError) as info:
        client.create_dataset_group(name="not valid!")
    assert info.value.response["Error"]["Code"] == "InvalidInputException"
    # A request reaching the fake without botocore is validated too.
    with pytest.raises(Exception, match="minProvisionedTPS"):
        fake.handle("CreateCampaign", {"name": "c", "solutionVersionArn": "arn:aws:personalize:us-east-1:1:solution/s/v", "minProvisionedTPS": "one"})
    assert fake.of_kind("dataset_group") == []


def test_status_sequence_and_errors(fake):
    client = fake.client()
    client.create_dataset_group(name="g")
    statuses = []
    for _ in range(3):
        statuses.append(client.describe_dataset_group(datasetGroupArn=GROUP)["datasetGroup"]["status"])
        fake.clock.advance(50)
    assert statuses == ["CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"]
    with pytest.raises(ClientError) as info:
        client.create_dataset_group(name="g")
    assert info.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as info:
        client.describe_dataset_group(datasetGroupArn=GROUP + "x")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_resource_in_use_and_failure_reason(fake):
    client = fake.client()
    client.create_dataset_group(name="g")
    with pytest.raises(ClientError) as info:
        client.create_filter(name="f", datasetGroupArn=GROUP, filterExpression='EXCLUDE ItemID WHERE Items.X IN ("a")')
    assert info.value.response["Error"]["Code"] == "ResourceInUseException"
    fake.fail_next("filter", "bad expression")
    fake.clock.advance(100)
    arn = client.create_filter(name="f", datasetGroupArn=GROUP, filterExpression='EXCLUDE ItemID WHERE Items.X IN ("a")')["filterArn"]
    fake.clock.advance(1000)
    described = client.describe_filter(filterArn=arn)["filter"]
    assert described["status"] == "CREATE FAILED" and described["failureReason"] == "bad expression"


def test_throttling_is_injected_per_operation(fake):
    client = fake.client()
    fake.throttle("CreateDatasetGroup", 1)
    with pytest.raises(ClientError) as info:
        client.create_dataset_group(name="g")
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert client.create_dataset_group(name="g")["datasetGroupArn"] == GROUP


def test_campaign_update_sequence(fake):
    # Build the minimum chain directly in the fake's state.
    client = fake.client()
    client.create_dataset_group(name="g")
    fake.clock.advance(100)
    schema = client.create_schema(name="s", schema='{"type":"record","name":"Interactions","fields":[]}')["schemaArn"]
    dataset = client.create_dataset(name="d", schemaArn=schema, datasetGroupArn=GROUP, datasetType="Interactions")["datasetArn"]
    fake.clock.advance(1000)
    job = client.create_dataset_import_job(jobName="j", datasetArn=dataset, dataSource={"dataLocation": "s3://b/p/"})["datasetImportJobArn"]
    fake.clock.advance(10_000)
    # No S3 client was given, so the import found no data and failed like Personalize would.
    assert client.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]["status"] == "CREATE FAILED"
    fake.resources[job].failure_reason = None
    fake.resources[job].fields["_data"] = [b"USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1\n"]
    solution = client.create_solution(name="s", datasetGroupArn=GROUP, recipeArn="arn:aws:personalize:::recipe/aws-popularity-count")["solutionArn"]
    assert fake.resources[solution].fields["performAutoTraining"] is True  # Personalize's own default
    fake.clock.advance(1000)
    v1 = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(10_000)
    v2 = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(10_000)
    assert client.get_solution_metrics(solutionVersionArn=v1)["metrics"]["precision_at_10"] == 0.3
    campaign = client.create_campaign(name="c", solutionVersionArn=v1)["campaignArn"]
    fake.clock.advance(100)
    client.update_campaign(campaignArn=campaign, solutionVersionArn=v2)
    seen = []
    for _ in range(3):
        c = client.describe_campaign(campaignArn=campaign)["campaign"]
        seen.append((c["status"], c["latestCampaignUpdate"]["status"], c["solutionVersionArn"] == v2))
        fake.clock.advance(25)
    assert seen == [("UPDATE PENDING", "UPDATE PENDING", False), ("UPDATE IN_PROGRESS", "UPDATE IN_PROGRESS", False), ("ACTIVE", "ACTIVE", True)]
    assert fake.model_for_campaign(campaign).recommend("u9", 3) == ["i1"]


def test_parallel_threads_wait_side_by_side_on_the_simulated_clock():
    import threading

    clock = SimClock()
    seen = {}

    def branch(name, seconds):
        clock.advance(seconds)
        seen[name] = clock.elapsed()
        clock.report()

    def parent():
        clock.advance(10)
        children = [threading.Thread(target=branch, args=(n, s)) for n, s in (("a", 100), ("b", 300))]
        for child in children:
            clock.fork(child)
            child.start()
            child.join()  # even when one branch ends before the next starts...
            clock.join(child)
        clock.fold()
        seen["parent"] = clock.elapsed()

    runner = threading.Thread(target=parent)
    clock.fork(runner)
    runner.start()
    runner.join()
    clock.join(runner)
    # ...branches start at the parent's time and do not add up; the parent goes
    # on from the slowest branch, and so does the caller.
    assert seen == {"a": 110, "b": 310, "parent": 310}
    assert clock.elapsed() == 310
