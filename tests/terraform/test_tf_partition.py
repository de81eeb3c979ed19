"""ARNs follow the partition the pipeline is deployed to (aws, aws-cn, aws-us-gov...):
the modules take it from data.aws_partition, and the values Terraform computes from
the training input are evaluated (tools.tfeval) for each partition."""
from __future__ import annotations

import json
import re

import pytest

from tools import tfeval, tfmodel
from tools.tfmodel import REPO_ROOT

MODULES = REPO_ROOT / "modules"
PARTITIONS = ["aws", "aws-cn", "aws-us-gov"]
_LITERAL_PARTITION = re.compile(r"arn:aws(-[a-z]+)*:")


@pytest.fixture(scope="module")
def composition() -> tfmodel.Module:
    return tfmodel.load_module(MODULES / "personalize-pipeline")


def _partition_check(composition: tfmodel.Module) -> str:
    body = composition.resources()[("terraform_data", "validation")].body
    [rule] = [p for lifecycle in body["lifecycle"] for p in lifecycle["precondition"] if "local.training_arns" in p["condition"]]
    return rule["condition"]


def _evaluate(composition, partition: str, training: dict) -> dict:
    return tfeval.evaluate(composition.path, {
        "partition": json.dumps(partition),
        "training_solutions": composition.locals["training_solutions"],
        "training_arns": composition.locals["training_arns"],
        "accepted": _partition_check(composition),
    }, {"training": training})


def test_the_module_partition_is_the_deploying_one(composition):
    assert composition.locals["partition"] == "${data.aws_partition.current.partition}"


@pytest.mark.parametrize("partition", PARTITIONS)
def test_the_default_solution_trains_the_recipe_of_the_deploying_partition(composition, partition):
    values = _evaluate(composition, partition, {})
    [solution] = values["training_solutions"]
    assert solution["recipe_arn"] == f"arn:{partition}:personalize:::recipe/aws-user-personalization-v2"
    assert values["accepted"] is True


@pytest.mark.parametrize("partition", PARTITIONS)
@pytest.mark.parametrize("field", ["recipe_arn", "dataset_group_kms_key_arn"])
def test_arns_of_another_partition_are_refused_at_plan(composition, partition, field):
    other = "aws" if partition != "aws" else "aws-cn"

    def training(arn_partition: str) -> dict:
        recipe = f"arn:{arn_partition if field == 'recipe_arn' else partition}:personalize:::recipe/aws-similar-items"
        key = f"arn:{arn_partition if field == 'dataset_group_kms_key_arn' else partition}:kms:eu-west-1:111122223333:key/k"
        return {"solutions": [{"name": "similar", "recipe_arn": recipe}], "dataset_group_kms_key_arn": key}

    assert _evaluate(composition, partition, training(partition))["accepted"] is True
    assert _evaluate(composition, partition, training(other))["accepted"] is False


def test_no_module_or_env_writes_a_partition_literally():
    """Every ARN the modules and envs build names the partition through data.aws_partition.
    (The examples keep the placeholder ARNs a user replaces with their own.)"""
    found = []
    for tf in sorted([*MODULES.rglob("*.tf"), *(REPO_ROOT / "envs").rglob("*.tf")]):
        if "examples" in tf.parts or ".terraform" in tf.parts or "build" in tf.parts:
            continue
        for number, line in enumerate(tf.read_text(encoding="utf-8").splitlines(), 1):
            if _LITERAL_PARTITION.search(line):
                found.append(f"{tf.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
