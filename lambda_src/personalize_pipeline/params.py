"""The params file: its schema check and the plan derived from it.

The plan holds every name, ARN and setting later steps need, so each Lambda
gets a small, explicit slice of it and nothing is looked up twice."""
from __future__ import annotations

import json
import re
from typing import Any

from . import batch_jobs, deletion, filter_expressions, imports, naming, recommenders
from .errors import ParamsInvalid
from .plan import Plan

DATASET_TYPES = {"interactions": "INTERACTIONS", "items": "ITEMS", "users": "USERS"}
METRIC_NAMES = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)
# trainingMode UPDATE: "the input solution was trained with the User-Personalization
# recipe or the legacy HRNN-Coldstart recipe"; User-Personalization-v2 is not one
# of them. https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSolutionVersion.html
UPDATE_RECIPES = ("aws-user-personalization", "aws-hrnn-coldstart")
# Tag added to every resource the pipeline creates, beside the params' tags.
RUN_ID_TAG = "personalize-pipeline:run-id"
# https://docs.aws.amazon.com/personalize/latest/dg/tagging-resources.html
MAX_TAGS = 50
WAIT_PHASES = ("dataset_group", "datasets", "imports", "data_deletion", "solutions", "solution_versions", "campaigns",
               "recommenders", "batch_jobs")
# Detection delay is bounded by the largest wait between two polls.
MAX_POLL_SECONDS = 300
DEFAULT_WAITS = {
    "dataset_group": {"first_seconds": 15, "max_seconds": 60, "limit_seconds": 1800},
    "datasets": {"first_seconds": 15, "max_seconds": 60, "limit_seconds": 1800},
    "imports": {"first_seconds": 60, "max_seconds": 300, "limit_seconds": 6 * 3600},
    # "it can take up to a day": https://docs.aws.amazon.com/personalize/latest/dg/API_CreateDataDeletionJob.html
    "data_deletion": {"first_seconds": 300, "max_seconds": 300, "limit_seconds": 30 * 3600},
    "solutions": {"first_seconds": 15, "max_seconds": 60, "limit_seconds": 1800},
    "solution_versions": {"first_seconds": 120, "max_seconds": 300, "limit_seconds": 48 * 3600},
    "campaigns": {"first_seconds": 60, "max_seconds": 300, "limit_seconds": 3 * 3600},
    # A recommender trains as it is created; batch jobs run for minutes to hours.
    "recommenders": {"first_seconds": 120, "max_seconds": 300, "limit_seconds": 48 * 3600},
    "batch_jobs": {"first_seconds": 60, "max_seconds": 300, "limit_seconds": 24 * 3600},
}
KEY_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,39}$")

TOP_LEVEL_KEYS = {
    "name", "dataset_group", "import_mode", "solutions", "campaigns", "quality_gate",
    "filters", "event_tracker", "readiness", "waits", "tags", "export",
    "recommenders", "batch_inference_jobs", "batch_segment_jobs", "cleanup", "delete_vanished_users",
}


def _fail(path: str, rule: str) -> None:
    raise ParamsInvalid(f"{path}: {rule}")


