"""A stateful fake of Amazon Personalize on a simulated clock.

Requests go through a real boto3 ``personalize`` client: botocore serialises
and validates them against the Personalize service model, a ``before-send``
hook hands the wire request to this fake, and botocore parses the fake's JSON
answer (or error) as it would a real one. Resources move through Personalize's
status sequences as the simulated clock advances.
"""
from __future__ import annotations

import csv
import io
import json
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Callable, Optional, Protocol

import boto3
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from .fake_batch import BatchJobApis
from .fake_deletes import DeletesMixin
from .fake_imports import ImportsMixin
from .fake_recommenders import MIN_USERS_WITH_TWO, RecommenderApis, users_with_two_problem
from .sim_clock import EPOCH, SimClock

DEFAULT_DURATIONS = {
    "dataset_group": 60,
    "dataset": 30,
    "dataset_import_job": 1800,
    "solution": 60,
    "solution_version": 7200,
    "campaign": 1200,
    "campaign_update": 1200,
    "dataset_update": 300,
    "solution_update": 300,
    "stop": 600,
    "filter": 60,
    "event_tracker": 60,
    "recommender": 7200,
    "recommender_update": 1800,
    "batch_inference_job": 1200,
    "batch_segment_job": 1200,
    "data_deletion_job": 3600,
}
PENDING_SHARE = 0.1  # the first 10% of a creation is spent in CREATE PENDING
MAX_PENDING_IMPORTS = 5


# The fake plays the service, so it checks the model's patterns on its own rather than
# sharing the Lambdas' request checks (personalize_pipeline.api_requests) it is testing.
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


# The filter expression grammar of
# https://docs.aws.amazon.com/personalize/latest/dg/creating-filter-expressions.html:
#   EXCLUDE/INCLUDE ItemID/ActionID/UserID WHERE dataset.field IN/NOT IN (values) [AND/OR ...]
#   [IF CurrentUser.field ... [AND ...]], expressions joined with |; numbers compare
#   with = < <= > >= !=; values are "quoted strings", numbers or $PLACEHOLDERS.
_F_VALUE = r'(?:"[^"]*"|\$[A-Za-z0-9_]+|-?\d+(?:\.\d+)?)'
_F_FIELD = r'(?:Items|Interactions|Users|Actions|Action_Interactions|CurrentItem)\.[A-Za-z_][A-Za-z0-9_]*'
_F_USER = r'CurrentUser\.[A-Za-z_][A-Za-z0-9_]*'
_F_NUMBER = r'(?:\$[A-Za-z0-9_]+|-?\d+(?:\.\d+)?)'
_F_TEST = r'\s*(?:(?:NOT\s+)?IN\s*\(\s*{v}(?:\s*,\s*{v})*\s*\)|(?:<=|>=|!=|=|<|>)\s*{n})'.format(v=_F_VALUE, n=_F_NUMBER)
_F_EXPRESSION = (r'(?:INCLUDE|EXCLUDE)\s+(?:ItemID|ActionID|UserID)\s+WHERE\s+{f}{t}(?:\s+(?:AND|OR)\s+{f}{t})*'
                 r'(?:\s+IF\s+{u}{t}(?:\s+AND\s+{u}{t})*)?').format(f=_F_FIELD, t=_F_TEST, u=_F_USER)
_F_FULL = re.compile(r'\s*{e}(?:\s*\|\s*{e})*\s*'.format(e=_F_EXPRESSION))


def filter_expression_problem(expression: str) -> Optional[str]:
    if not _F_FULL.fullmatch(expression):
        return f"{expression!r} is not a valid filter expression"
    for part in expression.split("|"):
        where = part.split(" IF ")[0]
        datasets = set(re.findall(r'\b(Items|Interactions|Users|Actions|Action_Interactions|CurrentItem)\.', where))
        # "Conditions chained together using AND or OR can only affect fields of the
        # dataset used in the first condition."
        if len(datasets) > 1:
            return f"{part.strip()!r}: chained conditions use fields of more than one dataset ({sorted(datasets)})"
    return None


def replacement_problem(old: dict, new: dict) -> Optional[str]:
    """Why Personalize refuses to replace schema ``old`` with ``new`` (None when
    it accepts): every field kept with its type and attributes (categorical,
    textual...), every added field nullable
    (https://docs.aws.amazon.com/personalize/latest/dg/updating-dataset-schema.html)."""
    def fields(schema: dict) -> dict[str, dict]:
        return {f["name"]: {k: v for k, v in f.items() if k not in ("name", "doc")} for f in schema.get("fields", [])}

    before, after = fields(old), fields(new)
    for name, definition in before.items():
        if name not in after:
            return f"field {name} is missing"
        if after[name] != definition:
            return f"field {name} changed its type or attributes ({definition} -> {after[name]})"
    for name in set(after) - set(before):
        kind = after[name].get("type")
        if not (isinstance(kind, list) and "null" in kind):
            return f"added field {name} is not nullable"
    return None


class ServableModel(Protocol):
    """What the fake needs from a trainer's model: the metrics it reports for
    the solution version, and recommendations for the campaign that serves it."""

    metrics: dict[str, float]

    def recommend(self, user_id: str, num_results: int = 25) -> list[str]: ...


# trainer(recipe_arn, training_mode, interactions_csv, *, items_csv, event_type, event_value_threshold)
Trainer = Callable[..., ServableModel]


