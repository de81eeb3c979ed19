"""The fake Personalize's batch inference and batch segment jobs (a mixin of
FakePersonalize).

Like Personalize, a job reads every object under its input path with the role
it is given, and writes ``<input file name>.out`` (JSON lines) under its output
path once it is done. Its status goes PENDING > IN PROGRESS > ACTIVE or CREATE
FAILED (https://docs.aws.amazon.com/personalize/latest/dg/API_BatchInferenceJob.html,
https://docs.aws.amazon.com/personalize/latest/dg/API_BatchSegmentJob.html).

What it refuses, each rule from Personalize's pages:
- a solution version that is not ACTIVE;
- batch inference with Trending-Now or Next-Best-Action, or with a
  USER_SEGMENTATION recipe; a batch segment job with any other recipe;
- THEME_GENERATION outside Similar-Items, or without themeGenerationConfig
  (and themeGenerationConfig without THEME_GENERATION);
- more than 500 results per line (batch inference) or 5 million users per
  segment; a filter of another dataset group, or on the wrong target (items
  for inference, users for segments).

A filter is applied to the output as fake_filters.py evaluates it; a filter
form it cannot evaluate is refused at creation, never left unapplied.
"""
from __future__ import annotations

import json
import re
from typing import Any, Optional

from .fake_filters import FilterNotEvaluable, Subject, compile_filter, line_problem

# https://docs.aws.amazon.com/personalize/latest/dg/API_CreateBatchInferenceJob.html
NO_BATCH_INFERENCE = ("aws-trending-now", "aws-next-best-action")
# https://docs.aws.amazon.com/personalize/latest/dg/user-segmentation-recipes.html
SEGMENT_RECIPES = ("aws-item-affinity", "aws-item-attribute-affinity")
# https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html
THEME_RECIPES = ("aws-similar-items",)
# https://docs.aws.amazon.com/personalize/latest/dg/getting-batch-recommendations.html and
# https://docs.aws.amazon.com/personalize/latest/dg/API_CreateBatchSegmentJob.html
MAX_RESULTS = {"batch_inference_job": 500, "batch_segment_job": 5_000_000}
DEFAULT_RESULTS = 25
# https://docs.aws.amazon.com/personalize/latest/dg/filter-batch.html
FILTER_TARGET = {"batch_inference_job": "ItemID", "batch_segment_job": "UserID"}
# What each input line must carry, by recipe:
# https://docs.aws.amazon.com/personalize/latest/dg/batch-data-upload.html
RELATED_ITEMS = ("aws-sims", "aws-similar-items")
RANKING_PREFIX = "aws-personalized-ranking"
# The batch job statuses, in place of the creation statuses other resources show.
STATUS = {"CREATE PENDING": "PENDING", "CREATE IN_PROGRESS": "IN PROGRESS"}
ARN_KEY = {"batch_inference_job": "batchInferenceJobArn", "batch_segment_job": "batchSegmentJobArn"}


def _input_key(recipe: str) -> str:
    if recipe in RELATED_ITEMS or recipe == "aws-item-affinity":
        return "itemId"
    if recipe == "aws-item-attribute-affinity":
        return "itemAttributes"
    return "userId"


