"""The state machine definition rendered with the training module's real
templatefile() variables, validated by asl-validator and loaded by moto's
Step Functions interpreter; every Lambda it names is one Terraform creates."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import tfeval

from tools import tfasl, tfmodel
from tools.tfmodel import REPO_ROOT

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # broken code each check must reject


@pytest.fixture(scope="module")
def training_module():
    return tfmodel.load_module(REPO_ROOT / "modules" / "training-pipeline")


@pytest.fixture(scope="module")
def template_call(training_module):
    return tfasl.templatefile_call(training_module)


@pytest.fixture(scope="module")
def function_keys(training_module, template_call):
    keys, _ = tfasl.registry_keys_of_function_arns(training_module, template_call[1]["function_arns"])
    return keys


@pytest.fixture(scope="module")
def rendered(template_call, function_keys):
    template, _ = template_call
    assert template.is_file(), f"{template} does not exist"
    return tfasl.render(template, function_keys)


def test_templatefile_gets_exactly_the_template_variables(template_call):
    template, variables = template_call
    assert template == (REPO_ROOT / "step_functions" / "training.asl.json.tftpl").resolve()
    assert set(variables) == tfasl.TEMPLATE_VARIABLES


def test_function_arns_keys_are_the_registry_keys(function_keys):
    registry = json.loads((REPO_ROOT / "lambda_src" / "personalize_pipeline" / "functions.json").read_text())
    assert function_keys == set(registry["functions"])


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
def test_no_map_runs_more_iterations_than_its_function_may_run(training_module, template_call, function_keys,
                                                                lambda_settings, tmp_path):
    """Terraform's values for the template and the functions, evaluated for this lambda input:
    each Map's MaxConcurrency is at most the reserved concurrency of the function it invokes."""
    template, variables = template_call
    functions = training_module.resources()[("aws_lambda_function", "this")].body
    expressions = {"reserved": functions["reserved_concurrent_executions"]}
    if "map_max_concurrency" in variables:
        expressions["map_max_concurrency"] = "${%s}" % variables["map_max_concurrency"]
    values = tfeval.evaluate(training_module, expressions, {"lambda": lambda_settings}, tmp_path)
    reserved = values["reserved"]
    assert isinstance(reserved, int) and reserved >= 1, reserved

    text = template.read_text(encoding="utf-8")
    if "map_max_concurrency" in values:
        rendered = tfasl.render(template, function_keys, map_max_concurrency=values["map_max_concurrency"])
    else:  # a template with literal MaxConcurrency values
        rendered = tfasl.render(template, function_keys)
    assert "${map_max_concurrency}" in text or "map_max_concurrency" not in values
    maps = _map_functions(json.loads(rendered))
    assert maps, "the definition has no Map state"
    too_wide = {name: (arn, width) for name, (arn, width) in maps.items() if width > reserved}
    assert not too_wide, f"Map states run more iterations at once than each function's reserved concurrency {reserved}: {too_wide}"


def test_lambda_concurrency_that_is_no_whole_positive_number_is_refused(training_module):
    """MaxConcurrency 0 means no limit, so the shared setting must be a whole number of at least 1."""
    [rule] = [v for v in training_module.variables["lambda"]["validation"] if "reserved_concurrent_executions" in v["condition"]]
    condition = tfeval.expression_text(rule["condition"])
    for value, accepted in ((0, False), (2.5, False), (1, True), (7, True)):
        assert _evaluate_condition(training_module, condition, value) is accepted, value


def _evaluate_condition(training_module, condition: str, reserved) -> bool:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as workdir:
        return tfeval.evaluate(training_module, {"ok": "${%s}" % condition}, {"lambda": {"reserved_concurrent_executions": reserved}},
                               Path(workdir))["ok"]


def test_service_integrations_name_the_deploying_partition(training_module, template_call):
    """The template's partition is the one data.aws_partition reports, not a literal."""
    _, variables = template_call
    assert variables.get("partition") == "local.partition"
    assert training_module.locals["partition"] == "${data.aws_partition.current.partition}"
    assert ("aws_partition", "current") in training_module.resources("data")
