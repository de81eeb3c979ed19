"""Whether states written by an earlier layout of the modules plan no replacement:
every resource address the earlier layout had must still exist, or lead through the
module's `moved` blocks to a resource of the current layout that is counted or
keyed the same way (a moved instance key must fit the target's for_each or count).

The earlier layout is a record of its addresses (resource type.name and how it is
repeated: single, count or for_each) per module folder, as `record()` writes it."""
from __future__ import annotations

import json
import re
from pathlib import Path

from .tfmodel import REPO_ROOT, load_module, unquote

_ADDRESS = re.compile(r'^((?:module\.[\w-]+\.)*)([a-z][\w]*\.[\w-]+)(?:\[(\d+|"[^"]*")\])?$')


def repetition(body: dict) -> str:
    return "count" if "count" in body else "for_each" if "for_each" in body else "single"


def addresses(module_dir: Path) -> dict[str, str]:
    """{"type.name": single | count | for_each} of the managed resources declared in the folder."""
    return {f"{b.labels[0]}.{b.labels[1]}": repetition(b.body) for b in load_module(module_dir).of("resource")}


def moves(module_dir: Path) -> dict[str, str]:
    """{from: to} of the folder's moved blocks (addresses as written, `${}` removed)."""
    out = {}
    for block in load_module(module_dir).of("moved"):
        def text(value: str) -> str:
            value = unquote(value)
            return value[2:-1] if value.startswith("${") and value.endswith("}") else value
        out[text(block.body["from"])] = text(block.body["to"])
    return out


def _target(module_dir: Path, address: str) -> tuple[Path, str, str | None] | str:
    """(folder of the module the address is in, type.name, instance key) or a problem."""
    match = _ADDRESS.match(address)
    if not match:
        return f"{address}: not a resource address"
    calls, resource, key = match.groups()
    folder = module_dir
    for name in [c for c in calls.split(".") if c and c != "module"]:
        module = load_module(folder)
        call = next((b for b in module.of("module") if b.labels[0] == name), None)
        if call is None:
            return f"{address}: {folder.relative_to(REPO_ROOT)} calls no module {name!r}"
        if "count" in call.body or "for_each" in call.body:
            return f"{address}: module {name!r} is repeated, so its resources need an instance key in the moved block"
        folder = (folder / unquote(call.body["source"])).resolve()
    return folder, resource, key


def _problem(module_dir: Path, was: str, source: str, destination: str) -> str | None:
    """Why moving `source` (a whole resource repeated as `was`, or its instance [0]) to
    `destination` would replace objects, or None when the states' objects carry over."""
    target = _target(module_dir, destination)
    if isinstance(target, str):
        return target
    folder, name, key = target
    now = addresses(folder).get(name)
    if source.endswith("]"):  # the one instance of `count = create ? 1 : 0`
        fits = key is not None and ((now == "for_each" and key.startswith('"')) or (now == "count" and key.isdigit()))
    else:
        fits = key is None and now == was
    if fits:
        return None
    return f"{source} moves to {destination}, which {'does not exist' if now is None else f'is {now}'}"


def problems(module_dir: Path, earlier: dict[str, str]) -> list[str]:
    """Addresses of the earlier layout that the current one would plan to destroy."""
    module_dir = module_dir.resolve()
    current, moved = addresses(module_dir), moves(module_dir)
    found = []
    for resource, was in sorted(earlier.items()):
        where = f"{module_dir.relative_to(REPO_ROOT)}: {resource} ({was})"
        source = resource if resource in moved else f"{resource}[0]" if was == "count" and f"{resource}[0]" in moved else None
        if source is not None:
            problem = _problem(module_dir, was, source, moved[source])
            if problem:
                found.append(f"{where}: {problem}")
        elif resource not in current:
            found.append(f"{where} is gone and no moved block says where: states would destroy it")
        elif current[resource] != was:
            found.append(f"{where} is now {current[resource]}: its instances would be replaced")
    return found


def record(module_dirs: list[Path]) -> dict[str, dict[str, str]]:
    """The addresses of these module folders, as the record of a layout."""
    return {d.resolve().relative_to(REPO_ROOT).as_posix(): addresses(d) for d in module_dirs}


if __name__ == "__main__":  # print the record of the current layout
    print(json.dumps(record([p.parent for p in sorted((REPO_ROOT / "modules").glob("*/main.tf"))]), indent=2, sort_keys=True))
