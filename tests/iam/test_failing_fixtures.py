"""Broken IAM each check must reject: the rendered stack with one defect put in."""
from __future__ import annotations

import copy

import pytest

from . import checks, proof, render
from .recorder import Call

ACCOUNT, REGION = render.ENVIRONMENT.account, render.ENVIRONMENT.region
SOLUTION_ARN = f"arn:aws:personalize:{REGION}:{ACCOUNT}:solution/user-personalization"


def _stack() -> render.Stack:
    return copy.deepcopy(render.stack("complete"))


def _statement(stack: render.Stack, component: str, sid: str) -> dict:
    role = stack.role_of(component)
    return next(s for doc in role.policies.values() for s in doc["Statement"] if s.get("Sid") == sid)


LIST_VERSIONS = Call("lambda:start_solution_version", "personalize", "ListSolutionVersions", {"solutionArn": SOLUTION_ARN}, "fixture")
TRAIN = Call("lambda:start_solution_version", "personalize", "CreateSolutionVersion", {"solutionArn": SOLUTION_ARN, "name": "v1"}, "fixture")


def test_the_fixture_calls_are_allowed_by_the_real_stack():
    result = proof.prove([LIST_VERSIONS, TRAIN], _stack())
    assert not result.problems and not result.denied and len(result.verdicts) == 2


def test_a_removed_action_denies_the_call():
    stack = _stack()
    statement = _statement(stack, "lambda:start_solution_version", "Personalize")
    statement["Action"].remove("personalize:CreateSolutionVersion")
    [denied] = proof.prove([TRAIN], stack).denied
    message = proof.describe_denial(denied, stack)
    assert "retail-recs-start-solution-version" in message and "personalize:CreateSolutionVersion" in message
    assert SOLUTION_ARN in message and "lambda:start_solution_version" in message and "fixture" in message


def test_a_list_action_scoped_to_an_arn_is_refused_by_the_proof_and_the_checks():
    stack = _stack()
    unscoped = _statement(stack, "lambda:start_solution_version", "PersonalizeWithoutResourceType")
    unscoped["Resource"] = [f"arn:aws:personalize:{REGION}:{ACCOUNT}:*"]
    [denied] = proof.prove([LIST_VERSIONS], stack).denied
    assert denied.request.resource == "*"
    assert any("ListSolutionVersions has no resource type" in p for p in checks.unscoped_action_problems(stack))
    assert any("RESOURCE_MISMATCH" in p for p in checks.parliament_findings(stack))


def test_an_arn_in_the_wrong_format_is_refused():
    stack = _stack()
    statement = _statement(stack, "lambda:read_params", "ReadParams")
    statement["Resource"] = ["arn:aws:s3:::" + statement["Resource"][0].split(":::")[1].split("/")[0]]  # the bucket, not its object
    problems = checks.arn_format_problems(stack)
    assert any("ReadParams" in p and "names no resource" in p for p in problems), problems
    bucket, key = statement["Resource"][0].split(":::")[1], "params/params.json"
    read = Call("lambda:read_params", "s3", "GetObject", {"Bucket": bucket, "Key": key}, "fixture")
    assert any(v.request.action == "s3:GetObject" for v in proof.prove([read], stack).denied)


def test_a_call_by_a_component_whose_role_lacks_it_is_denied():
    stranger = Call("lambda:read_metrics", "personalize", "CreateSolutionVersion", {"solutionArn": SOLUTION_ARN, "name": "v1"}, "fixture")
    [denied] = proof.prove([stranger], _stack()).denied
    assert denied.role == "retail-recs-read-metrics"


def test_an_explicit_deny_wins():
    stack = _stack()
    role = stack.role_of("lambda:start_solution_version")
    role.policies["deny"] = {"Statement": [{"Effect": "Deny", "Action": ["personalize:Create*"], "Resource": ["*"]}]}
    [denied] = proof.prove([TRAIN], stack).denied
    assert denied.decision.denied_by == ["deny/statement 0"] and denied.decision.allowed_by


