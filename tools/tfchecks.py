"""Offline checks of the Terraform code: provider schema, references, module
interfaces, IAM wildcards, TLS-only bucket policies and the files the code
names. Each check takes the model (tools/tfmodel.py) and returns a list of
human-readable problems (empty = pass).
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any, Iterator

from .tfmodel import REPO_ROOT, Block, Module, body_items, is_block_list, load_module, strings_in, strip_label, unquote

META_ARGUMENTS = {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
MODULE_META_ARGUMENTS = {"source", "version", "providers", "count", "for_each", "depends_on"}
DYNAMIC_KEYS = {"for_each", "iterator", "labels", "content"}

_VAR_REF = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
_LOCAL_REF = re.compile(r"(?<![\w.])local\.([A-Za-z_][\w-]*)")
_MODULE_REF = re.compile(r"(?<![\w.])module\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?")
_DATA_REF = re.compile(r"(?<![\w.])data\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)")
_RESOURCE_REF = re.compile(r"(?<![\w.\-/:])([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


################################################################################
# Provider schema
################################################################################

def _check_body(body: dict, schema: dict, where: str, problems: list[str]) -> None:
    if schema.get("any"):
        return
    present = set()
    for key, value in body_items(body):
        if key in META_ARGUMENTS:
            continue
        if key == "dynamic":
            for dyn in value:
                for label, dyn_body in body_items(dyn):
                    name = strip_label(label)
                    present.add(name)
                    unknown_keys = sorted(k for k, _ in body_items(dyn_body) if k not in DYNAMIC_KEYS)
                    if unknown_keys:
                        problems.append(f"{where}: dynamic \"{name}\" has unknown argument(s) {unknown_keys}")
                    if name in schema["blocks"]:
                        for content in dyn_body.get("content", []):
                            _check_body(content, schema["blocks"][name]["schema"], f"{where}.{name}", problems)
                    elif name not in schema["loose"]:
                        problems.append(f"{where}: unknown nested block \"{name}\" (dynamic)")
            continue
        present.add(key)
        if key in schema["attrs"]:
            if is_block_list(value):
                problems.append(f"{where}: \"{key}\" is an argument, not a block (write {key} = ...)")
            continue
        if key in schema["loose"]:
            continue
        if key in schema["blocks"]:
            if is_block_list(value):
                for item in value:
                    _check_body(item, schema["blocks"][key]["schema"], f"{where}.{key}", problems)
            else:
                problems.append(f"{where}: \"{key}\" is a nested block, not an argument (write {key} {{ ... }})")
            continue
        problems.append(f"{where}: unknown argument or block \"{key}\"")
    for name, required in schema["attrs"].items():
        if required and name not in present and name != "id":
            problems.append(f"{where}: missing required argument \"{name}\"")
    for name, spec in schema["blocks"].items():
        if spec["required"] and name not in present:
            problems.append(f"{where}: missing required block \"{name}\"")


def check_provider_schema(module: Module, schema: dict) -> list[str]:
    problems: list[str] = []
    for kind in ("resource", "data"):
        for block in module.of(kind):
            type_name = block.labels[0]
            type_schema = schema[kind].get(type_name)
            if type_schema is None:
                problems.append(f"{block.where}: unknown {kind} type \"{type_name}\"")
                continue
            _check_body(block.body, type_schema, block.where, problems)
    return problems


################################################################################
# References and module interfaces
################################################################################

def _is_local_source(source: str) -> bool:
    return source.startswith("./") or source.startswith("../")


def module_source_dir(module: Module, call: Block) -> Path | None:
    source = unquote(call.body.get("source", ""))
    if not isinstance(source, str) or not _is_local_source(source):
        return None
    return (module.path / source).resolve()


def check_references(module: Module, schema: dict) -> list[str]:
    problems: list[str] = []
    variables = set(module.variables)
    local_names = set(module.locals)
    resources = {labels for labels in module.resources("resource")}
    data = {labels for labels in module.resources("data")}
    known_types = set(schema["resource"])
    called: dict[str, set[str] | None] = {}
    for call in module.of("module"):
        src = module_source_dir(module, call)
        called[call.labels[0]] = set(load_module(src).outputs) if src and src.is_dir() else None

    for block in module.blocks:
        if block.kind == "moved":  # addresses, not references (tools/tfmoves.py checks them)
            continue
        for text in strings_in(block.body):
            for name in _VAR_REF.findall(text):
                if name not in variables:
                    problems.append(f"{block.where}: reference to undeclared variable var.{name}")
            for name in _LOCAL_REF.findall(text):
                if name not in local_names:
                    problems.append(f"{block.where}: reference to undeclared local local.{name}")
            for name, output in _MODULE_REF.findall(text):
                if name not in called:
                    problems.append(f"{block.where}: reference to undeclared module module.{name}")
                elif output and called[name] is not None and output not in called[name]:
                    problems.append(f"{block.where}: module.{name}.{output}: the module declares no output \"{output}\"")
            for type_name, name in _DATA_REF.findall(text):
                if (type_name, name) not in data:
                    problems.append(f"{block.where}: reference to undeclared data source data.{type_name}.{name}")
            stripped = _DATA_REF.sub("", text)
            for type_name, name in _RESOURCE_REF.findall(stripped):
                if type_name in known_types and (type_name, name) not in resources:
                    problems.append(f"{block.where}: reference to undeclared resource {type_name}.{name}")
    return sorted(set(problems))


_INDEXED_REF = re.compile(r"(?<![\w.\-/:])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(\[|\.)?")


def check_indexing(module: Module) -> list[str]:
    """Resources with count/for_each are indexed when an attribute is read; single ones are not."""
    declared: dict[tuple[str, str, str], str] = {}
    for kind in ("resource", "data"):
        for labels, block in module.resources(kind).items():
            mode = "count" if "count" in block.body else "for_each" if "for_each" in block.body else "single"
            declared[(kind, *labels)] = mode
    problems = []
    for block in module.blocks:
        for text in strings_in(block.body):
            for data_prefix, type_name, name, follower in _INDEXED_REF.findall(text):
                kind = "data" if data_prefix else "resource"
                mode = declared.get((kind, type_name, name))
                ref = f"{data_prefix}{type_name}.{name}"
                if mode in ("count", "for_each") and follower == ".":
                    problems.append(f"{block.where}: {ref} has {mode}, so it must be indexed before reading an attribute")
                elif mode == "single" and follower == "[":
                    problems.append(f"{block.where}: {ref} has neither count nor for_each and cannot be indexed")
    return sorted(set(problems))


def check_validation_scope(module: Module) -> list[str]:
    """A validation block may only refer to its own variable (Terraform before 1.9)."""
    problems = []
    for name, body in module.variables.items():
        for validation in body.get("validation", []):
            others = set(_VAR_REF.findall(" ".join(strings_in(validation.get("condition", ""))))) - {name}
            if others:
                problems.append(f"{module.path}: validation of variable \"{name}\" refers to {sorted(others)}")
    return problems


# Terraform 1.5 built-in functions, and the type constructors of type expressions.
TERRAFORM_FUNCTIONS = set("""
abs ceil floor log max min parseint pow signum chomp endswith format formatlist indent join lower
ltrimspace regex regexall replace split startswith strcontains strrev substr title trim trimprefix
trimsuffix trimspace upper alltrue anytrue chunklist coalesce coalescelist compact concat contains
distinct element flatten index keys length list lookup map matchkeys merge one range reverse
setintersection setproduct setsubtract setunion slice sort sum transpose values zipmap base64decode
base64encode base64gzip csvdecode jsondecode jsonencode textdecodebase64 textencodebase64 urlencode
yamldecode yamlencode abspath dirname pathexpand basename file fileexists fileset filebase64
templatefile formatdate plantimestamp timeadd timecmp timestamp base64sha256 base64sha512 bcrypt
filebase64sha256 filebase64sha512 filemd5 filesha1 filesha256 filesha512 md5 rsadecrypt sha1 sha256
sha512 uuid uuidv5 cidrhost cidrnetmask cidrsubnet cidrsubnets can issensitive nonsensitive sensitive
tobool tolist tomap tonumber toset tostring try type
""".split())
TYPE_CONSTRUCTORS = {"object", "optional", "list", "map", "set", "tuple"}
_CALL = re.compile(r"(?<![\w.\"])([a-z_][a-z0-9_]*)\(")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def check_function_names(module: Module) -> list[str]:
    """Every function called in an expression is a Terraform built-in."""
    problems = []
    for block in module.blocks:
        for text in strings_in(block.body):
            # Calls live in ${...}; quoted literals inside them are not code.
            for expression in re.findall(r"\$\{(.*)\}", text, re.S):
                for name in _CALL.findall(_QUOTED.sub('""', expression)):
                    if name not in TERRAFORM_FUNCTIONS and name not in TYPE_CONSTRUCTORS:
                        problems.append(f"{block.where}: {name}() is not a Terraform function")
    return sorted(set(problems))


def check_module_calls(module: Module) -> list[str]:
    problems: list[str] = []
    for call in module.of("module"):
        src = module_source_dir(module, call)
        if src is None:
            continue
        if not src.is_dir():
            problems.append(f"{call.where}: module source {src} does not exist")
            continue
        declared = load_module(src).variables
        given = {k for k, _ in body_items(call.body) if k not in MODULE_META_ARGUMENTS}
        for name in sorted(given - set(declared)):
            problems.append(f"{call.where}: input \"{name}\" is not a variable of {src.relative_to(REPO_ROOT) if src.is_relative_to(REPO_ROOT) else src}")
        for name, body in sorted(declared.items()):
            if "default" not in body and name not in given:
                problems.append(f"{call.where}: required input \"{name}\" is not set")
    return problems


def check_interface_docs(module: Module) -> list[str]:
    """Every variable has a description and a type; every output a description."""
    problems = []
    for name, body in module.variables.items():
        for key in ("description", "type"):
            if key not in body:
                problems.append(f"{module.path}: variable \"{name}\" has no {key}")
    for name, body in module.outputs.items():
        if "description" not in body:
            problems.append(f"{module.path}: output \"{name}\" has no description")
    return problems


################################################################################
# IAM: no wildcard actions, no NotAction
################################################################################

_JSON_ACTION = re.compile(r"\b(Action|NotAction)\s*=\s*(\[[^\]]*\]|\"[^\"]*\")")


def _action_problems(actions: Any, where: str) -> list[str]:
    if isinstance(actions, list):
        return [f"{where}: wildcard action {unquote(a)!r}" for a in actions if isinstance(unquote(a), str) and "*" in unquote(a)]
    if isinstance(actions, str) and "*" in unquote(actions) and "${" not in actions:
        return [f"{where}: wildcard action {unquote(actions)!r}"]
    return []


def _statements(body: dict) -> Iterator[tuple[dict, str]]:
    for statement in body.get("statement", []):
        yield statement, "statement"
    for dyn in body.get("dynamic", []):
        for label, dyn_body in body_items(dyn):
            if strip_label(label) == "statement":
                for content in dyn_body.get("content", []):
                    yield content, "dynamic statement"


def _walk_action_lists(value: Any, where: str) -> Iterator[tuple[Any, str]]:
    """Every `actions` list held in a local value (statements built from maps)."""
    if isinstance(value, dict):
        for key, item in body_items(value):
            if key in ("actions", "not_actions"):
                yield item, f"{where}.{key}"
            else:
                yield from _walk_action_lists(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_action_lists(item, f"{where}[{i}]")


def check_iam_actions(module: Module) -> list[str]:
    """Allow statements may not use wildcard actions or NotAction. A Deny may use a
    wildcard (the TLS-only statement denies s3:* over plain HTTP)."""
    problems: list[str] = []
    for block in module.of("data"):
        if block.labels[0] != "aws_iam_policy_document":
            continue
        for statement, kind in _statements(block.body):
            where = f"{block.where} {kind} {unquote(statement.get('sid', '')) or ''}".rstrip()
            if "not_actions" in statement:
                problems.append(f"{where}: NotAction (not_actions) grants everything else; list the actions")
            if unquote(statement.get("effect", '"Allow"')) != "Deny":
                problems.extend(_action_problems(statement.get("actions"), where))
    for name, value in module.locals.items():
        for actions, where in _walk_action_lists(value, f"{module.path.name}: local.{name}"):
            problems.extend(_action_problems(actions, where))
    for block in module.blocks:
        for text in strings_in(block.body):
            if "jsonencode" not in text:
                continue
            for key, actions in _JSON_ACTION.findall(text):
                if key == "NotAction":
                    problems.append(f"{block.where}: jsonencode'd policy uses NotAction")
                elif "*" in actions and '"Deny"' not in text:
                    problems.append(f"{block.where}: jsonencode'd policy has a wildcard action in {actions}")
    return problems


################################################################################
# S3: every bucket has a TLS-only policy
################################################################################

def _denies_insecure_transport(doc: Block) -> bool:
    for statement, _ in _statements(doc.body):
        if unquote(statement.get("effect", "")) != "Deny":
            continue
        for condition in statement.get("condition", []):
            values = condition.get("values", [])
            if (unquote(condition.get("variable")) == "aws:SecureTransport"
                    and unquote(condition.get("test")) == "Bool"
                    and isinstance(values, list) and "false" in [unquote(v) for v in values]):
                return True
    return False


def _jsonencode_denies_insecure_transport(text: str) -> bool:
    compact = re.sub(r"\s+", "", text)
    return '"aws:SecureTransport"="false"' in compact and 'Effect="Deny"' in compact


def check_bucket_tls(module: Module) -> list[str]:
    problems = []
    docs = {labels[1]: b for labels, b in module.resources("data").items() if labels[0] == "aws_iam_policy_document"}
    policies = [b for b in module.of("resource") if b.labels[0] == "aws_s3_bucket_policy"]
    for bucket in module.of("resource"):
        if bucket.labels[0] != "aws_s3_bucket":
            continue
        ref = re.compile(rf"(?<![\w.])aws_s3_bucket\.{re.escape(bucket.labels[1])}\b")
        covered = False
        for policy in policies:
            # The policy resource may iterate the buckets (for_each = aws_s3_bucket.x).
            targets = " ".join(strings_in({"bucket": policy.body.get("bucket"), "for_each": policy.body.get("for_each")}))
            if not ref.search(targets):
                continue
            text = " ".join(strings_in(policy.body.get("policy")))
            doc_names = re.findall(r"data\.aws_iam_policy_document\.([\w-]+)", text)
            if any(name in docs and (_denies_insecure_transport(docs[name]) or any(
                    _denies_insecure_transport(docs[src]) for src in re.findall(r"data\.aws_iam_policy_document\.([\w-]+)", " ".join(strings_in(docs[name].body.get("source_policy_documents", [])))) if src in docs))
                   for name in doc_names) or _jsonencode_denies_insecure_transport(text):
                covered = True
        if not covered:
            problems.append(f"{bucket.where}: no aws_s3_bucket_policy with a Deny on aws:SecureTransport = false (TLS-only)")
    return problems


################################################################################
# Files the code names: scripts, packages, handlers, templates
################################################################################

_PATH_MODULE = re.compile(r"\$\{path\.module\}(/[^\"$,)\s]*)")


def referenced_paths(module: Module) -> list[tuple[Block, Path]]:
    out = []
    for block in module.blocks:
        for text in strings_in(block.body):
            for rest in _PATH_MODULE.findall(text):
                if rest.endswith("/"):
                    continue
                out.append((block, (module.path / rest.lstrip("/")).resolve()))
    return out


def check_referenced_files(module: Module) -> list[str]:
    problems = []
    for block, path in referenced_paths(module):
        if "build" in path.relative_to(REPO_ROOT).parts if path.is_relative_to(REPO_ROOT) else False:
            continue  # archive outputs, written at plan time
        if not path.exists():
            problems.append(f"{block.where}: {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path} does not exist")
    return sorted(set(problems))


def handler_problem(handler: str, source_roots: list[Path]) -> str | None:
    """None when `package.module.function` names a function defined at top level of a file under one of the roots."""
    parts = handler.split(".")
    if len(parts) < 2:
        return f"handler {handler!r} is not module.function"
    module_path, function = parts[:-1], parts[-1]
    for root in source_roots:
        candidate = root.joinpath(*module_path).with_suffix(".py")
        if candidate.is_file():
            tree = ast.parse(candidate.read_text(encoding="utf-8"))
            names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
            if function in names:
                return None
            return f"handler {handler!r}: {candidate.relative_to(REPO_ROOT) if candidate.is_relative_to(REPO_ROOT) else candidate} defines no function {function!r}"
    return f"handler {handler!r}: no file {'/'.join(module_path)}.py under {', '.join(str(r) for r in source_roots)}"


def registry_path_of(module: Module) -> Path | None:
    """The functions.json a module reads with jsondecode(file(...)), if any."""
    for block, path in referenced_paths(module):
        if path.name == "functions.json":
            return path
    return None


def check_lambda_handlers(module: Module, source_roots: list[Path]) -> list[str]:
    problems = []
    for block in module.of("resource"):
        if block.labels[0] != "aws_lambda_function":
            continue
        handler = block.body.get("handler")
        literal = unquote(handler)
        if isinstance(literal, str) and "${" not in literal:
            problem = handler_problem(literal, source_roots)
            if problem:
                problems.append(f"{block.where}: {problem}")
        elif isinstance(handler, str) and "each.value.handler" in handler:
            registry = registry_path_of(module)
            if registry is None or not registry.is_file():
                problems.append(f"{block.where}: the handler comes from a registry that does not exist ({registry})")
                continue
            for key, entry in json.loads(registry.read_text(encoding="utf-8"))["functions"].items():
                problem = handler_problem(entry.get("handler", ""), source_roots)
                if problem:
                    problems.append(f"{block.where}[{key!r}] from {registry.relative_to(REPO_ROOT)}: {problem}")
        else:
            problems.append(f"{block.where}: handler {handler!r} cannot be resolved statically")
    return problems


def check_function_registry(registry: Path, capability_names: set[str]) -> list[str]:
    """functions.json: exact Personalize actions and known capability names only."""
    problems = []
    functions = json.loads(registry.read_text(encoding="utf-8")).get("functions")
    if not isinstance(functions, dict) or not functions:
        return [f"{registry}: 'functions' must be a non-empty object"]
    for key, entry in functions.items():
        for i, action in enumerate(entry.get("personalize_actions", [])):
            if not re.fullmatch(r"personalize:[A-Za-z]+", action):
                problems.append(f"{registry}: functions.{key}.personalize_actions[{i}] = {action!r} must be one exact personalize:<Action> (no wildcard)")
        for i, name in enumerate(entry.get("permissions", [])):
            if name not in capability_names:
                problems.append(f"{registry}: functions.{key}.permissions[{i}] = {name!r} is not one of {sorted(capability_names)}")
    return problems
