"""Each environment's export spec, envs/<env>.export_spec.yaml, written from one
template, envs/export_spec.yaml.tftpl, and the values of envs/<env>.tfvars: the JDBC
URL, the secret, the catalog database and the source paths are set once, in the
environment's tfvars. `.venv/bin/python -m tools.env_specs` (or `make generate`)
rewrites them; tests/terraform/test_tf_env_specs.py fails when one is stale.

The template uses Terraform's `${...}` interpolation of a variable or an attribute
path (`${connections.shop_db.url}`), nothing more."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from . import tfeval
from .tfmodel import REPO_ROOT

ENVS = REPO_ROOT / "envs"
TEMPLATE = ENVS / "export_spec.yaml.tftpl"
_INTERPOLATION = re.compile(r"\$\{\s*([A-Za-z_][\w]*(?:\.[\w-]+)*)\s*\}")


class SpecTemplateError(Exception):
    pass


def environments() -> list[str]:
    return sorted(p.name.removesuffix(".tfvars") for p in ENVS.glob("*.tfvars"))


def tfvars(env: str) -> dict[str, Any]:
    """The values envs/<env>.tfvars sets, as Terraform reads them."""
    return tfeval._plain(dict(tfeval.root(ENVS, tfeval.Environment(), var_file=f"{env}.tfvars").inputs))


def render(template: str, values: dict[str, Any], source: str = str(TEMPLATE)) -> str:
    def value_of(match: re.Match, line: int) -> str:
        value: Any = values
        for part in match.group(1).split("."):
            if not isinstance(value, dict) or part not in value:
                raise SpecTemplateError(f"{source}:{line}: ${{{match.group(1)}}}: the tfvars set no {part!r} there")
            value = value[part]
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise SpecTemplateError(f"{source}:{line}: ${{{match.group(1)}}} is {value!r}, not a string or number")
        return str(value)

    lines = template.splitlines(keepends=True)
    return "".join(_INTERPOLATION.sub(lambda m, n=n: value_of(m, n), text) for n, text in enumerate(lines, 1))


def spec_path(env: str) -> Path:
    return ENVS / f"{env}.export_spec.yaml"


def rendered(env: str) -> str:
    return render(TEMPLATE.read_text(encoding="utf-8"), {**tfvars(env), "environment": env})


def main() -> None:
    for env in environments():
        spec_path(env).write_text(rendered(env), encoding="utf-8")
        print(f"updated {spec_path(env).relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
