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
