"""How each dataset is imported: the import mode follows the export manifest.

A FULL export is imported FULL, an INCREMENTAL export (a delta on a base FULL
export) INCREMENTAL. Personalize's rules decide the rest
(https://docs.aws.amazon.com/personalize/latest/dg/bulk-data-import.html and the
quotas at https://docs.aws.amazon.com/personalize/latest/dg/limits.html):

- INCREMENTAL needs an earlier bulk import into the dataset: a delta imported
  FULL would replace the whole history with one day, so a dataset with no
  ACTIVE FULL import refuses an INCREMENTAL export before anything is created;
- "Minimum number of item interactions records per dataset import job with FULL
  or INCREMENTAL import mode: 1000": an interactions delta under it is carried
  (the export leaves its watermark behind, so the next delta holds the rows
  again) and not imported;
- "Maximum amount of bulk ... data per dataset import job with INCREMENTAL
  import mode: 1 GB" (100 GB with FULL): a bigger delta is imported as several
  INCREMENTAL jobs, one per data file, each under the limit. One job takes one
  S3 location, so a FULL import cannot be assembled from a chain of folders.
"""
from __future__ import annotations

from typing import Any, Optional

from . import api_requests, clients, naming, storage
from .errors import ImportBaseMissing, ParamsInvalid, ResourceFailed
from .logs import get_logger
from .personalize_ops import call_or_defer, describe, is_failed, paginate
from .plan import DatasetPlan, Plan

log = get_logger()

# The params' import_mode: a policy over the export's modes, not a per-run switch.
FOLLOW_EXPORT = "follow_export"
FULL_ONLY = "full_only"
POLICIES = (FOLLOW_EXPORT, FULL_ONLY)
# Per import job, https://docs.aws.amazon.com/personalize/latest/dg/limits.html.
# 1 GB is read as 10^9 bytes, the smaller reading, so a part never exceeds it.
MAX_BYTES = {"FULL": 100 * 10**9, "INCREMENTAL": 10**9}
MIN_INTERACTION_RECORDS_PER_JOB = 1000
FULL_EXPORT_HINT = "run a FULL export first (--mode FULL locally, job argument --export_mode FULL in Glue)"


def parse_policy(value: Any) -> str:
    """The params' import_mode. FULL and INCREMENTAL were per-run switches;
    they are refused with their replacement rather than given a new meaning."""
    if value in POLICIES:
        return value
    if value == "FULL":
        raise ParamsInvalid(f"import_mode: 'FULL' is no longer accepted: each dataset's import mode now follows its export. "
                            f"Write '{FULL_ONLY}' to import only FULL exports (an INCREMENTAL export is then refused), "
                            f"or '{FOLLOW_EXPORT}' (the default)")
    if value == "INCREMENTAL":
        raise ParamsInvalid(f"import_mode: 'INCREMENTAL' is no longer accepted: importing a full export as an increment "
                            f"re-sends the whole history. Write '{FOLLOW_EXPORT}' (the default): an INCREMENTAL export "
                            "is then imported INCREMENTAL, a FULL export FULL")
    raise ParamsInvalid(f"import_mode: must be one of {', '.join(POLICIES)}, got {value!r}")


def export_mode(entry: dict) -> str:
    """A dataset's export mode; a manifest written before incremental exports holds full exports."""
    mode = entry.get("mode", "FULL")
    if mode not in MAX_BYTES:
        raise ParamsInvalid(f"export.manifest_uri: datasets mode {mode!r} is neither FULL nor INCREMENTAL")
    return mode


