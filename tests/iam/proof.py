"""Proves each recorded call allowed by the role Terraform gives its component.

The suites stand resources up under names of their own. A call's resources
are renamed to the deployed ones by pairing what the component was configured
with in the test (a Lambda's environment, a Glue job's --arguments) with what
Terraform configures it with. Names that reach a component another way (an
event, the harness's buckets) are paired in ``SUITE_BINDINGS``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from . import actions, policy, render
from .recorder import Call
from .render import Stack

# Local name -> the root module output it stands for.
SUITE_BINDINGS: dict[str, str] = {
    # step_functions/local_pipeline/harness.py: the params object EventBridge
    # announces, and the export root start_training hands over.
    "s3://personalize-params/training/params.json": "params_uri",
    "s3://personalize-data/personalize": "export_root",
    # tests/drift: the catalog database the rule watches.
    "retail": "catalog_database_name",
}
# Local resource name -> the root output whose ARN ends in the deployed name.
SUITE_NAMES_FROM_ARNS: dict[str, str] = {
    # step_functions/local_pipeline/harness.py: the training state machine, whose
    # running executions read_params lists.
    "personalize-training": "state_machine_arn",
}


# Condition keys whose value is a name the component is configured with
# (METRICS_NAMESPACE), renamed to the deployed one like a resource.
TRANSLATED_CONDITION_KEYS = {"cloudwatch:namespace"}

# Calls a test makes that the deployed wiring can never deliver, with the reason.
UNREACHABLE = [
    ("lambda:schema_drift", "database_that_is_gone",
     "the catalog rule's event pattern passes only events of the watched database (detail.databaseName)"),
]


@dataclass
class Verdict:
    call: Call
    role: str
    request: actions.Request
    decision: policy.Decision


@dataclass
class Proof:
    verdicts: list[Verdict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Calls made under a switch this root turns off: (call, reason).
    out_of_reach: list[tuple[Call, str]] = field(default_factory=list)

    @property
    def denied(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.decision.allowed]


def _as_arn(value: str, partition: str) -> str:
    return f"arn:{partition}:s3:::" + value[len("s3://"):] if value.startswith("s3://") else value


def bindings(call: Call, deployed_config: dict, stack: Stack) -> list[tuple[str, str]]:
    pairs = {}
    for key, local in call.config.items():
        deployed = deployed_config.get(key)
        if isinstance(local, str) and isinstance(deployed, str) and local and deployed and local != deployed:
            pairs[local] = deployed
    for local, output in SUITE_BINDINGS.items():
        pairs.setdefault(local, stack.outputs[output])
    for local, output in SUITE_NAMES_FROM_ARNS.items():
        pairs.setdefault(local, stack.outputs[output].rsplit(":", 1)[1])
    return sorted(pairs.items(), key=lambda p: -len(p[0]))


def translate(resource: str, pairs: Iterable[tuple[str, str]], partition: str = "aws") -> str:
    prefix = ""
    if resource.startswith(actions.KEY_OF):
        prefix, resource = actions.KEY_OF, resource[len(actions.KEY_OF):]
    for local, deployed in pairs:
        if local.startswith(("s3://", "arn:")):
            local_arn, deployed_arn = _as_arn(local, partition), _as_arn(deployed, partition)
            if resource == local_arn or resource.startswith(local_arn.rstrip("/") + "/"):
                return prefix + deployed_arn + resource[len(local_arn):]
        else:
            local_name, deployed_name = local.strip("/"), deployed.strip("/")
            if local_name:
                resource = re.sub(rf"(?<=[:/]){re.escape(local_name)}(?=[/:]|$)", deployed_name, resource)
    return prefix + resource


def prove(calls: Iterable[Call], root_stack: Stack) -> Proof:
    """Each call is judged in the root rendered for the call's own region and
    partition: a run in cn-north-1 stands for a deployment in aws-cn."""
    proof = Proof()
    seen: set = set()
    for call in calls:
        environment = render.environment_of(call.region or root_stack.environment.region)
        stack = root_stack if environment == root_stack.environment else render.stack(root_stack.root, environment)
        partition = environment.partition
        context = actions.MapContext(environment.account, environment.region, partition)
        component = stack.components.get(call.component)
        role = stack.role_of(call.component)
        if component is None or role is None:
            proof.problems.append(f"{call.component} (in {call.test}) is not wired to a role in {stack.root}")
            continue
        try:
            requests = actions.requests_of(call, context)
        except actions.UnmappedCall as exc:
            proof.problems.append(f"{call.component}: {call.service}.{call.operation} (in {call.test}): {exc}")
            continue
        if any(call.component == c and marker in call.test for c, marker, _ in UNREACHABLE):
            continue
        switched_off = _switched_off(call, component.config)
        if switched_off:
            proof.out_of_reach.append((call, f"{', '.join(switched_off)} is off in {stack.root}"))
            continue
        pairs = bindings(call, component.config, stack)
        absent = _absent_names(call, component.config)
        for request in requests:
            if any(re.search(rf"(?<=[:/]){re.escape(name)}(?=[/:]|$)", request.resource) or request.resource == name for name in absent):
                proof.out_of_reach.append((call, f"{request.resource} is not set up in {stack.root}"))
                continue
            resource = translate(request.resource, pairs, partition)
            # Condition values that are configured names are renamed like resources.
            conditions = tuple((k, dict(pairs).get(v, translate(v, pairs, partition)) if k in TRANSLATED_CONDITION_KEYS else v)
                               for k, v in request.context)
            if request.action == "s3:ListBucket" and "s3:prefix" in request.context_dict():
                # A listing is bound by its bucket and prefix together.
                listed = translate(f"{request.resource}/{request.context_dict()['s3:prefix']}", pairs, partition)
                bucket_arn, _, prefix = listed.partition(":::")[2].partition("/")
                resource = f"arn:{partition}:s3:::{bucket_arn}"
                conditions = tuple((k, prefix if k == "s3:prefix" else v) for k, v in request.context)
            if resource.startswith(actions.KEY_OF):
                encrypted = resource[len(actions.KEY_OF):]
                if encrypted.startswith(f"arn:{partition}:s3:::"):
                    encrypted = encrypted.split("/", 1)[0]  # the bucket of the object
                if encrypted not in stack.encryption_keys and encrypted not in stack.unencrypted:
                    proof.problems.append(f"{call.component}: {call.service}.{call.operation} (in {call.test}): "
                                          f"{encrypted} is no resource of {stack.root}, so its KMS key is unknown")
                    continue
                resource = stack.encryption_keys.get(encrypted, "")
                if not resource:
                    continue  # a deployed resource without a customer managed key
            request = actions.Request(request.action, resource, conditions, request.via)
            key = (call.component, request)
            if key in seen:
                continue
            seen.add(key)
            proof.verdicts.append(Verdict(call, role.name, request, _decide(stack, role, request)))
    return proof


def _switched_off(call: Call, deployed_config: dict) -> list[str]:
    """Flags the test turned on that this root turns off: the deployed component
    never takes the code path the call was made on."""
    return sorted(k for k, v in deployed_config.items()
                  if isinstance(v, str) and v.lower() == "false" and str(call.config.get(k, "false")).lower() == "true")


def _absent_names(call: Call, deployed_config: dict) -> set[str]:
    """Resources the test named (a trigger, a key) that this root leaves unset."""
    return {str(call.config[k]).strip("/") for k, v in deployed_config.items()
            if v == "" and call.config.get(k) and str(call.config[k]).lower() not in ("true", "false")}


def _decide(stack: Stack, role, request: actions.Request) -> policy.Decision:
    """The role's policies, then the resource's own policy where one is rendered:
    a bucket policy's Deny, and a key policy that must allow the role (directly or
    through the account, which delegates to IAM policies)."""
    decision = policy.evaluate(role.policies, request)
    environment = stack.environment
    principals = {role.arn, f"arn:{environment.partition}:iam::{environment.account}:root"}
    s3_prefix = f"arn:{environment.partition}:s3:::"
    if request.action.startswith("s3:") and request.resource.startswith(s3_prefix):
        bucket = request.resource[len(s3_prefix):].split("/", 1)[0]
        if bucket in stack.bucket_policies:
            by_bucket = policy.evaluate({f"bucket policy of {bucket}": policy.statements_for(stack.bucket_policies[bucket], principals)}, request)
            decision.denied_by += by_bucket.denied_by
    if request.action.startswith("kms:") and request.resource in stack.key_policies:
        by_key = policy.evaluate({"key policy": policy.statements_for(stack.key_policies[request.resource], principals)}, request)
        decision.denied_by += by_key.denied_by
        if not by_key.allowed_by:
            decision.denied_by.append("key policy (no statement allows the role or the account)")
    decision.allowed = bool(decision.allowed_by) and not decision.denied_by
    return decision


def describe_denial(verdict: Verdict, stack: Stack) -> str:
    call, request = verdict.call, verdict.request
    why = f" (needed for {request.via})" if request.via else ""
    context = f" with {dict(request.context)}" if request.context else ""
    denied_by = f"; denied by {verdict.decision.denied_by}" if verdict.decision.denied_by else "; no statement allows it"
    return (f"[{stack.root}] role {verdict.role} may not {request.action} on {request.resource}{context}{why}{denied_by}: "
            f"{call.component} called {call.service}.{call.operation} in {call.test}")
