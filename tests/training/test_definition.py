"""The state machine template, its renderer and the function registry."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from local_pipeline import asl
from local_pipeline.harness import load_registry
from tools import asl_source

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_PERMISSIONS = {"read_params", "read_exports", "pass_personalize_role", "write_event_tracker_parameter", "use_kms", "list_own_executions", "publish_metrics"}
ARNS = {k: f"arn:aws:lambda:eu-west-1:111122223333:function:pp-{k}" for k in load_registry()}
TOPIC = "arn:aws:sns:eu-west-1:111122223333:notify"


def rendered() -> dict:
    return json.loads(asl.render_definition(ARNS, TOPIC, partition="aws", map_max_concurrency=3))


def test_committed_template_matches_its_source():
    assert asl_source.TEMPLATE_PATH == asl.TEMPLATE_PATH, "the generator writes the template the harness renders"
    assert asl.TEMPLATE_PATH.read_text(encoding="utf-8") == asl_source.render_template_text(), "run: make generate"


def test_registry_matches_template_and_uses_only_known_capabilities():
    registry = load_registry()
    assert asl.function_keys() == set(registry)
    for key, entry in registry.items():
        assert entry["handler"] == f"personalize_pipeline.handlers.{key}"
        assert set(entry["permissions"]) <= ALLOWED_PERMISSIONS, key
        assert all(a.startswith("personalize:") and "*" not in a for a in entry["personalize_actions"]), key
        assert entry["timeout"] > 0 and entry["memory_size"] >= 128


def test_registry_actions_cover_the_calls_each_handler_makes():
    """Every Personalize operation a handler's module calls is in its list."""
    from personalize_pipeline import api_requests

    model = api_requests.service_model()
    registry = load_registry()
    create_ops = {"ensure_dataset_group": "CreateDatasetGroup", "ensure_dataset": "CreateDataset", "start_import": "CreateDatasetImportJob",
                  "start_data_deletion": "CreateDataDeletionJob",
                  "ensure_solution": "CreateSolution", "ensure_extras": "CreateEventTracker", "start_solution_version": "CreateSolutionVersion",
                  "deploy_campaign": "UpdateCampaign", "read_metrics": "GetSolutionMetrics"}
    for key, op in create_ops.items():
        assert op in model.operation_names
        assert f"personalize:{op}" in registry[key]["personalize_actions"], key


def test_renderer_behaves_like_templatefile():
    template = ('{"A": "${function_arns["x"]}", "B": "${notification_topic_arn}", "C": "$${literal}", '
                '"D": "arn:${partition}:states:::sns:publish", "E": ${map_max_concurrency}}')
    assert json.loads(asl.render_definition({"x": "arn:x"}, "arn:t", template, partition="aws-cn", map_max_concurrency=4)) == {
        "A": "arn:x", "B": "arn:t", "C": "${literal}", "D": "arn:aws-cn:states:::sns:publish", "E": 4}
    with pytest.raises(KeyError, match="x"):
        asl.render_definition({}, "arn:t", template, partition="aws", map_max_concurrency=1)
    with pytest.raises(ValueError, match="unsupported template interpolation"):
        asl.render_definition({"x": "a"}, "t", '{"A": "${var.other}"}', partition="aws", map_max_concurrency=1)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="map_max_concurrency"):
            asl.render_definition({"x": "a"}, "t", template, partition="aws", map_max_concurrency=bad)


def test_every_map_runs_at_most_the_given_concurrency_and_publishes_in_the_given_partition():
    for partition, concurrency in (("aws", 1), ("aws-cn", 7), ("aws-us-gov", 3)):
        states = json.loads(asl.render_definition(ARNS, TOPIC, partition=partition, map_max_concurrency=concurrency))["States"]
        maps = {name: state for name, state in states.items() if state["Type"] == "Map"}
        assert len(maps) == 7
        assert {name: state["MaxConcurrency"] for name, state in maps.items()} == {name: concurrency for name in maps}
        publishes = [s["Resource"] for s in states.values() if s["Type"] == "Task" and ":states:::sns:" in s["Resource"]]
        assert publishes == [f"arn:{partition}:states:::sns:publish"] * 2


def test_every_failure_path_notifies_once_then_fails():
    states = rendered()["States"]
    for name, state in states.items():
        if state["Type"] in ("Task", "Map") and name not in ("NotifyFailure", "RecordGateRejection"):
            (catch,) = state["Catch"]
            assert catch["ErrorEquals"] == ["States.ALL"]
            recorder = states[catch["Next"]]
            assert recorder["Parameters"]["step"] == name
            # A rejected gate records its metrics on the way; a metrics error still notifies.
            after = states[recorder["Next"]]
            if after["Type"] == "Choice":
                assert after["Default"] == "NotifyFailure" and name in ("QualityGate", "GateRecommenders")
                record = states[after["Choices"][0]["Next"]]
                assert record["Next"] == "NotifyFailure" and record["Catch"][0]["Next"] == "NotifyFailure"
            else:
                assert recorder["Next"] == "NotifyFailure"
    assert states["NotifyFailure"]["Next"] == "Failed" and states["NotifyFailure"]["Catch"][0]["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"


def test_retries_only_throttling_and_lambda_service_errors_with_jitter():
    def tasks(states):
        for state in states.values():
            if state["Type"] == "Task" and state["Resource"].startswith("arn:aws:lambda"):
                yield state
            if state["Type"] == "Map":
                yield from tasks(state["ItemProcessor"]["States"])

    found = list(tasks(rendered()["States"]))
    assert len(found) == 27  # 10 step tasks (with CleanUp, DeleteVanishedUsers), 9 wait-loop checks, 7 Map item tasks, RecordGateRejection
    for state in found:
        for retrier in state["Retry"]:
            assert "States.ALL" not in retrier["ErrorEquals"] and "ResourcePending" not in retrier["ErrorEquals"]
            assert retrier["JitterStrategy"] == "FULL" and retrier["MaxDelaySeconds"] <= 300


def test_wait_loops_are_wait_choice_loops():
    states = rendered()["States"]
    waits = [n for n, s in states.items() if s["Type"] == "Wait"]
    assert len(waits) == 9
    for name in waits:
        check = states[states[name]["Next"]]
        assert check["Resource"] == ARNS["check_resources"]
        assert states[check["Next"]]["Type"] == "Choice" and states[check["Next"]]["Default"] == name


def test_asl_validator_accepts_the_rendered_definition(tmp_path):
    validator = ROOT / "node_modules" / ".bin" / "asl-validator"
    if not validator.exists() or shutil.which("node") is None:
        pytest.fail("asl-validator is missing: run `npm ci` (package.json pins asl-validator 4.0.0) with Node.js installed")
    path = tmp_path / "definition.json"
    path.write_text(asl.render_definition(ARNS, TOPIC, partition="aws", map_max_concurrency=3), encoding="utf-8")
    completed = subprocess.run([str(validator), "--json-path", str(path)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
