"""IAM's evaluation logic for one role's identity policies.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- An explicit Deny wins over any Allow; with no Allow the request is denied.
- ``*`` and ``?`` are wildcards in Action (case-insensitive) and Resource.
- An action the Service Authorization Reference lists with no resource type is
  requested on resource ``*``, so only a statement whose Resource matches the
  literal ``*`` allows it (an ARN pattern ending in ``*`` does not).
- Condition keys the request carries (iam:PassedToService, s3:prefix) are
  decided; any other key is treated as satisfied and reported as such.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

from .actions import Request, has_resource_type


@lru_cache(maxsize=4096)
def _glob(pattern: str, case_insensitive: bool) -> re.Pattern:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.S | (re.I if case_insensitive else 0))


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def action_matches(patterns: Any, action: str) -> bool:
    return any(_glob(p, True).match(action) for p in _listed(patterns))


def resource_matches(patterns: Any, resource: str) -> bool:
    if resource == "*":
        return "*" in _listed(patterns)
    return any(_glob(p, False).match(resource) for p in _listed(patterns))


_OPERATORS = {
    "StringEquals": lambda v, p: v == p,
    "StringNotEquals": lambda v, p: v != p,
    "StringLike": lambda v, p: bool(_glob(p, False).match(v)),
    "StringNotLike": lambda v, p: not _glob(p, False).match(v),
    "ArnEquals": lambda v, p: v == p,
    "ArnLike": lambda v, p: bool(_glob(p, False).match(v)),
    "Bool": lambda v, p: str(v).lower() == str(p).lower(),
}

# Keys every recorded request carries: the SDKs call AWS over TLS only.
REQUEST_KEYS = {"aws:SecureTransport": "true"}


@dataclass
class ConditionOutcome:
    satisfied: bool
    assumed: list[str] = field(default_factory=list)  # keys not decidable offline


def conditions_hold(condition: dict, context: dict[str, str]) -> ConditionOutcome:
    assumed = []
    for operator, keys in (condition or {}).items():
        base = operator.removesuffix("IfExists")
        for key, values in keys.items():
            if key not in context:
                assumed.append(f"{operator} {key}")
                continue
            test = _OPERATORS.get(base)
            if test is None:
                assumed.append(f"{operator} {key}")
                continue
            negated = base.startswith("StringNot")
            results = [test(context[key], v) for v in _listed(values)]
            if not (all(results) if negated else any(results)):
                return ConditionOutcome(False)
    return ConditionOutcome(True, assumed)


def statement_applies(statement: dict, request: Request) -> Optional[ConditionOutcome]:
    if "Action" in statement and not action_matches(statement["Action"], request.action):
        return None
    if "NotAction" in statement and action_matches(statement["NotAction"], request.action):
        return None
    if "Resource" in statement and not resource_matches(statement["Resource"], request.resource):
        return None
    if "NotResource" in statement and resource_matches(statement["NotResource"], request.resource):
        return None
    outcome = conditions_hold(statement.get("Condition", {}), {**REQUEST_KEYS, **request.context_dict()})
    return outcome if outcome.satisfied else None


@dataclass
class Decision:
    allowed: bool
    allowed_by: list[str] = field(default_factory=list)  # "<policy name>/<Sid>"
    denied_by: list[str] = field(default_factory=list)
    assumed_conditions: list[str] = field(default_factory=list)


def evaluate(policies: dict[str, dict], request: Request) -> Decision:
    """policies: {policy name: policy document} attached to one role."""
    if request.resource == "*" and has_resource_type(request.action):
        raise ValueError(f"{request.action} has resource types; a request for it needs an ARN")
    decision = Decision(False)
    for name, document in policies.items():
        for i, statement in enumerate(_listed(document.get("Statement")) if not isinstance(document.get("Statement"), dict) else [document["Statement"]]):
            outcome = statement_applies(statement, request)
            if outcome is None:
                continue
            label = f"{name}/{statement.get('Sid') or f'statement {i}'}"
            (decision.denied_by if statement.get("Effect") == "Deny" else decision.allowed_by).append(label)
            decision.assumed_conditions.extend(outcome.assumed)
    decision.allowed = bool(decision.allowed_by) and not decision.denied_by
    return decision


def statements_for(document: dict, principal_arns: set[str]) -> dict:
    """The statements of a resource policy that name one of these principals (or "*")."""
    def names(statement: dict) -> bool:
        principal = statement.get("Principal", {})
        if principal == "*":
            return True
        aws = set(_listed(principal.get("AWS", [])))
        return "*" in aws or bool(aws & principal_arns)
    return {**document, "Statement": [s for s in _listed(document.get("Statement")) if names(s)]}