@dataclass
class StaticModel:
    """A model whose metrics a test chooses; recommends by item popularity."""

    metrics: dict[str, float]
    recipe_arn: str = ""
    popular: list[str] = field(default_factory=list)

    def recommend(self, user_id: str, num_results: int = 25) -> list[str]:
        return self.popular[:num_results]


class FixedMetricsTrainer:
    """Trainer for tests: the metrics are whatever the test set, per recipe ARN
    (or under the key "*" for every recipe). Change ``metrics`` between runs to
    model a better or worse retraining."""

    def __init__(self, metrics: dict[str, dict[str, float]]) -> None:
        self.metrics = metrics
        self.calls: list[tuple[str, str, int]] = []

    def __call__(self, recipe_arn: str, training_mode: str, interactions_csv: list[bytes], **solution_inputs: Any) -> StaticModel:
        if recipe_arn in self.metrics:
            chosen = self.metrics[recipe_arn]
        elif "*" in self.metrics:
            chosen = self.metrics["*"]
        else:
            raise ValueError(f"no metrics configured for recipe {recipe_arn}")
        counts: dict[str, int] = {}
        rows = 0
        for blob in interactions_csv:
            lines = blob.decode("utf-8").splitlines()
            header = lines[0].split(",") if lines else []
            item_col = header.index("ITEM_ID") if "ITEM_ID" in header else 1
            for line in lines[1:]:
                rows += 1
                item = line.split(",")[item_col]
                counts[item] = counts.get(item, 0) + 1
        self.calls.append((recipe_arn, training_mode, rows))
        popular = sorted(counts, key=lambda i: (-counts[i], i))
        return StaticModel(metrics=dict(chosen), recipe_arn=recipe_arn, popular=popular)


class FakeError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Resource:
    kind: str
    arn: str
    fields: dict[str, Any]
    created_at: datetime
    ready_at: datetime
    failure_reason: Optional[str] = None
    no_status: bool = False
    stop_requested_at: Optional[datetime] = None


@dataclass
class Activation:
    kind: str
    arn: str
    active_at: float
    detected_at: Optional[float] = None


class _RawBody(io.BytesIO):
    def stream(self, **kwargs: Any):
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(type(value).__name__)


