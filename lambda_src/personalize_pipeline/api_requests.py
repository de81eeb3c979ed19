"""Every Personalize request the pipeline sends is built here, once, from the
plan. The same builders serve the up-front validation (before any resource is
touched) and the real calls, so what was validated is what is sent."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from .errors import ParamsInvalid
from .plan import CampaignPlan, DatasetPlan, FilterPlan, Plan, SolutionPlan

PLACEHOLDER_VERSION_SUFFIX = "/validation-placeholder"


@lru_cache(maxsize=1)
def service_model() -> Any:
    return botocore.session.get_session().get_service_model("personalize")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> "re.Pattern[str] | None":
    try:
        return re.compile(pattern)
    except re.error:
        # A few model patterns use Java-only syntax (\p{...}); those are left to the service.
        return None


def pattern_matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


def _tags(plan: Plan) -> list[dict]:
    return [{"tagKey": k, "tagValue": v} for k, v in sorted(plan.get("tags", {}).items())]


def create_dataset_group(plan: Plan, role_arn: str) -> dict:
    group = plan["datasetGroup"]
    request: dict[str, Any] = {"name": group["name"]}
    if plan.get("domain"):
        request["domain"] = plan["domain"]
    if group.get("kmsKeyArn"):
        # Personalize needs a role to use the customer key.
        request["kmsKeyArn"] = group["kmsKeyArn"]
        request["roleArn"] = role_arn
    if plan.get("tags"):
        request["tags"] = _tags(plan)
    return request


def create_schema(dataset: DatasetPlan, domain: str | None = None) -> dict:
    request = {"name": dataset["schemaName"], "schema": dataset["schema"]}
    if domain:
        # A Domain dataset group takes only schemas created for its domain.
        request["domain"] = domain
    return request


def create_dataset(plan: Plan, dataset: DatasetPlan) -> dict:
    request = {
        "name": dataset["name"],
        "schemaArn": dataset["schemaArn"],
        "datasetGroupArn": plan["datasetGroup"]["arn"],
        "datasetType": dataset["type"],
    }
    if plan.get("tags"):
        request["tags"] = _tags(plan)
    return request


def update_dataset(dataset: DatasetPlan) -> dict:
    return {"datasetArn": dataset["arn"], "schemaArn": dataset["schemaArn"]}


def create_import_job(plan: Plan, dataset: DatasetPlan, job_name: str, import_mode: str, role_arn: str) -> dict:
    request: dict[str, Any] = {
        "jobName": job_name,
        "datasetArn": dataset["arn"],
        "dataSource": {"dataLocation": dataset["dataLocation"]},
        "roleArn": role_arn,
        "importMode": import_mode,
    }
    if plan.get("tags"):
        request["tags"] = _tags(plan)
    return request


def create_solution(plan: Plan, solution: SolutionPlan) -> dict:
    request: dict[str, Any] = {
        "name": solution["name"],
        "recipeArn": solution["recipeArn"],
        "datasetGroupArn": plan["datasetGroup"]["arn"],
        "performHPO": solution["performHPO"],
        # Always explicit: Personalize defaults to retraining every 7 days on
        # its own, which would fight the pipeline's own schedule.
        "performAutoTraining": solution["performAutoTraining"],
    }
    if solution.get("eventType"):
        request["eventType"] = solution["eventType"]
    if solution.get("solutionConfig"):
        request["solutionConfig"] = solution["solutionConfig"]
    if plan.get("tags"):
        request["tags"] = _tags(plan)
    return request


def create_solution_version(plan: Plan, solution: SolutionPlan, version_name: str, training_mode: str) -> dict:
    request: dict[str, Any] = {"name": version_name, "solutionArn": solution["arn"], "trainingMode": training_mode}
    if plan.get("tags"):
        request["tags"] = _tags(plan)
    return request


def create_campaign(campaign: CampaignPlan, solution_version_arn: str, plan: Plan | None = None) -> dict:
    request: dict[str, Any] = {
        "name": campaign["name"],
        "solutionVersionArn": solution_version_arn,
        "minProvisionedTPS": campaign["minProvisionedTPS"],
    }
    if campaign.get("campaignConfig"):
        request["campaignConfig"] = campaign["campaignConfig"]
    if plan and plan.get("tags"):
        request["tags"] = _tags(plan)
    return request


def update_campaign(campaign: CampaignPlan, solution_version_arn: str) -> dict:
    request: dict[str, Any] = {
        "campaignArn": campaign["arn"],
        "solutionVersionArn": solution_version_arn,
        "minProvisionedTPS": campaign["minProvisionedTPS"],
    }
    if campaign.get("campaignConfig"):
        request["campaignConfig"] = campaign["campaignConfig"]
    return request


def create_filter(plan: Plan, flt: FilterPlan) -> dict:
    request: dict[str, Any] = {"name": flt["name"], "datasetGroupArn": plan["datasetGroup"]["arn"], "filterExpression": flt["expression"]}
    if plan.get("tags"):
        request["tags"] = _tags(plan)
    return request


def create_event_tracker(plan: Plan) -> dict:
    request: dict[str, Any] = {"name": plan["eventTracker"]["name"], "datasetGroupArn": plan["datasetGroup"]["arn"]}
    if plan.get("tags"):
        request["tags"] = _tags(plan)
    return request


def update_solution(solution: SolutionPlan, changes: dict) -> dict:
    """UpdateSolution can change automatic training (on/off, schedule) and the
    events configuration only:
    https://docs.aws.amazon.com/personalize/latest/dg/API_UpdateSolution.html"""
    request: dict[str, Any] = {"solutionArn": solution["arn"]}
    if "performAutoTraining" in changes:
        request["performAutoTraining"] = changes["performAutoTraining"]
    update_config = {k: v for k, v in changes.items() if k in ("autoTrainingConfig", "eventsConfig")}
    if update_config:
        request["solutionUpdateConfig"] = update_config
    return request


