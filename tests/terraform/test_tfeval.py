"""The Terraform evaluator on the expression forms the modules use."""
from __future__ import annotations

from pathlib import Path

import pytest

from tools import tfeval

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "exprs"
ENV = tfeval.Environment(account="123456789012", region="us-east-1", partition="aws-cn")


@pytest.fixture
def scope():
    return tfeval.Scope(FIXTURE, {"settings": {"name": "demo"}}, ENV)


def test_for_expressions_functions_and_grouping(scope):
    assert scope.local("upper_names") == ["A B", "C"]
    assert scope.local("by_name") == {"a_b": 3}
    assert scope.local("grouped") == {"x": ["x", "x"], "y": ["y"]}
    assert scope.local("merged") == {"a": 1, "b": 2, "c": 3}


def test_optional_attributes_take_their_defaults(scope):
    assert scope.var("settings") == {"name": "demo", "size": 3, "labels": {}, "enabled": None}
    assert scope.local("picked") == "unset"
    assert scope.local("tried") == "fallback"


def test_data_sources_and_synthesised_arns(scope):
    assert scope.local("arn") == "arn:aws-cn:s3:::demo-3"
    assert scope.local("queue_arns") == ["arn:aws-cn:sqs:us-east-1:123456789012:demo-0", "arn:aws-cn:sqs:us-east-1:123456789012:demo-1"]


def test_a_missing_required_attribute_is_an_error():
    with pytest.raises(tfeval.EvalError, match="name"):
        tfeval.Scope(FIXTURE, {"settings": {"size": 1}}, ENV).var("settings")


def test_an_unknown_reference_names_its_module(scope):
    with pytest.raises(tfeval.EvalError, match="exprs: no local nope"):
        scope.eval(__import__("hcl2").parses_to_tree("x = local.nope\n").children[0].children[0].children[-1], {}, FIXTURE / "main.tf")
