"""The fake Personalize: botocore validation, status sequences, faults."""
from __future__ import annotations

import json

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


INTERACTIONS_CSV = ("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n" + "".join(
    f"u{i % 30},i{i % 7 if i % 3 else 1},{1_700_000_000 + i},{'purchase' if i % 4 else 'click'}\n" for i in range(1400))).encode()


def active_chain(fake, rows=INTERACTIONS_CSV, recipe="arn:aws:personalize:::recipe/aws-popularity-count", **solution):
    """A dataset group with imported interactions and an ACTIVE solution, built
    through the client; returns (client, solution ARN, dataset ARN)."""
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
    fake.resources[job].fields["_data"] = [rows]
    arn = client.create_solution(name="s", datasetGroupArn=GROUP, recipeArn=recipe, **solution)["solutionArn"]
    fake.clock.advance(1000)
    return client, arn, dataset


def test_campaign_update_sequence(fake):
    client, solution, _ = active_chain(fake)
    assert fake.resources[solution].fields["performAutoTraining"] is True  # Personalize's own default
    v1 = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(10_000)
    v2 = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(10_000)
    assert client.get_solution_metrics(solutionVersionArn=v1)["metrics"]["precision_at_10"] == 0.3
    campaign = client.create_campaign(name="c", solutionVersionArn=v1)["campaignArn"]
    created = client.describe_campaign(campaignArn=campaign)["campaign"]
    # latestCampaignUpdate is absent until the first UpdateCampaign.
    assert created["status"] == "CREATE PENDING" and "latestCampaignUpdate" not in created
    fake.clock.advance(100)
    assert "latestCampaignUpdate" not in client.describe_campaign(campaignArn=campaign)["campaign"]
    client.update_campaign(campaignArn=campaign, solutionVersionArn=v2, campaignConfig={"enableMetadataWithRecommendations": True})
    seen = []
    for _ in range(3):
        c = client.describe_campaign(campaignArn=campaign)["campaign"]
        seen.append((c["status"], c["latestCampaignUpdate"]["status"], c["solutionVersionArn"] == v2))
        if c["latestCampaignUpdate"]["status"] != "ACTIVE":
            # One update at a time.
            with pytest.raises(ClientError) as info:
                client.update_campaign(campaignArn=campaign, minProvisionedTPS=3)
            assert info.value.response["Error"]["Code"] == "ResourceInUseException"
        fake.clock.advance(25)
    # The campaign stays ACTIVE and serves v1 while the update runs.
    assert seen == [("ACTIVE", "CREATE PENDING", False), ("ACTIVE", "CREATE IN_PROGRESS", False), ("ACTIVE", "ACTIVE", True)]
    assert client.describe_campaign(campaignArn=campaign)["campaign"]["campaignConfig"] == {"enableMetadataWithRecommendations": True}
    assert fake.model_for_campaign(campaign).recommend("u9", 1) == ["i1"]


def test_a_campaign_update_can_fail_and_the_campaign_keeps_serving(fake):
    client, solution, _ = active_chain(fake)
    v1 = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(10_000)
    v2 = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(10_000)
    campaign = client.create_campaign(name="c", solutionVersionArn=v1)["campaignArn"]
    fake.clock.advance(100)
    fake.fail_next("campaign_update", "internal error deploying the model")
    client.update_campaign(campaignArn=campaign, solutionVersionArn=v2)
    fake.clock.advance(100)
    c = client.describe_campaign(campaignArn=campaign)["campaign"]
    assert c["status"] == "ACTIVE" and c["solutionVersionArn"] == v1
    assert c["latestCampaignUpdate"]["status"] == "CREATE FAILED"
    assert c["latestCampaignUpdate"]["failureReason"] == "internal error deploying the model"


