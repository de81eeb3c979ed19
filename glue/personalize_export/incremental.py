"""FULL or INCREMENTAL: which rows an export reads, and why.

An export is FULL (every row of every dataset) or INCREMENTAL (for each dataset with a
change column, only the rows at or past the previous export's high-water mark minus the
dataset's late-arrival allowance). ``auto`` chooses FULL when

* there is no earlier successful export;
* the export spec (what decides the rows and their values) or a dataset's schema changed
  since the FULL export the chain builds on (its *base*);
* ``run.full_every`` runs or days have passed since the base;
* the base is close to the age at which the bucket's lifecycle rule deletes exports;
* the caller asked for FULL;

and INCREMENTAL otherwise. The ``prepare`` job makes the choice once per workflow run and
publishes it as workflow run properties, so the three export jobs and ``start_training``
agree on it.

Stdlib only, Python 3.9 compatible (the Python-shell jobs import it).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from export_spec import DatasetSpec, ExportSpec, Watermark, avro_schema
from personalize_export import layout
from personalize_export.storage import Storage

FULL = "FULL"
INCREMENTAL = "INCREMENTAL"
AUTO = "auto"
REQUESTED_MODES = (AUTO, FULL, INCREMENTAL)

# Personalize refuses an import job with fewer interaction records than this, FULL or
# INCREMENTAL ("Minimum number of item interaction records per dataset import job"):
# https://docs.aws.amazon.com/personalize/latest/dg/limits.html
MIN_INTERACTIONS_PER_IMPORT_JOB = 1000
# ...and an INCREMENTAL job over 1 GB (the same page), read as 10^9 bytes, the smaller
# reading, as the training pipeline reads it.
MAX_INCREMENTAL_IMPORT_BYTES = 10 ** 9

# A chain gets a new base this many days before its base would expire under the bucket's
# lifecycle rule: the chain must stay readable while a failed run of it is trained again
# (ImportBaseMissing asks for the runs in order) and while readiness reads it.
CHAIN_EXPIRY_MARGIN_DAYS = 7

# Workflow run properties (besides ``run_id``) that carry the choice from prepare onwards.
MODE_PROPERTY = "export_mode"
REASON_PROPERTY = "export_reason"
REQUESTED_PROPERTY = "export_requested"
BASE_PROPERTY = "base_run_id"
PREVIOUS_PROPERTY = "previous_run_id"
RUNS_IN_CHAIN_PROPERTY = "runs_in_chain"
BASE_CREATED_PROPERTY = "base_created_at"
FINGERPRINT_PROPERTY = "spec_fingerprint"

# Spec keys that change neither which rows are exported nor their values: changing them
# does not force a FULL export. Connection details may move (a new host, a rotated
# secret) while the table stays the same.
_RUN_KEYS_WITHOUT_EFFECT = ("keep_exports", "full_every", "readiness", "max_rejected_share")
_JDBC_KEYS_WITHOUT_EFFECT = ("url", "user", "password_env", "secret_id", "driver")
# How a source is read in parallel and fetched: the same rows either way.
_SOURCE_KEYS_WITHOUT_EFFECT = ("jdbc_read",)
_DATASET_KEYS_WITHOUT_EFFECT = ("rejected_row_columns",)


class ExportModeRefused(ValueError):
    """The requested mode cannot be honoured (e.g. INCREMENTAL with nothing to build on)."""


def check_requested_mode(text: Optional[str], where: str = "export mode") -> str:
    """``auto``, ``FULL`` or ``INCREMENTAL`` (case-insensitive; empty means auto)."""
    if text is None or str(text).strip() == "":
        return AUTO
    value = str(text).strip()
    for mode in REQUESTED_MODES:
        if value.lower() == mode.lower():
            return mode
    raise ExportModeRefused("%s must be one of auto, FULL, INCREMENTAL (got %r)" % (where, text))


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def spec_fingerprint(spec: ExportSpec) -> str:
    """sha256 of the normalised spec, without the keys that do not change the exported rows."""
    raw = json.loads(json.dumps(spec.to_dict()))
    raw.pop("version", None)
    run = raw.get("run") or {}
    for key in _RUN_KEYS_WITHOUT_EFFECT:
        run.pop(key, None)
    raw["run"] = run
    # A source no dataset reads changes no row.
    read = {dataset.source for dataset in spec.datasets.values()}
    raw["sources"] = {name: body for name, body in (raw.get("sources") or {}).items() if name in read}
    for source in raw["sources"].values():
        for key in _SOURCE_KEYS_WITHOUT_EFFECT:
            source.pop(key, None)
        jdbc = source.get("jdbc")
        if isinstance(jdbc, dict):
            for key in _JDBC_KEYS_WITHOUT_EFFECT:
                jdbc.pop(key, None)
    for dataset in (raw.get("datasets") or {}).values():
        for key in _DATASET_KEYS_WITHOUT_EFFECT:
            dataset.pop(key, None)
    return _digest(raw)


def schema_fingerprint(dataset: DatasetSpec) -> str:
    """sha256 of the dataset's Personalize schema (what its dataset in Personalize was created with)."""
    return schema_digest(avro_schema(dataset))


