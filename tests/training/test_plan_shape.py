"""The plan that travels through the state machine has exactly the declared shape
(personalize_pipeline.plan), and every ``$.plan`` path the state machine reads exists."""
from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from personalize_pipeline import clients, steps
from personalize_pipeline.plan import Plan

from .exports import full_params, make_export

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"


def shape_errors(value, declared, path="plan"):
    """Where ``value`` departs from the type ``declared`` (TypedDicts checked key by key)."""
    origin, args = typing.get_origin(declared), typing.get_args(declared)
    if typing.is_typeddict(declared):
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        hints = typing.get_type_hints(declared)
        errors = [f"{path}.{key}: not declared" for key in sorted(set(value) - set(hints))]
        errors += [f"{path}.{key}: missing" for key in sorted(declared.__required_keys__ - set(value))]
        for key in sorted(set(value) & set(hints)):
            errors += shape_errors(value[key], hints[key], f"{path}.{key}")
        return errors
    if origin is typing.Union:
        options = [shape_errors(value, option, path) for option in args]
        return [] if any(not found for found in options) else min(options, key=len)
    if origin is list:
        return [e for i, item in enumerate(value) for e in shape_errors(item, args[0], f"{path}[{i}]")] \
            if isinstance(value, list) else [f"{path}: not a list"]
    if origin is dict:
        return [e for key, item in value.items() for e in shape_errors(item, args[1], f"{path}.{key}")] \
            if isinstance(value, dict) else [f"{path}: not an object"]
    if declared is typing.Any:
        return []
    if declared is float:
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{path}: not a number"]
    if declared is type(None):
        return [] if value is None else [f"{path}: not null"]
    return [] if isinstance(value, declared) else [f"{path}: not {declared.__name__}"]


@pytest.fixture
def travelling_plan(tmp_path, monkeypatch):
    """The plan as read_params hands it to the state machine, from S3 (moto)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        location = {"CreateBucketConfiguration": {"LocationConstraint": REGION}}
        s3.create_bucket(Bucket="data", **location)
        s3.create_bucket(Bucket="params", **location)
        run_dir = make_export(tmp_path, run_id="r1")
        for file in run_dir.rglob("*"):
            if file.is_file():
                s3.upload_file(str(file), "data", f"exports/r1/{file.relative_to(run_dir).as_posix()}")
        params = {**full_params(), "export": {"manifest_uri": "s3://data/exports/r1/manifest.json", "run_id": "r1"}}
        s3.put_object(Bucket="params", Key="p.json", Body=json.dumps(params).encode())
        clients.set_client_factory(lambda service: boto3.client(service, region_name=REGION))
        try:
            state = steps.read_params("params", "p.json", None, "aws", REGION, "111122223333",
                                      steps.Settings("arn:aws:iam::111122223333:role/personalize", "", "/pp/dev"))
        finally:
            clients.set_client_factory(None)
    return json.loads(json.dumps(state["plan"]))


def test_the_plan_read_params_returns_has_the_declared_shape(travelling_plan):
    assert travelling_plan["eventTracker"] and travelling_plan["filters"] and travelling_plan["campaigns"]
    assert shape_errors(travelling_plan, Plan) == []


def test_the_shape_check_notices_a_key_too_many_or_missing(travelling_plan):
    extra = {**travelling_plan, "datasets": [{**travelling_plan["datasets"][0], "colour": "red"}]}
    missing = {key: value for key, value in travelling_plan.items() if key != "runId"}
    assert shape_errors(extra, Plan) == ["plan.datasets[0].colour: not declared"]
    assert shape_errors(missing, Plan) == ["plan.runId: missing"]


def test_every_plan_path_the_state_machine_reads_is_declared():
    template = (ROOT / "step_functions" / "training.asl.json.tftpl").read_text()
    paths = set(re.findall(r"\$\.plan\.([A-Za-z]+)", template))
    assert paths and paths <= set(typing.get_type_hints(Plan))
