"""Removing users that vanished from the source: a Personalize data deletion job.

The export lists the users present in the previous export and absent now
(manifest ``vanished_users``: ``count``, ``file``, a CSV with the single column
USER_ID, and ``since_run_id``). With ``delete_vanished_users`` in the params
(``true``, or ``{"max_share": x}``) the run deletes them from the dataset group
after the imports and before training, so the new solution versions no longer
learn from them. A deletion removes the users' interactions too, and only a
FULL import brings them back, so ReadParams refuses the run, before any
Personalize resource is touched, when:

- the users to delete are more than ``max_share`` (default
  ``DEFAULT_MAX_SHARE``, 10%) of the users the users dataset held before this
  run (``users_before``): an empty or partial users source makes every user
  missing from it "vanished";
- the file is missing, or over the 100 MB Personalize accepts (a HEAD of it,
  so the run does not fail hours later in the wait loop).

What Personalize documents
(https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html and
https://docs.aws.amazon.com/personalize/latest/dg/API_CreateDataDeletionJob.html):

- no training or import job should run while the deletion runs, else the
  users' data may stay in models: the step comes after the imports wait loop
  and training starts once the job is COMPLETED;
- statuses PENDING > IN_PROGRESS > COMPLETED -or- FAILED (failureReason);
- it can take up to a day (the data_deletion wait loop's default limit is 30 h);
- at most 5 deletion jobs PENDING per dataset group; the input files total at
  most 100 MB (delete-records.html, ``MAX_INPUT_BYTES``); the Personalize
  service role reads the file (GetObject and ListBucket, as for imports).
"""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

from botocore.exceptions import ClientError

from . import clients, naming, storage
from .errors import ParamsInvalid, ResourceFailed
from .logs import get_logger
from .personalize_ops import call_or_defer, describe, is_failed
from .plan import DataDeletionPlan, Plan

log = get_logger()

DELETE_RECORDS_PAGE = "https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html"
# The deletion input files total at most 100 MB (DELETE_RECORDS_PAGE).
MAX_INPUT_BYTES = 100 * 10**6
# The share of the users held before a run that one run may delete, unless the
# params set delete_vanished_users.max_share.
DEFAULT_MAX_SHARE = 0.1


def data_deletion_arn(partition: str, region: str, account: str, name: str) -> str:
    # arn:${Partition}:personalize:${Region}:${Account}:data-deletion-job/${ResourceId}
    # (Service Authorization Reference, Amazon Personalize resource types)
    return naming.arn(partition, region, account, "data-deletion-job", name)


def users_before(manifest: dict, vanished: int) -> tuple[int, str]:
    """The users the users dataset held before this run, read from the manifest's
    ``datasets.users`` entry, and where that number comes from (for messages).

    - INCREMENTAL users export: the rows of the chain's earlier links that were
      imported (the base and its deltas, not this run's link, not carried ones).
      A user updated in several deltas counts once per delta, so this is an upper
      bound, as ``chain_rows`` is.
    - FULL users export (or a manifest from before incremental exports): it
      replaces the dataset, which held the previous export's users; each of them
      is either still listed (at most ``rows``) or vanished, so at most ``rows +
      vanished``.
    - No users dataset in the manifest: 0 (nothing to judge the share against).

    An export that records ``vanished_users.previous_users`` (the users the previous
    export listed) gives the exact number, which the above only bound.
    """
    listed = (manifest.get("vanished_users") or {}).get("previous_users")
    if listed is not None:
        return int(listed), "vanished_users.previous_users: the users the previous export listed"
    entry = (manifest.get("datasets") or {}).get("users")
    if not entry:
        return 0, "the manifest has no datasets.users entry"
    rows = int(entry.get("rows") or 0)
    if entry.get("mode") != "INCREMENTAL":
        return rows + vanished, (f"datasets.users is a FULL export of {rows} users; with the {vanished} vanished ones "
                                 f"the previous export held at most {rows + vanished}")
    chain = entry.get("chain")
    if not chain:
        own = 0 if entry.get("carried") else rows
        held = max(int(entry.get("chain_rows") or 0) - own, 0)
        return held, f"datasets.users.chain_rows {entry.get('chain_rows')} less this run's {own} rows"
    this_run = manifest.get("run_id")
    earlier = [link for link in chain if link.get("run_id") != this_run and not link.get("carried")]
    held = sum(int(link.get("rows") or 0) for link in earlier)
    if not earlier:
        return 0, "datasets.users.chain imported nothing before this run"
    return held, (f"datasets.users.chain: rows imported before this run, from {earlier[0].get('run_id')}"
                  + (f" and {len(earlier) - 1} later export(s)" if len(earlier) > 1 else ""))


def _percent(share: Fraction) -> str:
    text = f"{float(share) * 100:.2f}".rstrip("0").rstrip(".")
    return "under 0.01%" if text == "0" and share else f"{text}%"