def schema_digest(schema: Mapping[str, Any]) -> str:
    """sha256 of a written Avro schema (``schemas/<dataset>.json``)."""
    return _digest(schema)


# The instants ISO-8601 text (and Python's datetime) can hold: a change value outside them
# (epoch milliseconds in an epoch_seconds column) is shown as the nearest.
EARLIEST_ISO, LATEST_ISO = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"
_EARLIEST_EPOCH, _LATEST_EPOCH = -62135596800, 253402300799


def iso_utc(epoch_seconds: Optional[int]) -> Optional[str]:
    """ISO-8601 UTC, clamped to years 1..9999 (``EARLIEST_ISO``, ``LATEST_ISO``)."""
    if epoch_seconds is None:
        return None
    seconds = min(max(int(epoch_seconds), _EARLIEST_EPOCH), _LATEST_EPOCH)
    moment = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(seconds=seconds)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def parse_iso_utc(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    moment = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return int(moment.timestamp())


@dataclass(frozen=True)
class ExportPlan:
    """The mode of one export run and where its chain starts."""

    run_id: str
    mode: str
    reason: str
    requested: str
    base_run_id: str
    spec_fingerprint: str
    previous_run_id: Optional[str] = None
    runs_in_chain: int = 1
    base_created_at: Optional[str] = None

    def as_properties(self) -> Dict[str, str]:
        return {
            MODE_PROPERTY: self.mode,
            REASON_PROPERTY: self.reason,
            REQUESTED_PROPERTY: self.requested,
            BASE_PROPERTY: self.base_run_id,
            PREVIOUS_PROPERTY: self.previous_run_id or "",
            RUNS_IN_CHAIN_PROPERTY: str(self.runs_in_chain),
            BASE_CREATED_PROPERTY: self.base_created_at or "",
            FINGERPRINT_PROPERTY: self.spec_fingerprint,
        }

    @classmethod
    def from_properties(cls, run_id: str, properties: Mapping[str, str]) -> "ExportPlan":
        missing = [key for key in (MODE_PROPERTY, BASE_PROPERTY, FINGERPRINT_PROPERTY) if not properties.get(key)]
        if missing:
            raise RuntimeError("the workflow run has no %s propert%s: the prepare job must run first (and succeed) in this "
                               "workflow run" % (", ".join(missing), "y" if len(missing) == 1 else "ies"))
        return cls(
            run_id=run_id,
            mode=properties[MODE_PROPERTY],
            reason=properties.get(REASON_PROPERTY, ""),
            requested=properties.get(REQUESTED_PROPERTY) or AUTO,
            base_run_id=properties[BASE_PROPERTY],
            spec_fingerprint=properties[FINGERPRINT_PROPERTY],
            previous_run_id=properties.get(PREVIOUS_PROPERTY) or None,
            runs_in_chain=int(properties.get(RUNS_IN_CHAIN_PROPERTY) or 1),
            base_created_at=properties.get(BASE_CREATED_PROPERTY) or None,
        )

    def manifest_entry(self) -> Dict[str, Any]:
        return {
            "mode": self.mode,
            "reason": self.reason,
            "requested": self.requested,
            "base_run_id": self.base_run_id,
            "spec_fingerprint": self.spec_fingerprint,
            "previous_run_id": self.previous_run_id,
            "runs_in_chain": self.runs_in_chain,
            "base_created_at": self.base_created_at,
        }

    def describe(self) -> str:
        return "%s (%s)" % (self.mode, self.reason)


def previous_export(storage: Storage, export_root: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    """The last successful export (the one ``latest.json`` points to) and its manifest."""
    pointer = layout.latest_path(export_root)
    if not storage.exists(pointer):
        return None
    run_id = storage.read_json(pointer).get("run_id")
    if not run_id:
        return None
    manifest_uri = layout.manifest_path(export_root, run_id)
    if not storage.exists(manifest_uri):
        return None
    return run_id, storage.read_json(manifest_uri)


def choose_mode(
    spec: ExportSpec,
    run_id: str,
    requested: str = AUTO,
    previous: Optional[Tuple[str, Mapping[str, Any]]] = None,
    now: Optional[_dt.datetime] = None,
    requested_by: str = "--mode",
    export_expiry_days: Optional[int] = None,
) -> ExportPlan:
    """FULL or INCREMENTAL for ``run_id``, with the reason (see the module doc).

    ``export_expiry_days`` is the age at which the bucket's lifecycle rule deletes exports
    (none locally): a chain must end before its base is deleted under the deltas kept on it.
    """
    requested = check_requested_mode(requested)
    fingerprint = spec_fingerprint(spec)
    created = layout.utc_now_iso(now)

    def full(reason: str) -> ExportPlan:
        return ExportPlan(run_id, FULL, reason, requested, run_id, fingerprint, previous[0] if previous else None, 1, created)

    if requested == FULL:
        return full("requested by %s FULL" % requested_by)
    refuse_incremental = requested == INCREMENTAL
    reason = _why_full(spec, fingerprint, previous, now, export_expiry_days)
    if reason is not None:
        if refuse_incremental:
            raise ExportModeRefused("%s INCREMENTAL refused: %s; run a FULL export (%s FULL)" % (requested_by, reason, requested_by))
        return full(reason)
    assert previous is not None
    previous_id, manifest = previous
    export = manifest["export"]
    base = export["base_run_id"]
    return ExportPlan(
        run_id, INCREMENTAL,
        ("requested by %s INCREMENTAL; " % requested_by if requested == INCREMENTAL else "") + "incremental on base %s" % base,
        requested, base, fingerprint, previous_id, int(export.get("runs_in_chain") or 1) + 1, export.get("base_created_at"),
    )


def _why_full(spec: ExportSpec, fingerprint: str, previous: Optional[Tuple[str, Mapping[str, Any]]],
              now: Optional[_dt.datetime], export_expiry_days: Optional[int] = None) -> Optional[str]:
    """Why this run must be FULL, or None when an incremental export can build on ``previous``."""
    if not any(dataset.watermark is not None for dataset in spec.datasets.values()):
        return "no dataset names a change column (datasets.<name>.watermark)"
    if previous is None:
        return "no earlier successful export"
    previous_id, manifest = previous
    export = manifest.get("export")
    if not isinstance(export, Mapping) or not export.get("base_run_id"):
        return "no earlier successful export records a watermark (%s predates incremental exports)" % previous_id
    base = export["base_run_id"]
    datasets = manifest.get("datasets") or {}
    for name, dataset in spec.datasets.items():
        entry = datasets.get(name)
        if entry is None:
            return "spec changed since base %s (dataset %s added)" % (base, name)
        if entry.get("schema_fingerprint") != schema_fingerprint(dataset):
            return "the %s schema changed since base %s" % (name, base)
    for name in datasets:
        if name not in spec.datasets:
            return "spec changed since base %s (dataset %s removed)" % (base, name)
    if export.get("spec_fingerprint") != fingerprint:
        return "spec changed since base %s" % base
    every = spec.run.full_every
    if every is not None and every.runs is not None:
        runs = int(export.get("runs_in_chain") or 1)
        if runs >= every.runs:
            return "full_every=%d reached (%d runs since base %s)" % (every.runs, runs, base)
    base_created = parse_iso_utc(export.get("base_created_at"))
    if base_created is None:
        return None
    # UTC calendar days, not seconds: a daily run that starts a few seconds earlier than the
    # base's did is still on day D+1.
    today = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc).date()
    base_day = _dt.datetime.fromtimestamp(base_created, tz=_dt.timezone.utc).date()
    age = (today - base_day).days
    if every is not None and every.days is not None and age >= every.days:
        return "full_every.days=%d reached (base %s is from %s, %d UTC days before %s)" % (
            every.days, base, base_day.isoformat(), age, today.isoformat())
    if export_expiry_days is not None and age >= export_expiry_days - CHAIN_EXPIRY_MARGIN_DAYS:
        return ("base %s is from %s, %d UTC days before %s, and the bucket expires exports %d days after they are "
                "written (data_bucket.export_retention_days): a chain gets a new base %d days before its base "
                "would expire" % (base, base_day.isoformat(), age, today.isoformat(), export_expiry_days,
                                  CHAIN_EXPIRY_MARGIN_DAYS))
    return None


@dataclass(frozen=True)
class DeltaWindow:
    """What one dataset's export reads: everything (``read_from`` None) or the rows whose
    change column is at or past ``read_from`` or empty (``sources.in_window``)."""

    dataset: str
    mode: str
    watermark: Optional[Watermark] = None
    read_from: Optional[int] = None
    previous_high: Optional[int] = None

    @property
    def incremental(self) -> bool:
        return self.mode == INCREMENTAL


def dataset_window(spec: ExportSpec, name: str, plan: ExportPlan, previous_manifest: Optional[Mapping[str, Any]]) -> DeltaWindow:
    """The rows of dataset ``name`` that this run reads. A dataset without a change column is
    always read (and imported) in full."""
    watermark = spec.dataset(name).watermark
    if watermark is None or plan.mode == FULL:
        return DeltaWindow(name, FULL, watermark)
    entry = ((previous_manifest or {}).get("datasets") or {}).get(name) or {}
    previous = entry.get("watermark") or {}
    high = parse_iso_utc(previous.get("high"))
    read_from = None if high is None else high - watermark.allowance_seconds
    return DeltaWindow(name, INCREMENTAL, watermark, read_from, high)


def previous_manifest_for(storage: Storage, export_root: str, plan: ExportPlan) -> Optional[Dict[str, Any]]:
    if not plan.previous_run_id or plan.mode == FULL:
        return None
    return storage.read_json(layout.manifest_path(export_root, plan.previous_run_id))


def prepare_plan(spec: ExportSpec, export_root: str, run_id: str, requested: str, storage: Optional[Storage] = None,
                 now: Optional[_dt.datetime] = None, requested_by: str = "--mode",
                 export_expiry_days: Optional[int] = None) -> ExportPlan:
    """What ``prepare`` decides: the previous successful export, then the mode."""
    storage = storage or Storage()
    return choose_mode(spec, run_id, requested, previous_export(storage, export_root), now, requested_by, export_expiry_days)


def describe_delta(entry: Mapping[str, Any]) -> List[str]:
    """What a dataset's export read past its watermark, and whether it is carried, in
    lines for people (an export report, or a manifest's dataset entry)."""
    lines = []
    watermark = entry.get("watermark")
    if watermark:
        if entry.get("mode") == INCREMENTAL:
            lines.append("%s delta: %s >= %s; %s read again inside the %d s allowance; high-water mark %s" % (
                entry.get("mode"), watermark["column"], watermark["read_from"] or "the start", _rows(watermark["overlap_rows"]),
                watermark["allowance_seconds"], watermark["high"]))
            if watermark.get("unstamped_rows"):
                lines.append("%s without a %s value (empty, or not a time): every delta reads them again" % (
                    _rows(watermark["unstamped_rows"]), watermark["column"]))
            if watermark.get("future_rows"):
                lines.append("%s stamped after this run started (up to %s): read again until that time is past" % (
                    _rows(watermark["future_rows"]), watermark["high_read"]))
        else:
            lines.append("FULL: high-water mark %s = %s" % (watermark["column"], watermark["high"]))
            if watermark.get("high_read") and watermark["high"] and watermark["high_read"] > watermark["high"]:
                lines.append("the highest %s read, %s, is after this run started: the high-water mark stays at the run's "
                             "start" % (watermark["column"], watermark["high_read"]))
        if watermark.get("high_read") == LATEST_ISO:
            lines.append("the highest %s read is past year 9999 (shown as %s): is datasets.%s.watermark.type the unit the "
                         "column holds (milliseconds in an epoch_seconds column)?" % (
                             watermark["column"], LATEST_ISO, entry.get("dataset") or "<name>"))
    elif entry.get("mode"):
        lines.append("FULL (no change column)")
    if entry.get("carried"):
        lines.append("CARRIED: %s" % entry.get("carried_reason"))
    return lines


def _rows(count: int) -> str:
    return "1 row" if count == 1 else "%d rows" % count
