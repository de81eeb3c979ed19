"""terraform fmt through tools.terraform_cli (python-terraform driving the Terraform from PyPI)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import terraform_cli
from tools.tfmodel import REPO_ROOT, TERRAFORM_ROOTS

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # broken code each check must reject


@pytest.mark.parametrize("root", TERRAFORM_ROOTS)
def test_terraform_code_is_formatted(root):
    [result] = terraform_cli.fmt([REPO_ROOT / root], check=True)
    assert result.ok, f"terraform fmt -check failed for {root}/ (run `make fmt`):\n{result.output}"


def test_fmt_check_fails_on_unformatted_fixture():
    [result] = terraform_cli.fmt([FIXTURES / "unformatted"], check=True)
    assert not result.ok
    assert "main.tf" in result.output


def test_fmt_check_changes_nothing_and_fmt_rewrites(tmp_path):
    folder = tmp_path / "unformatted"
    shutil.copytree(FIXTURES / "unformatted", folder)
    before = (folder / "main.tf").read_text()

    [checked] = terraform_cli.fmt([folder], check=True)
    assert not checked.ok and (folder / "main.tf").read_text() == before

    [written] = terraform_cli.fmt([folder], check=False)
    assert written.ok, written.output
    assert "main.tf" in written.output and (folder / "main.tf").read_text() != before
    [rechecked] = terraform_cli.fmt([folder], check=True)
    assert rechecked.ok, rechecked.output


def test_fmt_check_command_exits_non_zero_naming_the_folder():
    # The form `make fmt-check` runs.
    result = subprocess.run([sys.executable, "-m", "tools.terraform_cli", "fmt-check", "modules",
                             str(FIXTURES / "unformatted")], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1
    assert "unformatted/main.tf" in result.stdout
    assert "unformatted has unformatted files" in result.stderr and "modules has" not in result.stderr