def dataset_import(key: str, entry: dict, manifest_uri: str, policy: str) -> dict:
    """The import keys of one dataset's plan, from its manifest entry."""
    mode = export_mode(entry)
    if mode == "INCREMENTAL" and policy == FULL_ONLY:
        raise ParamsInvalid(f"import_mode: '{FULL_ONLY}' imports FULL exports only, and datasets.{key} of the manifest "
                            f"{manifest_uri} is INCREMENTAL: {FULL_EXPORT_HINT}, or set import_mode '{FOLLOW_EXPORT}'")
    out: dict = {"importMode": mode, "carried": bool(entry.get("carried"))}
    if out["carried"]:
        out["carriedReason"] = entry.get("carried_reason") or "the delta is under Personalize's per-job minimum of 1,000 records"
    elif key == "interactions" and mode == "INCREMENTAL" and entry.get("rows") is not None \
            and entry["rows"] < MIN_INTERACTION_RECORDS_PER_JOB:
        # The export should have carried it; importing it would fail the job.
        raise ParamsInvalid(
            f"export.manifest_uri: datasets.interactions holds {entry['rows']} rows, under Personalize's minimum of "
            f"{MIN_INTERACTION_RECORDS_PER_JOB} interaction records per import job, and is not marked carried "
            "(https://docs.aws.amazon.com/personalize/latest/dg/limits.html)")
    return out


def chain_rows(entry: dict) -> Optional[int]:
    """Rows the dataset holds after this run: the chain's, else the export's own."""
    return entry.get("chain_rows", entry.get("rows"))


def chain_locations(manifest_uri: str, entry: dict) -> list[str]:
    """The folders whose rows the dataset holds after this run: the base export and
    every delta imported since (carried ones are not imported)."""
    chain = entry.get("chain")
    if not chain:
        return [] if entry.get("carried") else [storage.resolve(manifest_uri, entry["prefix"].rstrip("/") + "/")]
    return [storage.resolve(manifest_uri, link["prefix"].rstrip("/") + "/") for link in chain if not link.get("carried")]


def _objects(prefix_uri: str) -> list[tuple[str, int]]:
    bucket, prefix = storage.split_s3_uri(prefix_uri)
    pages = clients.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted((f"s3://{bucket}/{o['Key']}", o["Size"]) for page in pages for o in page.get("Contents", [])
                  if not o["Key"].endswith("/") and o["Size"] > 0)


def split_oversized(plan: Plan, declared_bytes: dict[str, Optional[int]]) -> None:
    """Give each dataset over its mode's per-job size one import job per data
    file (``dataParts``); refuse a single file over the limit, naming it."""
    for dataset in plan["datasets"]:
        limit = MAX_BYTES[dataset["importMode"]]
        size = declared_bytes.get(dataset["key"])
        if dataset.get("carried") or size is None or size <= limit:
            continue
        files = _objects(dataset["dataLocation"])
        too_big = [(uri, n) for uri, n in files if n > limit]
        if too_big:
            uri, n = too_big[0]
            raise ParamsInvalid(
                f"export.manifest_uri: datasets.{dataset['key']} file {uri} is {n} bytes, over the {limit} bytes one "
                f"{dataset['importMode']} import job may read (https://docs.aws.amazon.com/personalize/latest/dg/limits.html): "
                "export it in smaller files")
        dataset["dataParts"] = [uri for uri, _ in files]
        log.info("import split into one job per file", extra={"dataset": dataset["key"], "bytes": size, "jobs": len(files)})


def _has_active_full_import(dataset_arn: str) -> bool:
    try:
        jobs = paginate("list_dataset_import_jobs", "datasetImportJobs", datasetArn=dataset_arn)
    except Exception as exc:  # the dataset does not exist yet: no import either
        if "ResourceNotFoundException" in str(exc):
            return False
        raise
    return any(job.get("status") == "ACTIVE" and job.get("importMode", "FULL") == "FULL" for job in jobs)


def refuse_increments_without_base(plan: Plan) -> None:
    """An INCREMENTAL export needs an ACTIVE FULL import in its dataset; checked
    before anything is created, and again before each import starts."""
    for dataset in plan["datasets"]:
        if dataset["importMode"] == "INCREMENTAL" and not dataset.get("carried"):
            _refuse_without_base(dataset)


