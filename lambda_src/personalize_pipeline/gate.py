"""The quality gate: a new solution version is promoted to a campaign only if it
meets the params' thresholds and is no worse than what the campaign serves now
(within a tolerance)."""
from __future__ import annotations

from typing import Optional

from .plan import GatePlan


def judge(new_metrics: dict[str, float], served_metrics: Optional[dict[str, float]], gate: GatePlan) -> list[str]:
    """Reasons for rejecting the new version; empty when it passes."""
    reasons = []
    for metric, threshold in sorted(gate["thresholds"].items()):
        value = new_metrics.get(metric)
        if value is None:
            reasons.append(f"{metric} is missing from the new version's metrics")
        elif value < threshold:
            reasons.append(f"{metric} {value:.4f} is below the threshold {threshold:.4f}")
    if gate["compareWithServing"] and served_metrics:
        for metric in gate["compareMetrics"]:
            new, old = new_metrics.get(metric), served_metrics.get(metric)
            if new is None or old is None:
                continue
            if new < old - gate["tolerance"]:
                reasons.append(
                    f"{metric} {new:.4f} is worse than the served version's {old:.4f} (tolerance {gate['tolerance']:.4f})"
                )
    return reasons


def data_change(served: Optional[dict], new: dict) -> dict:
    """How much the training data changed between the served version and the new
    one (export row counts per dataset). Personalize advises against comparing
    metrics of versions trained on different data
    (https://docs.aws.amazon.com/personalize/latest/dg/working-with-training-metrics.html):
    the comparison stays, as a warning sign, and this says how far apart the two are."""
    if not served:
        return {"servedRunId": None, "newRunId": new.get("runId"), "rows": {}, "summary": "no record of the served version's data"}
    rows = {}
    parts = []
    for name in sorted(set(served.get("rows", {})) | set(new.get("rows", {}))):
        before, after = served.get("rows", {}).get(name), new.get("rows", {}).get(name)
        change = None if not before or after is None else round(100.0 * (after - before) / before, 1)
        rows[name] = {"served": before, "new": after, "changePercent": change}
        parts.append(f"{name} {before} -> {after}" + ("" if change is None else f" ({change:+.1f}%)"))
    return {"servedRunId": served.get("runId"), "newRunId": new.get("runId"), "rows": rows,
            "summary": f"trained on export {served.get('runId')} vs {new.get('runId')}: " + ", ".join(parts)}
