"""The daily cycle end to end: a FULL export, then INCREMENTAL deltas on its
chain, through the real state machine and the fake Personalize."""
from __future__ import annotations

import json

from .exports import RECIPE_POPULARITY, RECIPE_USER_PERSONALIZATION, full_params, make_delta, make_export, mark_full
from .test_scenarios import assert_failed_once

BASE = "20260101T000000Z"
DAY2 = "20260102T000000Z"
DAY3 = "20260103T000000Z"
DAY4 = "20260104T000000Z"


def succeeded(result):
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def daily_params(**extra) -> dict:
    params = full_params()
    params["solutions"] = [
        {"name": "popular", "recipe_arn": RECIPE_POPULARITY, "training_mode": "follow_import"},
        {"name": "personal", "recipe_arn": RECIPE_USER_PERSONALIZATION, "training_mode": "follow_import",
         "solution_config": {"eventValueThreshold": "0"}},
    ]
    return {**params, **extra}


def import_modes(fake) -> list[tuple[str, str]]:
    return [(r["datasetArn"].rsplit("/", 1)[-1], r["importMode"]) for r in fake.calls_of("CreateDatasetImportJob")]


def readiness_verdict(result) -> dict:
    exited = next(e for e in result.history if e.get("stateExitedEventDetails", {}).get("name") == "CheckDataReadiness")
    return json.loads(exited["stateExitedEventDetails"]["output"])["readiness"]


def interaction_rows(fake) -> list[dict]:
    (group,) = fake.of_kind("dataset_group")
    return list(fake.dataset_content(group.arn, "INTERACTIONS").records.values())


def test_full_then_incremental_imports_follow_the_export_and_training_follows_the_import(pipeline, trainer, tmp_path):
    base = mark_full(make_export(tmp_path, run_id=BASE))
    succeeded(pipeline.run(daily_params(), base))
    assert sorted(import_modes(pipeline.fake)) == [("INTERACTIONS", "FULL"), ("ITEMS", "FULL"), ("USERS", "FULL")]

    delta = make_delta(tmp_path, DAY2, BASE, interactions=1100, overlap=50, item_updates=("i1", "i2"), user_updates=("u1",))
    second = succeeded(pipeline.run(daily_params(), delta))

    assert sorted(import_modes(pipeline.fake)[3:]) == [("INTERACTIONS", "INCREMENTAL"), ("ITEMS", "INCREMENTAL"), ("USERS", "INCREMENTAL")]
    # Each import read only the delta's folder.
    locations = sorted(r["dataSource"]["dataLocation"] for r in pipeline.fake.calls_of("CreateDatasetImportJob")[3:])
    assert locations == [f"s3://personalize-data/personalize/exports/{DAY2}/{d}/" for d in ("interactions", "items", "users")]
    # The dataset holds the base plus the delta, the 50 rows read again kept once.
    assert len(interaction_rows(pipeline.fake)) == 1200 + 1100
    (group,) = pipeline.fake.of_kind("dataset_group")
    items = pipeline.fake.dataset_content(group.arn, "ITEMS").records
    assert len(items) == 40 and items["i1"]["CATEGORY"] == "updated" and items["i3"]["CATEGORY"] == "cat3"
    # The second training saw 2300 interactions, not the 1200 + 1150 a concatenation would give.
    assert [rows for _, _, rows in trainer.calls[2:]] == [2300, 2300]
    modes = {r["name"]: r["trainingMode"] for r in pipeline.fake.calls_of("CreateSolutionVersion")}
    assert modes == {
        f"shop-popular-{BASE}": "FULL", f"shop-personal-{BASE}": "FULL",
        # UPDATE only where the recipe allows it (User-Personalization).
        f"shop-popular-{DAY2}": "FULL", f"shop-personal-{DAY2}": "UPDATE",
    }
    assert second.summary["imports"] == {k: {"importMode": "INCREMENTAL", "jobs": 1} for k in ("interactions", "items", "users")}


