"""What leaves the params: removed by the next run when the params opt in
(cleanup.remove_unlisted), else listed in every success notice while it bills."""
from __future__ import annotations

from .exports import full_params, make_export


def _without(params: dict, campaigns=(), solutions=(), filters=()) -> dict:
    out = dict(params)
    out["campaigns"] = [c for c in params["campaigns"] if c["name"] not in campaigns]
    out["solutions"] = [s for s in params["solutions"] if s["name"] not in solutions]
    out["filters"] = [f for f in params["filters"] if f["name"] not in filters]
    return out


def test_without_opt_in_what_left_the_params_is_listed_while_it_bills(pipeline, tmp_path):
    export = make_export(tmp_path)
    first = pipeline.run(full_params(), export)
    assert first.status == "SUCCEEDED", first.cause
    assert first.summary["cleanup"] == {"removeUnlisted": False, "removed": [], "removalPending": [], "stillBilling": []}

    second = pipeline.run(_without(full_params(), campaigns=["home"]), export)

    assert second.status == "SUCCEEDED", second.cause
    cleanup = second.summary["cleanup"]
    campaign_arn = first.summary["campaigns"]["home"]["campaignArn"]
    assert cleanup["removed"] == [] and cleanup["stillBilling"] == [
        {"kind": "campaign", "arn": campaign_arn, "name": "shop-home", "costDriver": "minProvisionedTPS 2"}]
    assert pipeline.fake.describe(campaign_arn)["status"] == "ACTIVE"
    assert pipeline.fake.calls_of("DeleteCampaign") == []


def test_with_opt_in_the_next_run_removes_a_campaign_a_filter_and_an_unused_solution(pipeline, tmp_path):
    export = make_export(tmp_path)
    first = pipeline.run(full_params(), export)
    assert first.status == "SUCCEEDED", first.cause
    params = {**_without(full_params(), campaigns=["home"], solutions=["popular"], filters=["not-purchased"]),
              "cleanup": {"remove_unlisted": True}}

    second = pipeline.run(params, export)

    assert second.status == "SUCCEEDED", second.cause
    cleanup = second.summary["cleanup"]
    assert sorted((r["kind"], r["name"]) for r in cleanup["removed"]) == [
        ("campaign", "shop-home"), ("filter", "shop-not-purchased"), ("solution", "shop-popular")]
    assert cleanup["stillBilling"] == [] and cleanup["removalPending"] == []
    fake = pipeline.fake
    assert fake.describe(first.summary["campaigns"]["home"]["campaignArn"])["status"].startswith("DELETE")
    # The solution the params still name is kept.
    assert fake.describe(first.summary["solutions"]["personal"]["solutionVersionArn"].rsplit("/", 1)[0])["status"] == "ACTIVE"


def test_a_solution_whose_campaign_is_removed_in_the_same_run_goes_with_the_next_run(pipeline, tmp_path):
    export = make_export(tmp_path)
    params = full_params()
    params["campaigns"].append({"name": "trending", "solution": "popular"})
    first = pipeline.run(params, export)
    assert first.status == "SUCCEEDED", first.cause
    trimmed = {**_without(params, campaigns=["trending"], solutions=["popular"]), "cleanup": {"remove_unlisted": True}}

    second = pipeline.run(trimmed, export)
    assert second.status == "SUCCEEDED", second.cause
    assert [(r["kind"], r["name"]) for r in second.summary["cleanup"]["removed"]] == [("campaign", "shop-trending")]
    [pending] = second.summary["cleanup"]["removalPending"]
    assert pending["name"] == "shop-popular" and "shop-trending" in pending["reason"]

    pipeline.clock.advance(3600)  # the campaign's deletion has ended
    third = pipeline.run(trimmed, export)
    assert third.status == "SUCCEEDED", third.cause
    assert [(r["kind"], r["name"]) for r in third.summary["cleanup"]["removed"]] == [("solution", "shop-popular")]


def test_opt_in_never_removes_what_the_pipeline_did_not_make(pipeline, tmp_path):
    export = make_export(tmp_path)
    first = pipeline.run(full_params(), export)
    assert first.status == "SUCCEEDED", first.cause
    api = pipeline.fake.client()
    api.create_filter(name="by-hand", datasetGroupArn=first.summary["datasetGroupArn"],
                      filterExpression='EXCLUDE ItemID WHERE Items.CATEGORY IN ("x")')
    pipeline.clock.advance(120)

    second = pipeline.run({**full_params(), "cleanup": {"remove_unlisted": True}}, export)
    assert second.status == "SUCCEEDED", second.cause
    assert second.summary["cleanup"]["removed"] == []
    assert pipeline.fake.calls_of("DeleteFilter") == []
