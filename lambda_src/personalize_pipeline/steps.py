"""The pipeline's steps as plain functions over the plan. Each one describes
before it creates, using the plan's deterministic names, so a re-run converges
on what exists instead of duplicating it."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from botocore.exceptions import ClientError

from . import (
    api_requests,
    batch_jobs,
    clients,
    cloudwatch_metrics,
    deletion,
    gate,
    imports,
    naming,
    params,
    recommenders,
    schema_rules,
    storage,
)
from .errors import (
    ConcurrentRun,
    ParamsInvalid,
    PersonalizeRequestFailed,
    QualityGateRejected,
    ResourceConflict,
    ResourceFailed,
    SettingsMissing,
    WaitTimedOut,
)
from .logs import get_logger
from .personalize_ops import KIND_LABELS, call, call_or_defer, create, describe, is_failed, paginate, seconds_between
from .plan import DatasetPlan, Plan, ReadinessRules, SolutionPlan, WaitPlan
from .readiness import check_readiness
from .waiting import WaitPolicy, next_wait_seconds

log = get_logger()

PHASE_KINDS = {"imports": "dataset_import_job", "solution_versions": "solution_version", "campaigns": "campaign"}


def _required_env(env: Mapping[str, str], name: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise SettingsMissing(f"{name}: is required (set by the training-pipeline Terraform module)")
    return value


@dataclass(frozen=True)
class Settings:
    """The Lambdas' environment (modules/training-pipeline/lambda.tf sets it).

    Required: PERSONALIZE_ROLE_ARN (the role Personalize assumes to read the
    exports) and SSM_PARAMETER_PREFIX (where runs keep their parameters).
    Optional: PERSONALIZE_KMS_KEY_ARN, default "" (an AWS-owned key), and
    LOG_LEVEL, default INFO (read by logs.get_logger)."""

    personalize_role_arn: str
    kms_key_arn: str
    ssm_prefix: str

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        return cls(
            personalize_role_arn=_required_env(env, "PERSONALIZE_ROLE_ARN"),
            kms_key_arn=(env.get("PERSONALIZE_KMS_KEY_ARN") or "").strip(),
            ssm_prefix=_required_env(env, "SSM_PARAMETER_PREFIX"),
        )


def resource(kind: str, arn: str, label: str, **extra: Any) -> dict:
    return {"kind": kind, "arn": arn, "label": label, **extra}


# ---------------------------------------------------------------- read params
def _read_expected_durations(parameter: str) -> dict[str, int]:
    try:
        value = clients.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return {}
        raise
    data = json.loads(value)
    return {k: int(v) for k, v in data.items() if isinstance(v, (int, float)) and v > 0}


def refuse_concurrent_run(execution_arn: str) -> None:
    """Fail at once, before touching anything, when an execution of this state
    machine that started earlier is still running. Both runs would drive the
    same dataset group (imports replacing each other's data, two campaign
    updates); the earlier one goes on, this one stops and says so."""
    # arn:aws:states:<region>:<account>:execution:<state machine>:<execution>
    parts = execution_arn.split(":")
    machine_arn = ":".join(parts[:5] + ["stateMachine", parts[6]])
    sfn = clients.client("stepfunctions")
    running = [e for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn, statusFilter="RUNNING")
               for e in page["executions"]]
    mine = next((e for e in running if e["executionArn"] == execution_arn), None)
    if mine is None:
        return
    earlier = sorted((e for e in running if e["executionArn"] != execution_arn
                      and (e["startDate"], e["name"]) < (mine["startDate"], mine["name"])), key=lambda e: e["startDate"])
    if earlier:
        first = earlier[0]
        raise ConcurrentRun(
            f"execution {first['name']} (started {first['startDate'].isoformat()}) is still running: one run at a time drives the "
            "dataset group, so this run stops without touching Personalize. Once that execution has ended, write "
            "these params again (a delta names the earlier runs to train first, if it needs them)"
        )


def read_params(bucket: str, key: str, version_id: str | None, partition: str, region: str, account: str,
                settings: Settings) -> dict:
    """Read the params object version named by the event, validate it and every
    request it implies, and return the plan. Touches no Personalize resource."""
    try:
        raw = storage.read_json(f"s3://{bucket}/{key}", version_id)
    except json.JSONDecodeError as exc:
        raise ParamsInvalid(f"s3://{bucket}/{key}: not valid JSON ({exc})") from exc
    normalised = params.parse_params(raw)
    if not normalised["kms_key_arn"] and settings.kms_key_arn:
        normalised["kms_key_arn"] = settings.kms_key_arn
    manifest_uri = normalised["manifest_uri"]
    try:
        manifest = storage.read_json(manifest_uri)
    except (ClientError, OSError, json.JSONDecodeError) as exc:
        raise ParamsInvalid(f"export.manifest_uri: cannot read the manifest {manifest_uri}: {exc}") from exc
    if manifest.get("run_id") != normalised["run_id"]:
        raise ParamsInvalid(f"export.run_id: {normalised['run_id']!r} does not match the manifest's run_id {manifest.get('run_id')!r}")
    datasets = manifest.get("datasets") or {}
    if "interactions" not in datasets:
        raise ParamsInvalid(f"export.manifest_uri: the manifest {manifest_uri} has no interactions dataset")
    schemas = {}
    for name, entry in datasets.items():
        if name not in params.DATASET_TYPES:
            raise ParamsInvalid(f"export.manifest_uri: unknown dataset {name!r} in the manifest")
        for field in ("prefix", "schema"):
            if not entry.get(field):
                raise ParamsInvalid(f"export.manifest_uri: datasets.{name}.{field} is missing from the manifest")
        schema_uri = storage.resolve(manifest_uri, entry["schema"])
        try:
            schemas[name] = params.dumps_schema(storage.read_json(schema_uri))
        except (ClientError, OSError, json.JSONDecodeError) as exc:
            raise ParamsInvalid(f"export.manifest_uri: cannot read the {name} schema {schema_uri}: {exc}") from exc
    prefix = settings.ssm_prefix.rstrip("/")
    expected = _read_expected_durations(f"{prefix}/{normalised['name']}/durations")
    plan = params.build_plan(normalised, manifest, manifest_uri, schemas, partition, region, account, expected,
                              settings.ssm_prefix)
    # Without a configured role the requests are checked against a placeholder of the same partition.
    checked = api_requests.validate_all(plan, settings.personalize_role_arn or f"arn:{partition}:iam::000000000000:role/personalize")
    if plan["dataDeletion"]:
        api_requests.validate_request("delete_vanished_users", "CreateDataDeletionJob", deletion.create_request(
            plan, plan["dataDeletion"], plan["dataDeletion"]["jobName"], settings.personalize_role_arn or f"arn:{partition}:iam::000000000000:role/personalize"))
        checked += 1
    log.info("params valid", extra={"requests_checked": checked, "run_id": plan["runId"]})
    # A delta over the per-job size becomes one job per file; a delta needs its
    # whole chain imported, and no newer export may be: judged before anything is created.
    imports.split_oversized(plan, {name: entry.get("bytes") for name, entry in datasets.items()})
    imports.check_import_order(plan, manifest_uri, datasets)
    plan["paramsObject"] = {"bucket": bucket, "key": key, "versionId": version_id}
    export_summary = {
        "runId": manifest.get("run_id"),
        "readiness": manifest.get("readiness"),
        "rows": {name: entry.get("rows") for name, entry in datasets.items()},
        # For Finalize's CloudWatch metrics (rows rejected, by reason).
        "rejected": {name: entry.get("rejected") for name, entry in datasets.items()},
        "rejectedByReason": {name: entry.get("rejected_by_reason") or {} for name, entry in datasets.items()},
        "interactionsLocation": next(d["dataLocation"] for d in plan["datasets"] if d["key"] == "interactions"),
        # What the datasets hold after this run: the base export and its deltas.
        "chainRows": {name: imports.chain_rows(entry) for name, entry in datasets.items()},
        "interactionsLocations": imports.chain_locations(manifest_uri, datasets["interactions"]),
    }
    plan["exportRows"] = dict(export_summary["chainRows"])
    # Only what later steps need travels in the state, well under 256 KB.
    for ds in plan["datasets"]:
        ds.pop("rows", None)
    # Slots the state machine fills in: resources per phase, wait-loop progress.
    return {"plan": plan, "export": export_summary, "resources": {"recommenders": [], "batchJobs": []}, "recommenderGate": [],
            "progress": {phase: {} for phase in params.WAIT_PHASES}}


def readiness(export_summary: dict, rules: ReadinessRules) -> dict:
    return check_readiness(export_summary, rules)


# -------------------------------------------------------------- dataset group
def ensure_dataset_group(plan: Plan, settings: Settings) -> list[dict]:
    group = plan["datasetGroup"]
    existing = describe("dataset_group", group["arn"])
    if existing is None:
        create("create_dataset_group", group["name"], api_requests.create_dataset_group(plan, settings.personalize_role_arn))
        log.info("dataset group created", extra={"arn": group["arn"]})
    elif group.get("kmsKeyArn") and existing.get("kmsKeyArn") not in (None, group["kmsKeyArn"]):
        raise ResourceConflict(f"dataset group {group['arn']} uses KMS key {existing.get('kmsKeyArn')}, the params ask for {group['kmsKeyArn']}")
    else:
        recommenders.check_group_domain(existing, plan)
    return [resource("dataset_group", group["arn"], group["name"])]


# ------------------------------------------------------------------- datasets
def ensure_dataset(plan: Plan, dataset: DatasetPlan) -> dict:
    existing = describe("dataset", dataset["arn"])
    if existing is None:
        if describe("schema", dataset["schemaArn"]) is None:
            create("create_schema", dataset["schemaName"], api_requests.create_schema(dataset, plan.get("domain")))
        create("create_dataset", dataset["name"], api_requests.create_dataset(plan, dataset))
        return resource("dataset", dataset["arn"], dataset["key"])
    update = existing.get("latestDatasetUpdate") or {}
    update_running = bool(update) and not is_failed(update.get("status")) and update.get("status") != "ACTIVE"
    # The schema the dataset has, or is being given by an update still running.
    current_arn = update.get("schemaArn") if update_running else existing["schemaArn"]
    if current_arn == dataset["schemaArn"]:
        return resource("dataset", dataset["arn"], dataset["key"], schemaArn=dataset["schemaArn"])
    old = describe("schema", current_arn)
    old_text = old["schema"] if old else "{}"
    if schema_rules.same_fields(old_text, dataset["schema"]):
        # Field order, version or record name only: Personalize would gain nothing
        # from a replacement (and refuses any for interactions).
        log.info("schema change is cosmetic: the dataset keeps its schema", extra={"dataset": dataset["arn"], "schema": current_arn})
        return resource("dataset", dataset["arn"], dataset["key"])
    # Judged before anything is created, so a refused change leaves no trace.
    schema_rules.check_schema_change(dataset["key"], old_text, dataset["schema"])
    if describe("schema", dataset["schemaArn"]) is None:
        create("create_schema", dataset["schemaName"], api_requests.create_schema(dataset, plan.get("domain")))
    request = api_requests.update_dataset(dataset)
    if update_running:
        # An earlier run's replacement still runs: Personalize refuses another
        # one until it ends, so the wait loop sends this one then.
        log.info("dataset update deferred until the running one ends", extra={"dataset": dataset["arn"]})
        return resource("dataset", dataset["arn"], dataset["key"], schemaArn=dataset["schemaArn"],
                        deferred={"operation": "update_dataset", "request": request})
    _, refused = call_or_defer("update_dataset", dataset["arn"], request, for_now={"ResourceInUseException"})
    if refused is not None:
        return resource("dataset", dataset["arn"], dataset["key"], schemaArn=dataset["schemaArn"],
                        deferred={"operation": "update_dataset", "request": request})
    log.info("dataset schema replacement started", extra={"dataset": dataset["arn"], "schema": dataset["schemaArn"]})
    return resource("dataset", dataset["arn"], dataset["key"], schemaArn=dataset["schemaArn"])


# ---------------------------------------------------------------- import jobs
# imports.start_import: the mode follows the export manifest.


# ----------------------------------------------------------------- solutions
# What UpdateSolution can change; everything else about a solution is fixed:
# https://docs.aws.amazon.com/personalize/latest/dg/API_UpdateSolution.html
UPDATABLE_CONFIG = ("autoTrainingConfig", "eventsConfig")


def _contains(actual: Any, wanted: Any) -> bool:
    """``actual`` holds everything ``wanted`` sets (dicts compared key by key,
    so defaults Personalize adds do not count as a change)."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(_contains(actual.get(k), v) for k, v in wanted.items())
    return actual == wanted


