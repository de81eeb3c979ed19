"""Finish an export: manifest + readiness, the ``latest`` pointer, retention, hand-off.

Runs in the ``start_training`` Python-shell job (and locally): stdlib + boto3 only,
Python 3.9 compatible, no Spark.

Order matters: everything that can fail runs before anything moves or is deleted.
1. refuse a ``keep_exports`` below 1 before anything is written;
2. assemble the manifest from the three dataset reports and validate the files;
3. write ``manifest.json`` (also when readiness fails, so the failure can be read), with
   ``hand_off`` null: the run does not count as a successful export yet;
4. refuse (``ReadinessFailed``, naming each failed rule) when readiness did not pass:
   ``latest`` does not move and nothing is deleted;
5. hand off: refuse a run older than the one ``latest`` points to, read the params
   template, check the params destination, write the training params file with this
   run's manifest URI (``HandOffRefused`` on any failure, before ``latest`` moves or
   anything is deleted);
6. record the hand-off in ``manifest.json``: only now does the run count as successful
   for retention;
7. move ``latest.json`` to this run;
8. delete old exports beyond the newest ``keep_exports`` successful ones, but never one
   that a kept export's chain builds on (its FULL base and the deltas between).

Each dataset's entry carries its mode, watermark and chain (the base FULL export and the
deltas since); readiness counts what the dataset holds after the import, the chain.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from export_spec import (
    MAX_METADATA_FIELDS,
    MAX_TEXTUAL_FIELDS,
    MIN_METADATA_FIELDS,
    REQUIRED_FIELDS,
    RESERVED_FIELDS,
    ExportSpec,
)
from personalize_export import layout
from personalize_export.incremental import FULL, INCREMENTAL, ExportPlan, schema_digest, spec_fingerprint
from personalize_export.storage import Storage, is_s3, join, split_s3

# An INCREMENTAL delta's rejected share is taken over at least this many rows.
MIN_ROWS_FOR_REJECTED_SHARE = 100


class ReadinessFailed(RuntimeError):
    """The export is not fit for training; the message names every failed rule."""

    def __init__(self, failed: List[Dict[str, Any]], manifest_uri: str):
        self.failed = failed
        self.manifest_uri = manifest_uri
        lines = ["%s: %s" % (check["rule"], check["detail"]) for check in failed]
        super().__init__("export readiness failed (%s); see %s\n  %s" % (
            ", ".join(check["rule"] for check in failed), manifest_uri, "\n  ".join(lines)))


class HandOffRefused(RuntimeError):
    """The training params could not be written; ``latest`` did not move and nothing was deleted."""


def refuse_superseded(storage: Storage, export_root: str, run_id: str) -> None:
    """Refuse to hand off a run older than the one ``latest`` points to (a workflow run
    resumed after a newer one finished): training on it would roll the datasets back to
    older values, and the next delta would build on it and skip the newer run."""
    latest = latest_run_id(storage, export_root)
    if latest is not None and latest > run_id:
        raise HandOffRefused(
            "run %s is older than run %s, which latest.json already points to (a newer export was handed off while "
            "this one ran or before it was resumed): it is not handed off, latest stays at %s and nothing is deleted; "
            "start a new workflow run for data newer than %s" % (run_id, latest, latest, latest))


def check_keep_exports(keep: Any, where: str = "keep_exports") -> int:
    """``keep`` as an int >= 1, or ``ValueError`` naming ``where``: the newest export is always kept."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError("%s must be an integer of at least 1 (got %r): the newest export is always kept" % (where, keep))
    return keep


