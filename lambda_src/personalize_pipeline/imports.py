"""How each dataset is imported: the import mode follows the export manifest.

A FULL export is imported FULL, an INCREMENTAL export (a delta on a base FULL
export) INCREMENTAL. Personalize's rules decide the rest
(https://docs.aws.amazon.com/personalize/latest/dg/bulk-data-import.html and the
quotas at https://docs.aws.amazon.com/personalize/latest/dg/limits.html):

- INCREMENTAL needs an earlier bulk import into the dataset: a delta imported
  FULL would replace the whole history with one day. A delta adds to its
  chain, so the chain's base FULL import and every delta imported since must
  be ACTIVE in the dataset (``check_import_order``); else the delta is refused
  before anything is created. The export has moved its watermark past a delta
  whose training run never imported it, so that run is named, to be trained
  first;
- an export older than one the dataset already holds is refused: its items and
  users would replace newer ones (a FULL one, the whole dataset);
- "Minimum number of item interactions records per dataset import job with FULL
  or INCREMENTAL import mode: 1000", and "To append data to an Item
  interactions dataset ... with a dataset import job, you must have at minimum
  1000 new item interaction ... records"
  (https://docs.aws.amazon.com/personalize/latest/dg/updating-datasets.html):
  an interactions delta with fewer new rows (``new_rows``: the rows the export
  did not read again) is carried (the export leaves its watermark behind, so
  the next delta holds the rows again) and not imported;
- "Maximum amount of bulk ... data per dataset import job with INCREMENTAL
  import mode: 1 GB" (100 GB with FULL): a bigger delta is imported as several
  INCREMENTAL jobs, one per data file, each under the limit. One job takes one
  S3 location and a FULL job replaces what the dataset holds, so a FULL export
  over 100 GB cannot be split into jobs: it is refused.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from . import api_requests, naming, storage
from .errors import ExportSuperseded, ImportBaseMissing, ParamsInvalid, ResourceFailed
from .logs import get_logger
from .personalize_ops import call_or_defer, describe, is_failed, paginate
from .plan import DatasetPlan, Plan, SolutionPlan

log = get_logger()

# The params' import_mode: a policy over the export's modes, not a per-run switch.
FOLLOW_EXPORT = "follow_export"
FULL_ONLY = "full_only"
POLICIES = (FOLLOW_EXPORT, FULL_ONLY)
# Per import job, https://docs.aws.amazon.com/personalize/latest/dg/limits.html.
# 1 GB is read as 10^9 bytes, the smaller reading, so a part never exceeds it.
MAX_BYTES = {"FULL": 100 * 10**9, "INCREMENTAL": 10**9}
MIN_INTERACTION_RECORDS_PER_JOB = 1000
# Terraform always gives the Glue prepare job --export_mode auto: one run asks for a mode
# with the workflow run property export_requested (docs/export-spec.md, "Choosing the mode").
FULL_EXPORT_HINT = ("run a FULL export first (--mode FULL locally; in Glue, start the workflow run with the run property "
                    "export_requested=FULL)")
# The export's run ids start with its UTC time (20260102T020000Z-a1b2c3), so they sort in time.
RUN_ID_TIME = re.compile(r"^[0-9]{8}T[0-9]{6}Z")
RUN_ID_TIME_ANYWHERE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
FULL_RETRAINING_DAYS = 7


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
        out["carriedReason"] = entry.get("carried_reason") or (
            "the delta has fewer new interaction records than Personalize's minimum of 1,000 per import job"
            if key == "interactions" else "the delta has no record to import")
    elif key == "interactions" and mode == "INCREMENTAL" and new_rows(entry) is not None \
            and new_rows(entry) < MIN_INTERACTION_RECORDS_PER_JOB:
        # The export should have carried it; importing it would fail the job.
        raise ParamsInvalid(
            f"export.manifest_uri: datasets.interactions holds {new_rows(entry)} new rows ({entry.get('rows')} in all), "
            f"under Personalize's minimum of {MIN_INTERACTION_RECORDS_PER_JOB} new interaction records per import job, "
            "and is not marked carried (https://docs.aws.amazon.com/personalize/latest/dg/updating-datasets.html): "
            "export again (a delta under the minimum is carried into the next one), or run a FULL export")
    return out


def new_rows(entry: dict) -> Optional[int]:
    """The delta's rows the export had not read before (``new_rows``); a manifest that
    does not count them holds only new rows."""
    return entry.get("new_rows", entry.get("rows"))


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


def split_oversized(plan: Plan, declared_bytes: dict[str, Optional[int]]) -> None:
    """Give each INCREMENTAL dataset over the per-job size one import job per data
    file (``dataParts``); refuse a single file over the limit, naming it, and a FULL
    export over its limit (each FULL job would replace the one before)."""
    for dataset in plan["datasets"]:
        mode = dataset["importMode"]
        limit = MAX_BYTES[mode]
        size = declared_bytes.get(dataset["key"])
        if dataset.get("carried") or size is None or size <= limit:
            continue
        if mode == "FULL":
            raise ParamsInvalid(
                f"export.manifest_uri: datasets.{dataset['key']} is a FULL export of {size} bytes, over the {limit} bytes "
                "one FULL import job may read (https://docs.aws.amazon.com/personalize/latest/dg/limits.html), and a FULL "
                "import replaces what the dataset holds, so it cannot be split into several jobs: export less history")
        files = storage.list_objects(dataset["dataLocation"])
        too_big = [(uri, n) for uri, n in files if n > limit]
        if too_big:
            uri, n = too_big[0]
            raise ParamsInvalid(
                f"export.manifest_uri: datasets.{dataset['key']} file {uri} is {n} bytes, over the {limit} bytes one "
                f"{mode} import job may read (https://docs.aws.amazon.com/personalize/latest/dg/limits.html): "
                "export it in smaller files")
        dataset["dataParts"] = [uri for uri, _ in files]
        log.info("import split into one job per file", extra={"dataset": dataset["key"], "bytes": size, "jobs": len(files)})


class _ImportedRuns:
    """Which export runs a dataset holds: its ACTIVE import jobs, matched to runs by
    the names this module gives them (``<dataset>-<run_id>``, ``-p<N>`` per part of
    a split import, ``-r<K>`` per retry)."""

    def __init__(self, dataset: DatasetPlan) -> None:
        self.dataset = dataset
        try:
            jobs = paginate("list_dataset_import_jobs", "datasetImportJobs", datasetArn=dataset["arn"])
        except Exception as exc:  # the dataset does not exist yet: no import either
            if "ResourceNotFoundException" not in str(exc):
                raise
            jobs = []
        self.active = {job["jobName"]: job.get("importMode", "FULL") for job in jobs if job.get("status") == "ACTIVE"}
        self.failed = {job["jobName"]: job.get("failureReason") or "no reason given" for job in jobs if is_failed(job.get("status"))}

    def _active(self, base_name: str) -> bool:
        return any(name in self.active for name in naming.retry_names(base_name))

    def holds(self, run_id: str, location: str) -> bool:
        """Whether the run's export, in ``location``, was imported whole: its one job,
        or one job per file of its folder."""
        base = naming.resource_name(self.dataset["name"], run_id)
        if self._active(base):
            return True
        parts = storage.list_objects(location)
        return len(parts) > 1 and all(self._active(naming.resource_name(base, f"p{i}")) for i in range(1, len(parts) + 1))

    def failure(self, run_id: str) -> Optional[str]:
        """Why an import job of the run failed, when one did (its name, or a part's)."""
        base = naming.resource_name(self.dataset["name"], run_id)
        return next((f"{name}: {reason}" for name, reason in sorted(self.failed.items())
                     if name in naming.retry_names(base) or name.startswith(base + "-p")), None)

    def has_full_import(self) -> bool:
        return "FULL" in self.active.values()


def _newer_runs(manifest_uri: str, run_id: str) -> list[str]:
    """The export runs after ``run_id`` in the export root (none when run ids carry no time)."""
    if not RUN_ID_TIME.match(run_id):
        return []
    return sorted(r for r in storage.list_folders(storage.resolve(manifest_uri, "../")) if RUN_ID_TIME.match(r) and r > run_id)


def check_import_order(plan: Plan, manifest_uri: str, entries: dict) -> None:
    """Refuse, before anything is created, an export that does not follow what each
    dataset holds: a delta whose chain (its base FULL import and every delta since)
    is not all ACTIVE in the dataset, and an export older than one the dataset holds."""
    newer = _newer_runs(manifest_uri, plan["runId"])
    for dataset in plan["datasets"]:
        if dataset.get("carried") or (dataset["importMode"] == "FULL" and not newer):
            continue
        imported = _ImportedRuns(dataset)
        if dataset["importMode"] == "INCREMENTAL":
            _refuse_without_base(dataset, imported)
            _refuse_chain_gaps(plan, dataset, imported, manifest_uri, entries[dataset["key"]].get("chain") or [])
        here = storage.resolve(manifest_uri, f"{dataset['key']}/")
        # A replay of a run the dataset already holds imports nothing: no newer record is replaced.
        held_newer = [] if imported.holds(plan["runId"], here) else [
            run_id for run_id in newer if imported.holds(run_id, storage.resolve(manifest_uri, f"../{run_id}/{dataset['key']}/"))]
        if held_newer:
            raise ExportSuperseded(
                f"datasets.{dataset['key']}: the dataset {dataset['arn']} already holds the newer export(s) "
                f"{', '.join(held_newer)}; importing this export ({plan['runId']}) would replace newer records with older "
                f"ones. Train on the newest export instead (write the params of {held_newer[-1]} or a later export again)")


def _refuse_chain_gaps(plan: Plan, dataset: DatasetPlan, imported: _ImportedRuns, manifest_uri: str, chain: list) -> None:
    """ImportBaseMissing naming every run of the delta's chain the dataset does not hold,
    oldest first, with the reason its import failed where one did."""
    missing = [link["run_id"] for link in chain if link["run_id"] != plan["runId"] and not link.get("carried")
               and not imported.holds(link["run_id"], storage.resolve(manifest_uri, link["prefix"]))]
    if not missing:
        return
    failures = [f"{run_id}'s import failed ({failure})" for run_id in missing for failure in [imported.failure(run_id)] if failure]
    base = " (the chain's base FULL export)" if chain and missing[0] == chain[0]["run_id"] else ""
    raise ImportBaseMissing(
        f"datasets.{dataset['key']}: this delta builds on {', '.join(missing)}{base}, which the dataset {dataset['arn']} "
        "does not hold (no ACTIVE import): the export has moved its watermark past those rows, so train "
        f"{'that run' if len(missing) == 1 else 'those runs, oldest first'} (write the params of each export again), "
        f"then this one. {'; '.join(failures) + '. ' if failures else ''}If an import cannot succeed, "
        f"{FULL_EXPORT_HINT}: a new chain needs none of these runs")


def _refuse_without_base(dataset: DatasetPlan, imported: Optional[_ImportedRuns] = None) -> None:
    """An INCREMENTAL export needs an ACTIVE FULL import in its dataset: judged with
    the whole chain at ReadParams, and again before each import starts."""
    if not (imported or _ImportedRuns(dataset)).has_full_import():
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
    """training_mode follow_import: UPDATE when this run imports at least one
    dataset, every dataset it imports is INCREMENTAL (the others are carried),
    nothing is deleted, and the recipe allows UPDATE; FULL otherwise: a FULL
    import replaced the data, and a run that imports nothing has no changed data
    for an UPDATE ("An UPDATE processes only the data that has changed since the
    latest training", botocore's SolutionVersion.trainingMode). A run that deletes
    users trains FULL whatever the mode, so the deleted users leave the models
    (https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html: "be
    sure to create a new solution version"; UPDATE is "not a full retraining")."""
    from .params import UPDATE_RECIPES

    imported = [d for d in plan["datasets"] if not d.get("carried")]
    incremental_only = bool(imported) and all(d["importMode"] == "INCREMENTAL" for d in imported)
    for solution in plan["solutions"]:
        if solution["trainingMode"] == "follow_import":
            allows_update = solution["recipeArn"].rsplit("/", 1)[-1] in UPDATE_RECIPES
            solution["trainingMode"] = "UPDATE" if allows_update and incremental_only and not deleting else "FULL"
        elif solution["trainingMode"] == "UPDATE" and deleting:
            log.warning("training FULL instead of UPDATE: this run deletes users", extra={"solution": solution["key"]})
            solution["trainingMode"] = "FULL"


def full_retraining_due(plan: Plan, solution: SolutionPlan, newest_full: Optional[dict]) -> Optional[str]:
    """Why a follow_import UPDATE trains FULL instead, or None. UPDATE "is not a full
    retraining. You should still complete a full retraining weekly" (botocore's
    CreateSolutionVersion trainingMode): FULL when no ACTIVE FULL version exists, or
    when the newest (``newest_full``, as described) trained on an export
    ``FULL_RETRAINING_DAYS`` or more before this run's. Both times are the exports' run
    times (from the run id in the version's name), else when the version was created."""
    if newest_full is None:
        return "no ACTIVE FULL version yet"
    # A plan written before training policies (an execution in flight across a deploy).
    if solution.get("trainingPolicy") != "follow_import":
        return None
    found = RUN_ID_TIME_ANYWHERE.search(newest_full.get("name") or "")
    trained = run_time(found.group(0)) if found else newest_full["creationDateTime"]
    exported = run_time(plan["runId"]) or datetime.now(timezone.utc)
    if exported - trained >= timedelta(days=FULL_RETRAINING_DAYS):
        return f"the newest FULL version trained on data of {trained:%Y-%m-%d}, {FULL_RETRAINING_DAYS} days or more before this export"
    return None


def run_time(run_id: str) -> Optional[datetime]:
    """The UTC time an export run id starts with."""
    match = RUN_ID_TIME.match(run_id)
    return datetime.strptime(match.group(0), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc) if match else None


def summary(plan: Plan) -> dict:
    """What each dataset's import did, for the success notification."""
    out = {}
    for d in plan["datasets"]:
        if d.get("carried"):
            out[d["key"]] = {"importMode": "SKIPPED", "carried": True, "reason": d.get("carriedReason")}
        else:
            out[d["key"]] = {"importMode": d["importMode"], "jobs": len(d.get("dataParts") or [None])}
    return out