def _fixed_setting_changes(existing: dict, solution: SolutionPlan) -> list[str]:
    wanted_config = {k: v for k, v in (solution.get("solutionConfig") or {}).items() if k not in UPDATABLE_CONFIG}
    current_config = {k: v for k, v in (existing.get("solutionConfig") or {}).items() if k not in UPDATABLE_CONFIG}
    changes = []
    for label, current, wanted in (
        ("recipe_arn", existing.get("recipeArn"), solution["recipeArn"]),
        ("perform_hpo", bool(existing.get("performHPO", False)), solution["performHPO"]),
        ("event_type", existing.get("eventType"), solution.get("eventType")),
    ):
        if current != wanted:
            changes.append(f"{label} {current!r} -> {wanted!r}")
    # Only what the params set is compared: Personalize may describe defaults the
    # params never named.
    for key in sorted(wanted_config):
        if not _contains(current_config.get(key), wanted_config[key]):
            changes.append(f"solution_config.{key} {current_config.get(key)!r} -> {wanted_config.get(key)!r}")
    return changes


def _updatable_changes(existing: dict, solution: SolutionPlan) -> dict:
    """The settings UpdateSolution must change, judged against the running
    update's target when one runs."""
    update = existing.get("latestSolutionUpdate") or {}
    running = bool(update) and update.get("status") not in ("ACTIVE",) and not is_failed(update.get("status"))
    auto = update.get("performAutoTraining", existing.get("performAutoTraining")) if running else existing.get("performAutoTraining")
    config = {**(existing.get("solutionConfig") or {}), **(update.get("solutionUpdateConfig") or {} if running else {})}
    wanted = solution.get("solutionConfig") or {}
    changes: dict = {}
    if auto != solution["performAutoTraining"]:
        changes["performAutoTraining"] = solution["performAutoTraining"]
    for key in UPDATABLE_CONFIG:
        if key in wanted and not _contains(config.get(key), wanted[key]):
            changes[key] = wanted[key]
    return changes


