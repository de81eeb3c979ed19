"""Domain dataset groups and their recommenders.

A Domain dataset group (``dataset_group.domain``: ECOMMERCE or VIDEO_ON_DEMAND)
takes schemas made for its domain and recommenders: one per use case, trained
and served by Personalize itself. The pipeline creates each recommender, or
updates its ``recommenderConfig`` (UpdateRecommender), waits for it, and gates
the run on the offline metrics DescribeRecommender reports (``modelMetrics``).
https://docs.aws.amazon.com/personalize/latest/dg/API_CreateRecommender.html
https://docs.aws.amazon.com/personalize/latest/dg/API_UpdateRecommender.html
https://docs.aws.amazon.com/personalize/latest/dg/API_DescribeRecommender.html"""
from __future__ import annotations

import json
import re
from typing import Any, Optional

from . import gate, naming
from .errors import ParamsInvalid, QualityGateRejected, ResourceConflict, ResourceFailed
from .logs import get_logger
from .personalize_ops import call_or_defer, create, describe, is_failed
from .plan import Plan, RecommenderPlan

log = get_logger()

DOMAINS = ("ECOMMERCE", "VIDEO_ON_DEMAND")
# A recommender's recipe is a use case of its group's domain; the use case
# recipes of each domain are named aws-ecomm-* and aws-vod-*:
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-use-cases.html
# https://docs.aws.amazon.com/personalize/latest/dg/VIDEO_ON_DEMAND-use-cases.html
USE_CASE_PREFIX = {"ECOMMERCE": "aws-ecomm-", "VIDEO_ON_DEMAND": "aws-vod-"}

# What each domain's schemas must hold, beside the requirements every schema has:
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-datasets-and-schemas.html
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-interactions-dataset.html
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-items-dataset.html
# https://docs.aws.amazon.com/personalize/latest/dg/VIDEO-ON-DEMAND-datasets-and-schemas.html
# https://docs.aws.amazon.com/personalize/latest/dg/VIDEO-ON-DEMAND-items-dataset.html
# {domain: {dataset: {field: (type, categorical)}}}
DOMAIN_REQUIRED_FIELDS: dict[str, dict[str, dict[str, tuple[str, bool]]]] = {
    "ECOMMERCE": {
        "interactions": {"USER_ID": ("string", False), "ITEM_ID": ("string", False), "TIMESTAMP": ("long", False),
                         "EVENT_TYPE": ("string", False)},
        "items": {"ITEM_ID": ("string", False), "PRICE": ("float", False), "CATEGORY_L1": ("string", True)},
        "users": {"USER_ID": ("string", False)},
    },
    "VIDEO_ON_DEMAND": {
        "interactions": {"USER_ID": ("string", False), "ITEM_ID": ("string", False), "TIMESTAMP": ("long", False),
                         "EVENT_TYPE": ("string", False)},
        "items": {"ITEM_ID": ("string", False), "GENRES": ("string", True), "CREATION_TIMESTAMP": ("long", False)},
        "users": {"USER_ID": ("string", False)},
    },
}

RECIPE_PATTERN = re.compile(r"^arn:aws[a-z-]*:personalize:::recipe/[a-zA-Z0-9\-_.]+$")
KEY_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,39}$")


def _fail(path: str, rule: str) -> None:
    raise ParamsInvalid(f"{path}: {rule}")


# ------------------------------------------------------------------- params
def parse_domain(group: dict) -> Optional[str]:
    domain = group.get("domain")
    if domain is not None and domain not in DOMAINS:
        _fail("dataset_group.domain", f"must be one of {', '.join(DOMAINS)}, got {domain!r}")
    return domain


