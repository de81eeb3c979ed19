"""The state machine definition rendered with the training module's real
templatefile() variables, validated by asl-validator and loaded by moto's
Step Functions interpreter; every Lambda it names is one Terraform creates."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import tfasl, tfeval, tfmodel
from tools.tfmodel import REPO_ROOT

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # broken code each check must reject


@pytest.fixture(scope="module")
def training_module():
    return tfmodel.load_module(REPO_ROOT / "modules" / "training-pipeline")


TRAINING = REPO_ROOT / "modules" / "training-pipeline"
REGISTRY = REPO_ROOT / "lambda_src" / "personalize_pipeline" / "functions.json"


def training_inputs(lambda_settings: dict) -> dict:
    """The training module's required inputs, and these Lambda settings."""
    return {"name": "demo", "kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/demo", "data_bucket_arn": "arn:aws:s3:::demo-data",
            "exports_prefix": "personalize/exports/", "params_bucket_name": "demo-artifacts", "lambda": lambda_settings}


@pytest.fixture(scope="module")
def definition_call():
    return tfasl.state_machine_definition(TRAINING, training_inputs({}))


@pytest.fixture(scope="module")
def template_call(definition_call):
    call, _ = definition_call
    return call.path.resolve(), call.variables


@pytest.fixture(scope="module")
def function_keys(definition_call):
    call, functions = definition_call
    arns = call.variables["function_arns"]
    # Every ARN the template gets is a function the module creates, under its registry key.
    assert set(arns.values()) <= set(functions), f"function_arns names functions the module does not create: {set(arns.values()) - set(functions)}"
    return set(arns)


@pytest.fixture(scope="module")
def rendered(template_call, function_keys):
    template, _ = template_call
    assert template.is_file(), f"{template} does not exist"
    return tfasl.render(template, function_keys)


def test_templatefile_gets_exactly_the_template_variables(template_call):
    template, variables = template_call
    assert template == (REPO_ROOT / "step_functions" / "training.asl.json.tftpl").resolve()
    assert set(variables) == tfasl.TEMPLATE_VARIABLES


def test_function_arns_keys_are_the_registry_keys(function_keys, definition_call):
    registry = json.loads(REGISTRY.read_text())
    assert function_keys == set(registry["functions"])
    call, functions = definition_call
    for key, arn in call.variables["function_arns"].items():
        assert functions[arn]["handler"] == registry["functions"][key]["handler"], key


def test_rendered_definition_passes_asl_validator(rendered):
    problems = tfasl.asl_validator_problems(rendered)
    assert not problems, "\n".join(problems)


def test_rendered_definition_loads_in_moto_interpreter(rendered):
    assert tfasl.moto_load_problems(rendered) == []


def test_every_lambda_the_definition_names_is_created_by_terraform(rendered, function_keys):
    created = {tfasl.fake_function_arn(k) for k in function_keys}
    named = tfasl.named_lambdas(rendered)
    assert named, "the definition invokes no Lambda"
    assert tfasl.unknown_lambda_problems(rendered, created) == []


def test_bad_next_fails_asl_validation(function_keys):
    rendered = tfasl.render(FIXTURES / "bad_asl_next" / "training.asl.json.tftpl", function_keys)
    problems = "\n".join(tfasl.asl_validator_problems(rendered))
    assert "NoSuchState" in problems


def test_lambdas_terraform_does_not_create_are_reported(function_keys):
    rendered = tfasl.render(FIXTURES / "asl_unknown_lambda" / "training.asl.json.tftpl", function_keys)
    problems = tfasl.unknown_lambda_problems(rendered, {tfasl.fake_function_arn(k) for k in function_keys})
    assert len(problems) == 2, problems
    assert any("not-created-by-terraform" in p for p in problems)
    assert any("'Inner'" in p for p in problems)


def test_template_key_missing_from_registry_fails_rendering(function_keys):
    with pytest.raises(KeyError):
        tfasl.render(FIXTURES / "bad_asl_next" / "training.asl.json.tftpl", function_keys - {"read_params"})


