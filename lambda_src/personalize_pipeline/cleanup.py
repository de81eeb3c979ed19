"""Teardown: delete everything a pipeline created in Personalize, in the order
Personalize's dependencies require, waiting for each deletion to finish.

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
