"""Deterministic Personalize names and ARNs derived from the params, so that a
re-run finds what an earlier run created instead of creating a duplicate."""
from __future__ import annotations

import hashlib
import re

NAME_MAX = 63  # Personalize's Name shape: ^[a-zA-Z0-9][a-zA-Z0-9\-_]*, 1..63
_INVALID = re.compile(r"[^a-zA-Z0-9\-_]")


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def resource_name(*parts: str) -> str:
    """Join parts with '-' into a valid Personalize name; names that would be too
    long keep their start and end in a stable hash of the full name."""
    raw = "-".join(p for p in parts if p)
    name = _INVALID.sub("-", raw).strip("-_") or "x"
    if len(name) > NAME_MAX:
        name = f"{name[:NAME_MAX - 9]}-{short_hash(raw)}"
    return name


def arn(partition: str, region: str, account: str, kind: str, path: str) -> str:
    """A Personalize ARN in the partition the pipeline runs in (aws, aws-cn, aws-us-gov...):
    a describe by an ARN of another partition never finds anything."""
    return f"arn:{partition}:personalize:{region}:{account}:{kind}/{path}"


def dataset_group_arn(partition: str, region: str, account: str, name: str) -> str:
    return arn(partition, region, account, "dataset-group", name)


def dataset_arn(partition: str, region: str, account: str, group_name: str, dataset_type: str) -> str:
    return arn(partition, region, account, "dataset", f"{group_name}/{dataset_type}")


def schema_arn(partition: str, region: str, account: str, name: str) -> str:
    return arn(partition, region, account, "schema", name)


def import_job_arn(partition: str, region: str, account: str, name: str) -> str:
    return arn(partition, region, account, "dataset-import-job", name)


def solution_arn(partition: str, region: str, account: str, name: str) -> str:
    return arn(partition, region, account, "solution", name)


def campaign_arn(partition: str, region: str, account: str, name: str) -> str:
    return arn(partition, region, account, "campaign", name)


def filter_arn(partition: str, region: str, account: str, name: str) -> str:
    return arn(partition, region, account, "filter", name)


def retry_names(base: str, attempts: int = 5) -> list[str]:
    """Names for successive attempts at a one-shot job (import, training): a
    re-run reuses the first that did not fail, or creates the next one."""
    return [base] + [resource_name(base[: NAME_MAX - 3], f"r{i}") for i in range(2, attempts + 1)]
