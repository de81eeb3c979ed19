"""Static checks of every rendered policy: each returns a list of problems."""
from __future__ import annotations

import json
import re
from typing import Iterator

from . import actions
from .render import REPO_ROOT, Role, Stack


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


# A parliament finding is accepted only where the policy is written, by a comment
#   # parliament:accept ISSUE service:Action: the reason
# in the module that grants the action. No reason, no acceptance.
_ACCEPT = re.compile(r"#\s*parliament:accept\s+(?P<issue>[A-Z_]+)\s+(?P<action>[\w-]+:\w+)\s*:\s*(?P<reason>\S.*)$")


def accepted_parliament_findings(roots=("modules",)) -> dict[tuple[str, str], str]:
    """{(issue, action): "file:line: reason"} from the modules' accept comments."""
    accepted = {}
    for root in roots:
        for path in sorted((REPO_ROOT / root).rglob("*.tf")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = _ACCEPT.search(line)
                if match:
                    where = f"{path.relative_to(REPO_ROOT)}:{number}"
                    accepted[(match["issue"], match["action"])] = f"{where}: {match['reason'].strip()}"
    return accepted


def _is_accepted(finding, accepted: dict[tuple[str, str], str]) -> bool:
    detail = finding.detail if isinstance(finding.detail, list) else []
    named = [entry.get("action") for entry in detail if isinstance(entry, dict)]
    return bool(named) and all((finding.issue, action) in accepted for action in named)


def parliament_findings(stack: Stack) -> list[str]:
    """parliament's findings (unknown actions, resource mismatches, malformed
    ARNs...) over every inline policy of every role."""
    import parliament

    accepted = accepted_parliament_findings()
    problems = []
    for role in stack.roles.values():
        for name, document in role.policies.items():
            analysed = parliament.analyze_policy_string(json.dumps(document))
            for finding in analysed.findings:
                if _is_accepted(finding, accepted):
                    continue
                problems.append(f"{role.name}/{name}: {finding.issue} {finding.detail} {finding.location}")
    return problems