def check_params_destination(params_uri: str) -> None:
    """Refuse a params destination that cannot take a file, before anything moves."""
    if is_s3(params_uri):
        _bucket, key = split_s3(params_uri)
        if not key or key.endswith("/"):
            raise HandOffRefused("params destination %s names no object (it ends with a slash)" % params_uri)
        return
    if os.path.isdir(params_uri):
        raise HandOffRefused("params destination %s is a directory; give the path of a file" % params_uri)
    parent = os.path.dirname(os.path.abspath(params_uri))
    while not os.path.isdir(parent):
        if os.path.exists(parent):
            raise HandOffRefused("params destination %s: %s is not a directory" % (params_uri, parent))
        parent = os.path.dirname(parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise HandOffRefused("params destination %s: %s is not writable" % (params_uri, parent))


def _check(rule: str, passed: bool, detail: str) -> Dict[str, Any]:
    return {"rule": rule, "passed": bool(passed), "detail": detail}


def _users_share_check(entry: Dict[str, Any], users: Dict[str, Any], qualified: int, previous: Optional[Dict[str, Any]],
                       name: str, readiness: Any) -> Dict[str, Any]:
    """``min_users_share``: the users with enough interactions among all the dataset's users.

    A FULL export counts its users. A delta's users may be new or already in the dataset,
    so the chain's users are counted at most: the base's plus each imported delta's
    (``chain_users_at_most``), which can only understate the share.
    """
    distinct = int(users.get("distinct_users", 0))
    entry["chain_users_at_most"] = distinct
    if entry["mode"] == INCREMENTAL:
        before = ((previous or {}).get("datasets", {}).get(name) or {}).get("chain_users_at_most")
        if before is None:
            entry["chain_users_at_most"] = None
            return _check("min_users_share", True, "not judged: the chain's earlier exports did not count their users; "
                                                   "the next FULL export does")
        entry["chain_users_at_most"] = int(before) + (0 if entry.get("carried") else distinct)
    total = entry["chain_users_at_most"]
    share = qualified / total if total else 1.0
    return _check(
        "min_users_share",
        share >= readiness.min_users_share,
        "%s%.2f%% of %s%d users have at least %d interactions (need at least %.2f%%)%s" % (
            "at least " if entry["mode"] == INCREMENTAL else "", 100 * share, "at most " if entry["mode"] == INCREMENTAL else "",
            total, readiness.min_interactions_per_user, 100 * readiness.min_users_share,
            "; a FULL export counts the users exactly" if entry["mode"] == INCREMENTAL else ""),
    )


def _schema_checks(name: str, schema: Dict[str, Any]) -> List[Dict[str, Any]]:
    fields = schema.get("fields") or []
    names = [f.get("name") for f in fields]
    fixed = set(REQUIRED_FIELDS[name]) | set(RESERVED_FIELDS[name])
    metadata = [n for n in names if n not in fixed]
    textual = [f.get("name") for f in fields if f.get("textual")]
    missing = [n for n in REQUIRED_FIELDS[name] if n not in names]
    low, high = MIN_METADATA_FIELDS[name], MAX_METADATA_FIELDS[name]
    return [
        _check("schema_required_fields.%s" % name, not missing,
               "missing required fields: %s" % ", ".join(missing) if missing else "USER_ID/ITEM_ID/TIMESTAMP as required"),
        _check("schema_metadata_fields.%s" % name, low <= len(metadata) <= high,
               "%d metadata fields (allowed %d..%d)" % (len(metadata), low, high)),
        _check("schema_textual_fields.%s" % name, len(textual) <= MAX_TEXTUAL_FIELDS,
               "%d textual fields (at most %d)" % (len(textual), MAX_TEXTUAL_FIELDS)),
    ]


def _file_checks(storage: Storage, name: str, run_dir: str, report: Dict[str, Any], schema: Dict[str, Any]) -> Dict[str, Any]:
    prefix = join(run_dir, report["prefix"])
    present = storage.list_files(prefix)
    strays = [p for p in present if not p.endswith(".csv")]
    listed = {join(run_dir, f) for f in report.get("files", [])}
    if strays:
        return _check("files_valid.%s" % name, False, "non-CSV objects under %s: %s" % (report["prefix"], ", ".join(strays[:3])))
    if not present:
        if report.get("carried") and int(report.get("rows", 0)) == 0:
            return _check("files_valid.%s" % name, True, "no CSV files: an empty delta, carried (not imported)")
        return _check("files_valid.%s" % name, False, "no CSV files under %s" % report["prefix"])
    if set(present) != listed:
        return _check("files_valid.%s" % name, False, "files under %s differ from the dataset report" % report["prefix"])
    expected = ",".join(f["name"] for f in schema.get("fields", []))
    for path in present:
        head = storage.read_head(path, 8192).decode("utf-8", errors="replace")
        header = head.split("\n", 1)[0].rstrip("\r")
        if header != expected:
            return _check("files_valid.%s" % name, False,
                          "%s: header %r does not match the schema order %r" % (os.path.basename(path), header, expected))
    return _check("files_valid.%s" % name, True, "%d CSV files, headers match the schema" % len(present))


def _line_checks(name: str, lines: Dict[str, Any], max_share: float) -> List[Dict[str, Any]]:
    """Every physical line of a text source is a header, blank or inside a record, and the
    lines merged into rejected records (an unbalanced quote) stay within the rejected share."""
    physical, headers, blank = int(lines["physical"]), int(lines["headers"]), int(lines["blank"])
    in_records, merged = int(lines["in_records"]), int(lines.get("merged_in_rejected", 0))
    unaccounted = physical - headers - in_records
    # Blank lines are skipped by the readers, unless they sit inside a quoted value.
    accounted = 0 <= unaccounted <= blank
    detail = "%d physical lines: %d headers, %d in records, %d blank" % (physical, headers, in_records, unaccounted)
    if not accounted:
        detail = "%d of %d physical lines are not accounted for (%d headers, %d in records, %d blank lines)" % (
            abs(unaccounted - (blank if unaccounted > blank else 0)), physical, headers, in_records, blank)
    data_lines = max(physical - headers - blank, 0)
    share = merged / data_lines if data_lines else 0.0
    return [
        _check("lines_accounted.%s" % name, accounted, detail),
        _check("merged_lines.%s" % name, share <= max_share,
               "%d lines merged into rejected records (%.2f%% of %d data lines; at most %.2f%%)"
               % (merged, share * 100, data_lines, max_share * 100)),
    ]


def _rejected_share_check(name: str, entry: Dict[str, Any], max_share: float) -> Dict[str, Any]:
    """``max_rejected_share`` for one dataset entry.

    A carried delta is not imported: its rows (rejected ones included) are read again and
    judged with the next delta. An imported INCREMENTAL delta is judged over at least
    ``MIN_ROWS_FOR_REJECTED_SHARE`` rows, so one bad row on a quiet day (1 in 3) does not
    fail the run, while a delta that is mostly rejected still does.
    """
    rule = "max_rejected_share.%s" % name
    considered = entry["rows_read"] - entry["filtered"]
    if entry.get("carried"):
        return _check(rule, True, "%d of %d rows rejected in a carried delta: judged when its rows are imported with the "
                                  "next delta" % (entry["rejected"], considered))
    over = considered
    if entry.get("mode") == INCREMENTAL and considered < MIN_ROWS_FOR_REJECTED_SHARE:
        over = MIN_ROWS_FOR_REJECTED_SHARE
    share = (entry["rejected"] / over) if over else 0.0
    detail = "%.2f%% of %d rows rejected (at most %.2f%%)" % (share * 100, considered, max_share * 100)
    if over != considered:
        detail = "%d of %d rows rejected in a small delta, %.2f%% of the %d rows a delta is judged over (at most " \
                 "%.2f%%)" % (entry["rejected"], considered, share * 100, over, max_share * 100)
    return _check(rule, share <= max_share, detail)


def build_manifest(spec: ExportSpec, export_root: str, run_id: str, storage: Optional[Storage] = None,
                   created_at: Optional[str] = None, plan: Optional[ExportPlan] = None) -> Dict[str, Any]:
    """The manifest for ``run_id`` with its readiness verdict (nothing is written).

    ``plan`` is the mode ``prepare`` chose; without one the run counts as a FULL export.
    """
    storage = storage or Storage()
    plan = plan or unrecorded_full_plan(spec, run_id)
    previous = _previous_manifest(storage, export_root, plan)
    vanished_users = None
    run_dir = layout.run_root(export_root, run_id)
    datasets: Dict[str, Any] = {}
    checks: List[Dict[str, Any]] = []
    reconciliation: Dict[str, Any] = {}
    readiness = spec.run.readiness
    for name in spec.datasets:
        report_uri = layout.report_path(export_root, run_id, name)
        if not storage.exists(report_uri):
            checks.append(_check("dataset_written.%s" % name, False, "no report at %s: the export_%s job did not finish" % (
                os.path.relpath(report_uri, run_dir) if not is_s3(report_uri) else report_uri, name)))
            continue
        report = storage.read_json(report_uri)
        schema = storage.read_json(join(run_dir, report["schema"]))
        entry = {
            "prefix": report["prefix"],
            "files": report["files"],
            "schema": report["schema"],
            "rows": report["rows"],
            "rejected": report["rejected"],
            "rejected_by_reason": report["rejected_by_reason"],
            "rows_read": report["rows_read"],
            "filtered": report.get("filtered", 0),
            "filtered_by_event_type": report.get("filtered_by_event_type", {}),
            "rejected_prefix": report.get("rejected_prefix"),
        }
        entry.update(_chain_entry(name, run_id, report, plan, previous))
        # What the Personalize dataset is created with: the schema file of this run.
        entry["schema_fingerprint"] = schema_digest(schema)
        if name == "users" and report.get("vanished_users") is not None:
            vanished_users = report["vanished_users"]
        datasets[name] = entry
        accounted = entry["rows"] + entry["rejected"] + entry["filtered"]
        by_reason_total = sum(entry["rejected_by_reason"].values())
        checks.append(_check(
            "counts_reconcile.%s" % name,
            accounted == entry["rows_read"] and by_reason_total == entry["rejected"],
            "rows_read %d = written %d + rejected %d + filtered %d" % (entry["rows_read"], entry["rows"], entry["rejected"], entry["filtered"]),
        ))
        checks.append(_file_checks(storage, name, run_dir, report, schema))
        if "lines" in report:
            entry["lines"] = report["lines"]
            checks.extend(_line_checks(name, report["lines"], spec.run.max_rejected_share))
        checks.extend(_schema_checks(name, schema))
        checks.append(_rejected_share_check(name, entry, spec.run.max_rejected_share))
        if name == "interactions":
            # Personalize's minimums apply to what the dataset holds after this import:
            # the base export plus its imported deltas.
            held = entry["chain_rows"]
            chained = "" if len(entry["chain"]) == 1 else " across base %s and %d delta(s)" % (
                entry["chain"][0]["run_id"], sum(1 for link in entry["chain"][1:] if not link["carried"]))
            checks.append(_check(
                "min_interactions",
                held >= readiness.min_interactions,
                "%d interactions after event-type filtering%s (need at least %d)" % (held, chained, readiness.min_interactions),
            ))
            users = report.get("users", {})
            qualified = int(users.get("users_with_min_interactions", 0))
            entry["base_users_with_min_interactions"] = qualified
            if entry["mode"] == INCREMENTAL:
                # Deltas only add interactions: the base's qualified users still qualify.
                base_qualified = int(((previous or {}).get("datasets", {}).get(name) or {}).get("base_users_with_min_interactions", 0))
                entry["base_users_with_min_interactions"] = base_qualified
                qualified = max(qualified, base_qualified)
            checks.append(_check(
                "min_users",
                qualified >= readiness.min_users,
                "%s%d users with at least %d interactions (need at least %d)" % (
                    "at least " if entry["mode"] == INCREMENTAL else "", qualified, readiness.min_interactions_per_user, readiness.min_users),
            ))
            checks.append(_users_share_check(entry, users, qualified, previous, name, readiness))
            if "item_id_reconciliation" in report:
                reconciliation = dict(report["item_id_reconciliation"])
    return {
        "run_id": run_id,
        "created_at": created_at or layout.utc_now_iso(),
        "export": plan.manifest_entry(),
        "vanished_users": vanished_users,
        "datasets": datasets,
        "readiness": {"passed": all(c["passed"] for c in checks) and "interactions" in datasets, "checks": checks},
        "item_id_reconciliation": reconciliation,
    }


def unrecorded_full_plan(spec: ExportSpec, run_id: str) -> ExportPlan:
    """The plan of a run whose mode ``prepare`` did not publish: a FULL export, its own base."""
    return ExportPlan(run_id, FULL, "no export mode was chosen for this run: exported FULL", FULL, run_id, spec_fingerprint(spec))


def _previous_manifest(storage: Storage, export_root: str, plan: ExportPlan) -> Optional[Dict[str, Any]]:
    if plan.mode != INCREMENTAL or not plan.previous_run_id:
        return None
    return storage.read_json(layout.manifest_path(export_root, plan.previous_run_id))


def _chain_link(run_id: str, this_run: str, name: str, mode: str, rows: int, carried: bool) -> Dict[str, Any]:
    # Run folders are siblings: a path relative to this manifest's folder reaches any of them.
    prefix = "%s/" % name if run_id == this_run else "../%s/%s/" % (run_id, name)
    return {"run_id": run_id, "mode": mode, "prefix": prefix, "rows": int(rows), "carried": bool(carried)}


def _chain_entry(name: str, run_id: str, report: Dict[str, Any], plan: ExportPlan,
                 previous: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The dataset's mode, size, watermark, carry verdict and chain (the manifest contract)."""
    mode = report.get("mode") or FULL
    if plan.mode == FULL:
        mode = FULL
    carried = bool(report.get("carried")) and mode == INCREMENTAL
    chain: List[Dict[str, Any]] = []
    if mode == INCREMENTAL:
        earlier = ((previous or {}).get("datasets", {}).get(name) or {}).get("chain") or []
        chain = [_chain_link(link["run_id"], run_id, name, link["mode"], link["rows"], link["carried"]) for link in earlier]
    chain.append(_chain_link(run_id, run_id, name, mode, report["rows"], carried))
    rows = int(report["rows"])
    return {
        "mode": mode,
        # Rows Personalize has not seen (export_job.new_rows_of); reports written before it
        # existed count every row.
        "new_rows": rows if mode == FULL else int(report.get("new_rows", rows)),
        "bytes": int(report.get("bytes", 0)),
        "watermark": report.get("watermark"),
        "carried": carried,
        "carried_reason": report.get("carried_reason") if carried else None,
        "chain": chain,
        "chain_rows": sum(link["rows"] for link in chain if not link["carried"]),
    }


def chain_run_ids(storage: Storage, export_root: str, run_id: str) -> set:
    """The runs whose files ``run_id``'s datasets build on (its base and deltas)."""
    try:
        uri = layout.manifest_path(export_root, run_id)
    except ValueError:
        return set()
    if not storage.exists(uri):
        return set()
    try:
        manifest = storage.read_json(uri)
    except ValueError:
        return set()
    return {link["run_id"] for entry in (manifest.get("datasets") or {}).values() for link in entry.get("chain") or []}


def absolute_uri(uri: str) -> str:
    return uri if is_s3(uri) or "://" in uri else os.path.abspath(uri)


@dataclass
class FinalizeResult:
    run_id: str
    manifest_uri: str
    manifest: Dict[str, Any]
    deleted_runs: List[str] = field(default_factory=list)
    params_uri: Optional[str] = None
    params_version: Optional[str] = None


def _run_state(storage: Storage, export_root: str, run_id: str) -> Optional[bool]:
    """True: a successful export (readiness passed and handed off); False: a failed one;
    None: in progress (no manifest yet)."""
    try:
        manifest_uri = layout.manifest_path(export_root, run_id)
    except ValueError:
        return None  # not a run folder: never touched
    if not storage.exists(manifest_uri):
        return None
    try:
        manifest = storage.read_json(manifest_uri)
    except ValueError:
        return None
    passed = bool(manifest.get("readiness", {}).get("passed"))
    # Manifests written before hand-offs were recorded have no "hand_off" key at all.
    handed_off = manifest.get("hand_off", True) is not None
    return passed and handed_off


def latest_run_id(storage: Storage, export_root: str) -> Optional[str]:
    uri = layout.latest_path(export_root)
    if not storage.exists(uri):
        return None
    return storage.read_json(uri).get("run_id")


def cleanup(storage: Storage, export_root: str, keep: int, current_run_id: Optional[str] = None) -> List[str]:
    """Delete successful exports beyond the newest ``keep``, and failed ones older than those.

    Never deleted: the run ``latest`` points to, the current run, and runs without a
    manifest (they may still be in progress). A failed deletion raises (an ``OSError``,
    or ``DeletionFailed`` naming the keys S3 kept) and leaves the run's manifest, so the
    next cleanup deletes the rest of it.
    """
    check_keep_exports(keep)
    runs = [r for r in storage.list_children(layout.exports_root(export_root)) if layout.RUN_ID_PATTERN.match(r)]
    states = {r: _run_state(storage, export_root, r) for r in runs}
    successful = sorted(r for r, ok in states.items() if ok is True)
    kept = set(successful[-keep:])
    protected = kept | {latest_run_id(storage, export_root), current_run_id}
    # A kept delta is useless without the FULL export it builds on (and the deltas between).
    for run_id in [r for r in protected if r]:
        protected |= chain_run_ids(storage, export_root, run_id)
    oldest_kept = min(kept) if kept else None
    doomed = []
    for run_id in sorted(runs):
        if run_id in protected or states[run_id] is None:
            continue
        if states[run_id] is True or (oldest_kept is not None and run_id < oldest_kept):
            doomed.append(run_id)
    for run_id in doomed:
        # The manifest goes last: a run folder without one counts as in progress and
        # would never be cleaned up again.
        storage.delete_prefix(layout.rejected_run_root(export_root, run_id))
        storage.delete_prefix(layout.run_root(export_root, run_id), last=layout.MANIFEST)
    return doomed


def hand_off(storage: Storage, manifest_uri: str, manifest: Dict[str, Any], params_template_uri: str, params_uri: str) -> Optional[str]:
    """Write the training params: the template plus ``export`` = this run's manifest."""
    readiness = manifest.get("readiness", {})
    if not readiness.get("passed"):
        failed = [c["rule"] for c in readiness.get("checks", []) if not c.get("passed")]
        raise HandOffRefused("refusing to start training: export readiness failed (%s)" % ", ".join(failed or ["unknown"]))
    params = read_params_template(storage, params_template_uri)
    params["export"] = {"manifest_uri": absolute_uri(manifest_uri), "run_id": manifest["run_id"]}
    check_params_destination(params_uri)
    try:
        return storage.write_json(params_uri, params)
    except Exception as exc:  # OSError locally, botocore's ClientError on S3
        raise HandOffRefused("could not write the training params to %s: %s" % (params_uri, exc)) from exc


def read_params_template(storage: Storage, uri: str) -> Dict[str, Any]:
    try:
        params = storage.read_json(uri)
    except ValueError as exc:
        raise HandOffRefused("params template %s is not valid JSON: %s" % (uri, exc))
    except Exception as exc:  # missing file or object, no access
        raise HandOffRefused("params template %s cannot be read: %s" % (uri, exc)) from exc
    if not isinstance(params, dict):
        raise HandOffRefused("params template %s must hold a JSON object" % uri)
    return params


def finalize_export(
    spec: ExportSpec,
    export_root: str,
    run_id: str,
    params_template_uri: str,
    params_uri: str,
    keep_exports: Optional[int] = None,
    storage: Optional[Storage] = None,
    plan: Optional[ExportPlan] = None,
) -> FinalizeResult:
    """Manifest, readiness gate, hand-off, ``latest`` and cleanup for one run (see module doc)."""
    storage = storage or Storage()
    keep = check_keep_exports(keep_exports if keep_exports is not None else spec.run.keep_exports)
    manifest = build_manifest(spec, export_root, run_id, storage, plan=plan)
    manifest["hand_off"] = None
    manifest_uri = layout.manifest_path(export_root, run_id)
    storage.write_json(manifest_uri, manifest)
    failed = [c for c in manifest["readiness"]["checks"] if not c["passed"]]
    if not manifest["readiness"]["passed"]:
        raise ReadinessFailed(failed or [_check("datasets_complete", False, "no interactions dataset")], manifest_uri)
    refuse_superseded(storage, export_root, run_id)
    version = hand_off(storage, manifest_uri, manifest, params_template_uri, params_uri)
    manifest["hand_off"] = {"params_uri": absolute_uri(params_uri), "params_version": version, "at": layout.utc_now_iso()}
    storage.write_json(manifest_uri, manifest)
    storage.write_json(layout.latest_path(export_root), {
        "run_id": run_id,
        "manifest": "%s/%s" % (run_id, layout.MANIFEST),
        "updated_at": layout.utc_now_iso(),
    })
    deleted = cleanup(storage, export_root, keep, current_run_id=run_id)
    return FinalizeResult(run_id, manifest_uri, manifest, deleted, params_uri, version)
