"""How long to wait before the next status check.

Waits grow from a small first wait up to a cap (the cap bounds the delay
between a resource turning ACTIVE and the pipeline noticing). When a previous
run's duration for the resource kind is known, the first wait covers most of
it in one go, so a repeat run needs only a handful of checks."""
from __future__ import annotations

from dataclasses import dataclass

from .plan import WaitPlan

# Wait this share of the expected duration at once, then poll finely.
HISTORY_FIRST_SHARE = 0.95
HISTORY_STEP_SHARE = 0.03
GROWTH = 2.0


@dataclass(frozen=True)
class WaitPolicy:
    first_seconds: int
    max_seconds: int
    limit_seconds: int

    @classmethod
    def from_plan(cls, waits: WaitPlan) -> "WaitPolicy":
        return cls(waits["firstSeconds"], waits["maxSeconds"], waits["limitSeconds"])


def next_wait_seconds(policy: WaitPolicy, polls: int, previous_seconds: int, waited: int, expected: int | None) -> int:
    """Seconds to wait before check number ``polls + 1``.

    ``polls`` checks have run so far (the first runs right after the resources
    were started, without waiting) and ``waited`` seconds have passed in this
    loop. ``expected`` is a previous run's duration for this kind of resource.
    """
    if expected and expected > 0:
        if polls <= 1 and waited == 0:
            seconds = int(expected * HISTORY_FIRST_SHARE)
        elif waited < expected:
            seconds = min(policy.max_seconds, max(policy.first_seconds, int(expected * HISTORY_STEP_SHARE)))
        else:
            # Slower than last time: fall back to growing, capped waits.
            seconds = min(policy.max_seconds, max(policy.first_seconds, int(previous_seconds * GROWTH)))
    elif polls <= 1 and waited == 0:
        seconds = policy.first_seconds
    else:
        seconds = min(policy.max_seconds, max(policy.first_seconds, int(previous_seconds * GROWTH)))
    remaining = policy.limit_seconds - waited
    return max(1, min(seconds, remaining))
