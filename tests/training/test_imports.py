"""Unit tests of the import plan (personalize_pipeline.imports) and of readiness
over an export chain."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest
from moto import mock_aws

from personalize_pipeline import api_requests, clients, deletion, imports, params
from personalize_pipeline.errors import ParamsInvalid, TrainingDataNotReady
from personalize_pipeline.readiness import check_readiness

from .exports import INTERACTIONS_SCHEMA, ITEMS_SCHEMA, RECIPE_POPULARITY, RECIPE_USER_PERSONALIZATION, USERS_SCHEMA, full_params

MANIFEST_URI = "s3://incr-data/personalize/exports/r2/manifest.json"
# The users dataset beside a manifest's vanished users (the export's users job writes both):
# the base r1 imported 60 users, this delta updates one.
USERS_DELTA = {"prefix": "users/", "rows": 1, "mode": "INCREMENTAL", "carried": False, "chain_rows": 61, "chain": [
    {"run_id": "r1", "mode": "FULL", "prefix": "../r1/users/", "rows": 60, "carried": False},
    {"run_id": "r2", "mode": "INCREMENTAL", "prefix": "users/", "rows": 1, "carried": False}]}


@pytest.fixture(autouse=True)
def vanished_users_file(monkeypatch):
    """plan_for's manifests name vanished_users.csv with no S3 object behind it: the
    deletion's HEAD (deletion.check_input) sees a small file."""
    monkeypatch.setattr(deletion, "input_bytes", lambda uri: 64)


def plan_for(p: dict, datasets: dict, vanished: dict | None = None) -> dict:
    normalised = params.parse_params({**p, "export": {"manifest_uri": MANIFEST_URI, "run_id": "r2"}})
    schemas = {"interactions": json.dumps(INTERACTIONS_SCHEMA), "items": json.dumps(ITEMS_SCHEMA), "users": json.dumps(USERS_SCHEMA)}
    if vanished and vanished.get("count"):
        datasets = {**datasets, "users": USERS_DELTA}
    manifest = {"datasets": datasets, "vanished_users": vanished}
    return params.build_plan(normalised, manifest, MANIFEST_URI, schemas, "aws", "eu-west-1", "111122223333", {}, "/pp")


def delta(rows: int = 1500, **extra) -> dict:
    return {"prefix": "interactions/", "rows": rows, "mode": "INCREMENTAL", "carried": False, **extra}


def test_each_dataset_takes_its_export_mode():
    plan = plan_for(full_params(), {"interactions": delta(), "items": {"prefix": "items/", "rows": 5, "mode": "FULL"}})
    assert {d["key"]: d["importMode"] for d in plan["datasets"]} == {"interactions": "INCREMENTAL", "items": "FULL"}
    # A manifest written before incremental exports holds full exports.
    legacy = plan_for(full_params(), {"interactions": {"prefix": "interactions/", "rows": 1500}})
    assert legacy["datasets"][0]["importMode"] == "FULL"


def test_full_only_refuses_an_incremental_dataset_naming_what_to_run():
    with pytest.raises(ParamsInvalid) as info:
        plan_for({**full_params(), "import_mode": "full_only"}, {"interactions": delta()})
    assert str(info.value).startswith("import_mode: 'full_only' imports FULL exports only, and datasets.interactions")
    assert "--mode FULL" in str(info.value) and "run property export_requested=FULL" in str(info.value)


