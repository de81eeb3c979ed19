"""Batch inference and batch segment jobs, run after the quality gate on the
solution versions this run trained.

- A batch inference job turns users into items (User-Personalization,
  Popularity-Count, Personalized-Ranking) or items into related items (SIMS,
  Similar-Items), with an optional theme for Similar-Items:
  https://docs.aws.amazon.com/personalize/latest/dg/API_CreateBatchInferenceJob.html
- A batch segment job turns items (or item attributes) into users, with the
  Item-Affinity and Item-Attribute-Affinity recipes:
  https://docs.aws.amazon.com/personalize/latest/dg/API_CreateBatchSegmentJob.html

Each job reads every file under ``<export root>/batch/input/<input>/`` and writes
under ``<export root>/batch/output/<run id>/<job>/``, so each run's output sits
under its own prefix (the Personalize role may read only the input prefix and
write only the output prefix). A job's name carries the run id: a re-run finds
the job it started instead of starting another one."""
from __future__ import annotations

import re
from typing import Any, Optional

from . import gate, naming
from .errors import ParamsInvalid, QualityGateRejected, ResourceFailed
from .logs import get_logger
from .personalize_ops import create, describe, is_failed
from .plan import BatchJobPlan, Plan

log = get_logger()

KINDS = {"batch_inference_jobs": "batch_inference_job", "batch_segment_jobs": "batch_segment_job"}
ARN_KINDS = {"batch_inference_job": "batch-inference-job", "batch_segment_job": "batch-segment-job"}
# Batch recommendations are not available for these recipes ("You can't get batch
# recommendations with the Trending-Now or Next-Best-Action recipes"):
# https://docs.aws.amazon.com/personalize/latest/dg/API_CreateBatchInferenceJob.html
NO_BATCH_INFERENCE = ("aws-trending-now", "aws-next-best-action")
# USER_SEGMENTATION recipes: the only ones a batch segment job takes, and they
# serve no batch inference job.
# https://docs.aws.amazon.com/personalize/latest/dg/user-segmentation-recipes.html
SEGMENT_RECIPES = ("aws-item-affinity", "aws-item-attribute-affinity")
# Themes come from Content Generator, with the Similar-Items recipe only:
# https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html
THEME_RECIPES = ("aws-similar-items",)
# numResults: at most 500 items per input line for batch inference, 5 million
# users per segment for a batch segment job.
# https://docs.aws.amazon.com/personalize/latest/dg/getting-batch-recommendations.html
# https://docs.aws.amazon.com/personalize/latest/dg/API_CreateBatchSegmentJob.html
MAX_RESULTS = {"batch_inference_job": 500, "batch_segment_job": 5_000_000}
# A filter for a batch segment job filters users (UserID), one for a batch
# inference job filters items (ItemID):
# https://docs.aws.amazon.com/personalize/latest/dg/filter-batch.html
FILTER_TARGET = {"batch_inference_job": "ItemID", "batch_segment_job": "UserID"}

KEY_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,39}$")
INPUT_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_.]*(/[a-zA-Z0-9][a-zA-Z0-9\-_.]*)*$")
FIELD_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ALLOWED = {
    "batch_inference_jobs": {"name", "solution", "input", "num_results", "filter", "job_config", "theme"},
    "batch_segment_jobs": {"name", "solution", "input", "num_results", "filter"},
}


def _fail(path: str, rule: str) -> None:
    raise ParamsInvalid(f"{path}: {rule}")


def _recipe_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


