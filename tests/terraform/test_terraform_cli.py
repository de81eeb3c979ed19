"""plan/apply argument building of tools.terraform_cli, against a fake terraform that records its argv."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tools import terraform_cli
from tools.terraform_cli import TerraformCliError
from tools.tfmodel import REPO_ROOT

FAKE_TERRAFORM = """#!{python}
import json, os, sys
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
if sys.argv[1:2] == ["version"]:
    print(json.dumps({{"terraform_version": {version!r}}}))
sys.exit(int(os.environ.get("FAKE_TERRAFORM_EXIT", "0")) if sys.argv[1:2] == ["plan"] else 0)
"""


def fake_terraform(tmp_path: Path, version: str = "1.10.5") -> tuple[Path, Path]:
    log = tmp_path / "calls.jsonl"
    binary = tmp_path / "bin" / "terraform"
    binary.parent.mkdir()
    binary.write_text(FAKE_TERRAFORM.format(python=sys.executable, log=str(log), version=version))
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    return binary, log


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "env"
    folder.mkdir()
    (folder / "dev.tfvars").write_text('name = "dev"\n')
    (folder / "dev.s3.tfbackend").write_text('bucket = "state"\n')
    return folder


def test_plan_inits_with_the_backend_config_then_plans_into_a_saved_plan(tmp_path, root):
    binary, log = fake_terraform(tmp_path)
    code = terraform_cli.plan(str(root), var_files=["dev.tfvars"], backend_configs=["dev.s3.tfbackend"],
                              out="dev.tfplan", terraform=str(binary))
    assert code == 0
    version, init, plan = calls(log)
    assert version["argv"] == ["version", "-json"]
    # One root serves every environment: init re-reads the backend settings of the one asked for.
    assert init == {"argv": ["init", "-input=false", "-backend-config=dev.s3.tfbackend", "-reconfigure", "-backend=true"],
                    "cwd": str(root)}
    assert plan == {"argv": ["plan", "-var-file=dev.tfvars", "-input=false", "-out=dev.tfplan"], "cwd": str(root)}


def test_plan_without_options_uses_the_root_defaults(tmp_path, root):
    binary, log = fake_terraform(tmp_path)
    assert terraform_cli.plan(str(root), terraform=str(binary)) == 0
    _, init, plan = calls(log)
    assert init["argv"] == ["init", "-input=false", "-backend=true"]
    assert plan["argv"] == ["plan", "-input=false", "-out=tfplan"]


def test_plan_returns_terraforms_failure(tmp_path, root, monkeypatch):
    binary, _ = fake_terraform(tmp_path)
    monkeypatch.setenv("FAKE_TERRAFORM_EXIT", "1")
    assert terraform_cli.plan(str(root), terraform=str(binary)) == 1


def test_apply_applies_the_saved_plan_without_variables(tmp_path, root):
    # Terraform refuses -var/-var-file beside a saved plan.
    binary, log = fake_terraform(tmp_path)
    (root / "dev.tfplan").write_bytes(b"plan")
    assert terraform_cli.apply(str(root), plan_file="dev.tfplan", terraform=str(binary)) == 0
    _, apply = calls(log)
    assert apply == {"argv": ["apply", "-input=false", "-auto-approve=false", "dev.tfplan"], "cwd": str(root)}


def test_apply_without_a_saved_plan_fails_before_running_terraform(tmp_path, root):
    binary, log = fake_terraform(tmp_path)
    with pytest.raises(TerraformCliError, match=r"tfplan not found: run the plan first"):
        terraform_cli.apply(str(root), terraform=str(binary))
    assert not log.exists()


def test_plan_names_a_missing_var_file(tmp_path, root):
    binary, log = fake_terraform(tmp_path)
    with pytest.raises(TerraformCliError, match=r"prod\.tfvars not found"):
        terraform_cli.plan(str(root), var_files=["prod.tfvars"], terraform=str(binary))
    assert not log.exists()


def test_terraform_comes_from_the_env_var_when_no_option(tmp_path, root, monkeypatch):
    binary, log = fake_terraform(tmp_path)
    monkeypatch.setenv("TERRAFORM_BIN", str(binary))
    assert terraform_cli.plan(str(root)) == 0
    assert [call["argv"][0] for call in calls(log)] == ["version", "init", "plan"]


def test_missing_terraform_is_named(tmp_path, root, monkeypatch):
    monkeypatch.setenv("TERRAFORM_BIN", str(tmp_path / "nowhere" / "terraform"))
    with pytest.raises(TerraformCliError, match=r"no Terraform found \(TERRAFORM_BIN: .*nowhere/terraform\)"):
        terraform_cli.plan(str(root))


def test_terraform_older_than_1_10_is_refused_before_init(tmp_path, root):
    binary, log = fake_terraform(tmp_path, version="1.0.3")
    with pytest.raises(TerraformCliError, match=r"is Terraform 1\.0\.3; plan and apply need >= 1\.10\.0"):
        terraform_cli.plan(str(root), terraform=str(binary))
    assert [call["argv"] for call in calls(log)] == [["version", "-json"]]


def test_make_plan_and_apply_pass_env_dir_and_terraform(tmp_path):
    # What the Makefile's plan/apply targets run, without running Terraform: make -n prints the commands.
    env = {**os.environ, "TERRAFORM_BIN": "/opt/terraform"}
    dry = subprocess.run(["make", "-n", "--no-print-directory", "plan", "apply", "ENV=prod"], cwd=REPO_ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    lines = [line for line in dry.stdout.splitlines() if "tools.terraform_cli" in line]
    assert len(lines) == 2, dry.stdout
    # One root for every environment: ENV picks the tfvars, the backend settings and the plan file.
    assert lines[0].split("tools.terraform_cli ")[1].split() == [
        "plan", "--dir", "envs", "--var-file", "prod.tfvars", "--backend-config", "prod.s3.tfbackend", "--out", "prod.tfplan"]
    assert lines[1].split("tools.terraform_cli ")[1].split() == ["apply", "--dir", "envs", "--plan", "prod.tfplan"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_environment_has_its_tfvars_and_backend_settings_in_the_one_root(env):
    root = REPO_ROOT / "envs"
    assert (root / f"{env}.tfvars").is_file() and (root / f"{env}.s3.tfbackend").is_file()
    backend = (root / f"{env}.s3.tfbackend").read_text(encoding="utf-8")
    assert f'key    = "personalize-pipeline/{env}/terraform.tfstate"' in backend
    assert not [p for p in root.iterdir() if p.is_dir() and p.name != ".terraform"], "envs/ holds one root, no folder per environment"