def parse_recommenders(raw: Any, domain: Optional[str]) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        _fail("recommenders", f"must be a list, got {type(raw).__name__}")
    if raw and domain is None:
        _fail("recommenders", "needs dataset_group.domain (ECOMMERCE or VIDEO_ON_DEMAND): Personalize creates "
                              "recommenders only in a Domain dataset group")
    out, seen = [], set()
    for i, item in enumerate(raw):
        path = f"recommenders[{i}]"
        if not isinstance(item, dict):
            _fail(path, f"must be an object, got {type(item).__name__}")
        unknown = sorted(set(item) - {"name", "recipe_arn", "recommender_config"})
        if unknown:
            _fail(f"{path}.{unknown[0]}", "unknown field (allowed: name, recipe_arn, recommender_config)")
        for key, pattern in (("name", KEY_PATTERN), ("recipe_arn", RECIPE_PATTERN)):
            value = item.get(key)
            if not isinstance(value, str) or not value:
                _fail(f"{path}.{key}", "is required" if key not in item else "must be a non-empty string")
            if not pattern.match(value):
                _fail(f"{path}.{key}", f"{value!r} must match {pattern.pattern}")
        recipe = item["recipe_arn"].rsplit("/", 1)[-1]
        if not recipe.startswith(USE_CASE_PREFIX[domain]):
            _fail(f"{path}.recipe_arn", f"{item['recipe_arn']} is not a use case of the {domain} domain "
                                        f"(its use case recipes are named {USE_CASE_PREFIX[domain]}*)")
        config = item.get("recommender_config")
        if config is not None and not isinstance(config, dict):
            _fail(f"{path}.recommender_config", f"must be an object, got {type(config).__name__}")
        if item["name"] in seen:
            _fail(f"{path}.name", f"{item['name']!r} is used twice")
        seen.add(item["name"])
        out.append({"name": item["name"], "recipe_arn": item["recipe_arn"], "recommender_config": config})
    return out


def _field_types(schema_text: str) -> dict[str, tuple[Any, bool]]:
    fields = json.loads(schema_text).get("fields", [])
    return {f.get("name"): (f.get("type"), bool(f.get("categorical"))) for f in fields if isinstance(f, dict)}


def check_domain_schemas(domain: Optional[str], schemas: dict[str, str]) -> None:
    """The export's schemas hold what the domain requires, so the run fails at
    ReadParams rather than at CreateDataset."""
    if domain is None:
        return
    for dataset, schema_text in sorted(schemas.items()):
        fields = _field_types(schema_text)
        for name, (kind, categorical) in DOMAIN_REQUIRED_FIELDS[domain].get(dataset, {}).items():
            if name not in fields:
                _fail("dataset_group.domain", f"{domain} requires the field {name} ({kind}) in the {dataset} "
                                                 f"schema; the export's schema has {', '.join(fields)}")
            actual, is_categorical = fields[name]
            if actual != kind or (categorical and not is_categorical):
                wanted = f"{'categorical ' if categorical else ''}{kind}"
                _fail("dataset_group.domain", f"{domain} requires {dataset}.{name} to be a {wanted} field, the export's "
                                              f"schema has {json.dumps(actual)}{' categorical' if is_categorical else ''}")


def plan_recommenders(params: dict, partition: str, region: str, account: str) -> list[RecommenderPlan]:
    out: list[RecommenderPlan] = []
    for i, rec in enumerate(params["recommenders"]):
        arn_partition = rec["recipe_arn"].split(":", 2)[1]
        if arn_partition != partition:
            _fail(f"recommenders[{i}].recipe_arn", f"{rec['recipe_arn']} is in partition {arn_partition}, but the "
                                                   f"pipeline runs in partition {partition} (write arn:{partition}:...)")
        name = naming.resource_name(params["name"], rec["name"])
        out.append({
            "key": rec["name"],
            "name": name,
            "arn": naming.arn(partition, region, account, "recommender", name),
            "recipeArn": rec["recipe_arn"],
            "recommenderConfig": rec["recommender_config"],
        })
    return out


# ------------------------------------------------------------------ requests
def _tags(plan: Plan) -> list[dict]:
    return [{"tagKey": k, "tagValue": v} for k, v in sorted(plan.get("tags", {}).items())]


def create_recommender(plan: Plan, recommender: RecommenderPlan) -> dict:
    request: dict[str, Any] = {
        "name": recommender["name"],
        "datasetGroupArn": plan["datasetGroup"]["arn"],
        "recipeArn": recommender["recipeArn"],
    }
    if recommender.get("recommenderConfig"):
        request["recommenderConfig"] = recommender["recommenderConfig"]
    if plan.get("tags"):
        request["tags"] = _tags(plan)
    return request


def update_recommender(recommender: RecommenderPlan) -> dict:
    return {"recommenderArn": recommender["arn"], "recommenderConfig": recommender.get("recommenderConfig") or {}}


def planned_requests(plan: Plan):
    for rec in plan.get("recommenders", []):
        yield f"recommenders.{rec['key']}", "CreateRecommender", create_recommender(plan, rec)
        yield f"recommenders.{rec['key']}", "UpdateRecommender", update_recommender(rec)


