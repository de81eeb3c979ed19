"""Every .tf file against the hashicorp/aws schema (from the cdktf jsii assembly),
plus references and module interfaces."""
from __future__ import annotations

import pytest

from tools import tfchecks, tfschema


def test_compact_schema_reads_the_provider(aws_schema):
    glue_job = aws_schema["resource"]["aws_glue_job"]
    assert glue_job["attrs"]["role_arn"] is True
    assert glue_job["attrs"]["worker_type"] is False
    assert glue_job["blocks"]["command"]["required"] is True
    assert glue_job["blocks"]["command"]["schema"]["attrs"]["script_location"] is True
    # snake_case names come from the doc anchors, not from the camelCase names.
    statement = aws_schema["data"]["aws_iam_policy_document"]["blocks"]["statement"]["schema"]
    assert set(statement["attrs"]) >= {"actions", "not_actions", "resources", "sid", "effect"}
    assert "condition" in statement["blocks"]
    assert "archive_file" in aws_schema["data"] and "terraform_data" in aws_schema["resource"]


def test_missing_provider_package_names_the_make_target(tmp_path, monkeypatch):
    monkeypatch.setattr(tfschema, "JSII_PATH", tmp_path / "absent.jsii")
    with pytest.raises(tfschema.SchemaUnavailable, match="make deps"):
        tfschema.load_aws_schema()


def _all(terraform_modules, check):
    problems = []
    for module in terraform_modules:
        problems.extend(check(module))
    return problems


def test_modules_and_envs_match_the_provider_schema(terraform_modules, aws_schema):
    problems = _all(terraform_modules, lambda m: tfchecks.check_provider_schema(m, aws_schema))
    assert not problems, "\n".join(problems)


def test_every_reference_is_declared(terraform_modules, aws_schema):
    problems = _all(terraform_modules, lambda m: tfchecks.check_references(m, aws_schema))
    assert not problems, "\n".join(problems)


def test_module_calls_match_module_variables(terraform_modules):
    calls = [b for m in terraform_modules for b in m.of("module")]
    assert len(calls) >= 11, "expected the composition's three submodule calls, four internal module calls, three examples and the environment root"
    problems = _all(terraform_modules, tfchecks.check_module_calls)
    assert not problems, "\n".join(problems)


def test_variables_and_outputs_are_described_and_typed(terraform_modules):
    problems = _all(terraform_modules, tfchecks.check_interface_docs)
    assert not problems, "\n".join(problems)


# Broken fixtures: each check must fail.

def test_unknown_argument_is_reported(fixture_module, aws_schema):
    problems = tfchecks.check_provider_schema(fixture_module("unknown_argument"), aws_schema)
    text = "\n".join(problems)
    assert 'unknown argument or block "kms_master_key"' in text
    assert 'aws_s3_bucket_lifecycle_configuration.this.rule.expiration: unknown argument or block "days_after"' in text
    # inside a dynamic block's content
    assert 'rule: unknown argument or block "enabled"' in text
    assert 'unknown resource type "aws_not_a_real_type"' in text


def test_missing_required_argument_is_reported(fixture_module, aws_schema):
    problems = tfchecks.check_provider_schema(fixture_module("missing_required"), aws_schema)
    text = "\n".join(problems)
    assert 'aws_glue_job.this: missing required argument "role_arn"' in text
    assert 'aws_glue_job.this: missing required block "command"' in text
    assert 'statement.condition: missing required argument "variable"' in text


def test_undeclared_references_are_reported(fixture_module, aws_schema):
    problems = tfchecks.check_references(fixture_module("undeclared_reference"), aws_schema)
    text = "\n".join(problems)
    for expected in ("undeclared variable var.missing_variable", "undeclared local local.missing_local",
                     "undeclared resource aws_sns_topic.missing",
                     "undeclared data source data.aws_iam_policy_document.missing",
                     "undeclared module module.nowhere"):
        assert expected in text, f"{expected!r} not reported in:\n{text}"
    assert "var.name" not in text and "local.prefix" not in text


def test_module_input_mismatches_are_reported(fixture_module, aws_schema):
    module = fixture_module("module_inputs")
    text = "\n".join(tfchecks.check_module_calls(module) + tfchecks.check_references(module, aws_schema))
    assert 'input "not_an_input" is not a variable' in text
    assert 'required input "name" is not set' in text
    assert 'module.child.not_an_output: the module declares no output "not_an_output"' in text
    assert '"tags"' not in text


def test_counted_resources_are_indexed_and_single_ones_are_not(terraform_modules):
    problems = _all(terraform_modules, tfchecks.check_indexing)
    assert not problems, "\n".join(problems)


def test_validations_refer_only_to_their_own_variable(terraform_modules):
    problems = _all(terraform_modules, tfchecks.check_validation_scope)
    assert not problems, "\n".join(problems)


def test_indexing_and_validation_mistakes_are_reported(fixture_module):
    module = fixture_module("bad_indexing")
    indexing = tfchecks.check_indexing(module)
    assert len(indexing) == 2, indexing
    assert any("aws_sns_topic.counted has count, so it must be indexed" in p for p in indexing)
    assert any("aws_sns_topic.single has neither count nor for_each" in p for p in indexing)
    scope = tfchecks.check_validation_scope(module)
    assert len(scope) == 1 and "refers to ['other']" in scope[0], scope


def test_only_terraform_functions_are_called(terraform_modules):
    problems = _all(terraform_modules, tfchecks.check_function_names)
    assert not problems, "\n".join(problems)


def test_unknown_function_is_reported(fixture_module):
    problems = tfchecks.check_function_names(fixture_module("bad_function"))
    assert len(problems) == 1 and "jsonecode() is not a Terraform function" in problems[0], problems
