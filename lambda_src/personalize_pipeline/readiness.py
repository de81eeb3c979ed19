"""Data readiness: decided from the export's manifest (and, when a solution
filters by event type or value, one streaming read of the interactions export)
before any Personalize resource is touched, so "not enough data" fails in
minutes, not hours into training.

Personalize's minimums apply to what the dataset holds when training starts.
After an INCREMENTAL export that is the base FULL export plus every delta
imported since (the manifest's ``chain`` and ``chain_rows``), not the delta."""
from __future__ import annotations

import csv
import posixpath

from . import storage
from .errors import TrainingDataNotReady
from .imports import FULL_EXPORT_HINT
from .plan import ReadinessRules


def count_per_solution(lines, solutions: list[dict]) -> dict[str, int]:
    """Interaction rows each solution trains on: Personalize's 1,000-record
    minimum applies after the solution's eventType and eventValueThreshold
    filtering (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
    ``lines`` are CSV lines of one or more files, each file starting with its
    header and ending with an empty line."""
    counts = {s["key"]: 0 for s in solutions}
    header: list[str] | None = None
    for line in lines:
        if not line:
            header = None
            continue
        row = next(csv.reader([line]))
        if header is None:
            header = row
            continue
        record = dict(zip(header, row))
        for sol in solutions:
            if sol.get("eventType") and record.get("EVENT_TYPE") != sol["eventType"]:
                continue
            threshold = sol.get("eventValueThreshold")
            if threshold is not None and record.get("EVENT_VALUE") not in (None, ""):
                if float(record["EVENT_VALUE"]) < float(threshold):
                    continue
            counts[sol["key"]] += 1
    return counts


def read_chain(locations: list[str], missing: list[str]):
    """The lines of every chain folder in turn (see ``count_per_solution``); each
    folder that holds no object is appended to ``missing`` once it has been read.

    The chain's folders are the imported exports only (``imports.chain_locations``
    leaves carried deltas out), and an imported export always has files: a FULL
    export without any fails the export's readiness, a delta with too few rows is
    carried. So an empty folder is one that is gone, not one without rows."""
    for location in locations:
        found = False
        for line in storage.iter_lines(location):
            found = True
            yield line
        if not found:
            missing.append(location)


def missing_chain_problem(missing: list[str]) -> str:
    """What to say when chain folders are gone: their rows cannot be counted."""
    # Chain folders are <exports>/<run_id>/interactions/: the parent names the run.
    runs = ", ".join(posixpath.basename(posixpath.dirname(location.rstrip("/"))) for location in missing)
    return (f"the interactions dataset is to hold the rows of run(s) {runs} (the export's chain), but {', '.join(missing)} "
            "hold(s) no files (deleted or expired), so the rows each solution keeps after its event filters cannot be "
            f"counted: {FULL_EXPORT_HINT}, which starts a new chain that needs none of them")


def check_readiness(export_summary: dict, rules: ReadinessRules) -> dict:
    """Raise TrainingDataNotReady naming every broken rule; return the verdict."""
    problems = []
    readiness = export_summary.get("readiness") or {}
    if not readiness.get("passed", False):
        failed = [c for c in readiness.get("checks", []) if not c.get("passed")]
        names = "; ".join(f"{c.get('rule')}: {c.get('detail')}" for c in failed) or "no readiness verdict in the manifest"
        problems.append(f"the export's readiness check did not pass ({names})")
    rows = export_summary.get("rows", {})
    held = {**rows, **{k: v for k, v in (export_summary.get("chainRows") or {}).items() if v is not None}}
    interactions = held.get("interactions") or 0
    minimum = rules["minInteractions"]
    chained = held.get("interactions") != rows.get("interactions")
    what = "the interactions dataset will hold" if chained else "the interactions export has"
    if interactions < minimum:
        problems.append(f"not enough data: {what} {interactions} rows, at least {minimum} are needed")
    per_solution = {}
    filtering = [s for s in rules.get("solutions", []) if s.get("eventType") or s.get("eventValueThreshold") is not None]
    locations = export_summary.get("interactionsLocations")
    if locations is None and export_summary.get("interactionsLocation"):
        locations = [export_summary["interactionsLocation"]]
    if not problems and filtering and locations:
        missing: list[str] = []
        per_solution = count_per_solution(read_chain(locations, missing), filtering)
        if missing:
            # Counted without those rows, every solution would look filtered too hard.
            problems.append(missing_chain_problem(missing))
        else:
            for sol in filtering:
                if per_solution[sol["key"]] < minimum:
                    kept = " and ".join(f for f in (
                        f"event_type {sol['eventType']!r}" if sol.get("eventType") else "",
                        f"eventValueThreshold {sol['eventValueThreshold']}" if sol.get("eventValueThreshold") is not None else "",
                    ) if f)
                    problems.append(
                        f"not enough data for solutions.{sol['key']}: {per_solution[sol['key']]} of {interactions} "
                        f"interactions are left after its {kept}, at least {minimum} are needed"
                    )
    if problems:
        raise TrainingDataNotReady(f"run {export_summary.get('runId')}: " + "; ".join(problems))
    return {"passed": True, "rows": held, "perSolution": per_solution}