def test_a_small_delta_must_be_carried():
    plan = plan_for(full_params(), {"interactions": delta(rows=300, carried=True, carried_reason="300 rows, under 1000")})
    assert plan["datasets"][0]["carried"] is True and plan["datasets"][0]["carriedReason"] == "300 rows, under 1000"
    with pytest.raises(ParamsInvalid, match=r"datasets.interactions holds 999 new rows \(999 in all\), under Personalize's "
                                             r"minimum of 1000 new interaction records per import job.*export again"):
        plan_for(full_params(), {"interactions": delta(rows=999)})
    # Personalize counts new records: the rows read again under the allowance are not.
    with pytest.raises(ParamsInvalid, match=r"holds 950 new rows \(1500 in all\)"):
        plan_for(full_params(), {"interactions": delta(rows=1500, new_rows=950)})
    assert plan_for(full_params(), {"interactions": delta(rows=1500, new_rows=1000)})["datasets"][0]["carried"] is False
    # A carried delta without a reason is described for its own dataset.
    carried_items = plan_for(full_params(), {"interactions": delta(), "items": {
        "prefix": "items/", "rows": 0, "mode": "INCREMENTAL", "carried": True}})
    assert carried_items["datasets"][1]["carriedReason"] == "the delta has no record to import"
    # Items and users deltas have no record minimum.
    small_items = plan_for(full_params(), {"interactions": delta(), "items": {"prefix": "items/", "rows": 2, "mode": "INCREMENTAL"}})
    assert small_items["datasets"][1]["carried"] is False


@pytest.mark.parametrize("recipe, modes, deleting, expected", [
    (RECIPE_USER_PERSONALIZATION, ("INCREMENTAL", "INCREMENTAL"), False, "UPDATE"),
    (RECIPE_USER_PERSONALIZATION, ("INCREMENTAL", "FULL"), False, "FULL"),
    (RECIPE_USER_PERSONALIZATION, ("INCREMENTAL", "INCREMENTAL"), True, "FULL"),
    (RECIPE_POPULARITY, ("INCREMENTAL", "INCREMENTAL"), False, "FULL"),
    ("arn:aws:personalize:::recipe/aws-user-personalization-v2", ("INCREMENTAL", "INCREMENTAL"), False, "FULL"),
])
def test_training_mode_follows_the_imports_where_the_recipe_allows_update(recipe, modes, deleting, expected):
    p = {**full_params(), "delete_vanished_users": True}
    p["solutions"] = [{"name": "s", "recipe_arn": recipe, "training_mode": "follow_import"}]
    p["campaigns"] = []
    vanished = {"count": 2, "file": "vanished_users.csv", "since_run_id": "r1"} if deleting else {"count": 0, "file": None}
    plan = plan_for(p, {"interactions": delta(), "items": {"prefix": "items/", "rows": 5, "mode": modes[1]}}, vanished)
    assert plan["datasets"][0]["importMode"] == modes[0]
    assert (plan["dataDeletion"] is not None) == deleting
    assert plan["solutions"][0]["trainingMode"] == expected
    assert api_requests.validate_all(plan, "arn:aws:iam::111122223333:role/p") > 0


def test_a_run_that_imports_nothing_trains_full_not_update():
    """Every delta carried: no data changed for an UPDATE to process."""
    p = {**full_params()}
    p["solutions"] = [{"name": "s", "recipe_arn": RECIPE_USER_PERSONALIZATION, "training_mode": "follow_import"}]
    p["campaigns"] = []
    carried = delta(rows=300, new_rows=300, carried=True, carried_reason="below the minimum")
    items = {"prefix": "items/", "rows": 0, "mode": "INCREMENTAL", "carried": True, "carried_reason": "no change"}
    plan = plan_for(p, {"interactions": carried, "items": items})
    assert all(d.get("carried") for d in plan["datasets"])
    assert plan["solutions"][0]["trainingMode"] == "FULL"
    # One dataset imported INCREMENTAL, the other carried: UPDATE.
    assert plan_for(p, {"interactions": delta(), "items": items})["solutions"][0]["trainingMode"] == "UPDATE"


def test_an_explicit_update_trains_full_in_a_run_that_deletes_users():
    p = {**full_params(), "delete_vanished_users": True}
    p["solutions"] = [{"name": "s", "recipe_arn": RECIPE_USER_PERSONALIZATION, "training_mode": "UPDATE"}]
    p["campaigns"] = []
    plan = plan_for(p, {"interactions": delta()}, {"count": 2, "file": "vanished_users.csv", "since_run_id": "r1"})
    assert plan["solutions"][0]["trainingMode"] == "FULL"
    assert plan_for(p, {"interactions": delta()})["solutions"][0]["trainingMode"] == "UPDATE"