def check_share(vanished: int, manifest: dict, max_share: float, since: Optional[str]) -> None:
    """Refuse (ParamsInvalid) to delete more than ``max_share`` of the users the
    users dataset held before this run."""
    before, source = users_before(manifest, vanished)
    limit = Fraction(str(max_share))  # the decimal the params wrote: 0.1 is 1/10
    listed = f"the export lists {vanished} vanished users (manifest vanished_users{f', since export {since}' if since else ''})"
    cause = ("an empty or partial users source (a failed or incomplete load upstream of the export) makes every user it "
             "misses look vanished, and the deletion would remove those users and their interactions from the dataset group "
             "until a FULL import brings them back")
    if before == 0:
        raise ParamsInvalid(
            f"delete_vanished_users: refused to delete {vanished} users: {listed}, but the manifest counts no users in the "
            f"users dataset before this run ({source}), so the share deleted cannot be judged against "
            f"delete_vanished_users.max_share {max_share:g}. Likely cause: {cause}. Check the users source and export again, "
            f"or set delete_vanished_users to false for this run. Nothing was deleted and no Personalize resource was "
            f"touched")
    share = Fraction(vanished, before)
    if share <= limit:
        log.info("vanished users within the limit", extra={"users": vanished, "usersBefore": before,
                                                             "share": float(share), "maxShare": max_share})
        return
    needed = Fraction(math.ceil(share * 100), 100)
    remedy = (f"if these users really left, set delete_vanished_users to {{\"max_share\": {float(needed):g}}} for this run"
              if needed <= 1 else "no max_share lets through more users than the dataset held")
    raise ParamsInvalid(
        f"delete_vanished_users: refused to delete {vanished} users: {listed}, {_percent(share)} of the {before} users the "
        f"users dataset held before this run ({source}), over the limit of {_percent(limit)} "
        f"(delete_vanished_users.max_share {max_share:g}). Likely cause: {cause}. Check the users source and export "
        f"again; {remedy}, or set delete_vanished_users to false to train without deleting. Nothing was deleted and no "
        f"Personalize resource was touched")


def input_bytes(uri: str) -> Optional[int]:
    """The size of the deletion input file (a HEAD of the S3 object, or a local
    file's size); None when there is no such file."""
    if not uri.startswith("s3://"):
        path = Path(uri)
        return path.stat().st_size if path.is_file() else None
    bucket, key = storage.split_s3_uri(uri)
    try:
        head = clients.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise ParamsInvalid(f"export.manifest_uri: cannot read the vanished users file {uri} (vanished_users.file): {exc}") from exc
    return int(head["ContentLength"])


def check_input(uri: str, vanished: int) -> None:
    """Refuse (ParamsInvalid) a missing input file, or one Personalize would refuse for its size."""
    size = input_bytes(uri)
    if size is None:
        raise ParamsInvalid(
            f"export.manifest_uri: the vanished users file {uri} (vanished_users.file, {vanished} users) does not exist: "
            f"the export's users job writes it; export again, or set delete_vanished_users to false for this run")
    if size > MAX_INPUT_BYTES:
        raise ParamsInvalid(
            f"export.manifest_uri: the vanished users file {uri} (vanished_users.file, {vanished} users) is {size} bytes, "
            f"over the {MAX_INPUT_BYTES} bytes (100 MB) Personalize accepts as a data deletion job's input ({DELETE_RECORDS_PAGE}): "
            f"the job would fail. Delete these users with data deletion jobs over parts of the file of at most 100 MB each, "
            f"then run with delete_vanished_users set to false")


def plan_deletion(option: dict | bool | None, manifest: dict, manifest_uri: str, plan: Plan) -> Optional[DataDeletionPlan]:
    """The deletion job this run sends; None when the params do not opt in
    (``option`` is the normalised ``delete_vanished_users``: False, or
    ``{"maxShare": x}``; True stands for the default share) or the export lists
    no vanished user. Raises ParamsInvalid when the share guard or the input
    file check refuses."""
    vanished = manifest.get("vanished_users")
    if not option or not vanished or not vanished.get("count"):
        if option:
            log.info("no vanished users to delete", extra={"run_id": plan["runId"]})
        return None
    if not vanished.get("file"):
        raise ParamsInvalid(f"export.manifest_uri: vanished_users.file is missing from the manifest {manifest_uri} "
                            f"(count {vanished.get('count')})")
    users = int(vanished["count"])
    max_share = option["maxShare"] if isinstance(option, dict) else DEFAULT_MAX_SHARE
    check_share(users, manifest, max_share, vanished.get("since_run_id"))
    location = storage.resolve(manifest_uri, vanished["file"])
    check_input(location, users)
    job_name = naming.resource_name(plan["name"], "vanished", plan["runId"])
    return {
        "jobName": job_name,
        "arn": data_deletion_arn(plan["partition"], plan["region"], plan["account"], job_name),
        "dataLocation": location,
        "users": users,
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
