"""The run's figures as CloudWatch metrics, published by Finalize (and, for a
rejected gate, by the state machine's RecordGateRejection step, which invokes
the same function).

One namespace per deployed pipeline (METRICS_NAMESPACE, set by Terraform to
``PersonalizePipeline/<module name>``): the Finalize role may put metrics in
that namespace only (IAM condition ``cloudwatch:namespace``). Inside it:

| Metric | Dimensions | Unit |
|---|---|---|
| each offline metric (``precision_at_10``...) | Pipeline, ResourceType, Resource | None |
| ``GateVerdict`` (1 passed, 0 rejected) | Pipeline, ResourceType, Resource | None |
| ``GateRejections`` | (none) | Count |
| ``RowsExported``, ``RowsRejected``, ``RowsImported`` | Pipeline, Dataset | Count |
| ``RowsRejectedByReason`` | Pipeline, Dataset, Reason | Count |
| ``PhaseDuration`` | Pipeline, Phase | Seconds |
| ``MinProvisionedTPS`` | Pipeline, ResourceType, Resource | Count/Second |
| ``RunSucceeded`` | Pipeline | Count |

``Pipeline`` is the params ``name``; ``ResourceType`` is ``solution`` or
``recommender`` for offline metrics, ``campaign`` or ``recommender`` for what
is deployed (gate verdicts, minProvisionedTPS), and ``Resource`` the key the
params give it. The dashboard and the alarms (modules/training-pipeline/
dashboard.tf, alarms.tf) read these names; a test keeps the two in step.
"""
from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional

import botocore.session
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import validate_parameters

from . import clients
from .logs import get_logger

log = get_logger()

NAMESPACE_ENV = "METRICS_NAMESPACE"

# Dimension names.
PIPELINE, RESOURCE_TYPE, RESOURCE, DATASET, REASON, PHASE = "Pipeline", "ResourceType", "Resource", "Dataset", "Reason", "Phase"
# Metric names (the offline metrics keep Personalize's own names).
GATE_VERDICT = "GateVerdict"
GATE_REJECTIONS = "GateRejections"
ROWS_EXPORTED, ROWS_REJECTED, ROWS_IMPORTED = "RowsExported", "RowsRejected", "RowsImported"
ROWS_REJECTED_BY_REASON = "RowsRejectedByReason"
PHASE_DURATION = "PhaseDuration"
MIN_PROVISIONED_TPS = "MinProvisionedTPS"
RUN_SUCCEEDED = "RunSucceeded"

# The dimension sets each metric is published with, for the dashboard test.
MODEL_DIMENSIONS = (PIPELINE, RESOURCE_TYPE, RESOURCE)
DIMENSIONS = {
    GATE_VERDICT: [MODEL_DIMENSIONS],
    GATE_REJECTIONS: [()],
    ROWS_EXPORTED: [(PIPELINE, DATASET)],
    ROWS_REJECTED: [(PIPELINE, DATASET)],
    ROWS_IMPORTED: [(PIPELINE, DATASET)],
    ROWS_REJECTED_BY_REASON: [(PIPELINE, DATASET, REASON)],
    PHASE_DURATION: [(PIPELINE, PHASE)],
    MIN_PROVISIONED_TPS: [MODEL_DIMENSIONS],
    RUN_SUCCEEDED: [(PIPELINE,)],
}
OFFLINE_METRIC_DIMENSIONS = MODEL_DIMENSIONS

# PutMetricData's documented limits
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html):
# at most 1000 metrics per request, values within -2^360..2^360 and never NaN or
# infinite; the sizes (30 dimensions, names of 1-255 and values of 1-1024
# characters, a namespace not starting with ':') are botocore's model, checked below.
MAX_METRICS_PER_REQUEST = 1000
VALUE_LIMIT = 2.0 ** 360
# "You cannot specify a namespace that begins with 'AWS/'": those are AWS's own.
RESERVED_NAMESPACE_PREFIX = "AWS/"


class MetricsInvalid(ValueError):
    """A datum the pipeline built breaks PutMetricData's limits; names it."""


def _dims(**pairs: Any) -> list[dict]:
    return [{"Name": name, "Value": str(value)} for name, value in pairs.items()]


def datum(name: str, value: float, unit: str, **dimensions: Any) -> dict:
    return {"MetricName": name, "Value": value, "Unit": unit, "Dimensions": _dims(**dimensions)}