# --------------------------------------------------------------------- steps
def _contains(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(_contains(actual.get(k), v) for k, v in wanted.items())
    return actual == wanted


def resource(recommender: RecommenderPlan, **extra: Any) -> dict:
    return {"kind": "recommender", "arn": recommender["arn"], "label": recommender["key"], **extra}


def check_group_domain(existing: dict, plan: Plan) -> None:
    """A dataset group's domain is fixed when it is created."""
    wanted = plan.get("domain")
    if existing.get("domain") != wanted:
        raise ResourceConflict(
            f"dataset_group.domain: dataset group {plan['datasetGroup']['arn']} was created with domain "
            f"{existing.get('domain') or 'none (a custom group)'}, the params ask for {wanted or 'none'}; Personalize cannot "
            "change a group's domain: use another params name for a new group"
        )


def ensure_recommender(plan: Plan, recommender: RecommenderPlan) -> dict:
    """Describe, else create; an ACTIVE recommender whose recommenderConfig
    differs from the params' gets an UpdateRecommender (it keeps serving with
    the old configuration until the update is ACTIVE)."""
    existing = describe("recommender", recommender["arn"])
    if existing is None:
        _, created = create("create_recommender", recommender["name"], create_recommender(plan, recommender))
        log.info("recommender created" if created else "recommender already being created", extra={"arn": recommender["arn"]})
        return resource(recommender)
    if existing.get("recipeArn") != recommender["recipeArn"]:
        raise ResourceConflict(
            f"recommenders.{recommender['key']}: recommender {recommender['arn']} uses the recipe {existing.get('recipeArn')}, "
            f"the params ask for {recommender['recipeArn']}; UpdateRecommender changes only recommenderConfig: rename the recommender"
        )
    status = existing.get("status") or ""
    if is_failed(status):
        raise ResourceFailed(f"recommender {recommender['arn']} ({recommender['key']}) is {status}: "
                             f"{existing.get('failureReason') or 'no failureReason given'}; delete it or rename the recommender")
    if status.startswith("STOP") or status.startswith("START") or status == "INACTIVE":
        # Stopped by StopRecommender: it serves nothing until StartRecommender.
        raise ResourceConflict(f"recommenders.{recommender['key']}: recommender {recommender['arn']} is {status} (stopped); "
                               "start it with StartRecommender, or remove it from the params")
    if status != "ACTIVE":
        return resource(recommender)  # still being created: the wait loop waits for it
    wanted = recommender.get("recommenderConfig") or {}
    update = existing.get("latestRecommenderUpdate") or {}
    running = bool(update) and update.get("status") != "ACTIVE" and not is_failed(update.get("status"))
    target = update.get("recommenderConfig") if running else existing.get("recommenderConfig")
    if _contains(target or {}, wanted):
        return resource(recommender)
    request = update_recommender(recommender)
    if running:
        log.info("recommender update deferred until the running one ends", extra={"recommender": recommender["arn"]})
        return resource(recommender, recommenderConfig=wanted, deferred={"operation": "update_recommender", "request": request})
    _, refused = call_or_defer("update_recommender", recommender["arn"], request, for_now={"ResourceInUseException"})
    if refused is not None:
        return resource(recommender, recommenderConfig=wanted, deferred={"operation": "update_recommender", "request": request})
    log.info("recommender update started", extra={"recommender": recommender["arn"]})
    return resource(recommender, recommenderConfig=wanted)


def gate_recommenders(plan: Plan) -> list[dict]:
    """Each recommender's modelMetrics against the quality gate's thresholds.
    A recommender is trained and served by Personalize itself, so there is no
    earlier version to compare with: the thresholds alone decide. Any rejection
    fails the run before a campaign or batch job is touched."""
    verdicts, rejected = [], []
    for rec in plan.get("recommenders", []):
        described = describe("recommender", rec["arn"]) or {}
        metrics = {k: float(v) for k, v in (described.get("modelMetrics") or {}).items()}
        reasons = gate.judge(metrics, None, plan["gate"])
        verdicts.append({"recommender": rec["key"], "recommenderArn": rec["arn"], "metrics": metrics,
                         "passed": not reasons, "reasons": reasons})
        if reasons:
            rejected.append(f"recommender {rec['arn']} ({rec['key']}): " + "; ".join(reasons))
    if rejected:
        raise QualityGateRejected("the recommenders do not meet the quality gate's thresholds: " + " | ".join(rejected))
    return verdicts


def summary(verdicts: list[dict]) -> dict:
    return {v["recommender"]: {"recommenderArn": v["recommenderArn"], "metrics": v["metrics"]} for v in verdicts or []}
