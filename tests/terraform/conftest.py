"""Fixtures of the offline Terraform checks."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tools import tfmodel, tfschema

HERE = Path(__file__).resolve().parent
# tfeval.py sits beside the tests that import it.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # broken code each check must reject


@pytest.fixture(scope="session")
def aws_schema() -> dict:
    try:
        return tfschema.full_schema()
    except tfschema.SchemaUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def terraform_modules() -> list[tfmodel.Module]:
    dirs = tfmodel.module_dirs()
    assert dirs, "no .tf files found under modules/ or envs/"
    return [tfmodel.load_module(d) for d in dirs]


@pytest.fixture
def fixture_module():
    def load(name: str) -> tfmodel.Module:
        return tfmodel.load_module(FIXTURES / name)
    return load
