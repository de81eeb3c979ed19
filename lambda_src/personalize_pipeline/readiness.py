"""Data readiness: decided from the export's manifest before any Personalize
resource is touched, so "not enough data" fails in seconds, not hours."""
from __future__ import annotations

from .errors import ReadinessFailed


def check_readiness(export_summary: dict, rules: dict) -> dict:
    """Raise ReadinessFailed naming every broken rule; return the verdict."""
    problems = []
    readiness = export_summary.get("readiness") or {}
    if not readiness.get("passed", False):
        failed = [c for c in readiness.get("checks", []) if not c.get("passed")]
        names = "; ".join(f"{c.get('rule')}: {c.get('detail')}" for c in failed) or "no readiness verdict in the manifest"
        problems.append(f"the export's readiness check did not pass ({names})")
    rows = export_summary.get("rows", {})
    interactions = rows.get("interactions") or 0
    if interactions < rules["minInteractions"]:
        problems.append(
            f"not enough data: the interactions export has {interactions} rows, at least {rules['minInteractions']} are needed"
        )
    if problems:
        raise ReadinessFailed(f"run {export_summary.get('runId')}: " + "; ".join(problems))
    return {"passed": True, "rows": rows}
