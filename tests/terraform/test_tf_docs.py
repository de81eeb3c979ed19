"""Module layout and READMEs: the files of a terraform-aws-modules style module,
an inputs/outputs table in step with the code, and a usage example."""
from __future__ import annotations

import pytest

from tools import readme_tables
from tools.tfmodel import REPO_ROOT

MODULE_DIRS = [readme.parent for readme in readme_tables.module_readmes()]


def test_the_four_modules_and_the_internal_building_blocks_exist():
    assert {p.relative_to(REPO_ROOT / "modules").as_posix() for p in MODULE_DIRS} == {
        "personalize-pipeline", "dataset-export", "training-pipeline", "schema-drift-alerts",
        "_internal/lambda-functions", "_internal/notification-topic"}


@pytest.mark.parametrize("module_dir", MODULE_DIRS, ids=lambda p: p.name)
def test_module_has_the_standard_files(module_dir):
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (module_dir / name).is_file(), f"{module_dir.name} has no {name}"


@pytest.mark.parametrize("module_dir", MODULE_DIRS, ids=lambda p: p.name)
def test_readme_table_matches_the_code_and_shows_usage(module_dir):
    readme = module_dir / "README.md"
    current = readme.read_text(encoding="utf-8")
    assert current == readme_tables.rendered_readme(readme), (
        f"{readme.relative_to(REPO_ROOT)} is out of date: run `make generate`")
    assert "```hcl" in current and 'source = "' in current, f"{readme.name} of {module_dir.name} has no usage example"


@pytest.mark.parametrize("example", ["complete", "minimal", "disabled"])
def test_examples_exist(example):
    assert (REPO_ROOT / "modules" / "personalize-pipeline" / "examples" / example / "main.tf").is_file()