def _obj(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        _fail(path, f"must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        _fail(path, f"must be a list, got {type(value).__name__}")
    return value


def _no_unknown(obj: dict, allowed: set, path: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        _fail(f"{path}.{unknown[0]}" if path else unknown[0], f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _str(obj: dict, key: str, path: str, required: bool = True, pattern: re.Pattern | None = None) -> str | None:
    if key not in obj:
        if required:
            _fail(f"{path}.{key}" if path else key, "is required")
        return None
    value = obj[key]
    where = f"{path}.{key}" if path else key
    if not isinstance(value, str) or not value:
        _fail(where, "must be a non-empty string")
    if pattern is not None and not pattern.match(value):
        _fail(where, f"{value!r} must match {pattern.pattern}")
    return value


def _bool(obj: dict, key: str, path: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        _fail(f"{path}.{key}" if path else key, "must be true or false")
    return value


def _number(obj: dict, key: str, path: str, default: float, minimum: float, maximum: float | None = None, integer: bool = False) -> float:
    value = obj.get(key, default)
    where = f"{path}.{key}" if path else key
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        _fail(where, "must be an integer" if integer else "must be a number")
    if value < minimum or (maximum is not None and value > maximum):
        _fail(where, f"must be between {minimum} and {maximum}" if maximum is not None else f"must be at least {minimum}")
    return value


def _unique_keys(items: list[dict], path: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item["name"] in seen:
            _fail(f"{path}[{i}].name", f"{item['name']!r} is used twice")
        seen.add(item["name"])


def parse_solutions(raw: Any, recommenders_given: bool = False) -> list[dict]:
    if raw is None and not recommenders_given:
        _fail("solutions", "is required: list at least one solution (or recommenders, in a Domain dataset group)")
    items = _list(raw if raw is not None else [], "solutions")
    if not items and not recommenders_given:
        _fail("solutions", "must list at least one solution (or recommenders, in a Domain dataset group)")
    out = []
    for i, item in enumerate(items):
        path = f"solutions[{i}]"
        _obj(item, path)
        _no_unknown(item, {"name", "recipe_arn", "training_mode", "perform_auto_training", "perform_hpo", "event_type", "solution_config"}, path)
        recipe = _str(item, "recipe_arn", path, pattern=re.compile(r"^arn:aws[a-z-]*:personalize:::recipe/[a-zA-Z0-9\-_.]+$"))
        mode = item.get("training_mode", "FULL")
        if mode not in ("FULL", "UPDATE", "follow_import"):
            _fail(f"{path}.training_mode", f"must be FULL, UPDATE or follow_import, got {mode!r}")
        if mode == "UPDATE" and recipe.rsplit("/", 1)[-1] not in UPDATE_RECIPES:
            _fail(f"{path}.training_mode", f"UPDATE needs the User-Personalization (aws-user-personalization) or HRNN-Coldstart "
                                           f"recipe, got {recipe}; User-Personalization-v2 and the other recipes train FULL only")
        config = item.get("solution_config")
        if config is not None:
            _obj(config, f"{path}.solution_config")
        out.append({
            "name": _str(item, "name", path, pattern=KEY_PATTERN),
            "recipe_arn": recipe,
            "training_mode": mode,
            "perform_auto_training": _bool(item, "perform_auto_training", path, False),
            "perform_hpo": _bool(item, "perform_hpo", path, False),
            "event_type": _str(item, "event_type", path, required=False),
            "solution_config": config,
        })
    _unique_keys(out, "solutions")
    return out


def parse_campaigns(raw: Any, solution_names: set[str]) -> list[dict]:
    items = _list(raw, "campaigns")
    out = []
    for i, item in enumerate(items):
        path = f"campaigns[{i}]"
        _obj(item, path)
        _no_unknown(item, {"name", "solution", "min_provisioned_tps", "campaign_config"}, path)
        solution = _str(item, "solution", path)
        if solution not in solution_names:
            _fail(f"{path}.solution", f"{solution!r} is not one of the solutions ({', '.join(sorted(solution_names))})")
        config = item.get("campaign_config")
        if config is not None:
            _obj(config, f"{path}.campaign_config")
            if config.get("syncWithLatestSolutionVersion"):
                # It needs a SolutionArn/$LATEST deployment that follows every new
                # version, gate or not; the pipeline deploys only gated versions.
                _fail(f"{path}.campaign_config.syncWithLatestSolutionVersion",
                      "not supported: the campaign would deploy every new solution version without the quality gate; "
                      "the pipeline deploys each version that passes the gate itself")
        out.append({
            "name": _str(item, "name", path, pattern=KEY_PATTERN),
            "solution": solution,
            "min_provisioned_tps": int(_number(item, "min_provisioned_tps", path, 1, 1, integer=True)),
            "campaign_config": config,
        })
    _unique_keys(out, "campaigns")
    return out


def parse_gate(raw: Any) -> dict:
    gate = _obj(raw if raw is not None else {}, "quality_gate")
    _no_unknown(gate, {"thresholds", "compare_with_serving", "tolerance", "compare_metrics"}, "quality_gate")
    thresholds = _obj(gate.get("thresholds", {}), "quality_gate.thresholds")
    for metric, value in thresholds.items():
        if metric not in METRIC_NAMES:
            _fail(f"quality_gate.thresholds.{metric}", f"unknown metric (known: {', '.join(METRIC_NAMES)})")
        _number(thresholds, metric, "quality_gate.thresholds", 0, 0, 1)
    compare = _list(gate.get("compare_metrics", sorted(thresholds) or ["normalized_discounted_cumulative_gain_at_10"]), "quality_gate.compare_metrics")
    for i, metric in enumerate(compare):
        if metric not in METRIC_NAMES:
            _fail(f"quality_gate.compare_metrics[{i}]", f"unknown metric {metric!r}")
    return {
        "thresholds": {k: float(v) for k, v in thresholds.items()},
        "compareWithServing": _bool(gate, "compare_with_serving", "quality_gate", True),
        "tolerance": float(_number(gate, "tolerance", "quality_gate", 0.0, 0.0, 1.0)),
        "compareMetrics": list(compare),
    }


def parse_delete_vanished_users(raw: Any) -> dict | bool:
    """``delete_vanished_users``: ``false`` (the default: delete no one), ``true``
    (delete the export's vanished users, refusing the run when they are more than
    deletion.DEFAULT_MAX_SHARE of the users held before it) or ``{"max_share": x}``
    with 0 < x <= 1. Normalised to False or ``{"maxShare": x}``."""
    path = "delete_vanished_users"
    if raw is False:
        return False
    if raw is True:
        return {"maxShare": deletion.DEFAULT_MAX_SHARE}
    if not isinstance(raw, dict):
        _fail(path, f'must be true or false, or an object such as {{"max_share": 0.25}}; got {type(raw).__name__}')
    _no_unknown(raw, {"max_share"}, path)
    share = raw.get("max_share", deletion.DEFAULT_MAX_SHARE)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        _fail(f"{path}.max_share", f"must be a number above 0 and at most 1, got {share!r}: the share of the users the "
                                   f"users dataset held before the run that one run may delete (default "
                                   f"{deletion.DEFAULT_MAX_SHARE:g}); to delete no one, set delete_vanished_users to false")
    return {"maxShare": float(share)}


def parse_waits(raw: Any) -> dict:
    waits = _obj(raw if raw is not None else {}, "waits")
    _no_unknown(waits, set(WAIT_PHASES), "waits")
    out = {}
    for phase in WAIT_PHASES:
        given = _obj(waits.get(phase, {}), f"waits.{phase}")
        path = f"waits.{phase}"
        _no_unknown(given, {"first_seconds", "max_seconds", "limit_seconds"}, path)
        merged = {**DEFAULT_WAITS[phase], **given}
        first = int(_number(merged, "first_seconds", path, 0, 1, MAX_POLL_SECONDS, integer=True))
        cap = int(_number(merged, "max_seconds", path, 0, first, MAX_POLL_SECONDS, integer=True))
        limit = int(_number(merged, "limit_seconds", path, 0, cap, 7 * 24 * 3600, integer=True))
        out[phase] = {"firstSeconds": first, "maxSeconds": cap, "limitSeconds": limit}
    return out


def parse_params(params: Any) -> dict:
    """Check the params file against its schema; return the normalised params.
    Raises ParamsInvalid naming the field path and the rule it broke."""
    _obj(params, "params")
    _no_unknown(params, TOP_LEVEL_KEYS, "")
    name = _str(params, "name", "", pattern=KEY_PATTERN)
    if "export" not in params:
        _fail("export", "is required (the export's start_training job writes it)")
    export = _obj(params["export"], "export")
    manifest_uri = _str(export, "manifest_uri", "export")
    run_id = _str(export, "run_id", "export")
    group = _obj(params.get("dataset_group", {}), "dataset_group")
    _no_unknown(group, {"kms_key_arn", "domain"}, "dataset_group")
    domain = recommenders.parse_domain(group)
    recommender_params = recommenders.parse_recommenders(params.get("recommenders"), domain)
    kms = _str(group, "kms_key_arn", "dataset_group", required=False, pattern=re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/.+$"))
    import_mode = imports.parse_policy(params.get("import_mode", imports.FOLLOW_EXPORT))
    solutions = parse_solutions(params.get("solutions"), bool(recommender_params))
    campaigns = parse_campaigns(params.get("campaigns", []), {s["name"] for s in solutions})
    filters = []
    for i, flt in enumerate(_list(params.get("filters", []), "filters")):
        path = f"filters[{i}]"
        _obj(flt, path)
        _no_unknown(flt, {"name", "expression"}, path)
        expression = _str(flt, "expression", path)
        filter_expressions.check(f"{path}.expression", expression)
        filters.append({"name": _str(flt, "name", path, pattern=KEY_PATTERN), "expression": expression})
    _unique_keys(filters, "filters")
    tracker = params.get("event_tracker")
    if tracker is not None:
        _obj(tracker, "event_tracker")
        _no_unknown(tracker, {"name"}, "event_tracker")
        tracker = {"name": _str(tracker, "name", "event_tracker", required=False, pattern=KEY_PATTERN) or "events"}
    readiness = _obj(params.get("readiness", {}), "readiness")
    _no_unknown(readiness, {"min_interactions"}, "readiness")
    cleanup = _obj(params.get("cleanup", {}), "cleanup")
    _no_unknown(cleanup, {"remove_unlisted"}, "cleanup")
    tags = _obj(params.get("tags", {}), "tags")
    for key, value in tags.items():
        if not isinstance(value, str):
            _fail(f"tags.{key}", "must be a string")
        if key.lower().startswith("aws:") or key == RUN_ID_TAG:
            _fail(f"tags.{key}", f"the aws: prefix is reserved by AWS and {RUN_ID_TAG} by the pipeline")
    if len(tags) + 1 > MAX_TAGS:
        _fail("tags", f"at most {MAX_TAGS - 1} tags (a resource takes {MAX_TAGS}, the pipeline adds {RUN_ID_TAG})")
    return {
        "name": name,
        "manifest_uri": manifest_uri,
        "run_id": run_id,
        "kms_key_arn": kms,
        "import_mode": import_mode,
        "delete_vanished_users": parse_delete_vanished_users(params.get("delete_vanished_users", False)),
        "solutions": solutions,
        "campaigns": campaigns,
        "filters": filters,
        "event_tracker": tracker,
        "gate": parse_gate(params.get("quality_gate")),
        "waits": parse_waits(params.get("waits")),
        "cleanup": {"removeUnlisted": _bool(cleanup, "remove_unlisted", "cleanup", False)},
        # Personalize's own minimum is 1,000 interactions: lower values are
        # refused. Users with 2+ interactions are judged by the export's checks.
        "readiness": {
            "minInteractions": int(_number(readiness, "min_interactions", "readiness", 1000, 1000, integer=True)),
        },
        "tags": dict(tags),
        "domain": domain,
        "recommenders": recommender_params,
        "batch_jobs": batch_jobs.parse_batch_jobs(params, solutions, filters),
    }


def _check_partition(arn: str, path: str, partition: str) -> None:
    """An ARN of another partition than the pipeline's names nothing Personalize can use there."""
    arn_partition = arn.split(":", 2)[1]
    if arn_partition != partition:
        _fail(path, f"{arn} is in partition {arn_partition}, but the pipeline runs in partition {partition} "
                    f"(write arn:{partition}:...)")


def build_plan(params: dict, manifest: dict, manifest_uri: str, schemas: dict[str, str],
               partition: str, region: str, account: str, expected: dict[str, int], ssm_prefix: str) -> Plan:
    """Combine the normalised params and the export manifest into the plan."""
    name = params["name"]
    run_id = params["run_id"]
    from .storage import resolve

    for i, sol in enumerate(params["solutions"]):
        _check_partition(sol["recipe_arn"], f"solutions[{i}].recipe_arn", partition)
    recommenders.check_domain_schemas(params.get("domain"), schemas)
    if params["kms_key_arn"]:
        _check_partition(params["kms_key_arn"], "dataset_group.kms_key_arn", partition)

    datasets = []
    for key in ("interactions", "items", "users"):
        entry = manifest["datasets"].get(key)
        if entry is None:
            continue
        dataset_type = DATASET_TYPES[key]
        schema_text = schemas[key]
        # A domain schema is another schema than a custom one with the same fields.
        schema_name = naming.resource_name(name, key, naming.short_hash(schema_text + (params.get("domain") or "")))
        dataset_name = naming.resource_name(name, key)
        datasets.append({
            "key": key,
            "type": dataset_type,
            "name": dataset_name,
            "arn": naming.dataset_arn(partition, region, account, name, dataset_type),
            "schemaName": schema_name,
            "schemaArn": naming.schema_arn(partition, region, account, schema_name),
            "schema": schema_text,
            "dataLocation": resolve(manifest_uri, entry["prefix"].rstrip("/") + "/"),
            "importJobName": naming.resource_name(dataset_name, run_id),
            **imports.dataset_import(key, entry, manifest_uri, params["import_mode"]),
            "rows": entry.get("rows"),
        })
    solutions = []
    for sol in params["solutions"]:
        sol_name = naming.resource_name(name, sol["name"])
        solutions.append({
            "key": sol["name"],
            "name": sol_name,
            "arn": naming.solution_arn(partition, region, account, sol_name),
            "recipeArn": sol["recipe_arn"],
            "trainingMode": sol["training_mode"],
            "trainingPolicy": sol["training_mode"],
            "performAutoTraining": sol["perform_auto_training"],
            "performHPO": sol["perform_hpo"],
            "eventType": sol["event_type"],
            "solutionConfig": sol["solution_config"],
            "versionName": naming.resource_name(sol_name, run_id),
        })
    campaigns = []
    for camp in params["campaigns"]:
        camp_name = naming.resource_name(name, camp["name"])
        campaigns.append({
            "key": camp["name"],
            "name": camp_name,
            "arn": naming.campaign_arn(partition, region, account, camp_name),
            "solutionKey": camp["solution"],
            "minProvisionedTPS": camp["min_provisioned_tps"],
            "campaignConfig": camp["campaign_config"],
        })
    filters = []
    for flt in params["filters"]:
        flt_name = naming.resource_name(name, flt["name"])
        filters.append({"key": flt["name"], "name": flt_name, "arn": naming.filter_arn(partition, region, account, flt_name), "expression": flt["expression"]})
    tracker = None
    if params["event_tracker"]:
        tracker = {"name": naming.resource_name(name, params["event_tracker"]["name"])}
    prefix = ssm_prefix.rstrip("/")
    plan: Plan = {
        "name": name,
        "runId": run_id,
        "manifestUri": manifest_uri,
        "partition": partition,
        "region": region,
        "account": account,
        "datasetGroup": {"name": name, "arn": naming.dataset_group_arn(partition, region, account, name), "kmsKeyArn": params["kms_key_arn"]},
        "datasets": datasets,
        "solutions": solutions,
        "campaigns": campaigns,
        "filters": filters,
        "eventTracker": tracker,
        "gate": params["gate"],
        "waits": params["waits"],
        "readinessRules": {**params["readiness"], "solutions": [
            {"key": s["key"], "eventType": s["eventType"], "eventValueThreshold": (s["solutionConfig"] or {}).get("eventValueThreshold")}
            for s in solutions
        ]},
        "expected": expected,
        "ssm": {
            "trackingIdParameter": f"{prefix}/{name}/event-tracker-id",
            "durationsParameter": f"{prefix}/{name}/durations",
            "trainingDataParameter": f"{prefix}/{name}/training-data",
        },
        "tags": {**params["tags"], RUN_ID_TAG: run_id},
        "domain": params.get("domain"),
        "recommenders": recommenders.plan_recommenders({**params, "recommenders": params.get("recommenders", [])}, partition, region, account),
        "batchJobs": batch_jobs.plan_batch_jobs(params, manifest_uri, schemas, {f["key"]: f["arn"] for f in filters},
                                                partition, region, account),
        "cleanup": params["cleanup"],
    }
    plan["dataDeletion"] = deletion.plan_deletion(params.get("delete_vanished_users"), manifest, manifest_uri, plan)
    imports.resolve_training_modes(plan, deleting=plan["dataDeletion"] is not None)
    return plan


def dumps_schema(schema: Any) -> str:
    """Personalize takes the Avro schema as JSON text."""
    return schema if isinstance(schema, str) else json.dumps(schema, separators=(",", ":"), sort_keys=False)
