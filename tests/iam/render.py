"""Each role's effective policy, and the role each deployed component runs as,
rendered from the Terraform roots for concrete values.

The roots are the complete example and the environment root (envs/) with
dev.tfvars, rendered in moto's default account and region (the ones most of the
suites' calls carry), partition ``aws``, and again for any other region a call was made in, with that region's partition.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import boto3

from tools import tfeval

from . import recorder

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOTS = {
    "complete": REPO_ROOT / "modules" / "personalize-pipeline" / "examples" / "complete",
    "dev": REPO_ROOT / "envs",
}
# The environment root serves every environment; each is a tfvars file of it.
VAR_FILES = {"dev": "dev.tfvars"}
# moto's default account and region, which most recorded calls carry.
ENVIRONMENT = tfeval.Environment(account="123456789012", region="us-east-1", partition="aws")


@functools.lru_cache(maxsize=None)
def environment_of(region: str) -> tfeval.Environment:
    """The environment a call made in ``region`` is judged in: the same account,
    that region and its partition (a run in cn-north-1 is a deployment in aws-cn)."""
    if not region or region == ENVIRONMENT.region:
        return ENVIRONMENT
    partition = boto3.session.Session().get_partition_for_region(region)
    return tfeval.Environment(account=ENVIRONMENT.account, region=region, partition=partition)


@dataclass
class Role:
    name: str
    arn: str
    address: str
    policies: dict[str, dict] = field(default_factory=dict)   # inline policy name -> document
    trust: dict = field(default_factory=dict)


@dataclass
class Component:
    name: str             # lambda:<key>, glue:<job>, service:personalize
    role_arn: str
    address: str
    config: dict          # deployed environment / job arguments


@dataclass
class Stack:
    root: str
    environment: tfeval.Environment = ENVIRONMENT
    roles: dict[str, Role] = field(default_factory=dict)         # by ARN
    components: dict[str, Component] = field(default_factory=dict)
    key_policies: dict[str, dict] = field(default_factory=dict)  # key ARN -> key policy
    bucket_policies: dict[str, dict] = field(default_factory=dict)
    encryption_keys: dict[str, str] = field(default_factory=dict)  # bucket / topic ARN -> KMS key ARN
    unencrypted: set[str] = field(default_factory=set)              # buckets / topics without one
    outputs: dict[str, Any] = field(default_factory=dict)

    def role_of(self, component: str) -> Optional[Role]:
        wired = self.components.get(component)
        return self.roles.get(wired.role_arn) if wired else None


def _instances(scope: tfeval.Scope, type_: str) -> Iterator[tuple[str, Any, Any]]:
    """Instances of the resources of this type declared in this module instance itself."""
    for module, name, key, instance in tfeval.resource_instances(scope, type_):
        if module is scope:
            yield name, key, instance


def _block_attribute(scope: tfeval.Scope, instance: Any, block_kind: str, attribute: str) -> Any:
    for sub in instance.block.body.blocks_of(block_kind):
        if attribute in sub.body.attributes:
            return scope.eval(sub.body.attributes[attribute], instance.ctx, instance.block.file)
    return None


def render(root_name: str, environment: tfeval.Environment = ENVIRONMENT) -> Stack:
    inputs = {"account_id": environment.account, "region": environment.region} if root_name == "dev" else {}
    root = tfeval.root(ROOTS[root_name], environment, inputs, VAR_FILES.get(root_name))
    stack = Stack(root_name, environment)
    handlers = {handler: component for component, handler in recorder.lambda_entry_points().items()}
    for scope in tfeval.module_scopes(root):
        for name, key, role in _instances(scope, "aws_iam_role"):
            stack.roles[role["arn"]] = Role(role["name"], role["arn"], role.where, trust=json.loads(role["assume_role_policy"]))
        for name, key, fn in _instances(scope, "aws_lambda_function"):
            component = handlers.get(fn["handler"])
            if component:
                env = _block_attribute(scope, fn, "environment", "variables") or {}
                stack.components[component] = Component(component, fn["role"], fn.where, dict(env))
        for name, key, job in _instances(scope, "aws_glue_job"):
            workflow = next(iter(scope.instances("resource", "aws_glue_workflow", "this").values()))
            arguments = dict(job["default_arguments"])
            arguments["--WORKFLOW_NAME"] = workflow["name"]  # Glue passes it when the workflow starts the job
            stack.components[f"glue:{key}"] = Component(f"glue:{key}", job["role_arn"], job.where, arguments)
        for name, key, key_resource in _instances(scope, "aws_kms_key"):
            stack.key_policies[key_resource["arn"]] = json.loads(key_resource["policy"])
        for name, key, topic in _instances(scope, "aws_sns_topic"):
            if topic.get("kms_master_key_id"):
                stack.encryption_keys[topic["arn"]] = topic["kms_master_key_id"]
            else:
                stack.unencrypted.add(topic["arn"])
        for name, key, bucket in _instances(scope, "aws_s3_bucket"):
            stack.unencrypted.add(bucket["arn"])  # until its encryption configuration names a key
        for name, key, sse in _instances(scope, "aws_s3_bucket_server_side_encryption_configuration"):
            for rule in sse.block.body.blocks_of("rule"):
                for default in rule.body.blocks_of("apply_server_side_encryption_by_default"):
                    if "kms_master_key_id" in default.body.attributes:
                        bucket_arn = f"arn:{environment.partition}:s3:::{sse['bucket']}"
                        stack.encryption_keys[bucket_arn] = scope.eval(default.body.attributes["kms_master_key_id"], sse.ctx, sse.block.file)
                        stack.unencrypted.discard(bucket_arn)
        for name, key, bucket_policy in _instances(scope, "aws_s3_bucket_policy"):
            stack.bucket_policies[str(bucket_policy["bucket"])] = json.loads(bucket_policy["policy"])
    for scope in tfeval.module_scopes(root):
        for name, key, policy in _instances(scope, "aws_iam_role_policy"):
            role = next((r for r in stack.roles.values() if r.name == policy["role"]), None)
            if role is None:
                raise tfeval.EvalError(f"{policy.where}: role {policy['role']!r} is not a role of this stack")
            role.policies[policy["name"]] = json.loads(policy["policy"])
    # Amazon Personalize runs import jobs with the role the functions pass to it.
    passed = {c.config.get("PERSONALIZE_ROLE_ARN") for c in stack.components.values() if c.config.get("PERSONALIZE_ROLE_ARN")}
    for arn in passed:
        stack.components["service:personalize"] = Component("service:personalize", arn, "PERSONALIZE_ROLE_ARN", {"PERSONALIZE_ROLE_ARN": arn})
    module = root.module("personalize_pipeline")
    stack.outputs = {k: module[k] for k in module.keys()}
    return stack


_STACKS: dict[tuple, Stack] = {}


def stack(root_name: str, environment: tfeval.Environment = ENVIRONMENT) -> Stack:
    key = (root_name, environment.account, environment.region, environment.partition)
    if key not in _STACKS:
        _STACKS[key] = render(root_name, environment)
    return _STACKS[key]
