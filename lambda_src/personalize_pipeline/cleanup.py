"""Removing what a pipeline created: after a run, what the params no longer
name (``clean_up``, the CleanUp step); and teardown, everything a pipeline
created in Personalize, in the order Personalize's dependencies require,
waiting for each deletion to finish (``Teardown``).

What the pipeline created is found from its naming and its tag: the dataset
group is the params ``name``; every resource in it that takes tags carries
``personalize-pipeline:run-id`` (params.RUN_ID_TAG), and a resource without
that tag (made by hand inside the group) stops the teardown, named, rather
than being deleted. Schemas take no tags: the ones deleted are those the
group's datasets use whose names start with ``<name>-`` (params.build_plan's
schema names).

Order (each Delete* page of the API reference): campaigns and recommenders
(a solution cannot be deleted while a campaign uses it, DeleteSolution),
filters and the event tracker, solutions (with their versions), datasets
(with their import jobs), then the dataset group (DeleteDatasetGroup needs its
event trackers, solutions and datasets gone), then the schemas (DeleteSchema
needs the datasets that reference them gone).

Run it with ``make teardown NAME=<params name>`` (tools/teardown.py), with the
operator's credentials: a deployed role that may delete every resource would
widen what a compromised function could do, for an operation run by hand.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from botocore.exceptions import ClientError

from . import naming, params
from .logs import get_logger
from .personalize_ops import call, call_or_defer, describe, paginate
from .plan import Plan

log = get_logger()

# Deletions are polled like creations (waiting.py): growing waits, capped.
FIRST_WAIT_SECONDS = 5
MAX_WAIT_SECONDS = 60
DEFAULT_LIMIT_SECONDS = 3600


class TeardownRefused(Exception):
    """A resource in the pipeline's dataset group was not made by the pipeline."""


class TeardownTimedOut(Exception):
    """A deletion did not finish within the time limit; names it."""


# kind: (Describe method, request parameter, response key)
DESCRIBE = {
    "campaign": ("describe_campaign", "campaignArn", "campaign"),
    "recommender": ("describe_recommender", "recommenderArn", "recommender"),
    "filter": ("describe_filter", "filterArn", "filter"),
    "event_tracker": ("describe_event_tracker", "eventTrackerArn", "eventTracker"),
    "solution": ("describe_solution", "solutionArn", "solution"),
    "dataset": ("describe_dataset", "datasetArn", "dataset"),
    "dataset_group": ("describe_dataset_group", "datasetGroupArn", "datasetGroup"),
}
DELETE = {
    "campaign": ("delete_campaign", "campaignArn"),
    "recommender": ("delete_recommender", "recommenderArn"),
    "filter": ("delete_filter", "filterArn"),
    "event_tracker": ("delete_event_tracker", "eventTrackerArn"),
    "solution": ("delete_solution", "solutionArn"),
    "dataset": ("delete_dataset", "datasetArn"),
    "dataset_group": ("delete_dataset_group", "datasetGroupArn"),
    "schema": ("delete_schema", "schemaArn"),
}


@dataclass
class Teardown:
    personalize: Any
    sleep: Callable[[float], None] = time.sleep
    limit_seconds: int = DEFAULT_LIMIT_SECONDS
    deleted: list[dict] = field(default_factory=list)

    def _exists(self, kind: str, arn: str) -> Optional[dict]:
        method, param, key = DESCRIBE[kind]
        try:
            return getattr(self.personalize, method)(**{param: arn})[key]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise

    def _pipeline_made(self, arn: str) -> bool:
        tags = self.personalize.list_tags_for_resource(resourceArn=arn).get("tags", [])
        return any(t["tagKey"] == params.RUN_ID_TAG for t in tags)

    def delete(self, kind: str, arn: str) -> None:
        """Delete one resource and wait until Describe no longer finds it."""
        method, param = DELETE[kind]
        getattr(self.personalize, method)(**{param: arn})
        waited, wait = 0.0, FIRST_WAIT_SECONDS
        while kind in DESCRIBE and self._exists(kind, arn) is not None:
            if waited >= self.limit_seconds:
                raise TeardownTimedOut(f"{kind.replace('_', ' ')} {arn} is still being deleted after {int(waited)} s")
            self.sleep(wait)
            waited += wait
            wait = min(wait * 2, MAX_WAIT_SECONDS)
        self.deleted.append({"kind": kind, "arn": arn})

    def _list(self, operation: str, key: str, **request: Any) -> list[dict]:
        pages = self.personalize.get_paginator(operation).paginate(**request)
        return [item for page in pages for item in page.get(key, [])]

    def run(self, name: str, partition: str, region: str, account: str) -> list[dict]:
        group_arn = naming.dataset_group_arn(partition, region, account, name)
        if self._exists("dataset_group", group_arn) is None:
            return self.deleted
        solutions = [s["solutionArn"] for s in self._list("list_solutions", "solutions", datasetGroupArn=group_arn)]
        campaigns = [c["campaignArn"] for s in solutions for c in self._list("list_campaigns", "campaigns", solutionArn=s)]
        recommenders = [r["recommenderArn"] for r in self._recommenders(group_arn)]
        filters = [f["filterArn"] for f in self._list("list_filters", "Filters", datasetGroupArn=group_arn)]
        trackers = [t["eventTrackerArn"] for t in self._list("list_event_trackers", "eventTrackers", datasetGroupArn=group_arn)]
        datasets = [d["datasetArn"] for d in self._list("list_datasets", "datasets", datasetGroupArn=group_arn)]
        schemas = sorted({self._exists("dataset", d)["schemaArn"] for d in datasets})
        tagged = [group_arn, *campaigns, *recommenders, *filters, *trackers, *solutions, *datasets]
        foreign = [arn for arn in tagged if not self._pipeline_made(arn)]
        if foreign:
            raise TeardownRefused(f"dataset group {name}: these resources have no {params.RUN_ID_TAG} tag, so the pipeline did not "
                                  f"create them; delete or move them first: {', '.join(foreign)}")
        order = ([("campaign", a) for a in campaigns] + [("recommender", a) for a in recommenders]
                 + [("filter", a) for a in filters] + [("event_tracker", a) for a in trackers]
                 + [("solution", a) for a in solutions] + [("dataset", a) for a in datasets]
                 + [("dataset_group", group_arn)])
        for kind, arn in order:
            self.delete(kind, arn)
        for schema_arn in schemas:
            if schema_arn.rsplit("/", 1)[-1].startswith(f"{name}-"):
                self.delete("schema", schema_arn)
        return self.deleted

    def _recommenders(self, group_arn: str) -> list[dict]:
        return self._list("list_recommenders", "recommenders", datasetGroupArn=group_arn)