def _refuse_without_base(dataset: DatasetPlan) -> None:
    if not _has_active_full_import(dataset["arn"]):
        raise ImportBaseMissing(
            f"datasets.{dataset['key']}: the export is INCREMENTAL but the dataset {dataset['arn']} has no ACTIVE FULL "
            f"import to add it to: {FULL_EXPORT_HINT}, then train on it")


def _job_names(dataset: DatasetPlan) -> list[tuple[str, Optional[str]]]:
    """(base job name, data location) per job of the dataset."""
    parts = dataset.get("dataParts")
    if not parts:
        return [(dataset["importJobName"], None)]
    return [(naming.resource_name(dataset["importJobName"], f"p{i}"), uri) for i, uri in enumerate(parts, start=1)]


def start_import(plan: Plan, dataset: DatasetPlan, settings: Any) -> list[dict]:
    """Describe, else start, the dataset's import job(s) in the mode the export
    has; nothing for a carried dataset. Returns the wait loop's resources."""
    if dataset.get("carried"):
        log.warning("dataset not imported: carried into the next delta", extra={"dataset": dataset["key"], "reason": dataset.get("carriedReason")})
        return []
    out = []
    for base_name, location in _job_names(dataset):
        out.append(_start_one(plan, dataset, base_name, location, settings))
    return out


def _start_one(plan: Plan, dataset: DatasetPlan, base_name: str, location: Optional[str], settings: Any) -> dict:
    mode = dataset["importMode"]
    for job_name in naming.retry_names(base_name):
        arn = naming.import_job_arn(plan["partition"], plan["region"], plan["account"], job_name)
        existing = describe("dataset_import_job", arn)
        if existing is not None and is_failed(existing.get("status")):
            continue  # an earlier attempt failed: try the next name
        found = {"kind": "dataset_import_job", "arn": arn, "label": dataset["key"], "importMode": mode}
        if existing is not None:
            return {**found, "importMode": existing.get("importMode", mode)}
        if mode == "INCREMENTAL":
            _refuse_without_base(dataset)
        request = api_requests.create_import_job(plan, dataset, job_name, mode, settings.personalize_role_arn)
        if location:
            request["dataSource"] = {"dataLocation": location}
        # About 5 imports may be pending per region; a job holds its slot for its
        # whole run, so a full quota is waited for, not retried:
        # https://docs.aws.amazon.com/personalize/latest/dg/limits.html
        _, refused = call_or_defer("create_dataset_import_job", job_name, request, for_now={"LimitExceededException"},
                                   always_for_now=True)
        if refused is not None:
            log.info("import deferred: no import slot free", extra={"job": job_name, "reason": refused})
            return {**found, "deferred": {"operation": "create_dataset_import_job", "request": request}}
        return found
    raise ResourceFailed(f"dataset import job {base_name} ({dataset['key']}): every retry attempt failed")


def resolve_training_modes(plan: Plan, deleting: bool) -> None:
    """training_mode follow_import: UPDATE when every dataset imported this run
    was INCREMENTAL (or carried), nothing was deleted, and the recipe allows
    UPDATE; FULL otherwise (a FULL import replaced the data, deleted users must
    leave the model: https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html)."""
    from .params import UPDATE_RECIPES

    incremental_only = all(d["importMode"] == "INCREMENTAL" or d.get("carried") for d in plan["datasets"])
    for solution in plan["solutions"]:
        if solution["trainingMode"] != "follow_import":
            continue
        allows_update = solution["recipeArn"].rsplit("/", 1)[-1] in UPDATE_RECIPES
        solution["trainingMode"] = "UPDATE" if allows_update and incremental_only and not deleting else "FULL"


def summary(plan: Plan) -> dict:
    """What each dataset's import did, for the success notification."""
    out = {}
    for d in plan["datasets"]:
        if d.get("carried"):
            out[d["key"]] = {"importMode": "SKIPPED", "carried": True, "reason": d.get("carriedReason")}
        else:
            out[d["key"]] = {"importMode": d["importMode"], "jobs": len(d.get("dataParts") or [None])}
    return out
