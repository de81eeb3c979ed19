"""What `terraform apply` does to the export workflow's start trigger, in each start mode.

The trigger's arguments are evaluated offline (tools.tfeval, over the module's own
files) for each workflow_start the module accepts. What hashicorp/aws then
does with them is modelled below from the provider's source of aws_glue_trigger
(internal/service/glue/trigger.go: resourceTriggerCreate, resourceTriggerRead,
resourceTriggerUpdate) and its documentation (`enabled` defaults to true):
https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/glue_trigger
"""
from __future__ import annotations

import re

import pytest

from tools import tfeval, tfmodel
from tools.tfmodel import REPO_ROOT

MODULES = REPO_ROOT / "modules"
PROVIDER_DEFAULT_ENABLED = True
WORKFLOW_STARTS = {
    "ON_DEMAND": {},
    "SCHEDULED": {"type": "SCHEDULED", "schedule": "cron(0 3 * * ? *)"},
}


# ------------------------------------------------------------- the provider, modelled
def provider_create(trigger_type: str, enabled: bool, start_on_creation: bool | None) -> tuple[str, list[str]]:
    """(trigger state after create, Glue calls made beyond CreateTrigger).
    CreateTrigger gets StartOnCreation = start_on_creation, or true when enabled and the
    type is not ON_DEMAND; an enabled ON_DEMAND trigger is then started with StartTrigger,
    which runs its actions (the workflow) at once."""
    if trigger_type == "ON_DEMAND":
        return ("CREATED", ["StartTrigger"]) if enabled else ("CREATED", [])
    activate = bool(start_on_creation) if start_on_creation is not None else enabled
    return ("ACTIVATED" if activate else "CREATED"), []


def provider_read_enabled(trigger_type: str, state: str, prior_enabled: bool) -> bool:
    if trigger_type in ("ON_DEMAND", "EVENT"):
        return state in ("CREATED", "CREATING") and prior_enabled
    return state in ("ACTIVATED", "ACTIVATING")


def provider_next_apply(trigger_type: str, configured: bool, state: str, prior_enabled: bool,
                        ignore_changes: list[str]) -> list[str]:
    """Glue calls an apply makes for `enabled` after the trigger reached `state` outside Terraform."""
    observed = provider_read_enabled(trigger_type, state, prior_enabled)
    if "enabled" in ignore_changes or observed == configured:
        return []
    return ["StartTrigger"] if configured else ["StopTrigger"]


# ------------------------------------------------------------- the module, evaluated
@pytest.fixture(scope="module")
def export_module() -> tfmodel.Module:
    return tfmodel.load_module(MODULES / "dataset-export")


def start_trigger_arguments(module: tfmodel.Module, workflow_start: dict) -> dict:
    body = module.resources()[("aws_glue_trigger", "start")].body
    arguments = {name: body.get(name) for name in ("type", "enabled", "start_on_creation")}
    values = tfeval.evaluate(module.path, {k: v for k, v in arguments.items() if v is not None}, {"workflow_start": workflow_start})
    if values.get("enabled") is None:
        values["enabled"] = PROVIDER_DEFAULT_ENABLED
    return values


def ignored_changes(body: dict) -> list[str]:
    return [name for lifecycle in body.get("lifecycle", []) for name in lifecycle.get("ignore_changes", [])]


def test_first_apply_of_an_on_demand_workflow_starts_no_run(export_module):
    trigger = start_trigger_arguments(export_module, WORKFLOW_STARTS["ON_DEMAND"])
    assert trigger["type"] == "ON_DEMAND"
    state, calls = provider_create(trigger["type"], trigger["enabled"], trigger.get("start_on_creation"))
    assert calls == [], f"creating the ON_DEMAND start trigger calls {calls}: the first apply would start a workflow run"
    assert state == "CREATED"


def test_a_scheduled_workflow_is_active_after_the_first_apply(export_module):
    trigger = start_trigger_arguments(export_module, WORKFLOW_STARTS["SCHEDULED"])
    assert trigger["type"] == "SCHEDULED"
    state, calls = provider_create(trigger["type"], trigger["enabled"], trigger.get("start_on_creation"))
    assert (state, calls) == ("ACTIVATED", [])
    # An apply with nothing changed leaves it alone.
    body = export_module.resources()[("aws_glue_trigger", "start")].body
    assert provider_next_apply(trigger["type"], trigger["enabled"], state, trigger["enabled"], ignored_changes(body)) == []


def _trigger_the_drift_lambda_stops(export_module) -> tuple[str, str]:
    """The aws_glue_trigger behind the outputs the drift alerts get as schedule_trigger."""
    pipeline = tfmodel.load_module(MODULES / "personalize-pipeline")
    [drift_call] = [b for b in pipeline.of("module") if b.labels[0] == "schema_drift_alerts"]
    wired = " ".join(tfmodel.strings_in(drift_call.body["schedule_trigger"]))
    outputs = set(re.findall(r"module\.dataset_export\.(\w+)", wired))
    assert outputs == {"schedule_trigger_name", "schedule_trigger_arn"}, wired
    resources = {match for name in outputs
                 for match in re.findall(r"(aws_glue_trigger)\.(\w+)", export_module.outputs[name]["value"])}
    assert len(resources) == 1, resources
    return resources.pop()


def test_a_drift_pause_survives_the_next_apply(export_module):
    resource = _trigger_the_drift_lambda_stops(export_module)
    trigger = start_trigger_arguments(export_module, WORKFLOW_STARTS["SCHEDULED"])
    state, _ = provider_create(trigger["type"], trigger["enabled"], trigger.get("start_on_creation"))
    # The drift Lambda's StopTrigger deactivates the trigger; the next, unrelated apply
    # must not start it again.
    stopped = "DEACTIVATED"
    body = export_module.resources()[resource].body
    calls = provider_next_apply(trigger["type"], trigger["enabled"], stopped, provider_read_enabled(trigger["type"], state, trigger["enabled"]),
                                ignored_changes(body))
    assert calls == [], f"{'.'.join(resource)}: the next apply calls {calls} and undoes the drift pause"


def test_the_provider_model_restarts_a_stopped_trigger_whose_enabled_is_not_ignored():
    """The model is strict enough to catch the undone pause (the failing case above)."""
    assert provider_next_apply("SCHEDULED", True, "DEACTIVATED", True, []) == ["StartTrigger"]
    assert provider_create("ON_DEMAND", PROVIDER_DEFAULT_ENABLED, None) == ("CREATED", ["StartTrigger"])
