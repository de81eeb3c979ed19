"""Small helpers over the Personalize client: describe-or-None, error
translation and status reading."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from . import clients
from .errors import RETRYABLE_CODES, PersonalizeRequestFailed

# kind -> (describe method, ARN parameter, response key)
DESCRIBE = {
    "dataset_group": ("describe_dataset_group", "datasetGroupArn", "datasetGroup"),
    "dataset": ("describe_dataset", "datasetArn", "dataset"),
    "schema": ("describe_schema", "schemaArn", "schema"),
    "dataset_import_job": ("describe_dataset_import_job", "datasetImportJobArn", "datasetImportJob"),
    "solution": ("describe_solution", "solutionArn", "solution"),
    "solution_version": ("describe_solution_version", "solutionVersionArn", "solutionVersion"),
    "campaign": ("describe_campaign", "campaignArn", "campaign"),
    "filter": ("describe_filter", "filterArn", "filter"),
    "event_tracker": ("describe_event_tracker", "eventTrackerArn", "eventTracker"),
}
KIND_LABELS = {
    "dataset_group": "dataset group",
    "dataset": "dataset",
    "dataset_import_job": "dataset import job",
    "solution": "solution",
    "solution_version": "solution version",
    "campaign": "campaign",
    "filter": "filter",
    "event_tracker": "event tracker",
}


def personalize() -> Any:
    return clients.client("personalize")


def translate(exc: ClientError, operation: str, subject: str) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "")
    retryable = RETRYABLE_CODES.get(code)
    if retryable is not None:
        return retryable(f"{operation} for {subject}: {code}: {message}")
    return PersonalizeRequestFailed(f"{operation} for {subject} failed: {code}: {message}")


def call(operation: str, subject: str, **request: Any) -> dict:
    """Call a Personalize operation (snake_case method name), translating errors."""
    try:
        return getattr(personalize(), operation)(**request)
    except ClientError as exc:
        raise translate(exc, operation, subject) from exc


def describe(kind: str, arn: str) -> dict | None:
    """The resource's description, or None when it does not exist."""
    method, param, key = DESCRIBE[kind]
    try:
        return getattr(personalize(), method)(**{param: arn})[key]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise translate(exc, method, arn) from exc


def create(operation: str, subject: str, request: dict) -> tuple[dict | None, bool]:
    """Create a resource; (response, True) when created, (None, False) when a
    concurrent attempt created it first (ResourceAlreadyExistsException)."""
    try:
        return getattr(personalize(), operation)(**request), True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceAlreadyExistsException":
            return None, False
        raise translate(exc, operation, subject) from exc


def paginate(operation: str, result_key: str, **request: Any) -> list[dict]:
    try:
        pages = personalize().get_paginator(operation).paginate(**request)
        return [item for page in pages for item in page.get(result_key, [])]
    except ClientError as exc:
        raise translate(exc, operation, str(request)) from exc


def is_failed(status: str | None) -> bool:
    return bool(status) and "FAILED" in status


def seconds_between(start: Any, end: Any) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int(round((end - start).total_seconds())))
