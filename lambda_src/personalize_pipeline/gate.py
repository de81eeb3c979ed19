"""The quality gate: a new solution version is promoted to a campaign only if it
meets the params' thresholds and is no worse than what the campaign serves now
(within a tolerance)."""
from __future__ import annotations

from typing import Optional


def judge(new_metrics: dict[str, float], served_metrics: Optional[dict[str, float]], gate: dict) -> list[str]:
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