def _update_solution(solution: SolutionPlan, label: str, changes: dict) -> dict:
    request = api_requests.update_solution(solution, changes)
    _, refused = call_or_defer("update_solution", solution["arn"], request, for_now={"ResourceInUseException"})
    res = resource("solution", solution["arn"], label, performAutoTraining=request.get("performAutoTraining", solution.get("performAutoTraining")))
    if refused is not None:
        res["deferred"] = {"operation": "update_solution", "request": request}
    log.info("solution update sent" if refused is None else "solution update deferred", extra={"solution": solution["arn"], "changes": changes})
    return res


def ensure_solution(plan: Plan, solution: SolutionPlan) -> dict:
    existing = describe("solution", solution["arn"])
    if existing is None:
        create("create_solution", solution["name"], api_requests.create_solution(plan, solution))
        return resource("solution", solution["arn"], solution["key"])
    fixed = _fixed_setting_changes(existing, solution)
    if fixed:
        raise ResourceConflict(
            f"solutions.{solution['key']}: solution {solution['arn']} cannot change {'; '.join(fixed)}: Personalize's "
            "UpdateSolution changes only automatic training and eventsConfig; rename the solution to train with the new "
            "settings (the pipeline then turns automatic training off on the old one)"
        )
    changes = _updatable_changes(existing, solution)
    if changes:
        return _update_solution(solution, solution["key"], changes)
    return resource("solution", solution["arn"], solution["key"])


