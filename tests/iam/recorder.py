"""Records every AWS call a deployed component makes while the suites run.

A botocore ``provide-client-params`` handler is added to botocore's built-in
handlers, so every botocore session (boto3's default one, the harness's, the
fake Personalize's) carries it from birth. It sees the caller's own
parameters before any stand-in (moto, the fake Personalize) answers.

Which component made a call is a context variable. It is set by wrapping the
entry points that AWS runs, named where Terraform wires them: each Lambda's
``handler`` (the training registry, the drift function) and each Glue job's
script entry (``glue/jobs/<job>.py`` calls ``personalize_export.glue_entry``),
plus the steps of the local workflow, which runs the same job code without the
Glue entry. Calls made outside a component (test set-up, assertions) are not
recorded.
"""
from __future__ import annotations

import ast
import contextlib
import contextvars
import copy
import functools
import importlib
import importlib.util
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import botocore.handlers

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_REGISTRY = REPO_ROOT / "lambda_src" / "personalize_pipeline" / "functions.json"
GLUE_JOB_SCRIPTS = REPO_ROOT / "glue" / "jobs"
DRIFT_MODULE = REPO_ROOT / "modules" / "schema-drift-alerts"

# Components: "lambda:<registry key>", "lambda:schema_drift", "glue:<job key>",
# "service:personalize" (the Personalize service reading the exports with its role).
_component: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("deployed_component", default=None)
_config: contextvars.ContextVar[dict] = contextvars.ContextVar("component_configuration", default={})
_current_test: list[str] = [""]


@dataclass
class Call:
    component: str
    service: str          # IAM service prefix (the client's signing name)
    operation: str        # botocore operation name, e.g. ListObjectsV2
    params: dict
    test: str
    region: str = ""
    # What the component was configured with when it made the call: a Lambda's
    # environment, a Glue job's --arguments. Terraform sets the deployed values.
    config: dict = field(default_factory=dict, repr=False)


@dataclass
class Recording:
    calls: list[Call] = field(default_factory=list)

    def by_component(self) -> dict[str, list[Call]]:
        out: dict[str, list[Call]] = {}
        for call in self.calls:
            out.setdefault(call.component, []).append(call)
        return out


RECORDING = Recording()


@contextlib.contextmanager
def acting_as(component: str, config: Optional[dict] = None) -> Iterator[None]:
    token = _component.set(component)
    config_token = _config.set(config if config is not None else _config.get())
    try:
        yield
    finally:
        _config.reset(config_token)
        _component.reset(token)


def _job_arguments(argv: Any) -> dict:
    """Glue's --name value arguments as {"--name": value}."""
    items = list(argv or [])
    return {items[i]: items[i + 1] for i in range(len(items) - 1) if str(items[i]).startswith("--")}


def _configuration(component: str, args: tuple, kwargs: dict) -> dict:
    if component.startswith("lambda:"):
        return {k: v for k, v in os.environ.items() if k.isupper() and not k.startswith(("AWS_", "PYTEST", "PYTHON", "PYSPARK"))}
    if component.startswith("glue:"):
        argv = kwargs.get("argv")
        if argv is None:
            argv = next((a for a in args if isinstance(a, (list, tuple))), None)
        return _job_arguments(argv) if argv is not None else dict(_config.get())
    return dict(_config.get())


def current_component() -> Optional[str]:
    return _component.get()


def set_current_test(nodeid: str) -> None:
    _current_test[0] = nodeid