def run_metrics(plan: Mapping[str, Any], state: Mapping[str, Any]) -> list[dict]:
    """Every datum of a run that reached Finalize: offline metrics of each new
    version, the gate's verdicts, rows exported/rejected/imported, each wait
    phase's duration, each campaign's minProvisionedTPS, and the run itself."""
    pipeline = plan["name"]
    out: list[dict] = []
    for evaluation in state.get("evaluations") or []:
        resource_type = evaluation.get("resourceType", "solution")
        key = evaluation.get("solutionKey") or evaluation.get("recommenderKey")
        for metric, value in sorted((evaluation.get("metrics") or {}).items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(datum(metric, float(value), "None", Pipeline=pipeline, ResourceType=resource_type, Resource=key))
    for verdict in state.get("verdicts") or []:
        resource_type, key = ("recommender", verdict["recommender"]) if "recommender" in verdict else ("campaign", verdict["campaign"])
        out.append(datum(GATE_VERDICT, 1.0 if verdict.get("passed") else 0.0, "None",
                         Pipeline=pipeline, ResourceType=resource_type, Resource=key))
    for verdict in state.get("recommenders") or []:
        # Recommenders are judged on the metrics DescribeRecommender reports.
        for metric, value in sorted((verdict.get("metrics") or {}).items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(datum(metric, float(value), "None", Pipeline=pipeline, ResourceType="recommender", Resource=verdict["recommender"]))
        out.append(datum(GATE_VERDICT, 1.0 if verdict.get("passed") else 0.0, "None",
                         Pipeline=pipeline, ResourceType="recommender", Resource=verdict["recommender"]))
    out.append(datum(GATE_REJECTIONS, 0.0, "Count"))
    out.extend(row_metrics(pipeline, state.get("export") or {}, state.get("imports") or []))
    for phase, progress in sorted((state.get("progress") or {}).items()):
        if progress and progress.get("done"):
            out.append(datum(PHASE_DURATION, float(progress.get("waited", 0)), "Seconds", Pipeline=pipeline, Phase=phase))
    for campaign in plan.get("campaigns") or []:
        out.append(datum(MIN_PROVISIONED_TPS, float(campaign["minProvisionedTPS"]), "Count/Second",
                         Pipeline=pipeline, ResourceType="campaign", Resource=campaign["key"]))
    out.append(datum(RUN_SUCCEEDED, 1.0, "Count", Pipeline=pipeline))
    return out


def row_metrics(pipeline: str, export: Mapping[str, Any], imports: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Rows the export wrote and rejected (by reason) per dataset, and the rows
    handed to Personalize by this run's import jobs. Personalize reports no row
    count of its own for an import, so a dataset's imported rows are the rows
    the export wrote for it, once its import job is ACTIVE (as it is by Finalize)."""
    out: list[dict] = []
    rows = export.get("rows") or {}
    rejected = export.get("rejected") or {}
    by_reason = export.get("rejectedByReason") or {}
    for dataset in sorted(rows):
        if rows[dataset] is not None:
            out.append(datum(ROWS_EXPORTED, float(rows[dataset]), "Count", Pipeline=pipeline, Dataset=dataset))
        if rejected.get(dataset) is not None:
            out.append(datum(ROWS_REJECTED, float(rejected[dataset]), "Count", Pipeline=pipeline, Dataset=dataset))
        for reason, count in sorted((by_reason.get(dataset) or {}).items()):
            out.append(datum(ROWS_REJECTED_BY_REASON, float(count), "Count", Pipeline=pipeline, Dataset=dataset, Reason=reason))
    # One list per dataset (several jobs for a split delta, none for a carried one).
    jobs = [res for item in imports for res in (item if isinstance(item, list) else [item])]
    imported = {res["label"] for res in jobs if res.get("kind") == "dataset_import_job"}
    for dataset in sorted(imported):
        if rows.get(dataset) is not None:
            out.append(datum(ROWS_IMPORTED, float(rows[dataset]), "Count", Pipeline=pipeline, Dataset=dataset))
    return out


def rejection_metrics(plan: Mapping[str, Any], step: str = "QualityGate") -> list[dict]:
    """A rejected gate: all pass or none is touched, so every verdict of the
    gate that rejected (the campaigns', or the recommenders' at
    GateRecommenders) is 0, and the pipeline's rejection count is 1."""
    if step == "GateRecommenders":
        judged = [("recommender", r["key"]) for r in plan.get("recommenders") or []]
    else:
        judged = [("campaign", c["key"]) for c in plan.get("campaigns") or []]
    out = [datum(GATE_VERDICT, 0.0, "None", Pipeline=plan["name"], ResourceType=kind, Resource=key) for kind, key in judged]
    out.append(datum(GATE_REJECTIONS, 1.0, "Count"))
    return out


_MODEL = None


def _input_shape() -> Any:
    global _MODEL
    if _MODEL is None:
        _MODEL = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData").input_shape
    return _MODEL


def check_request(namespace: str, data: list[dict]) -> None:
    """Refuse what CloudWatch refuses, naming the datum: the model's types and
    sizes, plus the documented value range and request size."""
    if namespace.startswith(RESERVED_NAMESPACE_PREFIX):
        raise MetricsInvalid(f"{NAMESPACE_ENV}: {namespace!r} starts with {RESERVED_NAMESPACE_PREFIX!r}, which AWS reserves")
    if len(data) > MAX_METRICS_PER_REQUEST:
        raise MetricsInvalid(f"MetricData: {len(data)} metrics in one request, at most {MAX_METRICS_PER_REQUEST}")
    shape = _input_shape()
    try:
        validate_parameters({"Namespace": namespace, "MetricData": data}, shape)
    except ParamValidationError as exc:
        raise MetricsInvalid(str(exc)) from exc
    ns_meta = shape.members["Namespace"].metadata
    if not ns_meta["min"] <= len(namespace) <= ns_meta["max"] or namespace.startswith(":"):
        raise MetricsInvalid(f"Namespace: {namespace!r} must be {ns_meta['min']}-{ns_meta['max']} characters and not start with ':'")
    datum_shape = shape.members["MetricData"].member
    name_meta = datum_shape.members["MetricName"].metadata
    dims_shape = datum_shape.members["Dimensions"]
    dim_name_meta = dims_shape.member.members["Name"].metadata
    dim_value_meta = dims_shape.member.members["Value"].metadata
    for i, item in enumerate(data):
        where = f"MetricData[{i}] ({item.get('MetricName')})"
        if not name_meta["min"] <= len(item["MetricName"]) <= name_meta["max"]:
            raise MetricsInvalid(f"{where}: MetricName must be {name_meta['min']}-{name_meta['max']} characters")
        units = datum_shape.members["Unit"].enum
        if item.get("Unit") is not None and item["Unit"] not in units:
            raise MetricsInvalid(f"{where}: Unit {item['Unit']!r} is not one of {', '.join(units)}")
        value = item.get("Value")
        if value is not None and (math.isnan(value) or math.isinf(value) or abs(value) > VALUE_LIMIT):
            raise MetricsInvalid(f"{where}: Value {value!r} is outside -2^360..2^360 or not a finite number")
        dims = item.get("Dimensions") or []
        if len(dims) > dims_shape.metadata["max"]:
            raise MetricsInvalid(f"{where}: {len(dims)} dimensions, at most {dims_shape.metadata['max']}")
        for dim in dims:
            if not dim_name_meta["min"] <= len(dim["Name"]) <= dim_name_meta["max"]:
                raise MetricsInvalid(f"{where}: dimension name {dim['Name']!r} must be {dim_name_meta['min']}-{dim_name_meta['max']} characters")
            if not dim_value_meta["min"] <= len(dim["Value"]) <= dim_value_meta["max"]:
                raise MetricsInvalid(f"{where}: dimension {dim['Name']} value must be {dim_value_meta['min']}-{dim_value_meta['max']} characters, "
                                     f"got {len(dim['Value'])}")


def namespace_from_env(env: Optional[Mapping[str, str]] = None) -> str:
    env = os.environ if env is None else env
    return (env.get(NAMESPACE_ENV) or "").strip()


def publish(data: list[dict], namespace: Optional[str] = None, now: Optional[datetime] = None) -> dict:
    """Put the data in as few requests as the per-request limit allows. Returns
    what happened, for the success notice: a metrics problem is reported there
    and in the logs, but does not fail a run whose campaigns are already deployed."""
    namespace = namespace_from_env() if namespace is None else namespace
    if not namespace:
        log.warning("metrics not published", extra={"reason": f"{NAMESPACE_ENV} is not set"})
        return {"published": 0, "error": f"{NAMESPACE_ENV} is not set: no metrics were published"}
    timestamp = now or datetime.now(timezone.utc)
    stamped = [{**item, "Timestamp": timestamp} for item in data]
    batches = [stamped[i:i + MAX_METRICS_PER_REQUEST] for i in range(0, len(stamped), MAX_METRICS_PER_REQUEST)]
    published = 0
    try:
        for batch in batches:
            check_request(namespace, batch)
        cloudwatch = clients.client("cloudwatch")
        for batch in batches:
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)
            published += len(batch)
    except (MetricsInvalid, ClientError) as exc:
        log.error("metrics not published", extra={"namespace": namespace, "published": published, "detail": str(exc)})
        return {"namespace": namespace, "published": published, "error": str(exc)}
    log.info("metrics published", extra={"namespace": namespace, "published": published})
    return {"namespace": namespace, "published": published}