# ------------------------------------------------------------------- params
def parse_batch_jobs(params: dict, solutions: list[dict], filters: list[dict]) -> list[dict]:
    """Both sections of the params, normalised, checked against the solutions
    and filters they name and against what each recipe allows."""
    by_solution = {s["name"]: s for s in solutions}
    by_filter = {f["name"]: f for f in filters}
    out, seen = [], set()
    for section, kind in KINDS.items():
        raw = params.get(section, [])
        if not isinstance(raw, list):
            _fail(section, f"must be a list, got {type(raw).__name__}")
        for i, job in enumerate(raw):
            path = f"{section}[{i}]"
            if not isinstance(job, dict):
                _fail(path, f"must be an object, got {type(job).__name__}")
            unknown = sorted(set(job) - ALLOWED[section])
            if unknown:
                _fail(f"{path}.{unknown[0]}", f"unknown field (allowed: {', '.join(sorted(ALLOWED[section]))})")
            name = job.get("name")
            if not isinstance(name, str) or not KEY_PATTERN.match(name):
                _fail(f"{path}.name", "is required" if name is None else f"{name!r} must match {KEY_PATTERN.pattern}")
            if name in seen:
                _fail(f"{path}.name", f"{name!r} is used twice (batch job names are shared by both sections)")
            seen.add(name)
            solution = job.get("solution")
            if solution not in by_solution:
                _fail(f"{path}.solution", f"{solution!r} is not one of the solutions ({', '.join(sorted(by_solution)) or 'none'})")
            recipe = _recipe_name(by_solution[solution]["recipe_arn"])
            if kind == "batch_segment_job" and recipe not in SEGMENT_RECIPES:
                _fail(f"{path}.solution", f"solution {solution!r} uses {recipe}; a batch segment job needs a USER_SEGMENTATION "
                                          f"recipe ({', '.join(SEGMENT_RECIPES)})")
            if kind == "batch_inference_job" and recipe in SEGMENT_RECIPES:
                _fail(f"{path}.solution", f"solution {solution!r} uses {recipe}, a USER_SEGMENTATION recipe: list the job "
                                          "under batch_segment_jobs")
            if kind == "batch_inference_job" and recipe in NO_BATCH_INFERENCE:
                _fail(f"{path}.solution", f"solution {solution!r} uses {recipe}, which Personalize offers no batch "
                                          "recommendations for")
            input_folder = job.get("input", name)
            if not isinstance(input_folder, str) or not INPUT_PATTERN.match(input_folder):
                _fail(f"{path}.input", f"{input_folder!r} must be a folder under the batch input prefix, matching {INPUT_PATTERN.pattern}")
            num_results = job.get("num_results")
            if num_results is not None and (isinstance(num_results, bool) or not isinstance(num_results, int)
                                            or not 1 <= num_results <= MAX_RESULTS[kind]):
                _fail(f"{path}.num_results", f"must be an integer between 1 and {MAX_RESULTS[kind]}")
            flt = job.get("filter")
            if flt is not None:
                if flt not in by_filter:
                    _fail(f"{path}.filter", f"{flt!r} is not one of the filters ({', '.join(sorted(by_filter)) or 'none'})")
                target = FILTER_TARGET[kind]
                found = re.findall(r"\b(?:INCLUDE|EXCLUDE)\s+(\w+)", by_filter[flt]["expression"])
                if any(t != target for t in found):
                    _fail(f"{path}.filter", f"filter {flt!r} filters {', '.join(sorted(set(found)))}; a "
                                            f"{kind.replace('_', ' ')} needs a filter on {target}")
            config = job.get("job_config")
            if config is not None and not isinstance(config, dict):
                _fail(f"{path}.job_config", f"must be an object, got {type(config).__name__}")
            theme = job.get("theme")
            item_name = None
            if theme is not None:
                if not isinstance(theme, dict) or set(theme) != {"item_name_field"}:
                    _fail(f"{path}.theme", "must be {\"item_name_field\": <the items field holding each item's name>}")
                if recipe not in THEME_RECIPES:
                    _fail(f"{path}.theme", f"themes need the Similar-Items recipe (aws-similar-items); solution {solution!r} uses {recipe}")
                item_name = theme["item_name_field"]
                if not isinstance(item_name, str) or not FIELD_PATTERN.match(item_name):
                    _fail(f"{path}.theme.item_name_field", f"{item_name!r} must match {FIELD_PATTERN.pattern}")
            out.append({"name": name, "kind": kind, "section": section, "index": i, "solution": solution,
                        "input": input_folder.strip("/"), "num_results": num_results, "filter": flt,
                        "job_config": config, "theme_item_name_field": item_name})
    return out


def batch_root(manifest_uri: str) -> Optional[str]:
    """<export root>/batch/, from the manifest at <export root>/exports/<run id>/manifest.json."""
    head, sep, _ = manifest_uri.rpartition("/exports/")
    return f"{head}/batch/" if sep else None


def plan_batch_jobs(params: dict, manifest_uri: str, schemas: dict[str, str], filter_arns: dict[str, str],
                    partition: str, region: str, account: str) -> list[BatchJobPlan]:
    jobs = params.get("batch_jobs") or []
    if not jobs:
        return []
    root = batch_root(manifest_uri)
    if root is None:
        _fail("export.manifest_uri", f"{manifest_uri}: batch jobs read and write beside the exports, under "
                                     "<export root>/batch/, and need the manifest at <export root>/exports/<run id>/manifest.json")
    items_fields = set()
    if "items" in schemas:
        import json

        items_fields = {f.get("name") for f in json.loads(schemas["items"]).get("fields", [])}
    out: list[BatchJobPlan] = []
    for job in jobs:
        path = f"{job['section']}[{job['index']}]"
        if job["theme_item_name_field"] and job["theme_item_name_field"] not in items_fields:
            _fail(f"{path}.theme.item_name_field", f"{job['theme_item_name_field']} is not a field of the exported items schema "
                                                   f"({', '.join(sorted(items_fields)) or 'no items dataset'}): themes are made "
                                                   "from the items' names")
        name = naming.resource_name(params["name"], job["name"], params["run_id"])
        out.append({
            "key": job["name"],
            "kind": job["kind"],
            "name": name,
            "arn": naming.arn(partition, region, account, ARN_KINDS[job["kind"]], name),
            "solutionKey": job["solution"],
            "inputPath": f"{root}input/{job['input']}/",
            "outputPath": f"{root}output/{params['run_id']}/{job['name']}/",
            "numResults": job["num_results"],
            "filterArn": filter_arns[job["filter"]] if job["filter"] else None,
            "jobConfig": job["job_config"],
            "themeItemNameField": job["theme_item_name_field"],
        })
    return out