def test_state_machine_role_allows_every_task(training_module, rendered):
    assert tfasl.task_actions(rendered), "the definition has no Task state"
    granted = tfasl.granted_actions(training_module, "state_machine")
    problems = tfasl.ungranted_task_problems(rendered, granted)
    assert not problems, "\n".join(problems)


def test_task_needing_an_ungranted_action_is_reported(training_module):
    definition = json.dumps({"StartAt": "Describe", "States": {
        "Describe": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:personalize:describeCampaign",
                     "Parameters": {"CampaignArn": "x"}, "Next": "Notify"},
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                   "Parameters": {"TopicArn": "x", "Message": "m"}, "End": True}}})
    assert tfasl.task_actions(definition) == {"Describe": "personalize:DescribeCampaign", "Notify": "sns:Publish"}
    problems = tfasl.ungranted_task_problems(definition, tfasl.granted_actions(training_module, "state_machine"))
    assert problems == ["state 'Describe' needs personalize:DescribeCampaign, which the state machine role does not grant"]


def _map_functions(definition: dict) -> dict[str, tuple[str, int]]:
    """{Map state: (Lambda ARN its item task invokes, MaxConcurrency)}."""
    out = {}
    for name, state in definition["States"].items():
        if state["Type"] == "Map":
            processor = state["ItemProcessor"]
            [task] = [s for s in processor["States"].values() if s["Type"] == "Task"]
            out[name] = (task["Resource"], state["MaxConcurrency"])
    return out


@pytest.mark.parametrize("lambda_settings", [{}, {"reserved_concurrent_executions": 1}, {"reserved_concurrent_executions": 12}],
                         ids=["default", "one", "twelve"])
def test_no_map_runs_more_iterations_than_its_function_may_run(function_keys, lambda_settings):
    """The module rendered for this lambda input: each Map's MaxConcurrency is at most the
    reserved concurrency of the function it invokes."""
    call, functions = tfasl.state_machine_definition(TRAINING, training_inputs(lambda_settings))
    reserved_by_arn = {arn: fn["reserved_concurrent_executions"] for arn, fn in functions.items()}
    assert all(isinstance(r, int) and r >= 1 for r in reserved_by_arn.values()), reserved_by_arn

    text = call.path.read_text(encoding="utf-8")
    if "${map_max_concurrency}" in text:
        rendered = tfasl.render(call.path, function_keys, map_max_concurrency=call.variables["map_max_concurrency"])
    else:  # a template with literal MaxConcurrency values
        rendered = tfasl.render(call.path, function_keys)
    maps = _map_functions(json.loads(rendered))
    assert maps, "the definition has no Map state"
    key_of = {tfasl.fake_function_arn(k): k for k in function_keys}
    too_wide = {}
    for name, (arn, width) in maps.items():
        deployed = call.variables["function_arns"][key_of[arn]]
        if width > reserved_by_arn[deployed]:
            too_wide[name] = (deployed, width, reserved_by_arn[deployed])
    assert not too_wide, f"Map states run more iterations at once than the reserved concurrency of the function they invoke: {too_wide}"


def test_lambda_concurrency_that_is_no_whole_positive_number_is_refused(training_module):
    """MaxConcurrency 0 means no limit, so the shared setting must be a whole number of at least 1."""
    [rule] = [v for v in training_module.variables["lambda"]["validation"] if "reserved_concurrent_executions" in v["condition"]]
    condition = tfeval.expression_text(rule["condition"])
    for value, accepted in ((0, False), (2.5, False), (1, True), (7, True)):
        assert _evaluate_condition(training_module, condition, value) is accepted, value


def _evaluate_condition(training_module, condition: str, reserved) -> bool:
    return tfeval.evaluate(training_module.path, {"ok": "${%s}" % condition},
                           {"lambda": {"reserved_concurrent_executions": reserved}})["ok"]


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_service_integrations_name_the_deploying_partition(partition):
    """The template's partition is the one data.aws_partition reports, not a literal."""
    scope = tfeval.Scope(TRAINING, training_inputs({}), tfeval.Environment(partition=partition))
    [machine] = [m for _, _, _, m in tfeval.resource_instances(scope, "aws_sfn_state_machine")]
    assert machine["definition"].variables["partition"] == partition