class BatchJobApis:
    """CreateBatchInferenceJob, DescribeBatchInferenceJob, CreateBatchSegmentJob, DescribeBatchSegmentJob."""

    # ------------------------------------------------ Personalize's S3 access
    def _read_batch_input(self, location: str) -> list[tuple[str, bytes]]:
        """Every object under the input path, read as Personalize reads it (with the job's role)."""
        match = re.match(r"^s3://([^/]+)/?(.*)$", location)
        if not match or self.s3 is None:
            return []
        bucket, prefix = match.groups()
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found.append((obj["Key"], self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()))
        return found

    def _write_batch_output(self, location: str, name: str, body: bytes) -> None:
        """Write one output object under the output path, as Personalize does (with the job's role)."""
        bucket, _, prefix = location[len("s3://"):].partition("/")
        self.s3.put_object(Bucket=bucket, Key=f"{prefix}{name}", Body=body)

    # ------------------------------------------------------------ creation
    def _batch_job(self, kind: str, p: dict) -> dict:
        from .fake_personalize import FakeError

        version = self._require_active(p["solutionVersionArn"], "solution_version")
        recipe = version.fields["recipeArn"].rsplit("/", 1)[-1]
        if kind == "batch_inference_job":
            if recipe in NO_BATCH_INFERENCE:
                raise FakeError("InvalidInputException", f"batch recommendations are not available for the recipe {recipe}")
            if recipe in SEGMENT_RECIPES:
                raise FakeError("InvalidInputException", f"{recipe} is a USER_SEGMENTATION recipe: create a batch segment job")
            mode = p.get("batchInferenceJobMode", "BATCH_INFERENCE")
            if mode == "THEME_GENERATION" and recipe not in THEME_RECIPES:
                raise FakeError("InvalidInputException", f"THEME_GENERATION needs the Similar-Items recipe, not {recipe}")
            if (mode == "THEME_GENERATION") != ("themeGenerationConfig" in p):
                raise FakeError("InvalidInputException", "themeGenerationConfig goes with batchInferenceJobMode THEME_GENERATION, and only with it")
        elif recipe not in SEGMENT_RECIPES:
            raise FakeError("InvalidInputException", f"a batch segment job needs a USER_SEGMENTATION recipe, not {recipe}")
        num_results = p.get("numResults", DEFAULT_RESULTS)
        if not 1 <= num_results <= MAX_RESULTS[kind]:
            raise FakeError("InvalidInputException", f"numResults must be between 1 and {MAX_RESULTS[kind]}, got {num_results}")
        if p.get("filterArn"):
            flt = self._require_active(p["filterArn"], "filter")
            if flt.fields["datasetGroupArn"] != version.fields["datasetGroupArn"]:
                raise FakeError("InvalidInputException", f"filter {flt.arn} belongs to another dataset group")
            targets = set(re.findall(r"\b(?:INCLUDE|EXCLUDE)\s+(\w+)", flt.fields["filterExpression"]))
            if targets != {FILTER_TARGET[kind]}:
                raise FakeError("InvalidInputException", f"filter {flt.arn} filters {sorted(targets)}; a "
                                                         f"{kind.replace('_', ' ')} takes filters on {FILTER_TARGET[kind]}")
            try:
                compiled = compile_filter(flt.fields["filterExpression"], FILTER_TARGET[kind])
            except FilterNotEvaluable as exc:
                raise FakeError("InvalidInputException", f"filter expression {flt.fields['filterExpression']!r}: {exc}; "
                                                         "the local Personalize cannot apply it") from exc
        for side, key in (("jobOutput", "s3DataDestination"),):
            if not p[side][key]["path"].startswith("s3://"):
                raise FakeError("InvalidInputException", f"{side}.{key}.path must be an s3:// path")
        arn = self._arn(kind.replace("_", "-"), p["jobName"])
        inputs = self._read_batch_input(p["jobInput"]["s3DataSource"]["path"])
        if p.get("filterArn"):
            self._check_filter_inputs(compiled, inputs, "userId" if kind == "batch_inference_job" else None)
        res = self._new(kind, arn, {
            "jobName": p["jobName"], ARN_KEY[kind]: arn, "solutionVersionArn": version.arn,
            "jobInput": p["jobInput"], "jobOutput": p["jobOutput"], "roleArn": p["roleArn"],
            "numResults": num_results, **({"filterArn": p["filterArn"]} if p.get("filterArn") else {}),
            **({k: p[k] for k in ("batchInferenceJobConfig", "batchInferenceJobMode", "themeGenerationConfig") if k in p}),
        })
        if res.failure_reason is None:
            res.failure_reason = self._input_problem(inputs, _input_key(recipe), p["jobInput"]["s3DataSource"]["path"])
        res.fields["_inputs"] = inputs
        res.fields["_recipe"] = recipe
        res.fields["_filter"] = compiled if p.get("filterArn") else None
        return {ARN_KEY[kind]: arn}

    def _input_problem(self, inputs: list[tuple[str, bytes]], key: str, path: str) -> Optional[str]:
        if not inputs:
            return f"No input data: there are no objects under {path}"
        for name, body in inputs:
            for number, line in enumerate(body.decode("utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    return f"Input file {name} line {number} is not valid JSON"
                if not isinstance(record, dict) or key not in record:
                    return f"Input file {name} line {number} has no {key}"
        return None

    @staticmethod
    def _check_filter_inputs(compiled: Any, inputs: list[tuple[str, bytes]], user_key: Optional[str]) -> None:
        """Refuse a job whose lines the fake cannot filter (a $PARAMETER without a value...).
        Lines that are not JSON objects are left to _input_problem, which fails the job."""
        from .fake_personalize import FakeError

        for name, body in inputs:
            for number, line in enumerate(body.decode("utf-8").splitlines(), start=1):
                try:
                    record = json.loads(line) if line.strip() else None
                except ValueError:
                    continue
                problem = line_problem(compiled, record, user_key) if isinstance(record, dict) else None
                if problem:
                    raise FakeError("InvalidInputException", f"filter expression {compiled.expression!r}: input file {name} "
                                                             f"line {number}: {problem}; the local Personalize cannot apply it")

    def _create_batch_inference_job(self, p: dict) -> dict:
        return self._batch_job("batch_inference_job", p)

    def _create_batch_segment_job(self, p: dict) -> dict:
        return self._batch_job("batch_segment_job", p)

    # ---------------------------------------------------------------- output
    def _segment_users(self, group_arn: str, item_id: str, limit: int) -> list[str]:
        """Users who interacted with the item, most interactions first (the fake's affinity)."""
        import csv
        import io

        counts: dict[str, int] = {}
        for blob in self._dataset_data(group_arn, "INTERACTIONS"):
            for row in csv.DictReader(io.StringIO(blob.decode("utf-8"))):
                if row.get("ITEM_ID") == item_id:
                    counts[row["USER_ID"]] = counts.get(row["USER_ID"], 0) + 1
        return sorted(counts, key=lambda u: (-counts[u], u))[:limit]

    def _filter_subjects(self, res: Any, group_arn: str) -> Any:
        """For a filtered job: a function from a job line to what its filter reads
        (the target's rows and event types from the imported datasets)."""
        interactions = self.dataset_content(group_arn, "INTERACTIONS").records.values()
        if res.kind == "batch_segment_job":
            rows = self.dataset_content(group_arn, "USERS").records
            by_user: dict[str, set[str]] = {}
            for row in interactions:
                by_user.setdefault(row.get("USER_ID", ""), set()).add(row.get("EVENT_TYPE", ""))
            return lambda record: Subject(rows, by_user, record.get("filterValues", {}))
        rows = self.dataset_content(group_arn, "ITEMS").records
        by_item_of_user: dict[str, dict[str, set[str]]] = {}
        for row in interactions:
            by_item_of_user.setdefault(row.get("USER_ID", ""), {}).setdefault(row.get("ITEM_ID", ""), set()).add(row.get("EVENT_TYPE", ""))
        return lambda record: Subject(rows, by_item_of_user.get(str(record.get("userId", "")), {}), record.get("filterValues", {}))

    def _write_outputs(self, res: Any) -> None:
        version = self.resources[res.fields["solutionVersionArn"]]
        group_arn = version.fields["datasetGroupArn"]
        model = self.models.get(version.arn)
        key = _input_key(res.fields["_recipe"])
        n = res.fields["numResults"]
        compiled = res.fields.get("_filter")
        subject_of = self._filter_subjects(res, group_arn) if compiled is not None else None
        # A filter removes candidates before the count is cut, as Personalize fills
        # numResults from what the filter keeps.
        wanted = MAX_RESULTS[res.kind] if compiled is not None else n

        def kept(candidates: list[str], record: dict) -> list[str]:
            return (compiled.apply(candidates, subject_of(record)) if compiled is not None else candidates)[:n]

        for name, body in res.fields["_inputs"]:
            lines = []
            for line in body.decode("utf-8").splitlines():
                if not line.strip():
                    continue
                record = json.loads(line)
                if res.kind == "batch_segment_job":
                    output = {"usersList": kept(self._segment_users(group_arn, str(record[key]), wanted), record)}
                else:
                    items = kept(model.recommend(str(record[key]), wanted) if model is not None else [], record)
                    output = {"recommendedItems": items, "scores": [round(1.0 / (i + 1), 4) for i in range(len(items))]}
                lines.append(json.dumps({"input": record, "output": output, "error": None}))
            self._write_batch_output(res.fields["jobOutput"]["s3DataDestination"]["path"], name.rsplit("/", 1)[-1] + ".out",
                                     ("\n".join(lines) + "\n").encode("utf-8"))
        res.fields["_written"] = True

    def _batch_view(self, res: Any) -> dict:
        view = self._view(res)
        view.pop("_inputs", None)
        view["status"] = STATUS.get(view["status"], view["status"])
        if view["status"] == "ACTIVE" and not res.fields.get("_written"):
            self._write_outputs(res)
        return view

    def _describe_batch_inference_job(self, p: dict) -> dict:
        return {"batchInferenceJob": self._batch_view(self._get(p["batchInferenceJobArn"], "batch_inference_job"))}

    def _describe_batch_segment_job(self, p: dict) -> dict:
        return {"batchSegmentJob": self._batch_view(self._get(p["batchSegmentJobArn"], "batch_segment_job"))}
