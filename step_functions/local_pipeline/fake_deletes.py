"""Deleting in the fake Personalize: the Delete* calls with the states a
deletion goes through and the dependency errors Personalize documents, plus
the List* calls a teardown needs to find what a dataset group holds.

Statuses (botocore's Personalize model, each resource's ``status`` member,
e.g. https://docs.aws.amazon.com/personalize/latest/dg/API_Campaign.html):
DELETE PENDING > DELETE IN_PROGRESS, after which Describe* answers
ResourceNotFoundException; a dataset group shows DELETE PENDING only
(https://docs.aws.amazon.com/personalize/latest/dg/API_DatasetGroup.html).
A resource being deleted refuses a second delete (ResourceInUseException).
"""
from __future__ import annotations

import importlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .fake_personalize import Resource

DELETE_SECONDS = 60
PENDING_SHARE = 0.1  # as for creations: the first 10% of a deletion is DELETE PENDING


def FakeError(code: str, message: str) -> Exception:
    # fake_personalize mixes this class in, so its names are read when first needed.
    return importlib.import_module(__package__ + ".fake_personalize").FakeError(code, message)
RUNNING = ("CREATE PENDING", "CREATE IN_PROGRESS")


class DeletesMixin:
    """Mixed into FakePersonalize (which provides resources, clock, _get, _view;
    its _view reads _deletion_status and its handle calls _purge_deleted)."""

    resources: dict[str, "Resource"]

    # ------------------------------------------------------------ states
    def _deletion_status(self, res: "Resource") -> Optional[str]:
        deleting = res.fields.get("_delete")
        if not deleting:
            return None
        now = self.clock.now()  # type: ignore[attr-defined]
        if res.kind == "dataset_group" or now < deleting["started"] + (deleting["done"] - deleting["started"]) * PENDING_SHARE:
            return "DELETE PENDING"
        return "DELETE IN_PROGRESS"

    def _purge_deleted(self) -> None:
        now = self.clock.now()  # type: ignore[attr-defined]
        gone = [arn for arn, res in self.resources.items() if res.fields.get("_delete") and now >= res.fields["_delete"]["done"]]
        for arn in gone:
            self.resources.pop(arn, None)
            self.tags.pop(arn, None)  # type: ignore[attr-defined]

    def _start_delete(self, res: "Resource", *with_it: "Resource") -> dict:
        if res.fields.get("_delete"):
            raise FakeError("ResourceInUseException", f"{res.kind.replace('_', ' ')} {res.arn} is already being deleted")
        now = self.clock.now()  # type: ignore[attr-defined]
        seconds = self.durations.get("delete", DELETE_SECONDS)  # type: ignore[attr-defined]
        for item in (res, *with_it):
            item.fields.setdefault("_delete", {"started": now, "done": now + timedelta(seconds=seconds)})
        return {}

    def _live(self, kind: str) -> list["Resource"]:
        return [r for r in self.resources.values() if r.kind == kind]

    def _running(self, res: "Resource") -> bool:
        return self._view(res, record=False).get("status") in RUNNING

    # ----------------------------------------------------------- deletes
    def _delete_campaign(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteCampaign.html
        return self._start_delete(self._get(p["campaignArn"], "campaign"))  # type: ignore[attr-defined]

    def _delete_recommender(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteRecommender.html
        return self._start_delete(self._get(p["recommenderArn"], "recommender"))  # type: ignore[attr-defined]

    def _delete_filter(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteFilter.html
        return self._start_delete(self._get(p["filterArn"], "filter"))  # type: ignore[attr-defined]

    def _delete_event_tracker(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteEventTracker.html
        return self._start_delete(self._get(p["eventTrackerArn"], "event_tracker"))  # type: ignore[attr-defined]

    def _delete_solution(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteSolution.html: "Before
        # deleting a solution, you must delete all campaigns based on the solution ... You
        # can't delete a solution if an associated SolutionVersion is in the CREATE PENDING
        # or IN PROGRESS state." It deletes all versions of the solution with it.
        solution = self._get(p["solutionArn"], "solution")  # type: ignore[attr-defined]
        versions = [v for v in self._live("solution_version") if v.fields["solutionArn"] == solution.arn]
        version_arns = {v.arn for v in versions}
        campaigns = [c.arn for c in self._live("campaign") if c.fields.get("solutionVersionArn", "").split("/$LATEST")[0] in version_arns | {solution.arn}]
        if campaigns:
            raise FakeError("ResourceInUseException", f"solution {solution.arn} is used by campaigns {campaigns}: delete them first")
        running = [v.arn for v in versions if self._running(v)]
        if running:
            raise FakeError("ResourceInUseException", f"solution {solution.arn} has solution versions in progress: {running}")
        return self._start_delete(solution, *versions)

    def _delete_dataset(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteDataset.html: "You can't
        # delete a dataset if an associated DatasetImportJob or SolutionVersion is in the
        # CREATE PENDING or IN PROGRESS state."
        dataset = self._get(p["datasetArn"], "dataset")  # type: ignore[attr-defined]
        jobs = [j for j in self._live("dataset_import_job") if j.fields["datasetArn"] == dataset.arn]
        group_solutions = {s.arn for s in self._live("solution") if s.fields["datasetGroupArn"] == dataset.fields["datasetGroupArn"]}
        busy = [j.arn for j in jobs if self._running(j)] + [
            v.arn for v in self._live("solution_version") if v.fields["solutionArn"] in group_solutions and self._running(v)]
        if busy:
            raise FakeError("ResourceInUseException", f"dataset {dataset.arn} has import jobs or solution versions in progress: {busy}")
        return self._start_delete(dataset, *jobs)

    def _delete_schema(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteSchema.html: "Before
        # deleting a schema, you must delete all datasets referencing the schema."
        schema = self._get(p["schemaArn"], "schema")  # type: ignore[attr-defined]
        users = [d.arn for d in self._live("dataset") if d.fields.get("schemaArn") == schema.arn]
        if users:
            raise FakeError("ResourceInUseException", f"schema {schema.arn} is used by datasets {users}: delete them first")
        # A schema has no status: it is gone at once.
        self.resources.pop(schema.arn, None)
        return {}

    def _delete_dataset_group(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteDatasetGroup.html: "Before
        # you delete a dataset group, you must delete the following: All associated event
        # trackers. All associated solutions. All datasets in the dataset group."
        group = self._get(p["datasetGroupArn"], "dataset_group")  # type: ignore[attr-defined]
        left = [r.arn for r in self.resources.values()
                if r.kind in ("event_tracker", "solution", "dataset") and r.fields.get("datasetGroupArn") == group.arn]
        if left:
            raise FakeError("ResourceInUseException", f"dataset group {group.arn} still has event trackers, solutions or datasets: {left}")
        others = [r for r in self.resources.values() if r.kind in ("filter", "recommender") and r.fields.get("datasetGroupArn") == group.arn]
        return self._start_delete(group, *others)

    # ------------------------------------------------------------- lists
    def _summaries(self, kind: str, keys: tuple[str, ...], **match: Any) -> list[dict]:
        out = []
        for res in self._live(kind):
            if all(value is None or res.fields.get(field) == value for field, value in match.items()):
                view = self._view(res, record=False)
                out.append({k: view[k] for k in keys if k in view})
        return out

    def _list_datasets(self, p: dict) -> dict:
        return {"datasets": self._summaries("dataset", ("name", "datasetArn", "datasetType", "status", "creationDateTime", "lastUpdatedDateTime"),
                                            datasetGroupArn=p.get("datasetGroupArn"))}

    def _list_filters(self, p: dict) -> dict:
        return {"Filters": self._summaries("filter", ("name", "filterArn", "datasetGroupArn", "status", "creationDateTime", "lastUpdatedDateTime"),
                                           datasetGroupArn=p.get("datasetGroupArn"))}

    def _list_campaigns(self, p: dict) -> dict:
        wanted = p.get("solutionArn")
        out = []
        for res in self._live("campaign"):
            version = self.resources.get(res.fields.get("solutionVersionArn", "").split("/$LATEST")[0])
            solution = version.fields.get("solutionArn") if version and version.kind == "solution_version" else res.fields.get("solutionVersionArn", "").split("/$LATEST")[0]
            if wanted in (None, solution):
                view = self._view(res, record=False)
                out.append({k: view[k] for k in ("name", "campaignArn", "status", "creationDateTime", "lastUpdatedDateTime") if k in view})
        return {"campaigns": out}
