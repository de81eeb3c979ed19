"""IAM policies grant no wildcard actions; every bucket is TLS-only; the Lambda
registry asks only for exact actions and known capabilities."""
from __future__ import annotations

import re

from tools import tfchecks, tfmodel
from tools.tfmodel import REPO_ROOT


def test_no_policy_grants_a_wildcard_action(terraform_modules):
    documents = [b for m in terraform_modules for b in m.of("data") if b.labels[0] == "aws_iam_policy_document"]
    assert len(documents) >= 15, "expected the modules' policy documents to be found"
    problems = [p for m in terraform_modules for p in tfchecks.check_iam_actions(m)]
    assert not problems, "\n".join(problems)


def test_wildcard_actions_are_reported(fixture_module):
    text = "\n".join(tfchecks.check_iam_actions(fixture_module("wildcard_action")))
    assert "data aws_iam_policy_document.star statement: wildcard action '*'" in text
    assert "statement AllOfS3: wildcard action 's3:*'" in text
    assert "NotAction" in text
    assert "dynamic statement: wildcard action 'glue:Get*'" in text
    assert "local.grants.everything.actions: wildcard action 'kms:*'" in text
    assert "aws_iam_policy.inline: jsonencode'd policy has a wildcard action" in text


def test_every_bucket_has_a_tls_only_policy(terraform_modules):
    buckets = [b for m in terraform_modules for b in m.of("resource") if b.labels[0] == "aws_s3_bucket"]
    assert buckets, "expected the modules to create buckets"
    problems = [p for m in terraform_modules for p in tfchecks.check_bucket_tls(m)]
    assert not problems, "\n".join(problems)


def test_bucket_without_tls_policy_is_reported(fixture_module):
    problems = tfchecks.check_bucket_tls(fixture_module("bucket_without_tls"))
    assert len(problems) == 2, problems
    assert any("aws_s3_bucket.no_policy" in p for p in problems)
    assert any("aws_s3_bucket.allow_only" in p for p in problems)


def _capability_names() -> set[str]:
    module = tfmodel.load_module(REPO_ROOT / "modules" / "training-pipeline")
    return set(module.locals["capabilities"])


def test_capabilities_are_exactly_the_registry_names():
    assert _capability_names() == {"read_params", "read_exports", "pass_personalize_role",
                                   "write_event_tracker_parameter", "use_kms", "list_own_executions", "publish_metrics"}


def test_function_registry_asks_for_exact_actions_and_known_capabilities():
    module = tfmodel.load_module(REPO_ROOT / "modules" / "training-pipeline")
    registry = tfchecks.registry_path_of(module)
    assert registry is not None and registry.is_file(), f"training-pipeline reads no existing functions.json ({registry})"
    problems = tfchecks.check_function_registry(registry, _capability_names())
    assert not problems, "\n".join(problems)


def test_function_registry_check_rejects_wildcards_and_unknown_capabilities(tmp_path):
    registry = tmp_path / "functions.json"
    registry.write_text('{"functions": {"x": {"handler": "a.b", "personalize_actions": ["personalize:*", "personalize:Describe*"],'
                        ' "permissions": ["read_params", "admin"]}}}')
    problems = tfchecks.check_function_registry(registry, _capability_names())
    assert len(problems) == 3, problems
    assert any(re.search(r"personalize_actions\[0\] = 'personalize:\*'", p) for p in problems)
    assert any("permissions[1] = 'admin'" in p for p in problems)
