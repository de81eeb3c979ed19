"""The pipeline against the rules the local Personalize enforces as the service
does: schema replacement, stopped versions, solution and campaign updates, one
event tracker, quotas, per-solution readiness, tags, filters, one run at a time
and the gate's data-change figures."""
from __future__ import annotations

import copy
import threading

from .exports import INTERACTIONS_SCHEMA, ITEMS_SCHEMA, full_params, make_export, metrics
from .test_scenarios import assert_failed_once

RUN_ID_TAG = "personalize-pipeline:run-id"


def succeeded(result):
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


# ------------------------------------------------------------------ schemas
def test_a_cosmetic_schema_change_sends_no_update(pipeline, tmp_path):
    succeeded(pipeline.run(full_params(), make_export(tmp_path)))
    schemas_before = len(pipeline.fake.calls_of("CreateSchema"))
    reordered = copy.deepcopy(INTERACTIONS_SCHEMA)
    reordered["fields"].reverse()
    reordered["version"] = "2.0"
    items = copy.deepcopy(ITEMS_SCHEMA)
    items["fields"][1]["doc"] = "the product's category"
    succeeded(pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z", schemas={"interactions": reordered, "items": items})))
    assert pipeline.fake.calls_of("UpdateDataset") == []
    assert len(pipeline.fake.calls_of("CreateSchema")) == schemas_before


def test_an_attribute_change_is_refused_before_any_request(pipeline, tmp_path):
    succeeded(pipeline.run(full_params(), make_export(tmp_path)))
    items = copy.deepcopy(ITEMS_SCHEMA)
    del items["fields"][1]["categorical"]
    result = pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z", schemas={"items": items}))
    assert_failed_once(result, "EnsureDatasets", "SchemaChangeNotAllowed", "datasets.items", "attributes of fields ['CATEGORY']")
    assert pipeline.fake.calls_of("UpdateDataset") == []


def test_an_added_nullable_field_replaces_the_schema_and_the_run_waits_for_it(pipeline, tmp_path):
    succeeded(pipeline.run(full_params(), make_export(tmp_path)))
    items = copy.deepcopy(ITEMS_SCHEMA)
    items["fields"].append({"name": "BRAND", "type": ["null", "string"]})
    pipeline.fake.durations["dataset_update"] = 900
    result = succeeded(pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z", schemas={"items": items})))
    (update,) = pipeline.fake.calls_of("UpdateDataset")
    dataset = pipeline.fake.describe(update["datasetArn"])
    assert dataset["schemaArn"] == update["schemaArn"] and dataset["latestDatasetUpdate"]["status"] == "ACTIVE"
    # The datasets loop waited for the update (900 s) before importing.
    assert result.entered_states().count("CheckDatasets") > 1


def test_a_failed_schema_replacement_fails_the_run(pipeline, tmp_path):
    succeeded(pipeline.run(full_params(), make_export(tmp_path)))
    items = copy.deepcopy(ITEMS_SCHEMA)
    items["fields"].append({"name": "BRAND", "type": ["null", "string"]})
    pipeline.fake.fail_next("dataset_update", "internal error replacing the schema")
    result = pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z", schemas={"items": items}))
    assert_failed_once(result, "CheckDatasets", "ResourceFailed", "dataset/shop/ITEMS (items)", "its update failed: internal error replacing the schema")


# --------------------------------------------------------- stopped versions
def test_a_stopped_version_fails_at_once_and_a_rerun_trains_anew(pipeline, tmp_path):
    export = make_export(tmp_path)
    pipeline.fake.stop_next_version()
    first = pipeline.run(full_params(), export)
    assert_failed_once(first, "CheckSolutionVersions", "ResourceFailed", "was stopped (CREATE STOPP", "never become ACTIVE")
    assert first.simulated_seconds < 6 * 3600  # not the 48-hour wait limit
    succeeded(pipeline.run(full_params(), export))
    names = [r["name"] for r in pipeline.fake.calls_of("CreateSolutionVersion")]
    stopped = [n for n in names if names.count(n) == 1 and n.endswith("-r2")]
    assert len(stopped) == 1, names  # the stopped version was not reused


# -------------------------------------------------------- solution settings
def test_auto_training_changes_are_applied_with_update_solution(pipeline, tmp_path):
    export = make_export(tmp_path)
    succeeded(pipeline.run(full_params(), export))
    params = full_params()
    params["solutions"][0]["perform_auto_training"] = True
    params["solutions"][0]["solution_config"] = {"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}}
    succeeded(pipeline.run(params, export))
    (update,) = pipeline.fake.calls_of("UpdateSolution")
    assert update == {"solutionArn": update["solutionArn"], "performAutoTraining": True,
                      "solutionUpdateConfig": {"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}}}
    solution = pipeline.fake.describe(update["solutionArn"])
    assert solution["performAutoTraining"] is True and solution["latestSolutionUpdate"]["status"] == "ACTIVE"


def test_settings_update_solution_cannot_change_fail_naming_them(pipeline, tmp_path):
    export = make_export(tmp_path)
    succeeded(pipeline.run(full_params(), export))
    params = full_params()
    params["solutions"][1]["perform_hpo"] = True
    params["solutions"][1]["event_type"] = "purchase"
    result = pipeline.run(params, export)
    assert_failed_once(result, "EnsureSolutions", "ResourceConflict", "solutions.personal", "perform_hpo False -> True",
                       "event_type None -> 'purchase'", "rename the solution")
    assert pipeline.fake.calls_of("UpdateSolution") == []


def test_a_renamed_solution_stops_training_in_the_background(pipeline, tmp_path):
    params = full_params()
    params["solutions"][0]["perform_auto_training"] = True
    export = make_export(tmp_path)
    succeeded(pipeline.run(params, export))
    params["solutions"][0]["name"] = "popular-v2"
    succeeded(pipeline.run(params, export))
    old = pipeline.fake.describe("arn:aws:personalize:us-east-1:123456789012:solution/shop-popular")
    assert old["performAutoTraining"] is False
    assert [u["solutionArn"] for u in pipeline.fake.calls_of("UpdateSolution")] == [old["solutionArn"]]
    assert pipeline.fake.describe("arn:aws:personalize:us-east-1:123456789012:solution/shop-popular-v2")["performAutoTraining"] is True


# ------------------------------------------------------------ event tracker
def test_renaming_the_event_tracker_fails_clearly(pipeline, tmp_path):
    export = make_export(tmp_path)
    succeeded(pipeline.run(full_params(), export))
    params = full_params()
    params["event_tracker"] = {"name": "app"}
    result = pipeline.run(params, export)
    assert_failed_once(result, "EnsureFiltersAndEventTracker", "ResourceConflict", "event_tracker.name", "'shop-web'",
                       "one per dataset group", "Keep event_tracker.name 'web'")
    assert len(pipeline.fake.of_kind("event_tracker")) == 1


# ---------------------------------------------------------------- campaigns
def test_a_campaign_config_change_alone_updates_the_campaign(pipeline, tmp_path):
    export = make_export(tmp_path)
    first = succeeded(pipeline.run(full_params(), export))
    params = full_params()
    params["campaigns"][0]["campaign_config"] = {"enableMetadataWithRecommendations": True}
    succeeded(pipeline.run(params, export))
    (update,) = pipeline.fake.calls_of("UpdateCampaign")
    assert update["campaignConfig"] == {"enableMetadataWithRecommendations": True}
    campaign = pipeline.fake.describe(first.summary["campaigns"]["home"]["campaignArn"])
    assert campaign["campaignConfig"] == {"enableMetadataWithRecommendations": True}
    assert campaign["status"] == "ACTIVE" and campaign["latestCampaignUpdate"]["status"] == "ACTIVE"


def test_a_failed_campaign_update_fails_the_run_and_the_campaign_keeps_serving(pipeline, tmp_path):
    first = succeeded(pipeline.run(full_params(), make_export(tmp_path)))
    campaign_arn = first.summary["campaigns"]["home"]["campaignArn"]
    served = pipeline.fake.describe(campaign_arn)["solutionVersionArn"]
    pipeline.fake.fail_next("campaign_update", "could not provision the endpoint")
    result = pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z", seed=8))
    assert_failed_once(result, "CheckCampaigns", "ResourceFailed", "its update failed: could not provision the endpoint")
    assert pipeline.fake.describe(campaign_arn)["solutionVersionArn"] == served


def test_an_update_still_running_from_elsewhere_is_waited_for(pipeline, tmp_path):
    first = succeeded(pipeline.run(full_params(), make_export(tmp_path)))
    campaign_arn = first.summary["campaigns"]["home"]["campaignArn"]
    # Someone raised the TPS by hand; that update runs for 2.5 hours.
    pipeline.fake.durations["campaign_update"] = 9000
    pipeline.fake.client().update_campaign(campaignArn=campaign_arn, minProvisionedTPS=5)
    pipeline.fake.durations["campaign_update"] = 300
    result = succeeded(pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z", seed=8)))
    campaign = pipeline.fake.describe(campaign_arn)
    assert campaign["solutionVersionArn"] == result.summary["solutions"]["personal"]["solutionVersionArn"]
    assert campaign["minProvisionedTPS"] == 2
    assert result.counts()["error_events"] == 0


# ------------------------------------------------------------------- quotas
def test_imports_wait_for_a_free_import_slot(pipeline, tmp_path):
    # Four imports of another dataset group hold four of the five pending slots.
    client = pipeline.fake.client()
    other = client.create_dataset_group(name="other")["datasetGroupArn"]
    pipeline.fake.clock.advance(60)
    schema = client.create_schema(name="other", schema='{"type":"record","name":"Interactions","fields":[]}')["schemaArn"]
    dataset = client.create_dataset(name="other", schemaArn=schema, datasetGroupArn=other, datasetType="Interactions")["datasetArn"]
    pipeline.fake.clock.advance(60)
    pipeline.fake.durations["dataset_import_job"] = 2000
    for i in range(4):
        client.create_dataset_import_job(jobName=f"other-{i}", datasetArn=dataset, dataSource={"dataLocation": f"{pipeline.export_root}/exports/other/"})
    pipeline.fake.durations["dataset_import_job"] = 300
    result = succeeded(pipeline.run(full_params(), make_export(tmp_path)))
    refused = [c for c in pipeline.fake.calls_of("CreateDatasetImportJob") if c["jobName"].startswith("shop")]
    assert len(refused) > 3  # two imports were refused for a while, then sent by the wait loop
    assert result.counts()["error_events"] == 0
    assert len([j for j in pipeline.fake.of_kind("dataset_import_job") if j.fields["jobName"].startswith("shop")]) == 3


def test_a_hard_quota_fails_at_once_naming_it(pipeline, tmp_path):
    params = full_params()
    params["filters"] = [{"name": f"f{i}", "expression": 'EXCLUDE ItemID WHERE Items.CATEGORY IN ("cat1")'} for i in range(11)]
    result = pipeline.run(params, make_export(tmp_path))
    assert_failed_once(result, "EnsureFiltersAndEventTracker", "QuotaExceeded", "maximum number of filters per dataset group (10)")
    failures = [e for e in result.history if e["type"] in ("LambdaFunctionFailed", "TaskFailed")]
    assert len(failures) == 1  # not retried


# ---------------------------------------------------------------- readiness
def test_readiness_counts_each_solutions_events(pipeline, tmp_path):
    params = full_params()
    params["solutions"][0]["event_type"] = "click"
    result = pipeline.run(params, make_export(tmp_path))
    assert_failed_once(result, "CheckDataReadiness", "TrainingDataNotReady", "solutions.popular: 0 of 1200 interactions",
                       "event_type 'click'", "at least 1000")
    assert pipeline.fake.calls == []


# --------------------------------------------------------------------- tags
def test_every_taggable_resource_carries_the_params_tags_and_the_run_id(pipeline, tmp_path):
    params = full_params()
    params["tags"] = {"team": "recs"}
    succeeded(pipeline.run(params, make_export(tmp_path)))
    fake = pipeline.fake
    taggable = [r for r in fake.resources.values() if r.kind != "schema"]
    assert {r.kind for r in taggable} == {"dataset_group", "dataset", "dataset_import_job", "solution", "solution_version",
                                         "campaign", "filter", "event_tracker"}
    for res in taggable:
        assert fake.tags.get(res.arn) == {"team": "recs", RUN_ID_TAG: "20260101T000000Z"}, res.arn


# ------------------------------------------------------------------ filters
def test_a_filter_syntax_error_fails_at_read_params(pipeline, tmp_path):
    params = full_params()
    params["filters"][0]["expression"] = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN "purchase"'
    result = pipeline.run(params, make_export(tmp_path))
    assert_failed_once(result, "ReadParams", "ParamsInvalid", "filters[0].expression", "( after IN")
    assert pipeline.fake.calls == []


# -------------------------------------------------------------- concurrency
def test_a_second_run_on_the_same_dataset_group_fails_at_once(pipeline, tmp_path):
    from personalize_pipeline import handlers

    release, entered = threading.Event(), threading.Event()

    def held_readiness(event, context):
        entered.set()
        # Released once the second run has ended; the timeout is only a backstop, long
        # enough that a slow machine does not let the first run finish during the second.
        release.wait(600)
        return handlers.check_readiness(event, context)

    pipeline.register_function("check_readiness", held_readiness)
    export = make_export(tmp_path)
    manifest_uri, run_id = pipeline.upload_export(export)
    params = {**full_params(), "export": {"manifest_uri": manifest_uri, "run_id": run_id}}
    key, version = pipeline.put_params(params)
    first = pipeline.sfn.start_execution(stateMachineArn=pipeline.state_machine_arn, name="first",
                                         input=__import__("json").dumps(pipeline.object_created_event(key, version)))["executionArn"]
    assert entered.wait(60)
    pipeline.register_function("check_readiness", handlers.check_readiness)
    try:
        second = pipeline.run(params)
    finally:
        release.set()
    assert_failed_once(second, "ReadParams", "ConcurrentRun", "execution first", "one run at a time")
    import time

    deadline = time.monotonic() + 120
    while pipeline.sfn.describe_execution(executionArn=first)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pipeline.sfn.describe_execution(executionArn=first)["status"] == "SUCCEEDED"


# --------------------------------------------------------------------- gate
def test_the_gate_says_how_much_the_data_changed(pipeline, trainer, tmp_path):
    succeeded(pipeline.run(full_params(), make_export(tmp_path)))
    trainer.metrics = {"*": metrics(precision_at_10=0.15)}
    result = pipeline.run(full_params(), make_export(tmp_path, run_id="20260102T000000Z", interactions=1500))
    assert_failed_once(result, "QualityGate", "QualityGateRejected", "worse than the served version",
                       "trained on export 20260101T000000Z vs 20260102T000000Z", "interactions 1200 -> 1500 (+25.0%)")
    trainer.metrics = {"*": metrics(precision_at_10=0.2)}
    passed = succeeded(pipeline.run(full_params(), make_export(tmp_path, run_id="20260103T000000Z", interactions=1500)))
    (verdict,) = passed.summary["gate"]
    assert verdict["dataChange"]["rows"]["interactions"] == {"served": 1200, "new": 1500, "changePercent": 25.0}


# ------------------------------------------------- refused before any call
def test_update_training_on_a_recipe_that_has_none_fails_at_read_params(pipeline, tmp_path):
    params = full_params()
    params["solutions"][1].update(recipe_arn="arn:aws:personalize:::recipe/aws-user-personalization-v2", training_mode="UPDATE")
    result = pipeline.run(params, make_export(tmp_path))
    assert_failed_once(result, "ReadParams", "ParamsInvalid", "solutions[1].training_mode", "User-Personalization-v2")
    assert pipeline.fake.calls == []


def test_sync_with_latest_solution_version_fails_at_read_params(pipeline, tmp_path):
    params = full_params()
    params["campaigns"][0]["campaign_config"] = {"syncWithLatestSolutionVersion": True}
    result = pipeline.run(params, make_export(tmp_path))
    assert_failed_once(result, "ReadParams", "ParamsInvalid", "campaigns[0].campaign_config.syncWithLatestSolutionVersion")
    assert pipeline.fake.calls == []
