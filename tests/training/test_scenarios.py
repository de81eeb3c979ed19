"""The training state machine end to end: the real rendered ASL run by moto's
interpreter, the real Lambda handlers, and the fake Personalize."""
from __future__ import annotations

import json

import pytest

from local_pipeline.harness import LocalPipeline

from .conftest import SCENARIO_DURATIONS
from .exports import RECIPE_POPULARITY, full_params, make_export, metrics

CREATE_OR_UPDATE = (
    "CreateDatasetGroup", "CreateSchema", "CreateDataset", "UpdateDataset", "CreateDatasetImportJob", "CreateSolution",
    "CreateSolutionVersion", "CreateCampaign", "UpdateCampaign", "CreateFilter", "CreateEventTracker",
)


def assert_failed_once(result, step: str, *cause_parts: str) -> dict:
    assert result.status == "FAILED", result.status
    assert result.success_notifications == []
    assert len(result.failure_notifications) == 1, result.notifications
    message = result.failure_notifications[0]["message"]
    assert message["step"] == step
    assert result.failure_notifications[0]["subject"] == f"Personalize training FAILED at {step}"
    for part in cause_parts:
        assert part in message["cause"], message["cause"]
    # The execution's own error and cause are the failed step's.
    assert result.error == message["error"]
    assert result.entered_states()[-1] == "Failed"
    return message


def creates(fake) -> dict[str, int]:
    return {op: len(fake.calls_of(op)) for op in CREATE_OR_UPDATE}


def test_happy_path_three_datasets_two_solutions_campaign_filter_tracker(pipeline, tmp_path):
    result = pipeline.run(full_params(), make_export(tmp_path))

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.failure_notifications == []
    assert len(result.success_notifications) == 1
    summary = result.success_notifications[0]["message"]
    fake = pipeline.fake
    campaign_arn = summary["campaigns"]["home"]["campaignArn"]
    campaign = fake.describe(campaign_arn)
    assert campaign["status"] == "ACTIVE"
    assert campaign["minProvisionedTPS"] == 2
    assert campaign["solutionVersionArn"] == summary["solutions"]["personal"]["solutionVersionArn"]
    assert summary["solutions"]["personal"]["metrics"]["precision_at_10"] == 0.2
    assert sorted(summary["datasets"]) == ["interactions", "items", "users"]
    assert len(fake.of_kind("dataset")) == 3 and len(fake.of_kind("dataset_import_job")) == 3
    assert len(fake.of_kind("solution")) == 2 and len(fake.of_kind("solution_version")) == 2
    # performAutoTraining is always sent, and false unless the params say otherwise.
    assert [r["performAutoTraining"] for r in fake.calls_of("CreateSolution")] == [False, False]
    by_name = {r["name"]: r for r in fake.calls_of("CreateSolution")}
    assert by_name["shop-personal"]["solutionConfig"] == {"eventValueThreshold": "0"}
    assert "solutionConfig" not in by_name["shop-popular"]
    (flt,) = fake.of_kind("filter")
    assert flt.fields["filterExpression"].startswith("EXCLUDE ItemID")
    (tracker,) = fake.of_kind("event_tracker")
    assert pipeline.parameter("/personalize-pipeline/local/shop/event-tracker-id") == tracker.fields["trackingId"]
    durations = json.loads(pipeline.parameter("/personalize-pipeline/local/shop/durations"))
    assert durations["solution_version"] == 600 and durations["dataset_import_job"] == 300
    # Every import points at the manifest's prefix for its dataset.
    locations = sorted(r["dataSource"]["dataLocation"] for r in fake.calls_of("CreateDatasetImportJob"))
    assert locations == [f"s3://personalize-data/personalize/exports/20260101T000000Z/{d}/" for d in ("interactions", "items", "users")]
    assert result.counts()["error_events"] == 0
    assert pipeline.recommend(campaign_arn, "u1", 5)
    # State payloads stay far below Step Functions' 256 KB limit.
    largest = max(len(json.dumps(event, default=str)) for event in result.history)
    assert largest < 64 * 1024, largest