# ------------------------------------------------------------ after a run
def _tagged_by_pipeline(arn: str) -> bool:
    tags = call("list_tags_for_resource", arn, resourceArn=arn).get("tags", [])
    return any(t["tagKey"] == params.RUN_ID_TAG for t in tags)


def _entry(kind: str, arn: str, name: str, cost: Optional[str] = None, **extra: Any) -> dict:
    out = {"kind": kind, "arn": arn, "name": name, **extra}
    if cost:
        out["costDriver"] = cost
    return out


def clean_up(plan: Plan) -> dict:
    """What the dataset group holds that the params no longer name: with
    ``cleanup.remove_unlisted`` the pipeline-made ones are deleted (campaigns,
    recommenders and filters at once; a solution once no campaign uses it,
    else by the next run); the rest that still bills is listed with its cost
    driver. Runs after every step that can fail has passed (campaigns deployed)."""
    group_arn = plan["datasetGroup"]["arn"]
    remove = plan["cleanup"]["removeUnlisted"]
    named = {s["arn"] for s in plan["solutions"]} | {c["arn"] for c in plan["campaigns"]} | {f["arn"] for f in plan["filters"]}
    named |= {r["arn"] for r in plan.get("recommenders", [])}  # type: ignore[misc]
    removed, pending, billing = [], [], []

    def unlisted_and_ours(arn: str) -> bool:
        return arn not in named and _tagged_by_pipeline(arn)

    solutions = paginate("list_solutions", "solutions", datasetGroupArn=group_arn)
    campaigns = [(s, c) for s in solutions for c in paginate("list_campaigns", "campaigns", solutionArn=s["solutionArn"])]
    deleted_campaigns: dict[str, list[str]] = {}
    for solution, campaign in campaigns:
        arn = campaign["campaignArn"]
        if arn in named or (campaign.get("status") or "").startswith("DELETE"):
            continue
        described = describe("campaign", arn) or {}
        cost = f"minProvisionedTPS {described.get('minProvisionedTPS', 1)}"
        if remove and unlisted_and_ours(arn):
            call("delete_campaign", arn, campaignArn=arn)
            removed.append(_entry("campaign", arn, campaign["name"], cost))
            deleted_campaigns.setdefault(solution["solutionArn"], []).append(campaign["name"])
        else:
            billing.append(_entry("campaign", arn, campaign["name"], cost))
    for recommender in paginate("list_recommenders", "recommenders", datasetGroupArn=group_arn):
        arn = recommender["recommenderArn"]
        if arn in named or (recommender.get("status") or "").startswith("DELETE"):
            continue
        rps = (recommender.get("recommenderConfig") or {}).get("minRecommendationRequestsPerSecond", 1)
        cost = f"minRecommendationRequestsPerSecond {rps}"
        if remove and unlisted_and_ours(arn):
            call("delete_recommender", arn, recommenderArn=arn)
            removed.append(_entry("recommender", arn, recommender["name"], cost))
        else:
            billing.append(_entry("recommender", arn, recommender["name"], cost))
    if remove:
        for flt in paginate("list_filters", "Filters", datasetGroupArn=group_arn):
            arn = flt["filterArn"]
            if not (flt.get("status") or "").startswith("DELETE") and unlisted_and_ours(arn):
                call("delete_filter", arn, filterArn=arn)
                removed.append(_entry("filter", arn, flt["name"]))
    for solution in solutions:
        arn = solution["solutionArn"]
        if arn in named or (solution.get("status") or "").startswith("DELETE"):
            continue
        described = describe("solution", arn) or {}
        cost = "performAutoTraining (a new version every 7 days or on its schedule)" if described.get("performAutoTraining") else None
        if remove and unlisted_and_ours(arn):
            if arn in deleted_campaigns:
                # DeleteSolution refuses while a campaign of the solution exists, even one being deleted.
                pending.append(_entry("solution", arn, solution["name"], cost,
                                      reason=f"waits for the deletion of campaigns {', '.join(deleted_campaigns[arn])}; the next run removes it"))
                continue
            _, refused = call_or_defer("delete_solution", arn, {"solutionArn": arn}, for_now={"ResourceInUseException"})
            if refused is None:
                removed.append(_entry("solution", arn, solution["name"], cost))
            else:
                pending.append(_entry("solution", arn, solution["name"], cost, reason=f"{refused}; the next run tries again"))
        elif cost:
            billing.append(_entry("solution", arn, solution["name"], cost))
    if removed:
        log.info("removed what the params no longer name", extra={"removed": [r["arn"] for r in removed]})
    return {"cleanup": {"removeUnlisted": remove, "removed": removed, "removalPending": pending, "stillBilling": billing}}