@pytest.mark.parametrize("prefix, allowed", [("personalize/exports/run-1/", True), ("personalize/rejected/", False)])
def test_s3_prefix_conditions_are_decided(prefix, allowed):
    stack = _stack()
    data_bucket = stack.outputs["data_bucket_name"]
    listing = Call("service:personalize", "s3", "ListObjectsV2", {"Bucket": data_bucket, "Prefix": prefix}, "fixture")
    result = proof.prove([listing], stack)
    assert (not result.denied) is allowed


def test_passing_the_personalize_role_to_another_service_is_denied():
    stack = _stack()
    role_arn = stack.outputs["personalize_role_arn"]
    to_personalize = Call("lambda:start_import", "personalize", "CreateDatasetImportJob",
                          {"jobName": "j", "datasetArn": f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset/g/INTERACTIONS",
                           "roleArn": role_arn, "dataSource": {"dataLocation": "s3://b/k"}}, "fixture")
    assert not proof.prove([to_personalize], stack).denied
    to_glue = Call("lambda:start_import", "glue", "CreateJob", {"Name": "j", "Role": role_arn, "Command": {"Name": "pythonshell"}}, "fixture")
    denied = proof.prove([to_glue], stack).denied
    assert any(v.request.action == "iam:PassRole" for v in denied)


def _read_export(stack: render.Stack) -> Call:
    return Call("service:personalize", "s3", "GetObject",
                {"Bucket": stack.outputs["data_bucket_name"], "Key": "personalize/exports/run-1/interactions/part-0.csv"}, "fixture")


def test_reading_an_sse_kms_export_needs_the_key_and_is_allowed():
    stack = _stack()
    result = proof.prove([_read_export(stack)], stack)
    assert not result.denied and {v.request.action for v in result.verdicts} == {"s3:GetObject", "kms:Decrypt"}


def test_a_bucket_policy_deny_wins():
    stack = _stack()
    bucket = stack.outputs["data_bucket_name"]
    stack.bucket_policies[bucket]["Statement"].append(
        {"Sid": "NoReads", "Effect": "Deny", "Principal": "*", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]})
    [denied] = proof.prove([_read_export(stack)], stack).denied
    assert denied.decision.denied_by == [f"bucket policy of {bucket}/NoReads"]


def test_a_key_policy_that_names_neither_the_role_nor_the_account_denies():
    stack = _stack()
    [key_policy] = stack.key_policies.values()
    key_policy["Statement"] = [s for s in key_policy["Statement"] if s.get("Sid") not in ("AccountUse", "KeyAdministration")]
    [denied] = proof.prove([_read_export(stack)], stack).denied
    assert denied.request.action == "kms:Decrypt"


def test_a_call_under_a_switch_the_root_turns_off_is_out_of_its_reach():
    pause = Call("lambda:schema_drift", "glue", "StopTrigger", {"Name": "nightly"}, "fixture",
                 config={"PAUSE_ON_BREAKING": "true", "SCHEDULE_TRIGGER_NAME": "nightly"})
    dev = proof.prove([pause], copy.deepcopy(render.stack("dev")))
    assert not dev.verdicts and "PAUSE_ON_BREAKING" in dev.out_of_reach[0][1]
    renamed_only = Call("lambda:schema_drift", "glue", "StopTrigger", {"Name": "nightly"}, "fixture",
                        config={"PAUSE_ON_BREAKING": "false", "SCHEDULE_TRIGGER_NAME": "nightly"})
    assert "is not set up in dev" in proof.prove([renamed_only], copy.deepcopy(render.stack("dev"))).out_of_reach[0][1]
    complete = proof.prove([pause], _stack())
    [verdict] = complete.verdicts
    assert verdict.request.resource.endswith(":trigger/retail-recs-start") and verdict.decision.allowed