def test_a_carried_delta_is_not_imported_and_the_run_says_so(pipeline, tmp_path):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    delta = make_delta(tmp_path, DAY2, BASE, interactions=300, overlap=0, carried=("interactions",))
    result = succeeded(pipeline.run(daily_params(), delta))

    assert sorted(import_modes(pipeline.fake)[3:]) == [("ITEMS", "INCREMENTAL"), ("USERS", "INCREMENTAL")]
    carried = result.summary["imports"]["interactions"]
    assert carried["importMode"] == "SKIPPED" and carried["carried"] is True and "under Personalize's minimum" in carried["reason"]
    # The SNS success notice carries it.
    assert result.success_notifications[0]["message"]["imports"]["interactions"]["carried"] is True
    assert len(interaction_rows(pipeline.fake)) == 1200
    # Nothing new was imported into interactions, and items changed: training follows as FULL for popularity.
    versions = {r["name"]: r["trainingMode"] for r in pipeline.fake.calls_of("CreateSolutionVersion")}
    assert versions[f"shop-personal-{DAY2}"] == "UPDATE" and versions[f"shop-popular-{DAY2}"] == "FULL"

    # The next delta holds the carried rows again (the watermark stayed) and imports them.
    day3 = make_delta(tmp_path, DAY3, DAY2, interactions=1300, overlap=0, seed=12)
    succeeded(pipeline.run(daily_params(), day3))
    assert len(interaction_rows(pipeline.fake)) == 1200 + 1300


def test_a_quiet_day_that_imports_nothing_trains_full_not_update(pipeline, tmp_path):
    """Every delta carried: an UPDATE would have no changed data, which Personalize refuses."""
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    quiet = make_delta(tmp_path, DAY2, BASE, interactions=300, overlap=0, carried=("interactions", "items", "users"))
    result = succeeded(pipeline.run(daily_params(), quiet))
    assert import_modes(pipeline.fake)[3:] == []
    assert {k: v["importMode"] for k, v in result.summary["imports"].items()} == {
        "interactions": "SKIPPED", "items": "SKIPPED", "users": "SKIPPED"}
    versions = {r["name"]: r["trainingMode"] for r in pipeline.fake.calls_of("CreateSolutionVersion")}
    assert versions[f"shop-personal-{DAY2}"] == "FULL" and versions[f"shop-popular-{DAY2}"] == "FULL"


def test_an_incremental_export_without_a_full_import_fails_at_read_params(pipeline, tmp_path):
    mark_full(make_export(tmp_path, run_id=BASE))
    delta = make_delta(tmp_path, DAY2, BASE)
    result = pipeline.run(daily_params(), delta)

    message = assert_failed_once(result, "ReadParams", "ImportBaseMissing", "datasets.interactions",
                                 "no ACTIVE FULL import", "--mode FULL", "run property export_requested=FULL")
    assert message["error"] == "ImportBaseMissing"
    assert [op for op, _ in pipeline.fake.calls if not op.startswith(("List", "Describe"))] == []


def test_full_only_refuses_an_incremental_export(pipeline, tmp_path):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    calls_before = len(pipeline.fake.calls)
    result = pipeline.run(daily_params(import_mode="full_only"), make_delta(tmp_path, DAY2, BASE))

    assert_failed_once(result, "ReadParams", "ParamsInvalid", "import_mode: 'full_only'", "INCREMENTAL", "--mode FULL")
    assert pipeline.fake.calls[calls_before:] == []


def test_readiness_counts_the_chain_not_the_delta(pipeline, tmp_path):
    params = daily_params(readiness={"min_interactions": 2000})
    # The base alone (1200) is below 2000: refused.
    first = pipeline.run(params, mark_full(make_export(tmp_path, run_id=BASE)))
    assert_failed_once(first, "CheckDataReadiness", "TrainingDataNotReady", "1200 rows, at least 2000")
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))

    # A 1,100-row delta on it: the dataset will hold 2,300 rows, so it passes.
    result = succeeded(pipeline.run(params, make_delta(tmp_path, DAY2, BASE, interactions=1100, overlap=0)))
    assert readiness_verdict(result)["rows"]["interactions"] == 2300


