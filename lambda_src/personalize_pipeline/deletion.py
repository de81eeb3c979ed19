"""Removing users that vanished from the source: a Personalize data deletion job.

The export lists the users present in the previous export and absent now
(manifest ``vanished_users.file``, a CSV with the single column USER_ID). With
``delete_vanished_users: true`` in the params, the run deletes them from the
dataset group after the imports and before training, so the new solution
versions no longer learn from them. What Personalize documents
(https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html and
https://docs.aws.amazon.com/personalize/latest/dg/API_CreateDataDeletionJob.html):

- no training or import job should run while the deletion runs, else the
  users' data may stay in models: the step comes after the imports wait loop
  and training starts once the job is COMPLETED;
- statuses PENDING > IN_PROGRESS > COMPLETED -or- FAILED (failureReason);
- it can take up to a day (the data_deletion wait loop's default limit is 30 h);
- at most 5 deletion jobs PENDING per dataset group; the input files total at
  most 100 MB; the Personalize service role reads the file (GetObject and
  ListBucket, as for imports).
"""
from __future__ import annotations

from typing import Any, Optional

from . import naming, storage
from .errors import ParamsInvalid, ResourceFailed
from .logs import get_logger
from .personalize_ops import call_or_defer, describe, is_failed
from .plan import DataDeletionPlan, Plan

log = get_logger()

MAX_INPUT_BYTES = 100 * 10**6


def data_deletion_arn(partition: str, region: str, account: str, name: str) -> str:
    # arn:${Partition}:personalize:${Region}:${Account}:data-deletion-job/${ResourceId}
    # (Service Authorization Reference, Amazon Personalize resource types)
    return naming.arn(partition, region, account, "data-deletion-job", name)


def plan_deletion(opted_in: bool, manifest: dict, manifest_uri: str, plan: Plan) -> Optional[DataDeletionPlan]:
    """The deletion job this run sends; None when the params do not opt in or
    the export lists no vanished user."""
    vanished = manifest.get("vanished_users")
    if not opted_in or not vanished or not vanished.get("count"):
        if opted_in:
            log.info("no vanished users to delete", extra={"run_id": plan["runId"]})
        return None
    if not vanished.get("file"):
        raise ParamsInvalid(f"export.manifest_uri: vanished_users.file is missing from the manifest {manifest_uri} "
                            f"(count {vanished.get('count')})")
    job_name = naming.resource_name(plan["name"], "vanished", plan["runId"])
    return {
        "jobName": job_name,
        "arn": data_deletion_arn(plan["partition"], plan["region"], plan["account"], job_name),
        "dataLocation": storage.resolve(manifest_uri, vanished["file"]),
        "users": int(vanished["count"]),
        "sinceRunId": vanished.get("since_run_id"),
    }


def create_request(plan: Plan, deletion: DataDeletionPlan, job_name: str, role_arn: str) -> dict:
    request: dict[str, Any] = {
        "jobName": job_name,
        "datasetGroupArn": plan["datasetGroup"]["arn"],
        "dataSource": {"dataLocation": deletion["dataLocation"]},
        "roleArn": role_arn,
    }
    if plan.get("tags"):
        request["tags"] = [{"tagKey": k, "tagValue": v} for k, v in sorted(plan["tags"].items())]
    return request


def start_data_deletion(plan: Plan, settings: Any) -> list[dict]:
    """Describe, else create, this run's deletion job (a FAILED one is retried
    under the next name). Returns the wait loop's resources."""
    deletion = plan.get("dataDeletion")
    if not deletion:
        return []
    for job_name in naming.retry_names(deletion["jobName"]):
        arn = data_deletion_arn(plan["partition"], plan["region"], plan["account"], job_name)
        existing = describe("data_deletion_job", arn)
        if existing is not None and is_failed(existing.get("status")):
            continue
        found = {"kind": "data_deletion_job", "arn": arn, "label": f"{deletion['users']} vanished users"}
        if existing is not None:
            return [found]
        request = create_request(plan, deletion, job_name, settings.personalize_role_arn)
        # "up to 5 deletion jobs with a status of PENDING" per dataset group: a full
        # quota clears as earlier jobs start, so the wait loop sends this one then.
        _, refused = call_or_defer("create_data_deletion_job", job_name, request, for_now={"LimitExceededException"},
                                   always_for_now=True)
        if refused is not None:
            log.info("data deletion deferred", extra={"job": job_name, "reason": refused})
            return [{**found, "deferred": {"operation": "create_data_deletion_job", "request": request}}]
        log.info("data deletion started", extra={"job": job_name, "users": deletion["users"]})
        return [found]
    raise ResourceFailed(f"data deletion job {deletion['jobName']}: every retry attempt failed")


def summary(plan: Plan) -> Optional[dict]:
    deletion = plan.get("dataDeletion")
    if not deletion:
        return None
    return {"users": deletion["users"], "file": deletion["dataLocation"], "sinceRunId": deletion["sinceRunId"]}