def test_interactions_only(pipeline, tmp_path):
    params = full_params()
    params.pop("filters")
    params.pop("event_tracker")
    result = pipeline.run(params, make_export(tmp_path, datasets=("interactions",)))

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert [d.fields["datasetType"] for d in pipeline.fake.of_kind("dataset")] == ["INTERACTIONS"]
    assert len(pipeline.fake.of_kind("dataset_import_job")) == 1
    assert pipeline.fake.of_kind("event_tracker") == [] and pipeline.fake.of_kind("filter") == []
    assert len(result.success_notifications) == 1


def test_import_job_fails(pipeline, tmp_path):
    pipeline.fake.fail_next("dataset_import_job", "Input CSV is missing the column ITEM_ID")
    result = pipeline.run(full_params(), make_export(tmp_path))

    assert_failed_once(result, "CheckImports", "ResourceFailed", "dataset import job", "Input CSV is missing the column ITEM_ID")
    assert pipeline.fake.of_kind("solution") == []


def test_training_fails(pipeline, tmp_path):
    pipeline.fake.fail_next("solution_version", "Not enough interactions after filtering")
    result = pipeline.run(full_params(), make_export(tmp_path))

    assert_failed_once(result, "CheckSolutionVersions", "solution version", "Not enough interactions after filtering")
    assert pipeline.fake.of_kind("campaign") == []


def test_throttling_is_retried(pipeline, tmp_path):
    pipeline.fake.throttle("CreateDatasetGroup", 2)
    pipeline.fake.throttle("CreateSolution", 1, code="LimitExceededException")
    result = pipeline.run(full_params(), make_export(tmp_path))

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    failed = [e for e in result.history if e["type"] in ("LambdaFunctionFailed", "TaskFailed")]
    errors = sorted(e.get("lambdaFunctionFailedEventDetails", e.get("taskFailedEventDetails", {})).get("error") for e in failed)
    assert errors == ["LimitExceededException", "ThrottlingException", "ThrottlingException"]
    assert len(pipeline.fake.of_kind("dataset_group")) == 1
    assert len(pipeline.fake.of_kind("solution")) == 2
    assert len(result.success_notifications) == 1 and result.failure_notifications == []


def test_a_lambda_raises(pipeline, tmp_path):
    pipeline.fail_handler("quality_gate", RuntimeError("metrics store unreachable"))
    result = pipeline.run(full_params(), make_export(tmp_path))

    assert_failed_once(result, "QualityGate", "metrics store unreachable")
    assert pipeline.fake.of_kind("campaign") == []


def test_rerun_converges_without_duplicates(pipeline, tmp_path):
    export = make_export(tmp_path)
    first = pipeline.run(full_params(), export)
    assert first.status == "SUCCEEDED", (first.error, first.cause)
    after_first = creates(pipeline.fake)
    kinds = ("dataset_group", "schema", "dataset", "dataset_import_job", "solution", "solution_version", "campaign", "filter", "event_tracker")
    counts_first = {k: len(pipeline.fake.of_kind(k)) for k in kinds}

    # The same params version again (e.g. a replayed event): everything exists.
    again = pipeline.run(full_params(), export)
    assert again.status == "SUCCEEDED", (again.error, again.cause)
    assert creates(pipeline.fake) == after_first
    assert {k: len(pipeline.fake.of_kind(k)) for k in kinds} == counts_first

    # A new export: only the per-run resources are new; the campaign is updated.
    newer = pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z", seed=8))
    assert newer.status == "SUCCEEDED", (newer.error, newer.cause)
    counts_newer = {k: len(pipeline.fake.of_kind(k)) for k in kinds}
    assert counts_newer == {**counts_first, "dataset_import_job": 6, "solution_version": 4}
    assert len(pipeline.fake.calls_of("UpdateCampaign")) == 1
    summary = newer.success_notifications[0]["message"]
    assert pipeline.fake.describe(summary["campaigns"]["home"]["campaignArn"])["solutionVersionArn"] == summary["solutions"]["personal"]["solutionVersionArn"]
    # The previous run's durations size the waits: far fewer transitions.
    assert newer.counts()["state_transitions"] < first.counts()["state_transitions"]