def test_per_solution_readiness_reads_the_base_and_every_imported_delta(pipeline, tmp_path):
    params = daily_params()
    params["solutions"] = [{"name": "clicks", "recipe_arn": RECIPE_POPULARITY, "event_type": "click"}]
    params["campaigns"] = []
    params.pop("quality_gate")
    base = mark_full(make_export(tmp_path, run_id=BASE, interactions=1400, event_types=("click", "purchase")))  # 700 clicks
    first = pipeline.run(params, base)
    assert_failed_once(first, "CheckDataReadiness", "700 of 1400 interactions are left after its event_type 'click'")
    # Import the base under a solution that trains on everything; the delta's 500 clicks alone would not do, but
    # the dataset then holds 1,200.
    succeeded(pipeline.run(daily_params(), base))
    delta = make_delta(tmp_path, DAY2, BASE, interactions=1000, overlap=0, event_types=("click", "purchase"))
    result = pipeline.run(params, delta)
    succeeded(result)
    assert readiness_verdict(result)["perSolution"] == {"clicks": 1200}


def test_vanished_users_are_deleted_before_training_when_the_params_opt_in(pipeline, trainer, tmp_path):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    gone = ("u3", "u4")
    delta = make_delta(tmp_path, DAY2, BASE, overlap=0, vanished=gone)

    # Without the opt-in nothing is deleted.
    succeeded(pipeline.run(daily_params(), delta))
    assert pipeline.fake.calls_of("CreateDataDeletionJob") == []
    assert any(r["USER_ID"] in gone for r in interaction_rows(pipeline.fake))

    day3 = make_delta(tmp_path, DAY3, DAY2, overlap=0, seed=13, vanished=gone)
    result = succeeded(pipeline.run(daily_params(delete_vanished_users=True), day3))
    (request,) = pipeline.fake.calls_of("CreateDataDeletionJob")
    assert request["dataSource"]["dataLocation"] == f"s3://personalize-data/personalize/exports/{DAY3}/vanished_users.csv"
    assert request["roleArn"] == pipeline.role_arn
    (job,) = pipeline.fake.of_kind("data_deletion_job")
    described = pipeline.fake.client().describe_data_deletion_job(dataDeletionJobArn=job.arn)["dataDeletionJob"]
    assert described["status"] == "COMPLETED"
    assert not any(r["USER_ID"] in gone for r in interaction_rows(pipeline.fake))
    (group,) = pipeline.fake.of_kind("dataset_group")
    assert not set(gone) & set(pipeline.fake.dataset_content(group.arn, "USERS").records)
    # Training started only once the deletion had COMPLETED, and trained FULL.
    versions = [v for v in pipeline.fake.of_kind("solution_version") if v.fields["name"].endswith(DAY3)]
    assert versions and all(v.created_at >= job.ready_at for v in versions)
    assert {v.fields["trainingMode"] for v in versions} == {"FULL"}
    assert result.summary["dataDeletion"]["users"] == 2
    states = result.entered_states()
    assert states.index("CheckDataDeletion") < states.index("EnsureSolutions")

    # Replaying the same params version creates no second deletion job.
    again = pipeline.run(daily_params(delete_vanished_users=True), day3)
    succeeded(again)
    assert len(pipeline.fake.calls_of("CreateDataDeletionJob")) == 1


def test_a_failed_data_deletion_fails_the_run_before_training(pipeline, tmp_path):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    pipeline.fake.fail_next("data_deletion_job", "Access denied reading the input file")
    result = pipeline.run(daily_params(delete_vanished_users=True), make_delta(tmp_path, DAY2, BASE, vanished=("u5",)))

    assert_failed_once(result, "CheckDataDeletion", "ResourceFailed", "data deletion job", "Access denied reading the input file")
    assert not any(v.fields["name"].endswith(DAY2) for v in pipeline.fake.of_kind("solution_version"))


def import_calls(fake) -> int:
    return len(fake.calls_of("CreateDatasetImportJob"))


