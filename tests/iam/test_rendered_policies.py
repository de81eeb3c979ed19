"""What the rendered policies must say, whatever the recorded calls are."""
from __future__ import annotations

import re

import pytest

from . import actions, policy, render, tfeval

ROOTS = sorted(render.ROOTS)
PERSONALIZE_KEY_ACTIONS = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:ListGrants"]


def _allow_statements(stack: render.Stack):
    for role in stack.roles.values():
        for name, document in role.policies.items():
            for statement in document["Statement"]:
                if statement.get("Effect", "Allow") == "Allow":
                    yield role, name, statement


@pytest.mark.parametrize("root", ROOTS)
def test_actions_without_a_resource_type_are_granted_on_star(root):
    """The Service Authorization Reference's actions with no resource type are
    requested on "*": a statement that scopes them to ARNs never grants them."""
    problems = []
    for role, name, statement in _allow_statements(render.stack(root)):
        for action in statement.get("Action", []):
            if not actions.has_resource_type(action) and "*" not in statement["Resource"]:
                problems.append(f"{role.name}/{name}/{statement.get('Sid')}: {action} has no resource type but is granted on {statement['Resource']}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("root", ROOTS)
def test_every_granted_action_exists_and_each_arn_has_its_service_format(root):
    """Each action is one AWS knows; each ARN of a statement can name a resource
    of one of its actions (a wildcard stands for any text)."""
    problems = []
    for role, name, statement in _allow_statements(render.stack(root)):
        patterns, fillers = [], {"x", "x/x", "x:x"}
        for action in statement.get("Action", []):
            if not actions.action_exists(action):
                problems.append(f"{role.name}/{name}/{statement.get('Sid')}: {action} is not an AWS action")
                continue
            service = action.split(":")[0]
            for resource_type in actions.action_entry(action)["resourceTypes"]:
                fmt = actions.arn_format(service, resource_type["name"])
                if fmt:
                    patterns.append(actions.arn_pattern(fmt))
                    # A wildcard may also stand for the format's own separators (":*" after a log group).
                    literals = [lit for lit in re.split(r"\$\{[^}]+\}", fmt) if lit and not lit.startswith("arn:")]
                    fillers |= {f"x{lit}x" for lit in literals} | {f"{lit.lstrip(':')}x" for lit in literals}
        for resource in statement["Resource"]:
            if resource == "*" or not patterns:
                continue
            if not any(p.match(resource.replace("*", filler)) for p in patterns for filler in fillers):
                problems.append(f"{role.name}/{name}/{statement.get('Sid')}: {resource} names no resource of {statement['Action']}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("root", ROOTS)
def test_personalize_may_use_its_keys_as_its_kms_page_requires(root):
    """Personalize's KMS page: Decrypt, GenerateDataKey, DescribeKey, CreateGrant
    and ListGrants, in the key policy and in the Personalize role's policy."""
    stack = render.stack(root)
    role = stack.role_of("service:personalize")
    for key_arn, key_policy in stack.key_policies.items():
        for action in PERSONALIZE_KEY_ACTIONS:
            request = actions.Request(action, key_arn)
            assert policy.evaluate(role.policies, request).allowed, f"{role.name} may not {action} on {key_arn}"
            service_statements = [s for s in key_policy["Statement"]
                                  if "personalize.amazonaws.com" in s.get("Principal", {}).get("Service", [])
                                  and policy.statement_applies(s, request)]
            assert service_statements, f"the key policy of {key_arn} does not let Personalize {action}"


def test_named_key_administrators_keep_the_account_as_administrator():
    """A list of administrators without the deploying principal must not lock the
    deployer out (CreateKey's lockout safety check): the account stays one."""
    scope = tfeval.Scope(render.REPO_ROOT / "modules" / "personalize-pipeline",
                         {"name": "x", "kms_key_administrators": ["arn:aws:iam::123456789012:role/security-team"]},
                         render.ENVIRONMENT)
    document = scope.policy_document(scope.block("data", "aws_iam_policy_document", "kms"), {"count": {"index": 0}})
    administration = next(s for s in document["Statement"] if s.get("Sid") == "KeyAdministration")
    assert set(administration["Principal"]["AWS"]) == {"arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:role/security-team"}
    assert "kms:PutKeyPolicy" in administration["Action"]


@pytest.mark.parametrize("root", ["complete"])
def test_network_interface_grants_are_scoped_as_the_managed_glue_role(root):
    """ec2:CreateTags/DeleteTags only on network interfaces and security groups,
    with Glue's tag key; no EC2 write on every ARN of the account."""
    stack = render.stack(root)
    checked = 0
    for role, name, statement in _allow_statements(stack):
        writes = [a for a in statement.get("Action", []) if a in ("ec2:CreateTags", "ec2:DeleteTags", "ec2:DeleteNetworkInterface", "ec2:CreateNetworkInterface")]
        if not writes:
            continue
        checked += 1
        for resource in statement["Resource"]:
            kind = resource.split(":", 5)[-1].split("/")[0]
            assert kind in ("network-interface", "security-group", "subnet"), f"{role.name}/{statement.get('Sid')}: {writes} on {resource}"
        if {"ec2:CreateTags", "ec2:DeleteTags"} & set(writes):
            assert statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("aws:TagKeys") == ["aws-glue-service-resource"], statement
            assert not any(r.split(":", 5)[-1].startswith("subnet") for r in statement["Resource"])
    assert checked, "the complete example's connections should need network interfaces"
