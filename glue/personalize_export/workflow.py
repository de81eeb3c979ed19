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
                   storage: Any = None, run_id: Optional[str] = None, requested_by: str = "--mode", now: Any = None,
                   export_expiry_days: Optional[int] = None):
    """``prepare``: the run id, then FULL or INCREMENTAL (published with its reason and base).

    A mode is asked for by the job argument (``requested``) or by a run property
    ``export_requested`` given to StartWorkflowRun. In AWS the job argument is always there
    (Terraform's default ``--export_mode auto``), so an explicit property wins over ``auto``;
    an explicit argument and property that disagree are refused. A retried prepare keeps the
    choice it already published. ``export_expiry_days``: see ``incremental.choose_mode``.
    """
    from personalize_export.incremental import (
        AUTO,
        BASE_PROPERTY,
        FINGERPRINT_PROPERTY,
        MODE_PROPERTY,
        REQUESTED_PROPERTY,
        ExportModeRefused,
        ExportPlan,
        check_requested_mode,
        prepare_plan,
    )

    allocated = prepare_run(properties, run_id)
    published = properties.get_all()
    if published.get(MODE_PROPERTY):
        if not (published.get(BASE_PROPERTY) and published.get(FINGERPRINT_PROPERTY)):
            # prepare publishes export_mode together with its base and fingerprint: alone,
            # it was given to StartWorkflowRun (the job argument's name).
            raise ExportModeRefused(
                "run property %s=%r was set when the workflow run started; %s is what prepare publishes: ask for a "
                "mode with the run property %s (auto, FULL or INCREMENTAL)" % (
                    MODE_PROPERTY, published[MODE_PROPERTY], MODE_PROPERTY, REQUESTED_PROPERTY))
        return ExportPlan.from_properties(allocated, published)
    argument = check_requested_mode(requested, requested_by)
    asked_by = "run property %s" % REQUESTED_PROPERTY
    wanted = check_requested_mode(published.get(REQUESTED_PROPERTY), asked_by)
    if wanted == AUTO:
        wanted, asked_by = argument, requested_by
    elif argument not in (AUTO, wanted):
        raise ExportModeRefused("%s %s and %s %s disagree: ask for one mode (leave %s at auto to use the run "
                                "property)" % (requested_by, argument, asked_by, wanted, requested_by))
    plan = prepare_plan(spec, export_root, allocated, wanted, storage, now, asked_by, export_expiry_days)
    properties.put(plan.as_properties())
    return plan


def current_plan(properties: RunProperties):
    """The mode ``prepare`` chose for this workflow run."""
    from personalize_export.incremental import ExportPlan

    return ExportPlan.from_properties(current_run_id(properties), properties.get_all())
