"""Glue workflow run properties: how the run id travels from job to job.

Glue jobs in a workflow get ``--WORKFLOW_NAME`` and ``--WORKFLOW_RUN_ID``; the properties
of that run are read and written with the Glue API. The local runner uses an in-memory
store with the same interface. Stdlib + boto3 only, Python 3.9 compatible.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, Optional

from personalize_export.layout import check_run_id, new_run_id

RUN_ID_PROPERTY = "run_id"


class RunProperties(ABC):
    """The properties of one workflow run."""

    @abstractmethod
    def get_all(self) -> Dict[str, str]:
        """Every property of the run."""

    @abstractmethod
    def put(self, properties: Dict[str, str]) -> None:
        """Add or overwrite properties of the run."""

    def get(self, key: str) -> Optional[str]:
        return self.get_all().get(key)


class InMemoryRunProperties(RunProperties):
    def __init__(self, initial: Optional[Dict[str, str]] = None):
        self._properties: Dict[str, str] = dict(initial or {})

    def get_all(self) -> Dict[str, str]:
        return dict(self._properties)

    def put(self, properties: Dict[str, str]) -> None:
        self._properties.update(properties)


class GlueRunProperties(RunProperties):
    def __init__(self, glue_client: Any, workflow_name: str, workflow_run_id: str):
        self._glue = glue_client
        self._name = workflow_name
        self._run_id = workflow_run_id

    def get_all(self) -> Dict[str, str]:
        response = self._glue.get_workflow_run_properties(Name=self._name, RunId=self._run_id)
        return dict(response.get("RunProperties") or {})

    def put(self, properties: Dict[str, str]) -> None:
        self._glue.put_workflow_run_properties(Name=self._name, RunId=self._run_id, RunProperties=properties)


def prepare_run(properties: RunProperties, run_id: Optional[str] = None) -> str:
    """Allocate the export's run id and publish it as the ``run_id`` run property.

    A retried ``prepare`` keeps the id it already published, so every job of one
    workflow run writes under the same export folder.
    """
    existing = properties.get(RUN_ID_PROPERTY)
    if existing:
        return check_run_id(existing)
    allocated = check_run_id(run_id or new_run_id())
    properties.put({RUN_ID_PROPERTY: allocated})
    return allocated


def current_run_id(properties: RunProperties) -> str:
    run_id = properties.get(RUN_ID_PROPERTY)
    if not run_id:
        raise RuntimeError(
            "the workflow run has no %r property: the prepare job must run first (and succeed) in this workflow run"
            % RUN_ID_PROPERTY
        )
    return check_run_id(run_id)


def prepare_export(properties: RunProperties, spec: Any, export_root: str, requested: Optional[str] = None,
                   storage: Any = None, run_id: Optional[str] = None, requested_by: str = "--mode", now: Any = None):
    """``prepare``: the run id, then FULL or INCREMENTAL (published with its reason and base).

    The mode requested as a job argument wins over an ``export_requested`` run property set
    when the workflow run was started; neither means ``auto``. A retried prepare keeps the
    choice it already published.
    """
    from personalize_export.incremental import MODE_PROPERTY, REQUESTED_PROPERTY, ExportPlan, check_requested_mode, prepare_plan

    allocated = prepare_run(properties, run_id)
    published = properties.get_all()
    if published.get(MODE_PROPERTY):
        return ExportPlan.from_properties(allocated, published)
    wanted = check_requested_mode(requested if requested not in (None, "") else published.get(REQUESTED_PROPERTY),
                                  requested_by)
    plan = prepare_plan(spec, export_root, allocated, wanted, storage, now, requested_by)
    properties.put(plan.as_properties())
    return plan


def current_plan(properties: RunProperties):
    """The mode ``prepare`` chose for this workflow run."""
    from personalize_export.incremental import ExportPlan

    return ExportPlan.from_properties(current_run_id(properties), properties.get_all())
