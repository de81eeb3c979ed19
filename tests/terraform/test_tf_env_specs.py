"""Each environment's export spec is the template rendered with its tfvars: the JDBC URL,
secret, catalog database and source paths are written once, in envs/<env>.tfvars."""
from __future__ import annotations

import pytest

from tools import env_specs
from tools.tfmodel import REPO_ROOT


def test_the_environments_are_dev_and_prod():
    assert env_specs.environments() == ["dev", "prod"]


@pytest.mark.parametrize("env", env_specs.environments())
def test_env_spec_is_the_template_rendered_with_its_tfvars(env):
    current = env_specs.spec_path(env).read_text(encoding="utf-8")
    assert current == env_specs.rendered(env), (
        f"{env_specs.spec_path(env).relative_to(REPO_ROOT)} is stale: run `make generate`")


def test_env_spec_takes_the_values_of_its_own_tfvars():
    from export_spec import load_spec

    for env in env_specs.environments():
        values = env_specs.tfvars(env)
        spec = load_spec(env_specs.spec_path(env))
        assert spec.sources["orders"].jdbc.url == values["connections"]["shop_db"]["url"]
        assert {database for database, _ in spec.source_columns()} == {values["catalog_database_name"]}


def test_a_value_the_tfvars_do_not_set_is_named_with_its_line():
    template = "version: 1\nsources:\n  a: {path: ${sources.missing.path}}\n"
    with pytest.raises(env_specs.SpecTemplateError, match=r"spec.tftpl:3: \$\{sources.missing.path\}: the tfvars set no 'missing'"):
        env_specs.render(template, {"sources": {"present": {"path": "s3://x/"}}}, source="spec.tftpl")
    with pytest.raises(env_specs.SpecTemplateError, match=r"spec.tftpl:1: \$\{sources\} is"):
        env_specs.render("${sources}", {"sources": {}}, source="spec.tftpl")