def test_an_oversized_delta_is_imported_one_job_per_file(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="incr-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for name, size in (("part-00000.csv", 600), ("part-00001.csv", 700), ("_SUCCESS", 0)):
            s3.put_object(Bucket="incr-data", Key=f"personalize/exports/r2/interactions/{name}", Body=b"x" * size)
        clients.set_client_factory(lambda service: boto3.client(service, region_name="eu-west-1"))
        try:
            monkeypatch.setattr(imports, "MAX_BYTES", {"FULL": 10_000, "INCREMENTAL": 1000})
            plan = plan_for(full_params(), {"interactions": delta()})
            imports.split_oversized(plan, {"interactions": 1300})
            assert plan["datasets"][0]["dataParts"] == [
                "s3://incr-data/personalize/exports/r2/interactions/part-00000.csv",
                "s3://incr-data/personalize/exports/r2/interactions/part-00001.csv",
            ]
            # Under the limit: one job over the folder.
            small = plan_for(full_params(), {"interactions": delta()})
            imports.split_oversized(small, {"interactions": 1000})
            assert "dataParts" not in small["datasets"][0]
            # A single file over the limit cannot be imported INCREMENTAL at all.
            monkeypatch.setattr(imports, "MAX_BYTES", {"FULL": 10_000, "INCREMENTAL": 650})
            with pytest.raises(ParamsInvalid, match=r"datasets.interactions file s3://incr-data/.*part-00001.csv is 700 bytes, over the 650"):
                imports.split_oversized(plan_for(full_params(), {"interactions": delta()}), {"interactions": 1300})
            # A FULL export over its limit: each FULL job would replace the one before.
            full = plan_for(full_params(), {"interactions": {"prefix": "interactions/", "rows": 1500, "mode": "FULL"}})
            with pytest.raises(ParamsInvalid, match=r"datasets.interactions is a FULL export of 10001 bytes, over the 10000 "
                                                    r"bytes one FULL import job may read.*cannot be split into several jobs"):
                imports.split_oversized(full, {"interactions": 10_001})
        finally:
            clients.set_client_factory(None)


def test_readiness_counts_the_rows_the_chain_holds():
    rules = {"minInteractions": 2000, "solutions": []}
    verdict = {"passed": True, "checks": []}
    summary = {"runId": "r2", "readiness": verdict, "rows": {"interactions": 1100}, "chainRows": {"interactions": 2300}}
    assert check_readiness(summary, rules)["rows"]["interactions"] == 2300
    with pytest.raises(TrainingDataNotReady, match="the interactions dataset will hold 1900 rows, at least 2000"):
        check_readiness({**summary, "chainRows": {"interactions": 1900}}, rules)
    # Without a chain (a FULL export) the export's own rows count.
    with pytest.raises(TrainingDataNotReady, match="the interactions export has 1100 rows"):
        check_readiness({**summary, "chainRows": {}}, rules)


def test_chain_locations_skip_carried_deltas():
    entry = {"prefix": "interactions/", "chain": [
        {"run_id": "r0", "mode": "FULL", "prefix": "../r0/interactions/", "rows": 1200, "carried": False},
        {"run_id": "r1", "mode": "INCREMENTAL", "prefix": "../r1/interactions/", "rows": 300, "carried": True},
        {"run_id": "r2", "mode": "INCREMENTAL", "prefix": "../r2/interactions/", "rows": 1400, "carried": False},
    ]}
    assert imports.chain_locations(MANIFEST_URI, entry) == [
        "s3://incr-data/personalize/exports/r0/interactions/", "s3://incr-data/personalize/exports/r2/interactions/"]
    assert imports.chain_locations(MANIFEST_URI, {"prefix": "interactions/"}) == ["s3://incr-data/personalize/exports/r2/interactions/"]


def test_vanished_users_are_deleted_only_with_the_opt_in():
    vanished = {"count": 2, "file": "vanished_users.csv", "since_run_id": "r1"}
    assert plan_for(full_params(), {"interactions": delta()}, vanished)["dataDeletion"] is None
    plan = plan_for({**full_params(), "delete_vanished_users": True}, {"interactions": delta()}, vanished)
    assert plan["dataDeletion"] == {
        "jobName": "shop-vanished-r2", "arn": "arn:aws:personalize:eu-west-1:111122223333:data-deletion-job/shop-vanished-r2",
        "dataLocation": "s3://incr-data/personalize/exports/r2/vanished_users.csv", "users": 2, "sinceRunId": "r1"}
    with pytest.raises(ParamsInvalid, match="vanished_users.file is missing"):
        plan_for({**full_params(), "delete_vanished_users": True}, {"interactions": delta()}, {"count": 3})


def test_a_chain_link_imported_in_parts_is_held_only_when_every_part_is_active(monkeypatch):
    plan = plan_for(full_params(), {"interactions": delta()})
    dataset = plan["datasets"][0]
    base = f"{dataset['name']}-r1"
    jobs = [{"jobName": f"{base}-p1", "status": "ACTIVE", "importMode": "INCREMENTAL"},
            {"jobName": f"{base}-p2-r2", "status": "ACTIVE", "importMode": "INCREMENTAL"},
            {"jobName": f"{base}-p3", "status": "CREATE FAILED", "importMode": "INCREMENTAL"}]
    monkeypatch.setattr(imports, "paginate", lambda *args, **kwargs: jobs)
    folder = "s3://incr-data/personalize/exports/r1/interactions/"
    files = [(f"{folder}part-0000{i}.csv", 600) for i in range(3)]
    monkeypatch.setattr(imports.storage, "list_objects", lambda location: files if location == folder else [])
    imported = imports._ImportedRuns(dataset)
    # The third part's job failed and was never retried: the run's rows are not all there.
    assert not imported.holds("r1", folder)
    jobs[2] = {"jobName": f"{base}-p3-r2", "status": "ACTIVE", "importMode": "INCREMENTAL"}
    assert imports._ImportedRuns(dataset).holds("r1", folder)
    # A run of one job is held by that job (or a retry of it), whatever its folder holds.
    jobs.append({"jobName": f"{dataset['name']}-r0-r3", "status": "ACTIVE", "importMode": "FULL"})
    assert imports._ImportedRuns(dataset).holds("r0", "s3://incr-data/personalize/exports/r0/interactions/")
    assert not imports._ImportedRuns(dataset).holds("r9", "s3://incr-data/personalize/exports/r9/interactions/")


def test_the_weekly_full_retraining_counts_from_the_export_the_full_version_trained_on():
    plan = plan_for(full_params(), {"interactions": delta()})
    solution = {**plan["solutions"][0], "trainingPolicy": "follow_import"}
    created_late = datetime(2026, 1, 5, tzinfo=timezone.utc)  # trained days after its export
    trained_on_day_1 = {"name": "shop-personal-20260101T000000Z-0a1b2c", "creationDateTime": created_late}
    for run_id, due in (("20260107T230000Z-000001", False), ("20260108T000000Z-000002", True)):
        reason = imports.full_retraining_due({**plan, "runId": run_id}, solution, trained_on_day_1)
        assert (reason is not None) == due, (run_id, reason)
    # A version whose name holds no run id: its creation time stands for it.
    unnamed = {"name": "hand-made", "creationDateTime": created_late}
    assert imports.full_retraining_due({**plan, "runId": "20260111T000000Z-000003"}, solution, unnamed) is None
    assert imports.full_retraining_due({**plan, "runId": "20260112T000000Z-000004"}, solution, unnamed) is not None
    # No FULL version yet: FULL, whatever the policy; an explicit UPDATE keeps UPDATE otherwise.
    assert imports.full_retraining_due(plan, solution, None) == "no ACTIVE FULL version yet"
    explicit = {**solution, "trainingPolicy": "UPDATE"}
    assert imports.full_retraining_due({**plan, "runId": "20270101T000000Z-000005"}, explicit, trained_on_day_1) is None
    # A plan written before training policies (an execution in flight across a deploy) has none.
    legacy = {k: v for k, v in solution.items() if k != "trainingPolicy"}
    assert imports.full_retraining_due({**plan, "runId": "20270101T000000Z-000005"}, legacy, trained_on_day_1) is None