def planned_requests(plan: Plan, role_arn: str) -> Iterable[tuple[str, str, dict]]:
    """(label, operation, request) for every create/update the run may send."""
    yield "dataset_group", "CreateDatasetGroup", create_dataset_group(plan, role_arn)
    for ds in plan["datasets"]:
        yield f"datasets.{ds['key']}.schema", "CreateSchema", create_schema(ds, plan.get("domain"))
        yield f"datasets.{ds['key']}", "CreateDataset", create_dataset(plan, ds)
        yield f"datasets.{ds['key']}", "UpdateDataset", update_dataset(ds)
        yield f"datasets.{ds['key']}.import", "CreateDatasetImportJob", create_import_job(
            plan, ds, ds["importJobName"], ds["importMode"], role_arn
        )
    for sol in plan["solutions"]:
        yield f"solutions.{sol['key']}", "CreateSolution", create_solution(plan, sol)
        placeholder = sol["arn"] + PLACEHOLDER_VERSION_SUFFIX
        yield f"solutions.{sol['key']}.version", "CreateSolutionVersion", create_solution_version(
            plan, sol, sol["versionName"], sol["trainingMode"]
        )
        config = sol.get("solutionConfig") or {}
        yield f"solutions.{sol['key']}", "UpdateSolution", update_solution(sol, {
            "performAutoTraining": sol["performAutoTraining"],
            **{k: config[k] for k in ("autoTrainingConfig", "eventsConfig") if k in config},
        })
        for camp in plan["campaigns"]:
            if camp["solutionKey"] == sol["key"]:
                yield f"campaigns.{camp['key']}", "CreateCampaign", create_campaign(camp, placeholder, plan)
                yield f"campaigns.{camp['key']}", "UpdateCampaign", update_campaign(camp, placeholder)
    for flt in plan["filters"]:
        yield f"filters.{flt['key']}", "CreateFilter", create_filter(plan, flt)
    if plan.get("eventTracker"):
        yield "event_tracker", "CreateEventTracker", create_event_tracker(plan)
    from . import batch_jobs, recommenders

    yield from recommenders.planned_requests(plan)
    yield from batch_jobs.planned_requests(plan, role_arn)


def _check_constraints(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    """botocore's validator checks types, required members and minimums; the
    model's maximums, patterns and enums are checked here."""
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _check_constraints(value[name], member, f"{path}.{name}", problems)
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: at most {meta['max']} entries allowed, got {len(value)}")
        for i, item in enumerate(value):
            _check_constraints(item, shape.member, f"{path}[{i}]", problems)
    elif shape.type_name == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: at most {meta['max']} entries allowed, got {len(value)}")
        for key, item in value.items():
            _check_constraints(key, shape.key, f"{path}.<key {key}>", problems)
            _check_constraints(item, shape.value, f"{path}.{key}", problems)
    elif shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: at most {meta['max']} characters allowed, got {len(value)}")
        if "pattern" in meta and not pattern_matches(meta["pattern"], value):
            problems.append(f"{path}: {value!r} does not match the pattern {meta['pattern']}")
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            problems.append(f"{path}: {value!r} is not one of {sorted(enum)}")
    elif shape.type_name in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: must be at most {meta['max']}, got {value}")


def validate_request(label: str, operation: str, request: dict) -> None:
    """Raise ParamsInvalid naming the params field and the request field."""
    shape = service_model().operation_model(operation).input_shape
    problems: list[str] = []
    try:
        validate_parameters(request, shape)
    except ParamValidationError as exc:
        problems.append(str(exc.kwargs.get("report", exc)).strip())
    _check_constraints(request, shape, operation, problems)
    if problems:
        raise ParamsInvalid(f"{label}: the {operation} request built from the params is invalid: " + "; ".join(problems))


def validate_all(plan: Plan, role_arn: str) -> int:
    count = 0
    for label, operation, request in planned_requests(plan, role_arn):
        validate_request(label, operation, request)
        count += 1
    return count
