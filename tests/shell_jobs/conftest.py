"""Fixtures for the Python-shell job tests (run under Python 3.11 and 3.9, no Spark)."""
from __future__ import annotations

import os

import boto3
import pytest
from export_fixtures import REGION, SPEC
from moto import mock_aws

from export_spec import load_spec


@pytest.fixture
def spec():
    return load_spec(SPEC)


@pytest.fixture
def aws():
    """moto-backed S3 and Glue clients (no real AWS)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "testing"
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        glue = boto3.client("glue", region_name=REGION)
        s3.create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
        yield {"s3": s3, "glue": glue}