def _plain(value: Any) -> Any:
    """Parameters as JSON-able data; payload bodies are not kept."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "Body"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _on_params(params: dict, model: Any, context: Any = None, **_: Any) -> None:
    component = _component.get()
    if component is None:
        return None
    service_model = model.service_model
    service = service_model.signing_name or service_model.endpoint_prefix
    region = ""
    if isinstance(context, dict):
        region = str(context.get("client_region") or "")
    RECORDING.calls.append(Call(component, service, model.name, _plain(copy.copy(params)), _current_test[0], region, _config.get()))
    return None


def _wrap(owner: Any, name: str, component: Callable[..., str] | str) -> None:
    original = getattr(owner, name)
    if getattr(original, "__deployed_component__", None):
        return

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        who = component(*args, **kwargs) if callable(component) else component
        with acting_as(who, _configuration(who, args, kwargs)):
            return original(*args, **kwargs)

    wrapper.__deployed_component__ = True  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def lambda_entry_points() -> dict[str, str]:
    """{component: "module.function"} for every Lambda Terraform deploys."""
    registry = json.loads(FUNCTIONS_REGISTRY.read_text(encoding="utf-8"))["functions"]
    entries = {f"lambda:{key}": fn["handler"] for key, fn in registry.items()}
    for tf in sorted(DRIFT_MODULE.glob("*.tf")):
        for handler in re.findall(r'^\s*handler\s*=\s*"([\w.]+)"', tf.read_text(encoding="utf-8"), re.M):
            entries["lambda:schema_drift"] = handler
    return entries


def glue_entry_points() -> dict[str, tuple[str, tuple]]:
    """{component: (glue_entry function, leading args)} read from each job script's main()."""
    out = {}
    for script in sorted(GLUE_JOB_SCRIPTS.glob("*.py")):
        tree = ast.parse(script.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "main":
                for call in ast.walk(node):
                    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                        args = tuple(a.value for a in call.args if isinstance(a, ast.Constant))
                        out[f"glue:{script.stem}"] = (call.func.id, args)
    return out


def install() -> None:
    """Add the botocore hook and wrap the deployed entry points (idempotent)."""
    if ("provide-client-params", _on_params) not in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.append(("provide-client-params", _on_params))

    for component, dotted in lambda_entry_points().items():
        module_name, function = dotted.rsplit(".", 1)
        _wrap(importlib.import_module(module_name), function, component)

    from export_spec import EXPORT_JOB_BY_DATASET
    from personalize_export import glue_entry, local_workflow

    by_entry: dict[str, dict[tuple, str]] = {}
    for component, (function, args) in glue_entry_points().items():
        by_entry.setdefault(function, {})[args] = component
    for function, components in by_entry.items():
        if len(components) == 1:
            _wrap(glue_entry, function, next(iter(components.values())))
        else:  # one entry shared by the export jobs, told apart by its first argument
            _wrap(glue_entry, function, lambda *a, _c=components, **k: _c[(a[0] if a else k["dataset"],)])

    # The local workflow runs the jobs' code without the Glue entry points.
    _wrap(local_workflow, "prepare_export", "glue:prepare")
    _wrap(local_workflow, "finalize_export", "glue:start_training")
    # The export jobs' code needs Spark; where Spark is missing (the Python-shell
    # runtime's own test run) it cannot run, so there is nothing to attribute.
    if importlib.util.find_spec("pyspark") is not None:
        from personalize_export import export_job

        _wrap(export_job, "run_export", lambda spark, spec, dataset, *a, **k: (
            current_component() if (current_component() or "").startswith("glue:export") else f"glue:{EXPORT_JOB_BY_DATASET[dataset]}"))

    # The fake Personalize reads an import job's files as the Personalize service does, with its role.
    from local_pipeline.fake_personalize import FakePersonalize

    _wrap(FakePersonalize, "_read_csv_objects", "service:personalize")
    # And a batch job's input and output, as Personalize reads and writes them with that role.
    _wrap(FakePersonalize, "_read_batch_input", "service:personalize")
    _wrap(FakePersonalize, "_write_batch_output", "service:personalize")


def dump(path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for call in RECORDING.calls:
            handle.write(json.dumps(call.__dict__, default=repr) + "\n")


def load(path: str) -> list[Call]:
    with open(path, encoding="utf-8") as handle:
        return [Call(**json.loads(line)) for line in handle if line.strip()]
