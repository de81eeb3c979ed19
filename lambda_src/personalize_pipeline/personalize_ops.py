"""Small helpers over the Personalize client: describe-or-None, error
translation and status reading."""
from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from . import clients
from .errors import RETRYABLE_CODES, PersonalizeRequestFailed, QuotaExceeded

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
    # recommenders.py, batch_jobs.py
    "recommender": ("describe_recommender", "recommenderArn", "recommender"),
    "batch_inference_job": ("describe_batch_inference_job", "batchInferenceJobArn", "batchInferenceJob"),
    "batch_segment_job": ("describe_batch_segment_job", "batchSegmentJobArn", "batchSegmentJob"),
    "data_deletion_job": ("describe_data_deletion_job", "dataDeletionJobArn", "dataDeletionJob"),
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
    "recommender": "recommender",
    "batch_inference_job": "batch inference job",
    "batch_segment_job": "batch segment job",
    "data_deletion_job": "data deletion job",
}


def personalize() -> Any:
    return clients.client("personalize")


# A LimitExceededException is either a rate or a count of things running now
# (it clears by itself), or a fixed quota on how many resources may exist,
# which no retry will clear.
_TRANSIENT_LIMIT = re.compile(r"rate|pending|in progress|in_progress|concurren|running|try again|throttl", re.IGNORECASE)


def is_hard_limit(code: str, message: str) -> bool:
    return code == "LimitExceededException" and not _TRANSIENT_LIMIT.search(message)


def translate(exc: ClientError, operation: str, subject: str) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "")
    if is_hard_limit(code, message):
        return QuotaExceeded(
            f"{operation} for {subject}: a Personalize quota is reached ({message}); retrying will not help: raise the "
            "quota in Service Quotas or delete resources you no longer use"
        )
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


# Refusals that last only as long as something else runs: an import holding
# one of the 5 pending-import slots, an update still in progress.
# https://docs.aws.amazon.com/personalize/latest/dg/limits.html
REFUSED_FOR_NOW = {"LimitExceededException", "ResourceInUseException"}


def call_or_defer(operation: str, subject: str, request: dict, for_now: frozenset[str] | set[str] = frozenset(REFUSED_FOR_NOW),
                  always_for_now: bool = False) -> tuple[dict | None, str | None]:
    """Send a request that Personalize may refuse only for now; (response, None)
    when sent, (None, reason) when refused for now so a wait loop sends it
    later. ResourceAlreadyExistsException counts as sent (a concurrent attempt).
    ``always_for_now``: the refusal can only be temporary (an import's only
    count quota is the pending-import one), whatever its message says."""
    try:
        return getattr(personalize(), operation)(**request), None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceAlreadyExistsException":
            return {}, None
        if code in for_now and (always_for_now or not is_hard_limit(code, exc.response.get("Error", {}).get("Message", ""))):
            return None, f"{code}: {exc.response.get('Error', {}).get('Message', '')}"
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
    """CREATE FAILED, or a solution version stopped (CREATE STOPPING/STOPPED):
    https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSolutionVersion.html
    lists both; a stopped version never becomes ACTIVE."""
    return bool(status) and ("FAILED" in status or "STOPP" in status)


def seconds_between(start: Any, end: Any) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int(round((end - start).total_seconds())))
