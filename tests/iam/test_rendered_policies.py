"""What the rendered policies must say, whatever the recorded calls are."""
from __future__ import annotations

import pytest

from tools import tfeval

from . import actions, checks, policy, render

ROOTS = sorted(render.ROOTS)
PERSONALIZE_KEY_ACTIONS = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:ListGrants"]


@pytest.mark.parametrize("root", ROOTS)
def test_actions_without_a_resource_type_are_granted_on_star(root):
    """The Service Authorization Reference's actions with no resource type are
    requested on "*": a statement that scopes them to ARNs never grants them."""
    problems = checks.unscoped_action_problems(render.stack(root))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("root", ROOTS)
def test_every_granted_action_exists_and_each_arn_has_its_service_format(root):
    problems = checks.arn_format_problems(render.stack(root))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("root", ROOTS)
def test_parliament_finds_nothing_in_any_rendered_policy(root):
    problems = checks.parliament_findings(render.stack(root))
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
    for role, name, statement in checks.allow_statements(stack):
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