def test_sync_with_latest_solution_version_needs_the_latest_arn(fake):
    client, solution, _ = active_chain(fake)
    v1 = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(10_000)
    with pytest.raises(ClientError, match="SolutionArn/.LATEST"):
        client.create_campaign(name="c", solutionVersionArn=v1, campaignConfig={"syncWithLatestSolutionVersion": True})
    with pytest.raises(ClientError, match="syncWithLatestSolutionVersion"):
        client.create_campaign(name="c", solutionVersionArn=solution + "/$LATEST")
    campaign = client.create_campaign(name="c", solutionVersionArn=solution + "/$LATEST", campaignConfig={"syncWithLatestSolutionVersion": True})["campaignArn"]
    assert client.describe_campaign(campaignArn=campaign)["campaign"]["solutionVersionArn"] == v1


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
ITEMS = {"type": "record", "name": "Items", "fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "GENRE", "type": "string", "categorical": True}]}


def items_dataset(fake):
    client = fake.client()
    client.create_dataset_group(name="g")
    fake.clock.advance(100)
    schema = client.create_schema(name="items-1", schema=json.dumps(ITEMS))["schemaArn"]
    dataset = client.create_dataset(name="items", schemaArn=schema, datasetGroupArn=GROUP, datasetType="Items")["datasetArn"]
    fake.clock.advance(1000)
    return client, dataset


def test_update_dataset_keeps_types_and_attributes_and_reports_its_progress(fake):
    client, dataset = items_dataset(fake)
    for name, fields in [
        ("dropped", [ITEMS["fields"][0]]),
        ("not-categorical", [ITEMS["fields"][0], {"name": "GENRE", "type": "string"}]),
        ("retyped", [ITEMS["fields"][0], {"name": "GENRE", "type": "int", "categorical": True}]),
        ("required", ITEMS["fields"] + [{"name": "BRAND", "type": "string"}]),
    ]:
        schema = client.create_schema(name=name, schema=json.dumps({**ITEMS, "fields": fields}))["schemaArn"]
        with pytest.raises(ClientError) as info:
            client.update_dataset(datasetArn=dataset, schemaArn=schema)
        assert info.value.response["Error"]["Code"] == "InvalidInputException", name
    assert "latestDatasetUpdate" not in client.describe_dataset(datasetArn=dataset)["dataset"]

    added = client.create_schema(name="items-2", schema=json.dumps({**ITEMS, "fields": ITEMS["fields"] + [{"name": "BRAND", "type": ["null", "string"]}]}))["schemaArn"]
    client.update_dataset(datasetArn=dataset, schemaArn=added)
    seen = []
    for _ in range(3):
        d = client.describe_dataset(datasetArn=dataset)["dataset"]
        seen.append((d["status"], d["latestDatasetUpdate"]["status"], d["schemaArn"] == added))
        if d["latestDatasetUpdate"]["status"] != "ACTIVE":
            with pytest.raises(ClientError) as info:
                client.update_dataset(datasetArn=dataset, schemaArn=added)
            assert info.value.response["Error"]["Code"] == "ResourceInUseException"
        fake.clock.advance(200)
    assert seen == [("ACTIVE", "CREATE PENDING", False), ("ACTIVE", "CREATE IN_PROGRESS", False), ("ACTIVE", "ACTIVE", True)]

    fake.fail_next("dataset_update", "internal error")
    again = client.create_schema(name="items-3", schema=json.dumps({**ITEMS, "fields": ITEMS["fields"] + [{"name": "BRAND", "type": ["null", "string"]}, {"name": "SIZE", "type": ["null", "string"]}]}))["schemaArn"]
    client.update_dataset(datasetArn=dataset, schemaArn=again)
    fake.clock.advance(1000)
    d = client.describe_dataset(datasetArn=dataset)["dataset"]
    assert d["latestDatasetUpdate"] == {**d["latestDatasetUpdate"], "status": "CREATE FAILED", "failureReason": "internal error", "schemaArn": again}
    assert d["schemaArn"] == added


def test_an_interactions_schema_is_never_replaced(fake):
    client = fake.client()
    client.create_dataset_group(name="g")
    fake.clock.advance(100)
    schema = client.create_schema(name="s", schema='{"type":"record","name":"Interactions","fields":[]}')["schemaArn"]
    dataset = client.create_dataset(name="d", schemaArn=schema, datasetGroupArn=GROUP, datasetType="Interactions")["datasetArn"]
    fake.clock.advance(1000)
    with pytest.raises(ClientError, match="cannot be replaced"):
        client.update_dataset(datasetArn=dataset, schemaArn=schema)


def test_a_version_stopped_in_training_goes_stopping_then_stopped(fake):
    client, solution, _ = active_chain(fake)
    version = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    while client.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"] == "CREATE PENDING":
        fake.clock.advance(10)
    client.stop_solution_version_creation(solutionVersionArn=version)
    assert client.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"] == "CREATE STOPPING"
    fake.clock.advance(100_000)
    assert client.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"] == "CREATE STOPPED"
    with pytest.raises(ClientError) as info:
        client.stop_solution_version_creation(solutionVersionArn=version)
    assert info.value.response["Error"]["Code"] == "ResourceInUseException"


def test_a_version_stopped_while_pending_goes_straight_to_stopped(fake):
    # "CREATE_PENDING > CREATE_STOPPED or CREATE_IN_PROGRESS > CREATE_STOPPING > CREATE_STOPPED"
    client, solution, _ = active_chain(fake)
    version = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert client.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"] == "CREATE PENDING"
    client.stop_solution_version_creation(solutionVersionArn=version)
    seen = []
    for _ in range(3):
        seen.append(client.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"])
        fake.clock.advance(50_000)
    assert seen == ["CREATE STOPPED"] * 3


def _forced_import(fake, client, dataset: str, name: str, rows: bytes, mode: str) -> None:
    """An import job that ends ACTIVE with ``rows`` (the fixture has no S3 to read)."""
    job = client.create_dataset_import_job(jobName=name, datasetArn=dataset, dataSource={"dataLocation": "s3://b/p/"},
                                           importMode=mode)["datasetImportJobArn"]
    fake.resources[job].failure_reason = None
    fake.resources[job].fields["_data"] = [rows]
    fake.clock.advance(10_000)


def test_update_training_needs_data_changed_since_the_last_full_version(fake):
    client, solution, dataset = active_chain(fake, recipe="arn:aws:personalize:::recipe/aws-user-personalization")
    client.create_solution_version(solutionArn=solution)
    fake.clock.advance(100_000)
    with pytest.raises(ClientError, match="There should be updates to at least one dataset after last active solution "
                                          "version with training mode set to FULL"):
        client.create_solution_version(solutionArn=solution, trainingMode="UPDATE")
    _forced_import(fake, client, dataset, "delta", INTERACTIONS_CSV.replace(b",17000", b",18000"), "INCREMENTAL")
    update = client.create_solution_version(solutionArn=solution, trainingMode="UPDATE")["solutionVersionArn"]
    fake.clock.advance(100_000)
    assert client.describe_solution_version(solutionVersionArn=update)["solutionVersion"]["status"] == "ACTIVE"
    # An UPDATE since does not reset the rule: the data still changed after the last FULL version.
    client.create_solution_version(solutionArn=solution, trainingMode="UPDATE")


def test_a_version_needs_25_users_with_two_interactions(fake):
    header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n"

    def rows(repeat_users: int) -> bytes:
        # 1,200 interactions: repeat_users users with two each, the rest one-off users.
        lines = [f"u{i // 2},i{i % 7},{1_700_000_000 + i},buy\n" for i in range(2 * repeat_users)]
        lines += [f"once{i},i{i % 7},{1_700_010_000 + i},buy\n" for i in range(1200 - len(lines))]
        return (header + "".join(lines)).encode()

    client, solution, dataset = active_chain(fake, rows=rows(24))
    short = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(100_000)
    failed = client.describe_solution_version(solutionVersionArn=short)["solutionVersion"]
    assert failed["status"] == "CREATE FAILED"
    assert failed["failureReason"] == ("Create failed. Dataset has fewer than 25 users with at least 2 interactions each "
                                       "(24 users with at least 2 interactions (at least 25), after filtering by event type "
                                       "and event value)")
    _forced_import(fake, client, dataset, "more", rows(25), "FULL")
    enough = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(100_000)
    assert client.describe_solution_version(solutionVersionArn=enough)["solutionVersion"]["status"] == "ACTIVE"


def test_the_users_with_two_interactions_are_at_least_1_percent_of_the_users(fake):
    header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n"
    # 30 users with 40 interactions each, and 3,000 one-off users: 30 of 3,030 is 0.99%.
    lines = [f"u{i % 30},i{i % 7},{1_700_000_000 + i},buy\n" for i in range(1200)]
    lines += [f"once{i},i{i % 7},{1_700_010_000 + i},buy\n" for i in range(3000)]
    client, solution, dataset = active_chain(fake, rows=(header + "".join(lines)).encode())
    short = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(100_000)
    failed = client.describe_solution_version(solutionVersionArn=short)["solutionVersion"]
    assert failed["status"] == "CREATE FAILED"
    assert "30 of 3030 users with at least 2 interactions, under 1% of the users" in failed["failureReason"]
    _forced_import(fake, client, dataset, "fewer", (header + "".join(lines[:1200 + 2970])).encode(), "FULL")
    enough = client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    fake.clock.advance(100_000)
    assert client.describe_solution_version(solutionVersionArn=enough)["solutionVersion"]["status"] == "ACTIVE"


def test_update_training_only_for_the_documented_recipes(fake):
    client, solution, _ = active_chain(fake, recipe="arn:aws:personalize:::recipe/aws-user-personalization-v2")
    client.create_solution_version(solutionArn=solution)
    fake.clock.advance(10_000)
    with pytest.raises(ClientError, match="UPDATE is not available"):
        client.create_solution_version(solutionArn=solution, trainingMode="UPDATE")


def test_training_counts_interactions_after_the_solutions_event_filters(fake):
    # 1,400 rows, of which 1,050 are purchases: enough; clicks alone (350) are not.
    client, purchases, _ = active_chain(fake, eventType="purchase")
    clicks = client.create_solution(name="clicks", datasetGroupArn=GROUP, recipeArn="arn:aws:personalize:::recipe/aws-popularity-count", eventType="click")["solutionArn"]
    fake.clock.advance(1000)
    ok = client.create_solution_version(solutionArn=purchases)["solutionVersionArn"]
    short = client.create_solution_version(solutionArn=clicks)["solutionVersionArn"]
    fake.clock.advance(100_000)
    assert client.describe_solution_version(solutionVersionArn=ok)["solutionVersion"]["status"] == "ACTIVE"
    failed = client.describe_solution_version(solutionVersionArn=short)["solutionVersion"]
    assert failed["status"] == "CREATE FAILED" and "350 after filtering" in failed["failureReason"]


def test_update_solution_changes_auto_training_only(fake):
    client, solution, _ = active_chain(fake, performAutoTraining=True)
    client.update_solution(solutionArn=solution, performAutoTraining=False)
    described = client.describe_solution(solutionArn=solution)["solution"]
    assert described["status"] == "ACTIVE" and described["latestSolutionUpdate"]["status"] == "CREATE PENDING"
    assert described["performAutoTraining"] is True
    with pytest.raises(ClientError) as info:
        client.update_solution(solutionArn=solution, performAutoTraining=False)
    assert info.value.response["Error"]["Code"] == "ResourceInUseException"
    fake.clock.advance(1000)
    described = client.describe_solution(solutionArn=solution)["solution"]
    assert described["latestSolutionUpdate"]["status"] == "ACTIVE" and described["performAutoTraining"] is False
    # Nothing else can change: the request has no member for it.
    with pytest.raises(ParamValidationError):
        client.update_solution(solutionArn=solution, performHPO=True)


def test_tags_are_kept_and_checked(fake):
    client = fake.client()
    arn = client.create_dataset_group(name="g", tags=[{"tagKey": "team", "tagValue": "recs"}])["datasetGroupArn"]
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [{"tagKey": "team", "tagValue": "recs"}]
    with pytest.raises(ClientError, match="reserved"):
        client.create_dataset_group(name="h", tags=[{"tagKey": "aws:owner", "tagValue": "x"}])
    with pytest.raises(ClientError) as info:
        client.tag_resource(resourceArn=arn, tags=[{"tagKey": f"k{i}", "tagValue": "v"} for i in range(50)])
    assert info.value.response["Error"]["Code"] == "TooManyTagsException"


@pytest.mark.parametrize("expression", [
    'EXCLUDE ItemID Items.GENRE IN ("a")',
    'EXCLUDE ItemID WHERE Items.GENRE IN "a"',
    'REMOVE ItemID WHERE Items.GENRE IN ("a")',
    'EXCLUDE ItemID WHERE Items.GENRE IN ("a") AND Users.AGE > 3',
    'INCLUDE ItemID WHERE Items.PRICE < "cheap"',
])
def test_filter_expressions_follow_the_documented_grammar(fake, expression):
    client = fake.client()
    client.create_dataset_group(name="g")
    fake.clock.advance(100)
    with pytest.raises(ClientError) as info:
        client.create_filter(name="f", datasetGroupArn=GROUP, filterExpression=expression)
    assert info.value.response["Error"]["Code"] == "InvalidInputException"
    client.create_filter(name="ok", datasetGroupArn=GROUP,
                         filterExpression='INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) AND Items.PRICE <= 10 IF CurrentUser.AGE >= 18 | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")')


def test_filters_per_dataset_group_are_a_hard_limit(fake):
    client = fake.client()
    client.create_dataset_group(name="g")
    fake.clock.advance(100)
    for i in range(10):
        client.create_filter(name=f"f{i}", datasetGroupArn=GROUP, filterExpression='EXCLUDE ItemID WHERE Items.X IN ("a")')
    with pytest.raises(ClientError) as info:
        client.create_filter(name="f10", datasetGroupArn=GROUP, filterExpression='EXCLUDE ItemID WHERE Items.X IN ("a")')
    assert info.value.response["Error"]["Code"] == "LimitExceededException"


def test_one_event_tracker_per_dataset_group(fake):
    client = fake.client()
    client.create_dataset_group(name="g")
    fake.clock.advance(100)
    client.create_event_tracker(name="web", datasetGroupArn=GROUP)
    with pytest.raises(ClientError) as info:
        client.create_event_tracker(name="app", datasetGroupArn=GROUP)
    assert info.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"


def test_pending_imports_hold_their_slot_for_their_whole_run(fake):
    # https://docs.aws.amazon.com/personalize/latest/dg/limits.html: about 5 pending imports per region.
    client = fake.client()
    client.create_dataset_group(name="g")
    fake.clock.advance(100)
    schema = client.create_schema(name="s", schema='{"type":"record","name":"Interactions","fields":[]}')["schemaArn"]
    dataset = client.create_dataset(name="d", schemaArn=schema, datasetGroupArn=GROUP, datasetType="Interactions")["datasetArn"]
    fake.clock.advance(1000)
    for i in range(5):
        client.create_dataset_import_job(jobName=f"j{i}", datasetArn=dataset, dataSource={"dataLocation": "s3://b/p/"})
    fake.clock.advance(1000)  # still running
    with pytest.raises(ClientError) as info:
        client.create_dataset_import_job(jobName="j5", datasetArn=dataset, dataSource={"dataLocation": "s3://b/p/"})
    assert info.value.response["Error"]["Code"] == "LimitExceededException"
    fake.clock.advance(1000)  # the five have ended (1,800 s each)
    client.create_dataset_import_job(jobName="j5", datasetArn=dataset, dataSource={"dataLocation": "s3://b/p/"})