def stop_auto_training_of_other_solutions(plan: Plan) -> list[dict]:
    """A solution the params no longer name (renamed or removed) would go on
    training every few days and billing for it: turn its automatic training off."""
    planned = {s["arn"] for s in plan["solutions"]}
    out = []
    for summary in paginate("list_solutions", "solutions", datasetGroupArn=plan["datasetGroup"]["arn"]):
        if summary["solutionArn"] in planned or summary.get("status") != "ACTIVE":
            continue
        existing = describe("solution", summary["solutionArn"])
        other = {"arn": summary["solutionArn"], "performAutoTraining": False}
        if existing and _updatable_changes(existing, other):
            log.warning("turning automatic training off on a solution the params no longer name", extra={"solution": other["arn"]})
            out.append(_update_solution(other, summary["name"], {"performAutoTraining": False}))
    return out


def ensure_extras(plan: Plan) -> list[dict]:
    """Filters and the event tracker (both optional); automatic training off on
    solutions the params no longer name."""
    out = stop_auto_training_of_other_solutions(plan)
    for flt in plan["filters"]:
        existing = describe("filter", flt["arn"])
        if existing is None:
            create("create_filter", flt["name"], api_requests.create_filter(plan, flt))
        elif existing.get("filterExpression") != flt["expression"]:
            raise ResourceConflict(
                f"filters.{flt['key']}: filter {flt['arn']} has a different expression; filters cannot change: rename the filter"
            )
        out.append(resource("filter", flt["arn"], flt["key"]))
    tracker = plan.get("eventTracker")
    if tracker:
        out.append(resource("event_tracker", _ensure_event_tracker(plan), tracker["name"]))
    return out


