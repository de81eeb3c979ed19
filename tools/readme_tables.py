"""Inputs/outputs tables of the module READMEs, generated from variables.tf and
outputs.tf between the markers below. `.venv/bin/python -m tools.readme_tables`
(or `make generate`) rewrites them; tests/terraform/test_tf_docs.py fails when a
README is out of date."""
from __future__ import annotations

import json
from pathlib import Path

from .tfmodel import REPO_ROOT, body_items, load_module, unquote

BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def _text(value) -> str:
    if isinstance(value, str):
        value = unquote(value)
        if value.startswith("${") and value.endswith("}"):
            value = value[2:-1]
        return value.replace('\\"', '"')
    return json.dumps(_plain(value))


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in body_items(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return _text(value)
    return value


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def tables(module_dir: Path) -> str:
    module = load_module(module_dir)
    lines = ["## Inputs", "", "| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"]
    for name, body in sorted(module.variables.items(), key=lambda kv: ("default" in kv[1], kv[0])):
        default = f"`{_cell(_text(body['default']))}`" if "default" in body else "n/a"
        lines.append(f"| {name} | {_cell(_text(body.get('description', '')))} | `{_cell(_text(body.get('type', 'any')))}` | {default} | {'no' if 'default' in body else 'yes'} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for name, body in sorted(module.outputs.items()):
        lines.append(f"| {name} | {_cell(_text(body.get('description', '')))} |")
    return "\n".join(lines)


def rendered_readme(readme: Path) -> str:
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} has no {BEGIN} ... {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{tables(readme.parent)}\n{END}{tail}"


def module_readmes() -> list[Path]:
    """The READMEs of the modules and of the internal building blocks (modules/_internal/*)."""
    modules = REPO_ROOT / "modules"
    dirs = [p for p in modules.iterdir() if p.is_dir() and not p.name.startswith("_")]
    dirs += [p for p in (modules / "_internal").iterdir() if p.is_dir()]
    return sorted(p / "README.md" for p in dirs)


def main() -> None:
    for readme in module_readmes():
        readme.write_text(rendered_readme(readme), encoding="utf-8")
        print(f"updated {readme.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
