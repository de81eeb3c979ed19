"""Fixtures of the offline Terraform checks."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import tfcheck  # noqa: E402
import tfschema  # noqa: E402
from tfcheck import FIXTURES  # noqa: E402


@pytest.fixture(scope="session")
def aws_schema() -> dict:
    try:
        return tfschema.full_schema()
    except tfschema.SchemaUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def terraform_modules() -> list[tfcheck.Module]:
    dirs = tfcheck.module_dirs()
    assert dirs, "no .tf files found under modules/ or envs/"
    return [tfcheck.load_module(d) for d in dirs]


@pytest.fixture
def fixture_module():
    def load(name: str) -> tfcheck.Module:
        return tfcheck.load_module(FIXTURES / name)
    return load