def _ensure_event_tracker(plan: Plan) -> str:
    """Personalize allows one event tracker per dataset group and cannot rename
    one (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateEventTracker.html).
    A tracker under another name is this group's tracker: replacing it would
    change the tracking id every client sends events with, so that is left to
    a person."""
    name = plan["eventTracker"]["name"]
    group_arn = plan["datasetGroup"]["arn"]

    def existing() -> list[dict]:
        return paginate("list_event_trackers", "eventTrackers", datasetGroupArn=group_arn)

    def refuse(other: dict) -> ResourceConflict:
        return ResourceConflict(
            f"event_tracker.name: dataset group {group_arn} already has the event tracker {other['name']!r} "
            f"({other['eventTrackerArn']}); Personalize allows one per dataset group and cannot rename it. Keep "
            f"event_tracker.name {other['name'].removeprefix(plan['name'] + '-')!r}, or delete that tracker (its clients' tracking id "
            "changes) and run again"
        )

    for tracker in existing():
        if tracker["name"] == name:
            return tracker["eventTrackerArn"]
        raise refuse(tracker)
    response, created = create("create_event_tracker", name, api_requests.create_event_tracker(plan))
    if created:
        return response["eventTrackerArn"]
    # Created meanwhile by a concurrent attempt: ours, or another name.
    for tracker in existing():
        if tracker["name"] == name:
            return tracker["eventTrackerArn"]
        raise refuse(tracker)
    raise PersonalizeRequestFailed(f"event tracker {name}: Personalize reports it exists but lists no tracker in {group_arn}; retry the run")


# --------------------------------------------------------- solution versions
# This run's versions are among the newest; older ones need not be described.
RECENT_VERSIONS_TO_MATCH = 20


def _find_versions_by_name(solution_arn: str, names: list[str]) -> dict[str, dict]:
    """Summaries carry no name, so the newest versions are described to find
    the ones this run created before (a re-run)."""
    found: dict[str, dict] = {}
    summaries = paginate("list_solution_versions", "solutionVersions", solutionArn=solution_arn)
    summaries.sort(key=lambda s: s["creationDateTime"], reverse=True)
    for summary in summaries[:RECENT_VERSIONS_TO_MATCH]:
        version = describe("solution_version", summary["solutionVersionArn"])
        if version and version.get("name") in names:
            found[version["name"]] = version
    return found


def start_solution_version(plan: Plan, solution: SolutionPlan) -> dict:
    names = naming.retry_names(solution["versionName"])
    existing = _find_versions_by_name(solution["arn"], names)
    for name in names:
        version = existing.get(name)
        if version is not None and is_failed(version.get("status")):
            continue
        if version is not None:
            arn, mode = version["solutionVersionArn"], version.get("trainingMode", solution["trainingMode"])
        else:
            mode = solution["trainingMode"]
            if mode == "UPDATE":
                summaries = paginate("list_solution_versions", "solutionVersions", solutionArn=solution["arn"])
                full = [s for s in summaries if s.get("status") == "ACTIVE" and s.get("trainingMode", "FULL") == "FULL"]
                newest = max(full, key=lambda s: s["creationDateTime"]) if full else None
                why = imports.full_retraining_due(plan, solution, newest and describe("solution_version", newest["solutionVersionArn"]))
                if why:
                    log.info("training FULL instead of UPDATE", extra={"solution": solution["arn"], "reason": why})
                    mode = "FULL"
            response, created = create("create_solution_version", name, api_requests.create_solution_version(plan, solution, name, mode))
            if not created:
                raise PersonalizeRequestFailed(f"solution version {name} exists but could not be found; retry the run")
            arn = response["solutionVersionArn"]
        return resource("solution_version", arn, solution["key"], trainingMode=mode)
    raise ResourceFailed(f"solution version {solution['versionName']} ({solution['key']}): every retry attempt failed")