@pytest.mark.parametrize("region, partition", [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_rerun_outside_the_aws_partition_finds_what_the_first_run_made(trainer, tmp_path, region, partition):
    """Describe-before-create looks resources up by the ARNs the plan names: in another
    partition they must name that partition, or a re-run finds nothing."""
    params = json.loads(json.dumps(full_params()).replace('"arn:aws:', f'"arn:{partition}:'))
    with LocalPipeline(durations=SCENARIO_DURATIONS, trainer=trainer, region=region) as local:
        export = make_export(tmp_path)
        first = local.run(params, export)
        assert first.status == "SUCCEEDED", (first.error, first.cause)
        arns = list(local.fake.resources)
        assert arns and all(arn.startswith(f"arn:{partition}:personalize:{region}:") for arn in arns)
        after_first = creates(local.fake)

        again = local.run(params, export)
        assert again.status == "SUCCEEDED", (again.error, again.cause)
        assert creates(local.fake) == after_first
        assert list(local.fake.resources) == arns


def test_gate_rejects_and_the_campaign_keeps_serving(pipeline, trainer, tmp_path):
    first = pipeline.run(full_params(), make_export(tmp_path))
    assert first.status == "SUCCEEDED", (first.error, first.cause)
    campaign_arn = first.success_notifications[0]["message"]["campaigns"]["home"]["campaignArn"]
    served = pipeline.fake.describe(campaign_arn)["solutionVersionArn"]

    # Above the threshold (0.05) but worse than the served 0.2 beyond the tolerance (0.01).
    trainer.metrics = {"*": metrics(precision_at_10=0.15)}
    second = pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z"))

    assert_failed_once(second, "QualityGate", "QualityGateRejected", "precision_at_10 0.1500 is worse than the served version's 0.2000")
    assert pipeline.fake.describe(campaign_arn)["solutionVersionArn"] == served
    assert pipeline.fake.calls_of("UpdateCampaign") == []


def test_invalid_params_fail_before_any_personalize_call(pipeline, tmp_path):
    params = full_params()
    params["solutions"][1]["solution_config"] = {"eventValueThreshold": "0", "hpoConfig": {"unknownKnob": 1}}
    result = pipeline.run(params, make_export(tmp_path))

    message = assert_failed_once(result, "ReadParams", "ParamsInvalid", "solutions.personal", "CreateSolution", "unknownKnob")
    assert message["error"] == "ParamsInvalid"
    assert pipeline.fake.calls == []


def test_schema_check_names_the_field(pipeline, tmp_path):
    params = full_params()
    params["campaigns"][0]["min_provisioned_tps"] = 0
    result = pipeline.run(params, make_export(tmp_path))

    assert_failed_once(result, "ReadParams", "campaigns[0].min_provisioned_tps", "at least 1")
    assert pipeline.fake.calls == []


def test_not_enough_data_fails_before_any_personalize_call(pipeline, tmp_path):
    result = pipeline.run(full_params(), make_export(tmp_path, interactions=400))

    assert_failed_once(result, "CheckDataReadiness", "TrainingDataNotReady", "not enough data", "min_interactions")
    assert pipeline.fake.calls == []


def test_interactions_schema_cannot_be_replaced(pipeline, tmp_path):
    first = pipeline.run(full_params(), make_export(tmp_path))
    assert first.status == "SUCCEEDED", (first.error, first.cause)
    changed = {
        "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema", "version": "1.0",
        "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"}, {"name": "TIMESTAMP", "type": "long"},
                   {"name": "EVENT_TYPE", "type": "string"}, {"name": "DEVICE", "type": ["null", "string"]}],
    }
    second = pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z", schemas={"interactions": changed}))

    assert_failed_once(second, "EnsureDatasets", "SchemaChangeNotAllowed", "interactions schema")
    assert pipeline.fake.calls_of("UpdateDataset") == []
    # The refused schema was not even created.
    assert len(pipeline.fake.calls_of("CreateSchema")) == 3