def test_a_delta_whose_run_never_imported_is_refused_until_that_run_is_trained(pipeline, tmp_path):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    day2 = make_delta(tmp_path, DAY2, BASE, interactions=1100, overlap=0)
    for _ in ("interactions", "items", "users"):  # every import of the run fails, whichever starts first
        pipeline.fake.fail_next("dataset_import_job", "simulated import failure")
    assert pipeline.run(daily_params(), day2).status == "FAILED"
    failed = [j.fields["jobName"] for j in pipeline.fake.of_kind("dataset_import_job") if j.failure_reason]
    assert sorted(failed) == [f"shop-{d}-{DAY2}" for d in ("interactions", "items", "users")]

    # The export has moved on: DAY3's delta starts at DAY2's watermark, so on its own it would lose DAY2's rows.
    day3 = make_delta(tmp_path, DAY3, DAY2, interactions=1300, overlap=0, seed=12)
    imports_before = import_calls(pipeline.fake)
    refused = pipeline.run(daily_params(), day3)
    assert_failed_once(refused, "ReadParams", "ImportBaseMissing", f"this delta builds on {DAY2}, which the dataset",
                       "train that run (write the params of each export again), then this one",
                       f"{DAY2}'s import failed (", "simulated import failure", "run a FULL export first")
    assert import_calls(pipeline.fake) == imports_before
    # Every run missing from the chain is named, oldest first.
    day4 = make_delta(tmp_path, DAY4, DAY3, interactions=1000, overlap=0, seed=14)
    assert_failed_once(pipeline.run(daily_params(), day4), "ReadParams", "ImportBaseMissing",
                       f"this delta builds on {DAY2}, {DAY3}, which", "train those runs, oldest first")

    # Training DAY2, DAY3 and DAY4 in turn leaves every row of the chain in the dataset.
    for run in (day2, day3, day4):
        succeeded(pipeline.run(daily_params(), run))
    assert len(interaction_rows(pipeline.fake)) == 1200 + 1100 + 1300 + 1000


def test_a_delta_on_a_base_that_was_never_imported_is_refused(pipeline, tmp_path):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    # A new base (a spec change, full_every) whose training failed before its imports were ACTIVE.
    new_base = mark_full(make_export(tmp_path, run_id=DAY2, interactions=1500, seed=9))
    pipeline.fake.fail_next("dataset_import_job", "simulated import failure")
    assert pipeline.run(daily_params(), new_base).status == "FAILED"

    result = pipeline.run(daily_params(), make_delta(tmp_path, DAY3, DAY2, overlap=0))
    # Added to the older base, the delta would mix two chains.
    assert_failed_once(result, "ReadParams", "ImportBaseMissing", f"builds on {DAY2} (the chain's base FULL export)")


def test_an_export_older_than_one_the_dataset_holds_is_refused(pipeline, tmp_path):
    old = mark_full(make_export(tmp_path, run_id=BASE))
    pipeline.fake.fail_next("dataset_import_job", "simulated import failure")
    assert pipeline.run(daily_params(), old).status == "FAILED"
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=DAY2, seed=9))))
    imports_before = import_calls(pipeline.fake)

    # Replaying the old run's params would import its failed dataset again, over the newer export.
    replay = pipeline.run(daily_params(), old)
    assert_failed_once(replay, "ReadParams", "ExportSuperseded", f"already holds the newer export(s) {DAY2}",
                       f"importing this export ({BASE}) would replace newer records with older ones")
    assert import_calls(pipeline.fake) == imports_before


def test_follow_import_trains_full_again_a_week_after_the_last_full_training(pipeline, tmp_path):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    succeeded(pipeline.run(daily_params(), make_delta(tmp_path, DAY2, BASE, overlap=0)))
    week_later = "20260109T000000Z"
    succeeded(pipeline.run(daily_params(), make_delta(tmp_path, week_later, DAY2, overlap=0, seed=13)))

    modes = {r["name"]: r["trainingMode"] for r in pipeline.fake.calls_of("CreateSolutionVersion")}
    # UPDATE "is not a full retraining. You should still complete a full retraining weekly".
    assert modes[f"shop-personal-{DAY2}"] == "UPDATE"
    assert modes[f"shop-personal-{week_later}"] == "FULL"


def test_replaying_a_run_the_dataset_already_holds_is_not_refused_for_a_newer_export(pipeline, tmp_path):
    base = mark_full(make_export(tmp_path, run_id=BASE))
    succeeded(pipeline.run(daily_params(), base))
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=DAY2, seed=9))))
    imports_before = import_calls(pipeline.fake)
    # Its imports are ACTIVE already: the replay imports nothing, so it replaces nothing newer.
    succeeded(pipeline.run(daily_params(), base))
    assert import_calls(pipeline.fake) == imports_before
