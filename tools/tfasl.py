"""The state machine definition as Terraform renders it: the templatefile()
call of the training module, the Lambdas it can name, validation with
asl-validator and loading by moto's Step Functions interpreter."""
from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

from . import tfeval
from .tfmodel import REPO_ROOT, Module, unquote

ASL_VALIDATOR = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"
TEMPLATE_VARIABLES = {"function_arns", "notification_topic_arn", "partition", "map_max_concurrency"}
FAKE_REGION, FAKE_ACCOUNT = "eu-west-1", "123456789012"
FAKE_TOPIC_ARN = f"arn:aws:sns:{FAKE_REGION}:{FAKE_ACCOUNT}:pipeline-training"


def fake_function_arn(key: str) -> str:
    return f"arn:aws:lambda:{FAKE_REGION}:{FAKE_ACCOUNT}:function:pipeline-{key.replace('_', '-')}"


def state_machine_definition(module_dir: Path, inputs: dict) -> tuple[tfeval.TemplateFile, dict[str, Any]]:
    """(the templatefile() call of the module's one state machine, {Lambda ARN: aws_lambda_function
    instance} of every function the module and its submodules create), rendered for these inputs."""
    scope = tfeval.Scope(module_dir, inputs, tfeval.Environment())
    machines = [m for _, _, _, m in tfeval.resource_instances(scope, "aws_sfn_state_machine")]
    if len(machines) != 1:
        raise AssertionError(f"{module_dir}: expected one aws_sfn_state_machine, found {len(machines)}")
    definition = machines[0]["definition"]
    if not isinstance(definition, tfeval.TemplateFile):
        raise AssertionError(f"{machines[0].where}: definition is not a templatefile(path, {{...}}) call")
    functions = {fn["arn"]: fn for _, _, _, fn in tfeval.resource_instances(scope, "aws_lambda_function")}
    return definition, functions


def render(template: Path, function_keys: set[str], map_max_concurrency: int = 3) -> str:
    try:
        from local_pipeline.asl import render_definition
    except ImportError as exc:  # pragma: no cover - depends on the checkout
        raise AssertionError(f"step_functions/local_pipeline/asl.py (render_definition) cannot be imported: {exc}") from exc
    arns = {key: fake_function_arn(key) for key in sorted(function_keys)}
    return render_definition(arns, FAKE_TOPIC_ARN, template=template.read_text(encoding="utf-8"),
                             partition="aws", map_max_concurrency=map_max_concurrency)


def asl_validator_problems(definition: str) -> list[str]:
    if not ASL_VALIDATOR.exists():
        raise FileNotFoundError(f"{ASL_VALIDATOR} is missing: run `make deps` (npm ci installs asl-validator)")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(definition)
        path = handle.name
    try:
        result = subprocess.run([str(ASL_VALIDATOR), "--json-path", path], capture_output=True, text=True, timeout=120)
    finally:
        Path(path).unlink(missing_ok=True)
    if result.returncode == 0:
        return []
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()] or [f"asl-validator exited {result.returncode}"]


def moto_load_problems(definition: str) -> list[str]:
    """Create the state machine in moto's execution mode, whose interpreter parses the definition."""
    import boto3
    from moto import mock_aws

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        client = boto3.client("stepfunctions", region_name=FAKE_REGION)
        try:
            client.create_state_machine(
                name="training", definition=definition,
                roleArn=f"arn:aws:iam::{FAKE_ACCOUNT}:role/training-state-machine",
            )
        except client.exceptions.InvalidDefinition as exc:
            return [f"moto rejected the definition: {exc}"]
        described = client.describe_state_machine(stateMachineArn=f"arn:aws:states:{FAKE_REGION}:{FAKE_ACCOUNT}:stateMachine:training")
        if json.loads(described["definition"]) != json.loads(definition):
            return ["moto stored a different definition"]
    return []


def _states(definition: dict) -> Iterator[tuple[str, dict]]:
    for name, state in definition.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _states(state[key])


def named_lambdas(definition_text: str) -> dict[str, str]:
    """{state name: Lambda function ARN or name} for every Task that invokes a Lambda."""
    out = {}
    for name, state in _states(json.loads(definition_text)):
        if state.get("Type") != "Task":
            continue
        resource = state.get("Resource", "")
        if resource.startswith("arn:aws:lambda:") or ":function:" in resource:
            out[name] = resource
        elif resource.startswith("arn:aws:states:::lambda:invoke"):
            params: dict[str, Any] = state.get("Parameters") or state.get("Arguments") or {}
            out[name] = params.get("FunctionName") or params.get("FunctionName.$") or "<dynamic FunctionName>"
    return out


def unknown_lambda_problems(definition_text: str, created_arns: set[str]) -> list[str]:
    return [f"state {state!r} invokes {target!r}, which is not a Lambda this Terraform creates"
            for state, target in sorted(named_lambdas(definition_text).items()) if target not in created_arns]


def task_actions(definition_text: str) -> dict[str, str]:
    """{state name: IAM action its Task needs} for every Task state."""
    out = {}
    for name, state in _states(json.loads(definition_text)):
        if state.get("Type") != "Task":
            continue
        resource = state.get("Resource", "")
        if resource.startswith("arn:aws:lambda:") or ":function:" in resource:
            out[name] = "lambda:InvokeFunction"
            continue
        integration = re.match(r"arn:aws[a-z-]*:states:::(?:aws-sdk:)?([a-z0-9-]+):([A-Za-z0-9]+)", resource)
        if not integration:
            out[name] = f"<unrecognised resource {resource}>"
            continue
        service, api = integration.groups()
        out[name] = "lambda:InvokeFunction" if (service, api) == ("lambda", "invoke") else f"{service}:{api[0].upper()}{api[1:]}"
    return out


def granted_actions(module: Module, document: str) -> set[str]:
    """Literal actions of one aws_iam_policy_document of the module."""
    body = module.resources("data")[("aws_iam_policy_document", document)].body
    actions = set()
    for statement in body.get("statement", []):
        if unquote(statement.get("effect", '"Allow"')) == "Allow" and isinstance(statement.get("actions"), list):
            actions.update(unquote(a) for a in statement["actions"])
    return actions


def ungranted_task_problems(definition_text: str, granted: set[str]) -> list[str]:
    return sorted(f"state {state!r} needs {action}, which the state machine role does not grant"
                  for state, action in task_actions(definition_text).items() if action not in granted)
