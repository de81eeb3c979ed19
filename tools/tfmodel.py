"""The model of the Terraform code the offline checks read: each .tf file parsed
with python-hcl2 into blocks, grouped by module directory.

python-hcl2 keeps expressions as text ("${var.name}", quoted literals as
"\"text\"") and marks blocks with "__is_block__"; the functions below rely on
that shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import hcl2

REPO_ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_ROOTS = ("modules", "envs")


def unquote(value: Any) -> Any:
    """Literal string of an hcl2 value, or the value unchanged when it is an expression."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"' and "${" not in value:
        return value[1:-1]
    return value


def is_block_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def body_items(body: dict) -> Iterator[tuple[str, Any]]:
    for key, value in body.items():
        if not key.startswith("__"):
            yield key, value


def strings_in(value: Any) -> Iterator[str]:
    """Every string (expression text) in an hcl2 value, keys of object literals included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("__"):
                continue
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


@dataclass
class Block:
    kind: str          # resource, data, module, variable, output, locals, provider, terraform, moved
    labels: tuple
    body: dict
    file: Path

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(REPO_ROOT) if self.file.is_relative_to(REPO_ROOT) else self.file}: {self.kind} {'.'.join(self.labels)}"


@dataclass
class Module:
    path: Path
    blocks: list[Block] = field(default_factory=list)

    def of(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]

    @property
    def variables(self) -> dict[str, dict]:
        return {b.labels[0]: b.body for b in self.of("variable")}

    @property
    def outputs(self) -> dict[str, dict]:
        return {b.labels[0]: b.body for b in self.of("output")}

    @property
    def locals(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for block in self.of("locals"):
            out.update(dict(body_items(block.body)))
        return out

    def resources(self, kind: str = "resource") -> dict[tuple[str, str], Block]:
        return {b.labels: b for b in self.of(kind)}


def strip_label(label: str) -> str:
    return label[1:-1] if label.startswith('"') and label.endswith('"') else label


def parse_file(path: Path) -> list[Block]:
    with open(path, encoding="utf-8") as handle:
        tree = hcl2.load(handle)
    blocks = []
    for kind, entries in tree.items():
        if kind.startswith("__"):
            continue
        for entry in entries:
            if kind in ("locals", "terraform", "moved"):
                blocks.append(Block(kind, (), entry, path))
                continue
            depth = 2 if kind in ("resource", "data") else 1
            stack = [((), entry)]
            for _ in range(depth):
                stack = [(labels + (strip_label(k),), v) for labels, body in stack for k, v in body_items(body)]
            for labels, body in stack:
                blocks.append(Block(kind, labels, body, path))
    return blocks


def load_module(path: Path) -> Module:
    module = Module(path=path)
    for tf in sorted(path.glob("*.tf")):
        module.blocks.extend(parse_file(tf))
    return module


def module_dirs(roots: tuple[str, ...] = TERRAFORM_ROOTS, base: Path = REPO_ROOT) -> list[Path]:
    dirs = set()
    for root in roots:
        for tf in (base / root).rglob("*.tf"):
            if ".terraform" not in tf.parts and "build" not in tf.parts:
                dirs.add(tf.parent)
    return sorted(dirs)