# ---------------------------------------------------------------- wait loops
# The update each kind reports beside its own status, and what identifies the
# update a run asked for. Updates go CREATE PENDING > CREATE IN_PROGRESS >
# ACTIVE or CREATE FAILED while the resource itself stays ACTIVE:
# https://docs.aws.amazon.com/personalize/latest/dg/API_CampaignUpdateSummary.html
# https://docs.aws.amazon.com/personalize/latest/dg/API_SolutionUpdateSummary.html
# https://docs.aws.amazon.com/personalize/latest/dg/API_DatasetUpdateSummary.html
UPDATE_SUMMARIES = {
    "campaign": ("latestCampaignUpdate", "solutionVersionArn"),
    "dataset": ("latestDatasetUpdate", "schemaArn"),
    "solution": ("latestSolutionUpdate", "performAutoTraining"),
    # https://docs.aws.amazon.com/personalize/latest/dg/API_RecommenderUpdateSummary.html
    "recommender": ("latestRecommenderUpdate", "recommenderConfig"),
}


def resource_state(res: dict, described: dict | None) -> tuple[str, str | None, int | None]:
    """(state, failure reason, duration seconds) with state in done/failed/pending."""
    if described is None:
        return "failed", "it does not exist (deleted outside the pipeline?)", None
    status = described.get("status")
    reason = described.get("failureReason")
    duration = seconds_between(described.get("creationDateTime"), described.get("lastUpdatedDateTime"))
    if is_failed(status):
        if "STOPP" in (status or ""):
            return "failed", f"it was stopped ({status}) and will never become ACTIVE", None
        return "failed", reason, None
    # A data deletion job ends COMPLETED, not ACTIVE.
    if status not in ("ACTIVE", "COMPLETED") and not (res["kind"] == "dataset" and status is None):
        return "pending", None, None
    summary_key, identity = UPDATE_SUMMARIES.get(res["kind"], (None, None))
    update = described.get(summary_key) or {} if summary_key else {}
    # Only the update this run asked for counts; an older one that failed is history.
    # Compared key by key: Personalize may describe defaults the request never named.
    if update and identity in res and _contains(update.get(identity), res[identity]):
        if is_failed(update.get("status")):
            return "failed", f"its update failed: {update.get('failureReason') or 'no failureReason given'}", None
        if update.get("status") != "ACTIVE":
            return "pending", None, None
        duration = seconds_between(update.get("creationDateTime"), update.get("lastUpdatedDateTime"))
    if res["kind"] == "campaign" and described.get("solutionVersionArn") != res.get("solutionVersionArn", described.get("solutionVersionArn")):
        return "pending", None, None
    return "done", None, duration


def send_deferred(res: dict) -> str | None:
    """Send a request a step could not send yet (Personalize refused it for now:
    an import slot, an update still running). None once sent, else the reason it
    still waits."""
    deferred = res["deferred"]
    _, refused = call_or_defer(deferred["operation"], res["arn"], deferred["request"],
                               always_for_now=deferred["operation"] == "create_dataset_import_job")
    if refused is None:
        log.info("deferred request sent", extra={"operation": deferred["operation"], "arn": res["arn"]})
    return refused


def flatten(resources: Any) -> list[dict]:
    if isinstance(resources, dict):
        return [resources]
    out: list[dict] = []
    for item in resources or []:
        out.extend(flatten(item))
    return out


def check_resources(phase: str, resources: Any, progress: dict, waits: WaitPlan, expected: dict[str, int]) -> dict:
    """One status check of every resource of a wait loop. Returns the loop's
    progress: done, or the seconds to wait before the next check. Raises
    ResourceFailed (naming the resource and Personalize's failureReason) or
    WaitTimedOut (naming what is still pending)."""
    items = flatten(resources)
    pending, observed = [], {}
    kind = PHASE_KINDS.get(phase)
    first_check = not progress.get("polls")
    history = progress.get("expected") if not first_check else (expected.get(kind) if kind else None)
    sent = list(progress.get("sent", []))
    for res in items:
        label = f"{KIND_LABELS[res['kind']]} {res['arn']} ({res['label']})"
        if res.get("deferred") and res["arn"] not in sent:
            refused = send_deferred(res)
            if refused is not None:
                pending.append(f"{label}, not started yet ({refused})")
                continue
            sent.append(res["arn"])
        described = describe(res["kind"], res["arn"])
        state, reason, duration = resource_state(res, described)
        if first_check and kind and not history and state == "pending":
            history = previous_duration(res["kind"], res["arn"], described)
        if state == "failed":
            raise ResourceFailed(f"{label} failed: {reason or 'no failureReason given'}")
        if state == "pending":
            pending.append(label)
        elif duration is not None:
            observed[res["kind"]] = max(duration, observed.get(res["kind"], 0))
    polls = int(progress.get("polls", 0)) + 1
    waited = int(progress.get("waited", 0)) + int(progress.get("seconds", 0))
    merged_observed = {**progress.get("observed", {}), **observed}
    if not pending:
        return {"done": True, "polls": polls, "waited": waited, "seconds": 0, "observed": merged_observed, "expected": history, "sent": sent}
    policy = WaitPolicy.from_plan(waits)
    if waited >= policy.limit_seconds:
        raise WaitTimedOut(f"{phase}: still not ready after {waited} s (limit {policy.limit_seconds} s): {', '.join(pending)}")
    seconds = next_wait_seconds(policy, polls, int(progress.get("seconds", 0)), waited, history)
    log.info("waiting", extra={"phase": phase, "pending": len(pending), "next_wait_seconds": seconds, "waited": waited, "expected": history})
    return {"done": False, "polls": polls, "waited": waited, "seconds": seconds, "observed": merged_observed, "expected": history, "sent": sent}