# ------------------------------------------------------------------ requests
PLACEHOLDER_VERSION = "/validation-placeholder"


def create_request(plan: Plan, job: BatchJobPlan, job_name: str, solution_version_arn: str, role_arn: str) -> tuple[str, dict]:
    """(operation, request) for the job."""
    request: dict[str, Any] = {
        "jobName": job_name,
        "solutionVersionArn": solution_version_arn,
        "jobInput": {"s3DataSource": {"path": job["inputPath"]}},
        "jobOutput": {"s3DataDestination": {"path": job["outputPath"]}},
        "roleArn": role_arn,
    }
    if job.get("numResults"):
        request["numResults"] = job["numResults"]
    if job.get("filterArn"):
        request["filterArn"] = job["filterArn"]
    if job["kind"] == "batch_inference_job":
        if job.get("jobConfig"):
            request["batchInferenceJobConfig"] = job["jobConfig"]
        if job.get("themeItemNameField"):
            request["batchInferenceJobMode"] = "THEME_GENERATION"
            request["themeGenerationConfig"] = {"fieldsForThemeGeneration": {"itemName": job["themeItemNameField"]}}
    if plan.get("tags"):
        request["tags"] = [{"tagKey": k, "tagValue": v} for k, v in sorted(plan["tags"].items())]
    operation = "CreateBatchInferenceJob" if job["kind"] == "batch_inference_job" else "CreateBatchSegmentJob"
    return operation, request


def planned_requests(plan: Plan, role_arn: str):
    by_solution = {s["key"]: s for s in plan["solutions"]}
    for job in plan.get("batchJobs", []):
        placeholder = by_solution[job["solutionKey"]]["arn"] + PLACEHOLDER_VERSION
        operation, request = create_request(plan, job, job["name"], placeholder, role_arn)
        yield f"batch_jobs.{job['key']}", operation, request


# --------------------------------------------------------------------- steps
SNAKE = {"CreateBatchInferenceJob": "create_batch_inference_job", "CreateBatchSegmentJob": "create_batch_segment_job"}


def _judge(plan: Plan, evaluations: list[dict]) -> dict[str, str]:
    """{solution key: new version ARN} of the solutions the jobs use, each judged
    on the gate's thresholds (a solution a campaign serves has passed the whole
    gate already; one used only here is judged on the thresholds). Any rejection
    starts no job."""
    by_solution = {e["solutionKey"]: e for e in evaluations or []}
    versions, rejected = {}, []
    for key in sorted({j["solutionKey"] for j in plan.get("batchJobs", [])}):
        evaluation = by_solution.get(key)
        if evaluation is None:
            raise ResourceFailed(f"solutions.{key}: no new solution version was trained in this run for the batch jobs")
        reasons = gate.judge(evaluation["metrics"], None, plan["gate"])
        if reasons:
            rejected.append(f"solution version {evaluation['solutionVersionArn']} ({key}): " + "; ".join(reasons))
        versions[key] = evaluation["solutionVersionArn"]
    if rejected:
        raise QualityGateRejected("no batch job was started: the solution versions do not meet the quality gate's thresholds: "
                                  + " | ".join(rejected))
    return versions


def start_batch_jobs(plan: Plan, evaluations: list[dict], role_arn: str) -> list[dict]:
    """Describe, else start, each batch job on its solution's new version. A
    job that FAILED is retried under the next name (as imports and training are)."""
    versions = _judge(plan, evaluations)
    out = []
    for job in plan.get("batchJobs", []):
        for name in naming.retry_names(job["name"]):
            arn = naming.arn(plan["partition"], plan["region"], plan["account"], ARN_KINDS[job["kind"]], name)
            existing = describe(job["kind"], arn)
            if existing is not None and is_failed(existing.get("status")):
                continue
            if existing is None:
                operation, request = create_request(plan, job, name, versions[job["solutionKey"]], role_arn)
                _, created = create(SNAKE[operation], name, request)
                log.info("batch job started" if created else "batch job already started", extra={"job": arn})
            out.append({"kind": job["kind"], "arn": arn, "label": job["key"], "outputPath": job["outputPath"]})
            break
        else:
            raise ResourceFailed(f"{job['kind'].replace('_', ' ')} {job['name']} ({job['key']}): every retry attempt failed")
    return out


def summary(jobs: list[dict]) -> dict:
    return {j["label"]: {"jobArn": j["arn"], "outputPath": j["outputPath"]} for j in jobs or []}