def test_items_schema_may_add_nullable_fields_and_full_exports_import_full(pipeline, tmp_path):
    params = {**full_params(), "solutions": [{"name": "popular", "recipe_arn": RECIPE_POPULARITY}],
              "campaigns": [{"name": "home", "solution": "popular"}]}
    first = pipeline.run(params, make_export(tmp_path))
    assert first.status == "SUCCEEDED", (first.error, first.cause)
    assert {r["importMode"] for r in pipeline.fake.calls_of("CreateDatasetImportJob")} == {"FULL"}

    wider_items = {
        "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema", "version": "1.0",
        "fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "CATEGORY", "type": "string", "categorical": True},
                   {"name": "BRAND", "type": ["null", "string"]}],
    }
    second = pipeline.run(params, make_export(tmp_path, run_id="20260102T000000Z", schemas={"items": wider_items}))
    assert second.status == "SUCCEEDED", (second.error, second.cause)
    (update,) = pipeline.fake.calls_of("UpdateDataset")
    assert update["datasetArn"].endswith("/ITEMS")
    # A FULL export (a manifest without export modes is one) is imported FULL again, never as an increment.
    assert [r["importMode"] for r in pipeline.fake.calls_of("CreateDatasetImportJob")][3:] == ["FULL"] * 3


def test_waits_are_sized_from_personalize_history_when_no_run_stored_durations(pipeline, trainer, tmp_path):
    params = full_params()
    params["quality_gate"]["thresholds"] = {"precision_at_10": 0.3}
    first = pipeline.run(params, make_export(tmp_path))
    assert_failed_once(first, "QualityGate", "below the threshold")
    # The rejected run never reached Finalize, so no durations were stored...
    assert pipeline.parameter("/personalize-pipeline/local/shop/durations") is None

    trainer.metrics = {"*": metrics(precision_at_10=0.4)}
    second = pipeline.run(params, make_export(tmp_path, run_id="20260102T000000Z", seed=8))
    assert second.status == "SUCCEEDED", (second.error, second.cause)
    # ...yet the second run sized its waits from the previous import jobs and
    # solution versions that Personalize describes.
    for check in ("CheckImports", "CheckSolutionVersions"):
        assert second.entered_states().count(check) < first.entered_states().count(check), check
        assert second.entered_states().count(check) <= 3, check


def test_a_wait_loop_past_its_limit_fails_naming_what_is_pending(pipeline, tmp_path):
    params = full_params()
    params["waits"] = {"solution_versions": {"first_seconds": 60, "max_seconds": 120, "limit_seconds": 300}}
    result = pipeline.run(params, make_export(tmp_path))

    assert_failed_once(result, "CheckSolutionVersions", "WaitTimedOut", "still not ready after", "limit 300 s", "solution version")
    assert pipeline.fake.of_kind("campaign") == []


def test_kms_key_update_training_and_an_export_root(pipeline, tmp_path):
    params = full_params()
    params["dataset_group"] = {"kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
    params["solutions"][1]["training_mode"] = "UPDATE"
    make_export(tmp_path, run_id="20260101T000000Z")
    (tmp_path / "exports" / "latest.json").write_text(json.dumps({"run_id": "20260101T000000Z"}))
    first = pipeline.run(params, tmp_path)
    assert first.status == "SUCCEEDED", (first.error, first.cause)
    (group,) = pipeline.fake.calls_of("CreateDatasetGroup")
    assert group["kmsKeyArn"] == params["dataset_group"]["kms_key_arn"]
    assert group["roleArn"] == pipeline.role_arn

    make_export(tmp_path, run_id="20260102T000000Z", seed=8)
    second = pipeline.run(params, tmp_path / "exports" / "20260102T000000Z")
    assert second.status == "SUCCEEDED", (second.error, second.cause)
    modes = sorted((r["name"], r["trainingMode"]) for r in pipeline.fake.calls_of("CreateSolutionVersion"))
    # UPDATE needs an active FULL version: the first run trained FULL, the second UPDATE.
    assert modes == [
        ("shop-personal-20260101T000000Z", "FULL"), ("shop-personal-20260102T000000Z", "UPDATE"),
        ("shop-popular-20260101T000000Z", "FULL"), ("shop-popular-20260102T000000Z", "FULL"),
    ]