def previous_duration(kind: str, arn: str, described: dict | None) -> int | None:
    """How long the last completed job of the same dataset or solution took,
    from Personalize's own creation and last-updated times; None when there is
    no earlier one (used when no run has stored its durations yet)."""
    if described is None:
        return None
    if kind == "dataset_import_job":
        earlier = paginate("list_dataset_import_jobs", "datasetImportJobs", datasetArn=described["datasetArn"])
        arn_key = "datasetImportJobArn"
    elif kind == "solution_version":
        earlier = paginate("list_solution_versions", "solutionVersions", solutionArn=described["solutionArn"])
        arn_key = "solutionVersionArn"
    else:
        return None
    finished = [e for e in earlier if e.get(arn_key) != arn and e.get("status") == "ACTIVE"]
    if not finished:
        return None
    latest = max(finished, key=lambda e: e["creationDateTime"])
    return seconds_between(latest.get("creationDateTime"), latest.get("lastUpdatedDateTime"))


# ------------------------------------------------------ metrics and the gate
def read_metrics(version: dict) -> dict:
    response = call("get_solution_metrics", version["arn"], solutionVersionArn=version["arn"])
    return {"solutionKey": version["label"], "solutionVersionArn": version["arn"], "metrics": response.get("metrics", {})}


def _training_data_records(plan: Plan) -> dict:
    """{solution version ARN: {runId, rows}} of the versions campaigns serve,
    stored by Finalize."""
    try:
        value = clients.client("ssm").get_parameter(Name=plan["ssm"]["trainingDataParameter"])["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return {}
        raise
    return json.loads(value)


def quality_gate(plan: Plan, evaluations: list[dict]) -> dict:
    """Judge each campaign's new version; all campaigns pass or none is touched.
    Each verdict says how much the training data changed since the served
    version, since metrics of versions trained on different data differ for
    that reason alone."""
    by_solution = {e["solutionKey"]: e for e in evaluations}
    verdicts, deployments, rejected = [], [], []
    records = _training_data_records(plan) if plan["campaigns"] else {}
    this_run = {"runId": plan["runId"], "rows": plan.get("exportRows", {})}
    for camp in plan["campaigns"]:
        new = by_solution[camp["solutionKey"]]
        current = describe("campaign", camp["arn"])
        served_arn = current.get("solutionVersionArn") if current else None
        served_metrics = None
        if served_arn and served_arn != new["solutionVersionArn"]:
            served_metrics = call("get_solution_metrics", served_arn, solutionVersionArn=served_arn).get("metrics", {})
        reasons = gate.judge(new["metrics"], served_metrics, plan["gate"])
        change = gate.data_change(records.get(served_arn), this_run) if served_metrics is not None else None
        verdicts.append({
            "campaign": camp["key"],
            "solutionVersionArn": new["solutionVersionArn"],
            "servedVersionArn": served_arn,
            "servedMetrics": served_metrics,
            "passed": not reasons,
            "reasons": reasons,
            "dataChange": change,
        })
        if reasons:
            note = f" [data: {change['summary']}]" if change else ""
            rejected.append(f"campaign {camp['arn']} ({camp['key']}): " + "; ".join(reasons) + note)
        deployments.append({**camp, "solutionVersionArn": new["solutionVersionArn"], "exists": current is not None})
    if rejected:
        raise QualityGateRejected("the new solution versions were not promoted, the campaigns keep serving their current versions: " + " | ".join(rejected))
    return {"verdicts": verdicts, "deployments": deployments}


# ----------------------------------------------------------------- campaigns
def deploy_campaign(plan: Plan, deployment: dict) -> dict:
    """Create the campaign, or update it when the version, minProvisionedTPS or
    campaignConfig differ from what it serves (or is being updated to)."""
    version_arn = deployment["solutionVersionArn"]
    current = describe("campaign", deployment["arn"])
    done = resource("campaign", deployment["arn"], deployment["key"], solutionVersionArn=version_arn)
    if current is None:
        response, created = create("create_campaign", deployment["name"], api_requests.create_campaign(deployment, version_arn, plan))
        log.info("campaign created" if created else "campaign already being created", extra={"campaign": deployment["arn"]})
        return done
    # https://docs.aws.amazon.com/personalize/latest/dg/API_UpdateCampaign.html: the campaign
    # stays ACTIVE while latestCampaignUpdate runs; a failed update leaves it as it was.
    update = current.get("latestCampaignUpdate") or {}
    target = update if update and not is_failed(update.get("status")) else current
    wanted_config = deployment.get("campaignConfig") or {}
    same = (
        target.get("solutionVersionArn") == version_arn
        and target.get("minProvisionedTPS") == deployment["minProvisionedTPS"]
        and _contains(target.get("campaignConfig") or {}, wanted_config)
    )
    if same:
        return done
    request = api_requests.update_campaign(deployment, version_arn)
    running = bool(update) and update.get("status") != "ACTIVE" and not is_failed(update.get("status"))
    refused = "an update is in progress" if running else call_or_defer("update_campaign", deployment["arn"], request, for_now={"ResourceInUseException"})[1]
    if refused is not None:
        # An earlier run's update still runs: the wait loop sends this one after it.
        log.info("campaign update deferred", extra={"campaign": deployment["arn"], "reason": refused})
        return {**done, "deferred": {"operation": "update_campaign", "request": request}}
    log.info("campaign update started", extra={"campaign": deployment["arn"], "solution_version": version_arn})
    return done


# ------------------------------------------------------------------- finish
def finalize(plan: Plan, state: dict) -> dict:
    """Store the event tracker's id and this run's durations in SSM; return the
    success summary (ARNs and metrics) for the notification."""
    ssm = clients.client("ssm")
    tracking_id = None
    for res in state.get("extras", []):
        if res["kind"] == "event_tracker":
            tracking_id = describe("event_tracker", res["arn"])["trackingId"]
            ssm.put_parameter(Name=plan["ssm"]["trackingIdParameter"], Value=tracking_id, Type="String", Overwrite=True)
    durations = dict(plan.get("expected", {}))
    for progress in state.get("progress", {}).values():
        for kind, seconds in (progress.get("observed") or {}).items():
            durations[kind] = seconds
    if durations:
        ssm.put_parameter(Name=plan["ssm"]["durationsParameter"], Value=json.dumps(durations, sort_keys=True), Type="String", Overwrite=True)
    deployed = {c["solutionVersionArn"] for c in state.get("deployments", [])}
    if deployed:
        # What each served version trained on, for the next gate's data-change
        # figures; only served versions are kept, so the value stays small.
        records = {arn: {"runId": plan["runId"], "rows": plan.get("exportRows", {})} for arn in sorted(deployed)}
        ssm.put_parameter(Name=plan["ssm"]["trainingDataParameter"], Value=json.dumps(records, sort_keys=True), Type="String", Overwrite=True)
    metrics = {e["solutionKey"]: {"solutionVersionArn": e["solutionVersionArn"], "metrics": e["metrics"]} for e in state.get("evaluations", [])}
    return {
        "status": "SUCCEEDED",
        "runId": plan["runId"],
        "datasetGroupArn": plan["datasetGroup"]["arn"],
        "datasets": {d["key"]: d["arn"] for d in plan["datasets"]},
        "solutions": metrics,
        "campaigns": {c["key"]: {"campaignArn": c["arn"], "solutionVersionArn": c["solutionVersionArn"]} for c in state.get("deployments", [])},
        "filters": {f["key"]: f["arn"] for f in plan["filters"]},
        "eventTracker": {"trackingIdParameter": plan["ssm"]["trackingIdParameter"]} if tracking_id else None,
        "gate": state.get("verdicts", []),
        "recommenders": recommenders.summary(state.get("recommenders", [])),
        "batchJobs": batch_jobs.summary(state.get("batchJobs", [])),
        "metrics": cloudwatch_metrics.publish(cloudwatch_metrics.run_metrics(plan, state)),
        "imports": imports.summary(plan),
        "dataDeletion": deletion.summary(plan),
    }
