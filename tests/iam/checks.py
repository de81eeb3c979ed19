"""Static checks of every rendered policy: each returns a list of problems."""
from __future__ import annotations

import json
import re
from typing import Iterator

from . import actions
from .render import Role, Stack


def allow_statements(stack: Stack) -> Iterator[tuple[Role, str, dict]]:
    for role in stack.roles.values():
        for name, document in role.policies.items():
            for statement in document["Statement"]:
                if statement.get("Effect", "Allow") == "Allow":
                    yield role, name, statement


def _where(role: Role, name: str, statement: dict) -> str:
    return f"{role.name}/{name}/{statement.get('Sid') or '-'}"


def unscoped_action_problems(stack: Stack) -> list[str]:
    """Actions with no resource type granted only on ARNs: never usable."""
    problems = []
    for role, name, statement in allow_statements(stack):
        for action in statement.get("Action", []):
            if actions.action_exists(action) and not actions.has_resource_type(action) and "*" not in statement["Resource"]:
                problems.append(f"{_where(role, name, statement)}: {action} has no resource type but is granted on {statement['Resource']}")
    return problems


def arn_format_problems(stack: Stack) -> list[str]:
    """Unknown actions, and ARNs that can name no resource of the statement's
    actions (a wildcard stands for any text, the format's separators included)."""
    problems = []
    for role, name, statement in allow_statements(stack):
        patterns, fillers = [], {"x", "x/x", "x:x"}
        for action in statement.get("Action", []):
            if not actions.action_exists(action):
                problems.append(f"{_where(role, name, statement)}: {action} is not an AWS action")
                continue
            service = action.split(":")[0]
            for resource_type in actions.action_entry(action)["resourceTypes"]:
                fmt = actions.arn_format(service, resource_type["name"])
                if fmt:
                    patterns.append(actions.arn_pattern(fmt))
                    literals = [lit for lit in re.split(r"\$\{[^}]+\}", fmt) if lit and not lit.startswith("arn:")]
                    fillers |= {f"x{lit}x" for lit in literals} | {f"{lit.lstrip(':')}x" for lit in literals}
        for resource in statement["Resource"]:
            if resource == "*" or not patterns:
                continue
            if not any(p.match(resource.replace("*", filler)) for p in patterns for filler in fillers):
                problems.append(f"{_where(role, name, statement)}: {resource} names no resource of {statement['Action']}")
    return problems


# Findings accepted where the policy is written; none today.
ACCEPTED_PARLIAMENT_FINDINGS: dict[tuple[str, str], str] = {}


def parliament_findings(stack: Stack) -> list[str]:
    """parliament's findings (unknown actions, resource mismatches, malformed
    ARNs...) over every inline policy of every role."""
    import parliament

    problems = []
    for role in stack.roles.values():
        for name, document in role.policies.items():
            analysed = parliament.analyze_policy_string(json.dumps(document))
            for finding in analysed.findings:
                if (role.name, finding.issue) in ACCEPTED_PARLIAMENT_FINDINGS:
                    continue
                problems.append(f"{role.name}/{name}: {finding.issue} {finding.detail} {finding.location}")
    return problems