class FakePersonalize(RecommenderApis, BatchJobApis, DeletesMixin, ImportsMixin):
    """Holds Personalize's state for one region and account.

    Fault injection: ``fail_next(kind, reason)`` makes the next created resource
    of that kind end CREATE FAILED (kinds include the updates "dataset_update",
    "solution_update" and "campaign_update"); ``stop_next_version()`` stops the
    next solution version mid-training; ``throttle(operation, times)`` answers the
    next calls of an operation with ThrottlingException (``code`` may be
    LimitExceededException)."""

    def __init__(self, region: str = "us-east-1", account: str = "123456789012", clock: Optional[SimClock] = None,
                 durations: Optional[dict[str, float]] = None, trainer: Optional[Trainer] = None,
                 s3_client: Any = None) -> None:
        self.region = region
        self.account = account
        # ARNs name the partition of the region (aws, aws-cn, aws-us-gov...), from botocore's endpoint data.
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
        self.partition = boto3.session.Session().get_partition_for_region(region)
        self.clock = clock or SimClock()
        self.durations = {**DEFAULT_DURATIONS, **(durations or {})}
        self.trainer = trainer
        self.s3 = s3_client
        self.resources: dict[str, Resource] = {}
        self.models: dict[str, ServableModel] = {}
        self.calls: list[tuple[str, dict]] = []
        self.tags: dict[str, dict[str, str]] = {}
        self.activations: list[Activation] = []
        self._activation_index: dict[tuple[str, str], Activation] = {}
        self._failures: dict[str, list[str]] = {}
        self._throttles: dict[str, list[str]] = {}
        self._stops = 0
        self._lock = threading.RLock()
        self._model = botocore.session.get_session().get_service_model("personalize")

    # ------------------------------------------------------------ test hooks
    def fail_next(self, kind: str, reason: str) -> None:
        with self._lock:
            self._failures.setdefault(kind, []).append(reason)

    def stop_next_version(self) -> None:
        """Stop the next solution version created, as StopSolutionVersionCreation
        would once its training is under way (someone stopping it by hand)."""
        with self._lock:
            self._stops += 1

    def throttle(self, operation: str, times: int = 1, code: str = "ThrottlingException") -> None:
        with self._lock:
            self._throttles.setdefault(operation, []).extend([code] * times)

    def client(self) -> Any:
        """A real boto3 Personalize client answered by this fake."""
        session = boto3.session.Session(aws_access_key_id="fake", aws_secret_access_key="fake", region_name=self.region)
        # An endpoint no AWS mock claims, so only this fake answers (botocore
        # asks every before-send handler, moto's included).
        personalize = session.client("personalize", endpoint_url="https://personalize.local.invalid",
                                     config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
        personalize.meta.events.register_first("before-send", self._on_send)
        return personalize

    def calls_of(self, operation: str) -> list[dict]:
        with self._lock:
            return [request for op, request in self.calls if op == operation]

    def of_kind(self, kind: str) -> list[Resource]:
        with self._lock:
            return [r for r in self.resources.values() if r.kind == kind]

    def describe(self, arn: str) -> dict:
        with self._lock:
            return self._view(self.resources[arn])

    def model_for_campaign(self, campaign_arn: str) -> ServableModel:
        with self._lock:
            view = self._view(self.resources[campaign_arn], record=False)
            return self.models[view["solutionVersionArn"]]

    # ------------------------------------------------------------- transport
    def _on_send(self, request: Any, **kwargs: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target")
        target = target.decode() if isinstance(target, bytes) else target
        operation = target.split(".", 1)[1]
        body = request.body
        body = body.decode("utf-8") if isinstance(body, bytes) else (body or "{}")
        params = json.loads(body or "{}")
        try:
            result = self.handle(operation, params)
            status, payload = 200, result
        except FakeError as exc:
            status, payload = 400, {"__type": exc.code, "message": exc.message}
        raw = json.dumps(payload, default=_json_default).encode("utf-8")
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())}
        return AWSResponse(request.url, status, headers, _RawBody(raw))

    def handle(self, operation: str, params: dict) -> dict:
        with self._lock:
            self._purge_deleted()  # fake_deletes.py
            self.calls.append((operation, params))
            queue = self._throttles.get(operation)
            if queue:
                code = queue.pop(0)
                raise FakeError(code, f"Rate exceeded for {operation}")
            self._validate(operation, params)
            method = getattr(self, "_" + re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower(), None)
            if method is None:
                raise FakeError("InvalidInputException", f"{operation} is not supported by the local Personalize")
            if "tags" in params:
                self._check_tags(params["tags"], [])
            result = method(params)
            if operation.startswith("Create") and params.get("tags"):
                created = next(v for k, v in result.items() if k.endswith("Arn"))
                self.tags[created] = {t["tagKey"]: t["tagValue"] for t in params["tags"]}
            return result

    def _validate(self, operation: str, params: dict) -> None:
        """Check the request against the service model (botocore already did on
        the client side; a request that reaches here another way is checked too)."""
        shape = self._model.operation_model(operation).input_shape
        try:
            validate_parameters(params, shape)
        except ParamValidationError as exc:
            raise FakeError("InvalidInputException", str(exc)) from exc
        for name, member in shape.members.items():
            value = params.get(name)
            if isinstance(value, str):
                meta = member.metadata
                if "max" in meta and len(value) > meta["max"]:
                    raise FakeError("InvalidInputException", f"{name}: longer than {meta['max']} characters")
                if "pattern" in meta and not pattern_matches(meta["pattern"], value):
                    raise FakeError("InvalidInputException", f"{name}: {value!r} does not match {meta['pattern']}")
                if member.enum and value not in member.enum:
                    raise FakeError("InvalidInputException", f"{name}: {value!r} is not one of {member.enum}")

    # --------------------------------------------------------------- helpers
    def _arn(self, kind: str, path: str) -> str:
        return f"arn:{self.partition}:personalize:{self.region}:{self.account}:{kind}/{path}"

    def _new(self, kind: str, arn: str, fields: dict, duration_key: Optional[str] = None, no_status: bool = False) -> Resource:
        if arn in self.resources:
            raise FakeError("ResourceAlreadyExistsException", f"{arn} already exists")
        now = self.clock.now()
        duration = self.durations[duration_key or kind] if not no_status else 0
        failures = self._failures.get(kind)
        reason = failures.pop(0) if failures else None
        res = Resource(kind, arn, dict(fields), now, now + timedelta(seconds=duration), reason, no_status)
        self.resources[arn] = res
        return res

    def _get(self, arn: str, kind: str) -> Resource:
        res = self.resources.get(arn)
        if res is None or res.kind != kind:
            raise FakeError("ResourceNotFoundException", f"{kind.replace('_', ' ')} {arn} does not exist")
        return res

    def _creation_status(self, res: Resource, now: datetime) -> tuple[str, datetime]:
        pending_until = res.created_at + (res.ready_at - res.created_at) * PENDING_SHARE
        if res.stop_requested_at is not None and now >= res.stop_requested_at:
            # https://docs.aws.amazon.com/personalize/latest/dg/API_StopSolutionVersionCreation.html:
            # "CREATE_PENDING > CREATE_STOPPED or CREATE_IN_PROGRESS > CREATE_STOPPING >
            # CREATE_STOPPED" (written with spaces, like every other status the model's samples show).
            if res.stop_requested_at < pending_until:
                return "CREATE STOPPED", res.stop_requested_at
            stopped_at = res.stop_requested_at + timedelta(seconds=self.durations["stop"])
            if now < stopped_at:
                return "CREATE STOPPING", res.stop_requested_at
            return "CREATE STOPPED", stopped_at
        if now < pending_until:
            return "CREATE PENDING", res.created_at
        if now < res.ready_at:
            return "CREATE IN_PROGRESS", pending_until
        return ("CREATE FAILED" if res.failure_reason else "ACTIVE"), res.ready_at

    def _start_update(self, res: Resource, kind: str, changes: dict) -> None:
        """Start an update of an ACTIVE resource (dataset schema, solution
        settings, campaign deployment). The resource stays ACTIVE; the update
        shows in its latest*Update summary and applies ``changes`` when it ends."""
        now = self.clock.now()
        failures = self._failures.get(kind)
        res.fields["_update"] = {
            "kind": kind, "changes": changes, "created_at": now,
            "ready_at": now + timedelta(seconds=self.durations[kind]),
            "failure": failures.pop(0) if failures else None,
        }

    def _update_status(self, res: Resource, now: datetime) -> Optional[tuple[str, datetime]]:
        """The running or last update's status: the update summaries document
        CREATE PENDING > CREATE IN_PROGRESS > ACTIVE -or- CREATE FAILED
        (https://docs.aws.amazon.com/personalize/latest/dg/API_CampaignUpdateSummary.html,
        https://docs.aws.amazon.com/personalize/latest/dg/API_SolutionUpdateSummary.html). The
        API reference lists no values for a dataset update
        (https://docs.aws.amazon.com/personalize/latest/dg/API_DatasetUpdateSummary.html), nor
        does botocore 1.44.8's DatasetUpdateSummary.status (a plain string); the fake
        uses the values those two sibling summaries of the same model document."""
        update = res.fields.get("_update")
        if not update:
            return None
        started, ready = update["created_at"], update["ready_at"]
        pending_until = started + (ready - started) * PENDING_SHARE
        if now < pending_until:
            return "CREATE PENDING", started
        if now < ready:
            return "CREATE IN_PROGRESS", pending_until
        if update["failure"]:
            return "CREATE FAILED", ready
        if not update.get("applied"):
            res.fields.update(update["changes"])
            update["applied"] = True
        return "ACTIVE", ready

    def _update_running(self, res: Resource) -> bool:
        found = self._update_status(res, self.clock.now())
        return found is not None and found[0] in ("CREATE PENDING", "CREATE IN_PROGRESS")

    def _note_active(self, key: tuple[str, str], kind: str, arn: str, ready_at: datetime, now: datetime, record: bool) -> None:
        activation = self._activation_index.get(key)
        if activation is None:
            activation = Activation(kind, arn, (ready_at - EPOCH).total_seconds())
            self._activation_index[key] = activation
            self.activations.append(activation)
        if record and activation.detected_at is None:
            activation.detected_at = (now - EPOCH).total_seconds()

    def _view(self, res: Resource, record: bool = True) -> dict:
        """The resource as Describe* returns it now; notes when the pipeline
        first sees it ACTIVE (for detection-delay figures)."""
        now = self.clock.now()
        update = self._update_status(res, now)
        view = {k: v for k, v in res.fields.items() if not k.startswith("_")}
        if res.no_status:
            view["creationDateTime"] = res.created_at
            view["lastUpdatedDateTime"] = res.created_at
            return view
        status, changed = self._creation_status(res, now)
        status = self._deletion_status(res) or status  # fake_deletes.py
        view.update(status=status, creationDateTime=res.created_at, lastUpdatedDateTime=changed)
        if status == "CREATE FAILED":
            view["failureReason"] = res.failure_reason
        if status == "ACTIVE":
            self._note_active((res.arn, "create"), res.kind, res.arn, res.ready_at, now, record)
        if res.kind == "solution_version" and status == "ACTIVE":
            view["trainingHours"] = round((res.ready_at - res.created_at).total_seconds() / 3600, 3)
        if update is not None:
            self._update_view(res, view, update, now, record)
        return view

    def _update_view(self, res: Resource, view: dict, update_status: tuple[str, datetime], now: datetime, record: bool) -> None:
        """latestCampaignUpdate / latestDatasetUpdate / latestSolutionUpdate:
        absent until the first update."""
        update = res.fields["_update"]
        status, changed = update_status
        summary: dict[str, Any] = {"status": status, "creationDateTime": update["created_at"], "lastUpdatedDateTime": changed}
        if status == "CREATE FAILED":
            summary["failureReason"] = update["failure"]
        if status == "ACTIVE":
            self._note_active((res.arn, f"update-{update['created_at'].timestamp()}"), update["kind"], res.arn, update["ready_at"], now, record)
        view["lastUpdatedDateTime"] = max(view["lastUpdatedDateTime"], changed)
        if res.kind == "campaign":
            summary.update({k: update["changes"][k] for k in ("solutionVersionArn", "minProvisionedTPS", "campaignConfig") if k in update["changes"]})
            view["latestCampaignUpdate"] = summary
        elif res.kind == "dataset":
            summary["schemaArn"] = update["changes"]["schemaArn"]
            view["latestDatasetUpdate"] = summary
        elif res.kind == "solution":
            changes = update["changes"]
            if "performAutoTraining" in changes:
                summary["performAutoTraining"] = changes["performAutoTraining"]
            auto = (changes.get("solutionConfig") or {}).get("autoTrainingConfig")
            events = (changes.get("solutionConfig") or {}).get("eventsConfig")
            config = {k: v for k, v in (("autoTrainingConfig", auto), ("eventsConfig", events)) if v is not None}
            if config:
                summary["solutionUpdateConfig"] = config
            view["latestSolutionUpdate"] = summary
        elif res.kind == "recommender":
            view["latestRecommenderUpdate"] = self._recommender_update_summary(summary, update["changes"])

    def _status(self, res: Resource) -> str:
        return self._view(res, record=False).get("status", "ACTIVE")

    def _require_active(self, arn: str, kind: str) -> Resource:
        res = self._get(arn, kind)
        status = self._status(res)
        if status != "ACTIVE":
            raise FakeError("ResourceInUseException", f"{kind.replace('_', ' ')} {arn} is {status}, not ACTIVE")
        return res

    # ---------------------------------------------------------- dataset group
    def _create_dataset_group(self, p: dict) -> dict:
        arn = self._arn("dataset-group", p["name"])
        fields = {"name": p["name"], "datasetGroupArn": arn, "domain": p.get("domain")}
        # botocore's CreateDatasetGroup.roleArn: the role "has permissions to access the ... KMS
        # key. Supplying an IAM role is only valid when also specifying a KMS key."
        if p.get("kmsKeyArn"):
            if not p.get("roleArn"):
                raise FakeError("InvalidInputException", "roleArn is required when kmsKeyArn is given")
            fields.update(kmsKeyArn=p["kmsKeyArn"], roleArn=p["roleArn"])
        elif p.get("roleArn"):
            raise FakeError("InvalidInputException", "roleArn is only valid when kmsKeyArn is given")
        self._new("dataset_group", arn, {k: v for k, v in fields.items() if v is not None})
        return {"datasetGroupArn": arn}

    def _describe_dataset_group(self, p: dict) -> dict:
        return {"datasetGroup": self._view(self._get(p["datasetGroupArn"], "dataset_group"))}

    # ------------------------------------------------------ schema / dataset
    def _create_schema(self, p: dict) -> dict:
        try:
            schema = json.loads(p["schema"])
            assert isinstance(schema.get("fields"), list)
        except (ValueError, AssertionError, AttributeError) as exc:
            raise FakeError("InvalidInputException", f"schema is not an Avro record schema: {exc}") from exc
        arn = self._arn("schema", p["name"])
        fields = {"name": p["name"], "schemaArn": arn, "schema": p["schema"], **({"domain": p["domain"]} if p.get("domain") else {})}
        self._new("schema", arn, fields, no_status=True)
        return {"schemaArn": arn}

    def _describe_schema(self, p: dict) -> dict:
        return {"schema": self._view(self._get(p["schemaArn"], "schema"))}

    def _create_dataset(self, p: dict) -> dict:
        group = self._require_active(p["datasetGroupArn"], "dataset_group")
        self._check_dataset_domain(group, self._get(p["schemaArn"], "schema"), p["datasetType"].upper())
        arn = self._arn("dataset", f"{group.fields['name']}/{p['datasetType'].upper()}")
        self._new("dataset", arn, {
            "name": p["name"], "datasetArn": arn, "datasetGroupArn": p["datasetGroupArn"],
            "datasetType": p["datasetType"].upper(), "schemaArn": p["schemaArn"],
        })
        return {"datasetArn": arn}

    def _describe_dataset(self, p: dict) -> dict:
        return {"dataset": self._view(self._get(p["datasetArn"], "dataset"))}

    def _update_dataset(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_UpdateDataset.html and
        # https://docs.aws.amazon.com/personalize/latest/dg/updating-dataset-schema.html
        res = self._require_active(p["datasetArn"], "dataset")
        if self._update_running(res):
            raise FakeError("ResourceInUseException", f"dataset {res.arn} has an update in progress")
        if res.fields["datasetType"] in ("INTERACTIONS", "ACTION_INTERACTIONS", "ACTIONS"):
            raise FakeError("InvalidInputException", f"the schema of a {res.fields['datasetType']} dataset cannot be replaced")
        old = json.loads(self._get(res.fields["schemaArn"], "schema").fields["schema"])
        new = json.loads(self._get(p["schemaArn"], "schema").fields["schema"])
        problem = replacement_problem(old, new)
        if problem:
            raise FakeError("InvalidInputException", f"schema {p['schemaArn']} cannot replace the schema of {res.arn}: {problem}")
        self._start_update(res, "dataset_update", {"schemaArn": p["schemaArn"]})
        return {"datasetArn": p["datasetArn"]}

    # ------------------------------------------------------------ imports
    def _read_csv_objects(self, location: str) -> list[tuple[str, bytes]]:
        """The objects a job reads at ``location``, with their keys: the one object it
        names, or every object of the folder it names with a trailing / (see fake_imports)."""
        match = re.match(r"^s3://([^/]+)/?(.*)$", location)
        if not match or self.s3 is None:
            return []
        bucket, prefix = match.groups()
        objects = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if prefix.endswith("/") or obj["Key"] == prefix:
                    objects.append((obj["Key"], self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()))
        return objects

    # _create_dataset_import_job: fake_imports.ImportsMixin (Personalize's import rules).

    def _describe_dataset_import_job(self, p: dict) -> dict:
        view = self._view(self._get(p["datasetImportJobArn"], "dataset_import_job"))
        view.pop("_data", None)
        return {"datasetImportJob": view}

    def _list_dataset_import_jobs(self, p: dict) -> dict:
        jobs = [r for r in self.resources.values() if r.kind == "dataset_import_job" and r.fields["datasetArn"] == p.get("datasetArn", r.fields["datasetArn"])]
        out = []
        for job in sorted(jobs, key=lambda r: r.created_at, reverse=True):
            v = self._view(job, record=False)
            out.append({k: v.get(k) for k in ("datasetImportJobArn", "jobName", "status", "creationDateTime", "lastUpdatedDateTime", "failureReason", "importMode") if v.get(k) is not None})
        return {"datasetImportJobs": out}

    # _dataset_data: fake_imports.ImportsMixin (replace by ID, identical interactions once, deletions).

    # ---------------------------------------------------------- solutions
    def _create_solution(self, p: dict) -> dict:
        self._require_active(p["datasetGroupArn"], "dataset_group")
        arn = self._arn("solution", p["name"])
        self._new("solution", arn, {
            "name": p["name"], "solutionArn": arn, "datasetGroupArn": p["datasetGroupArn"],
            "recipeArn": p.get("recipeArn"), "performHPO": p.get("performHPO", False),
            # Personalize's own default is true: the pipeline must send false explicitly.
            "performAutoTraining": p.get("performAutoTraining", True),
            "eventType": p.get("eventType"),
            "solutionConfig": p.get("solutionConfig", {}),
            **({"eventType": p["eventType"]} if p.get("eventType") else {}),
        })
        return {"solutionArn": arn}

    def _describe_solution(self, p: dict) -> dict:
        view = self._view(self._get(p["solutionArn"], "solution"))
        return {"solution": {k: v for k, v in view.items() if v is not None}}

    def _list_solutions(self, p: dict) -> dict:
        group = p.get("datasetGroupArn")
        out = []
        for res in self.of_kind("solution"):
            if group in (None, res.fields["datasetGroupArn"]):
                v = self._view(res, record=False)
                out.append({k: v[k] for k in ("name", "solutionArn", "status", "creationDateTime", "lastUpdatedDateTime", "recipeArn")})
        return {"solutions": out}

    def _update_solution(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_UpdateSolution.html: only
        # automatic training (on/off, schedule) and the events configuration change;
        # one update at a time, shown in latestSolutionUpdate.
        res = self._require_active(p["solutionArn"], "solution")
        if self._update_running(res):
            raise FakeError("ResourceInUseException", f"solution {res.arn} has an update in progress")
        changes: dict[str, Any] = {}
        if "performAutoTraining" in p:
            changes["performAutoTraining"] = p["performAutoTraining"]
        update_config = p.get("solutionUpdateConfig") or {}
        if update_config:
            changes["solutionConfig"] = {**res.fields["solutionConfig"], **update_config}
        if not changes:
            raise FakeError("InvalidInputException", "UpdateSolution changes nothing: give performAutoTraining or solutionUpdateConfig")
        self._start_update(res, "solution_update", changes)
        return {"solutionArn": res.arn}

    # https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSolutionVersion.html:
    # "The UPDATE option can only be used when you already have an active solution
    # version created from the input solution using the FULL option and the input
    # solution was trained with the User-Personalization recipe or the legacy
    # HRNN-Coldstart recipe" (User-Personalization-v2 is not among them).
    UPDATE_RECIPES = ("aws-user-personalization", "aws-hrnn-coldstart")
    # https://docs.aws.amazon.com/personalize/latest/dg/limits.html: 1,000 interaction
    # records after filtering by event type and event value.
    MIN_INTERACTIONS = 1000

    @staticmethod
    def _interaction_counts(data: list[bytes], event_type: Optional[str] = None, threshold: Any = None) -> tuple[int, int, int]:
        """Interaction rows after the eventType and eventValueThreshold filters, the users
        with 2 or more of them, and all their users."""
        per_user: Counter = Counter()
        for blob in data:
            reader = csv.DictReader(io.StringIO(blob.decode("utf-8")))
            for row in reader:
                if event_type and row.get("EVENT_TYPE") != event_type:
                    continue
                if threshold is not None and row.get("EVENT_VALUE") not in (None, ""):
                    if float(row["EVENT_VALUE"]) < float(threshold):
                        continue
                per_user[row.get("USER_ID")] += 1
        return sum(per_user.values()), sum(1 for n in per_user.values() if n >= 2), len(per_user)

    def _data_changed_since(self, group_arn: str, since: datetime) -> bool:
        """Whether an import job or a data deletion job of the group ended after ``since``."""
        datasets = {r.arn for r in self.resources.values() if r.kind == "dataset" and r.fields["datasetGroupArn"] == group_arn}
        return any(r.ready_at > since and self._status(r) == "ACTIVE" for r in self.resources.values()
                   if (r.kind == "dataset_import_job" and r.fields["datasetArn"] in datasets)
                   or (r.kind == "data_deletion_job" and r.fields["datasetGroupArn"] == group_arn))

    def _create_solution_version(self, p: dict) -> dict:
        solution = self._require_active(p["solutionArn"], "solution")
        mode = p.get("trainingMode", "FULL")
        versions = [r for r in self.resources.values() if r.kind == "solution_version" and r.fields["solutionArn"] == solution.arn]
        if mode == "UPDATE" and solution.fields["recipeArn"].rsplit("/", 1)[-1] not in self.UPDATE_RECIPES:
            raise FakeError("InvalidInputException", f"trainingMode UPDATE is not available for recipe {solution.fields['recipeArn']}")
        full_versions = [v for v in versions if v.fields["trainingMode"] == "FULL" and self._status(v) == "ACTIVE"]
        if mode == "UPDATE" and not full_versions:
            raise FakeError("InvalidInputException", "trainingMode UPDATE needs an ACTIVE FULL solution version")
        # botocore's SolutionVersion.trainingMode: "An UPDATE processes only the data that has
        # changed since the latest training"; with no change since the last FULL version the
        # service answers "There should be updates to at least one dataset after last active
        # solution version with training mode set to FULL" (AWS Solutions' "Maintaining
        # Personalized Experiences with Machine Learning", README, on trainingMode UPDATE).
        if mode == "UPDATE" and not self._data_changed_since(solution.fields["datasetGroupArn"],
                                                             max(v.created_at for v in full_versions)):
            raise FakeError("InvalidInputException", "There should be updates to at least one dataset after last active "
                                                      "solution version with training mode set to FULL")
        if mode == "AUTOTRAIN":
            raise FakeError("InvalidInputException", "trainingMode AUTOTRAIN is set by automatic training, not by a request")
        data = self._dataset_data(solution.fields["datasetGroupArn"], "INTERACTIONS")
        if not data:
            raise FakeError("InvalidInputException", "the interactions dataset has no imported data")
        if p.get("name") and any(v.fields.get("name") == p["name"] for v in versions):
            raise FakeError("ResourceAlreadyExistsException", f"solution version {p['name']} already exists")
        arn = f"{solution.arn}/{uuid.uuid4().hex[:8]}"
        res = self._new("solution_version", arn, {
            "name": p.get("name"), "solutionVersionArn": arn, "solutionArn": solution.arn,
            "recipeArn": solution.fields["recipeArn"], "trainingMode": mode, "trainingType": "MANUAL",
            "datasetGroupArn": solution.fields["datasetGroupArn"],
        })
        if self._stops:
            self._stops -= 1
            res.stop_requested_at = res.created_at + (res.ready_at - res.created_at) * 0.5
        rows, users_with_two, users = self._interaction_counts(
            data, solution.fields.get("eventType"), (solution.fields.get("solutionConfig") or {}).get("eventValueThreshold"))
        if res.failure_reason is None and rows < self.MIN_INTERACTIONS:
            res.failure_reason = (f"There are not enough interactions to train: {rows} after filtering by event type "
                                  f"and event value, at least {self.MIN_INTERACTIONS} are needed")
        # https://docs.aws.amazon.com/personalize/latest/dg/error-messages.html: "Create failed.
        # Dataset has fewer than 25 users with at least 2 interactions each."; and the 1% of
        # limits.html (fake_recommenders.users_with_two_problem).
        problem = users_with_two_problem(users_with_two, users)
        if res.failure_reason is None and problem:
            documented = (f"Dataset has fewer than {MIN_USERS_WITH_TWO} users with at least 2 interactions each"
                          if users_with_two < MIN_USERS_WITH_TWO else "Too few of the dataset's users have at least 2 interactions")
            res.failure_reason = f"Create failed. {documented} ({problem}, after filtering by event type and event value)"
        if res.failure_reason is None:
            if self.trainer is None:
                res.failure_reason = "no trainer is configured in the local Personalize"
            else:
                try:
                    self.models[arn] = self.trainer(
                        solution.fields["recipeArn"], mode, data,
                        items_csv=self._dataset_data(solution.fields["datasetGroupArn"], "ITEMS"),
                        event_type=solution.fields.get("eventType"),
                        event_value_threshold=(solution.fields.get("solutionConfig") or {}).get("eventValueThreshold"),
                    )
                except Exception as exc:  # a training error is reported like Personalize does
                    res.failure_reason = f"training failed: {exc}"
        return {"solutionVersionArn": arn}

    def _stop_solution_version_creation(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_StopSolutionVersionCreation.html
        res = self._get(p["solutionVersionArn"], "solution_version")
        status = self._status(res)
        if status not in ("CREATE PENDING", "CREATE IN_PROGRESS"):
            raise FakeError("ResourceInUseException", f"solution version {res.arn} is {status}: only a version being created can be stopped")
        res.stop_requested_at = self.clock.now()
        return {}

    def _describe_solution_version(self, p: dict) -> dict:
        view = self._view(self._get(p["solutionVersionArn"], "solution_version"))
        return {"solutionVersion": {k: v for k, v in view.items() if v is not None}}

    def _list_solution_versions(self, p: dict) -> dict:
        versions = [r for r in self.resources.values() if r.kind == "solution_version" and r.fields["solutionArn"] == p.get("solutionArn", r.fields["solutionArn"])]
        out = []
        for res in sorted(versions, key=lambda r: r.created_at, reverse=True):
            v = self._view(res, record=False)
            out.append({k: v.get(k) for k in ("solutionVersionArn", "status", "trainingMode", "trainingType", "creationDateTime", "lastUpdatedDateTime", "failureReason") if v.get(k) is not None})
        return {"solutionVersions": out}

    def _get_solution_metrics(self, p: dict) -> dict:
        self._require_active(p["solutionVersionArn"], "solution_version")
        return {"solutionVersionArn": p["solutionVersionArn"], "metrics": dict(self.models[p["solutionVersionArn"]].metrics)}

    # ------------------------------------------------------------ campaigns
    def _deployable_version(self, version_arn: str, config: dict) -> str:
        """The version a campaign request names: a solution version, or (only with
        syncWithLatestSolutionVersion) ``<solution ARN>/$LATEST``.
        https://docs.aws.amazon.com/personalize/latest/dg/API_CampaignConfig.html"""
        if config.get("syncWithLatestSolutionVersion"):
            if not version_arn.endswith("/$LATEST"):
                raise FakeError("InvalidInputException", "syncWithLatestSolutionVersion needs solutionVersionArn in SolutionArn/$LATEST format")
            solution = self._require_active(version_arn[: -len("/$LATEST")], "solution")
            latest = [v for v in self.of_kind("solution_version") if v.fields["solutionArn"] == solution.arn and self._status(v) == "ACTIVE"]
            if not latest:
                raise FakeError("InvalidInputException", f"solution {solution.arn} has no ACTIVE solution version")
            return max(latest, key=lambda v: v.created_at).arn
        if version_arn.endswith("/$LATEST"):
            raise FakeError("InvalidInputException", "SolutionArn/$LATEST needs campaignConfig.syncWithLatestSolutionVersion true")
        self._require_active(version_arn, "solution_version")
        return version_arn

    def _create_campaign(self, p: dict) -> dict:
        config = p.get("campaignConfig", {})
        version = self._deployable_version(p["solutionVersionArn"], config)
        arn = self._arn("campaign", p["name"])
        self._new("campaign", arn, {
            "name": p["name"], "campaignArn": arn, "solutionVersionArn": version,
            "minProvisionedTPS": p.get("minProvisionedTPS", 1), "campaignConfig": config,
        })
        return {"campaignArn": arn}

    def _update_campaign(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_UpdateCampaign.html: the
        # campaign must be ACTIVE or CREATE FAILED; it keeps serving (and stays ACTIVE)
        # while latestCampaignUpdate runs, and one update runs at a time.
        res = self._get(p["campaignArn"], "campaign")
        status = self._status(res)
        if status not in ("ACTIVE", "CREATE FAILED"):
            raise FakeError("ResourceInUseException", f"campaign {res.arn} is {status}")
        if self._update_running(res):
            raise FakeError("ResourceInUseException", f"campaign {res.arn} has an update in progress")
        config = p.get("campaignConfig", res.fields["campaignConfig"])
        version = self._deployable_version(p.get("solutionVersionArn", res.fields["solutionVersionArn"]), config)
        self._start_update(res, "campaign_update", {
            "solutionVersionArn": version,
            "minProvisionedTPS": p.get("minProvisionedTPS", res.fields["minProvisionedTPS"]),
            "campaignConfig": config,
        })
        return {"campaignArn": res.arn}

    def _describe_campaign(self, p: dict) -> dict:
        return {"campaign": self._view(self._get(p["campaignArn"], "campaign"))}

    # ----------------------------------------------------------------- tags
    # https://docs.aws.amazon.com/personalize/latest/dg/tagging-resources.html: at most
    # 50 tags per resource, keys unique, and the aws: prefix is reserved.
    MAX_TAGS = 50

    def _check_tags(self, tags: list[dict], existing: list[str]) -> None:
        keys = [t["tagKey"] for t in tags]
        if len(set(keys)) != len(keys):
            raise FakeError("InvalidInputException", f"tag keys must be unique, got {keys}")
        reserved = [k for k in keys if k.lower().startswith("aws:")]
        if reserved:
            raise FakeError("InvalidInputException", f"tag keys {reserved}: the aws: prefix is reserved")
        if len(set(keys) | set(existing)) > self.MAX_TAGS:
            raise FakeError("TooManyTagsException", f"a resource can have at most {self.MAX_TAGS} tags")

    def _tag_resource(self, p: dict) -> dict:
        if p["resourceArn"] not in self.resources:
            raise FakeError("ResourceNotFoundException", f"{p['resourceArn']} does not exist")
        current = self.tags.setdefault(p["resourceArn"], {})
        self._check_tags(p["tags"], list(current))
        current.update({t["tagKey"]: t["tagValue"] for t in p["tags"]})
        return {}

    def _list_tags_for_resource(self, p: dict) -> dict:
        if p["resourceArn"] not in self.resources:
            raise FakeError("ResourceNotFoundException", f"{p['resourceArn']} does not exist")
        return {"tags": [{"tagKey": k, "tagValue": v} for k, v in sorted(self.tags.get(p["resourceArn"], {}).items())]}

    # ------------------------------------------------- filters and trackers
    # https://docs.aws.amazon.com/personalize/latest/dg/limits.html: filters per dataset group.
    MAX_FILTERS = 10

    def _create_filter(self, p: dict) -> dict:
        self._require_active(p["datasetGroupArn"], "dataset_group")
        problem = filter_expression_problem(p["filterExpression"])
        if problem:
            raise FakeError("InvalidInputException", f"filterExpression: {problem}")
        if sum(1 for f in self.of_kind("filter") if f.fields["datasetGroupArn"] == p["datasetGroupArn"]) >= self.MAX_FILTERS:
            raise FakeError("LimitExceededException", f"The maximum number of filters per dataset group ({self.MAX_FILTERS}) is reached")
        arn = self._arn("filter", p["name"])
        self._new("filter", arn, {"name": p["name"], "filterArn": arn, "datasetGroupArn": p["datasetGroupArn"], "filterExpression": p["filterExpression"]})
        return {"filterArn": arn}

    def _describe_filter(self, p: dict) -> dict:
        return {"filter": self._view(self._get(p["filterArn"], "filter"))}

    def _create_event_tracker(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_CreateEventTracker.html:
        # "Only one event tracker can be associated with a dataset group."
        self._require_active(p["datasetGroupArn"], "dataset_group")
        if any(r.kind == "event_tracker" and r.fields["datasetGroupArn"] == p["datasetGroupArn"] for r in self.resources.values()):
            raise FakeError("ResourceAlreadyExistsException", f"dataset group {p['datasetGroupArn']} already has an event tracker")
        arn = self._arn("event-tracker", uuid.uuid4().hex[:12])
        tracking_id = str(uuid.uuid4())
        self._new("event_tracker", arn, {"name": p["name"], "eventTrackerArn": arn, "datasetGroupArn": p["datasetGroupArn"], "trackingId": tracking_id, "accountId": self.account})
        return {"eventTrackerArn": arn, "trackingId": tracking_id}

    def _describe_event_tracker(self, p: dict) -> dict:
        return {"eventTracker": self._view(self._get(p["eventTrackerArn"], "event_tracker"))}

    def _list_event_trackers(self, p: dict) -> dict:
        trackers = [r for r in self.resources.values() if r.kind == "event_tracker" and r.fields["datasetGroupArn"] == p.get("datasetGroupArn", r.fields["datasetGroupArn"])]
        out = []
        for res in trackers:
            v = self._view(res, record=False)
            out.append({k: v[k] for k in ("name", "eventTrackerArn", "status", "creationDateTime", "lastUpdatedDateTime")})
        return {"eventTrackers": out}
