"""Evaluates this project's Terraform for concrete values, offline.

Why a Python evaluator over python-hcl2's parse tree, and not ``terraform
console`` on a provider-free copy: the pinned Terraform (1.0.3) cannot read
these modules at all (``optional()`` attributes with defaults need 1.3,
``terraform_data`` 1.4, and ``versions.tf`` requires 1.5), and every data
source and resource attribute the policies read (``aws_caller_identity``, a
log group's ``arn``) needs the AWS provider, which cannot be installed offline.
A copy stripped of those would no longer be the code that is deployed. The
evaluator below reads the real files through the same Lark grammar
python-hcl2 uses, and evaluates lazily: only what a policy, a role or a
function's wiring needs is computed, so an expression it cannot evaluate fails
loudly, naming its file, rather than being skipped.

Values known only after apply are synthesised the way AWS forms them: ARNs
from each resource type's ARN format (``RESOURCE_ARNS``) and the resource's
configured name; a KMS key id is a fixed placeholder UUID.
"""
from __future__ import annotations

import base64
import glob
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import hcl2
import yaml
from lark import Token, Tree

REPO_ROOT = Path(__file__).resolve().parents[1]


class EvalError(Exception):
    pass


################################################################################
# Parsing: blocks and attributes with their expression trees
################################################################################

@dataclass
class Body:
    attributes: dict[str, Tree] = field(default_factory=dict)
    blocks: list["BlockNode"] = field(default_factory=list)

    def blocks_of(self, kind: str) -> list["BlockNode"]:
        return [b for b in self.blocks if b.kind == kind]


@dataclass
class BlockNode:
    kind: str
    labels: tuple
    body: Body
    file: Path


def _name(node: Any) -> str:
    if isinstance(node, Token):
        return str(node)
    if node.data in ("identifier", "keyword", "literal_value"):
        return str(node.children[0])
    if node.data == "string":
        return "".join(str(p.children[0]) for p in node.children if isinstance(p, Tree) and p.data == "string_part")
    raise EvalError(f"unexpected name node {node.data}")


def _to_body(tree: Tree, file: Path) -> Body:
    body = Body()
    for child in tree.children:
        if not isinstance(child, Tree):
            continue
        if child.data == "attribute":
            parts = [c for c in child.children if not (isinstance(c, Token) and c.type == "EQ")]
            body.attributes[_name(parts[0])] = parts[-1]
        elif child.data == "block":
            names = [c for c in child.children if isinstance(c, Tree) and c.data in ("identifier", "keyword", "literal_value", "string")]
            inner = next(c for c in child.children if isinstance(c, Tree) and c.data == "body")
            body.blocks.append(BlockNode(_name(names[0]), tuple(_name(n) for n in names[1:]), _to_body(inner, file), file))
    return body


_PARSED: dict[Path, list[BlockNode]] = {}


def parse_dir(path: Path) -> list[BlockNode]:
    path = path.resolve()
    if path not in _PARSED:
        blocks = []
        for tf in sorted(path.glob("*.tf")):
            tree = hcl2.parses_to_tree(tf.read_text(encoding="utf-8"))
            body = next(c for c in tree.children if isinstance(c, Tree) and c.data == "body")
            blocks.extend(b for b in _to_body(body, tf).blocks)
        _PARSED[path] = blocks
    return _PARSED[path]


################################################################################
# Values
################################################################################

class Lazy(dict):
    """An object whose attributes are computed when first read."""

    def __init__(self, compute: Callable[[str], Any], keys: list[str], where: str):
        super().__init__()
        self._compute, self._keys, self.where = compute, keys, where

    def __getitem__(self, key: str) -> Any:
        if not dict.__contains__(self, key):
            dict.__setitem__(self, key, self._compute(key))
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self):  # type: ignore[override]
        return list(self._keys)

    def values(self):  # type: ignore[override]
        return [self[k] for k in self._keys]

    def items(self):  # type: ignore[override]
        return [(k, self[k]) for k in self._keys]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[key] if key in self._keys else default


def _tf_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        raise EvalError("null in a string template")
    if isinstance(value, (dict, list)):
        raise EvalError(f"cannot use a {type(value).__name__} in a string template")
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(value[k]) for k in value.keys()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def _jsonencode(value: Any) -> str:
    return json.dumps(_plain(value), separators=(",", ":"))


################################################################################
# Types: variable defaults and optional() attributes
################################################################################

def _convert(value: Any, type_: Any) -> Any:
    if value is None or type_ is None:
        return value
    kind = type_[0]
    if kind == "object":
        if not isinstance(value, dict):
            raise EvalError(f"expected an object, got {value!r}")
        out = {}
        for name, (attr_type, optional, default) in type_[1].items():
            if name in value and value[name] is not None:
                out[name] = _convert(value[name], attr_type)
            elif name in value and not optional:
                out[name] = None
            elif optional:
                out[name] = _convert(default, attr_type)
            else:
                raise EvalError(f"attribute {name!r} is required")
        return out
    if kind in ("map",):
        return {k: _convert(v, type_[1]) for k, v in value.items()}
    if kind in ("list", "set"):
        return [_convert(v, type_[1]) for v in value]
    if kind == "number" and isinstance(value, str):
        return float(value) if "." in value else int(value)
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _tf_str(value)
    return value


################################################################################
# Module instances
################################################################################

# How AWS forms the ARN (and id) of each resource type the policies read, from
# the resource's own arguments. Only attributes a policy or wiring reads.
FAKE_KEY_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
RESOURCE_ARNS: dict[str, Callable[["Scope", dict], dict]] = {
    "aws_iam_role": lambda s, r: {"arn": f"arn:{s.partition}:iam::{s.account}:role/{r['name']}", "id": r["name"]},
    "aws_iam_policy": lambda s, r: {"arn": f"arn:{s.partition}:iam::{s.account}:policy/{r['name']}", "id": f"arn:{s.partition}:iam::{s.account}:policy/{r['name']}"},
    "aws_lambda_function": lambda s, r: {"arn": f"arn:{s.partition}:lambda:{s.region}:{s.account}:function:{r['function_name']}"},
    "aws_cloudwatch_log_group": lambda s, r: {"arn": f"arn:{s.partition}:logs:{s.region}:{s.account}:log-group:{r['name']}"},
    "aws_sqs_queue": lambda s, r: {"arn": f"arn:{s.partition}:sqs:{s.region}:{s.account}:{r['name']}"},
    "aws_sns_topic": lambda s, r: {"arn": f"arn:{s.partition}:sns:{s.region}:{s.account}:{r['name']}", "id": f"arn:{s.partition}:sns:{s.region}:{s.account}:{r['name']}"},
    "aws_sfn_state_machine": lambda s, r: {"arn": f"arn:{s.partition}:states:{s.region}:{s.account}:stateMachine:{r['name']}"},
    "aws_cloudwatch_event_rule": lambda s, r: {"arn": f"arn:{s.partition}:events:{s.region}:{s.account}:rule/{r['name']}"},
    "aws_kms_key": lambda s, r: {"arn": f"arn:{s.partition}:kms:{s.region}:{s.account}:key/{FAKE_KEY_ID}", "key_id": FAKE_KEY_ID, "id": FAKE_KEY_ID},
    "aws_s3_bucket": lambda s, r: {"arn": f"arn:{s.partition}:s3:::{r['bucket']}", "id": r["bucket"]},
    "aws_dynamodb_table": lambda s, r: {"arn": f"arn:{s.partition}:dynamodb:{s.region}:{s.account}:table/{r['name']}"},
    "aws_glue_job": lambda s, r: {"arn": f"arn:{s.partition}:glue:{s.region}:{s.account}:job/{r['name']}", "id": r["name"]},
    "aws_glue_trigger": lambda s, r: {"arn": f"arn:{s.partition}:glue:{s.region}:{s.account}:trigger/{r['name']}", "id": r["name"]},
    "aws_glue_workflow": lambda s, r: {"arn": f"arn:{s.partition}:glue:{s.region}:{s.account}:workflow/{r['name']}", "id": r["name"]},
    "aws_glue_crawler": lambda s, r: {"arn": f"arn:{s.partition}:glue:{s.region}:{s.account}:crawler/{r['name']}", "id": r["name"]},
    "aws_glue_catalog_database": lambda s, r: {"arn": f"arn:{s.partition}:glue:{s.region}:{s.account}:database/{r['name']}", "id": f"{s.account}:{r['name']}"},
    "aws_glue_connection": lambda s, r: {"arn": f"arn:{s.partition}:glue:{s.region}:{s.account}:connection/{r['name']}", "id": f"{s.account}:{r['name']}"},
    "aws_s3_object": lambda s, r: {"id": r["key"], "version_id": "v1"},
}


@dataclass(frozen=True)
class Environment:
    """The concrete values a module tree is rendered with."""
    account: str = "111122223333"
    region: str = "eu-west-1"
    partition: str = "aws"


class Scope:
    """One module instance: its variables, locals, resources and child modules."""

    def __init__(self, path: Path, inputs: dict[str, Any], env: Environment, address: str = ""):
        self.path, self.inputs, self.env, self.address = path.resolve(), inputs, env, address
        self.blocks = parse_dir(self.path)
        self.account, self.region, self.partition = env.account, env.region, env.partition
        self._locals_src: dict[str, tuple[Tree, Path]] = {}
        for b in self.blocks:
            if b.kind == "locals":
                for k, v in b.body.attributes.items():
                    self._locals_src[k] = (v, b.file)
        self._locals: dict[str, Any] = {}
        self._vars: dict[str, Any] = {}
        self._modules: dict[str, Any] = {}
        self._resources: dict[tuple, Any] = {}
        self._in_progress: set = set()

    def __repr__(self) -> str:
        return f"Scope({self.address or self.path})"

    # -------------------------------------------------------------- lookups
    def block(self, kind: str, *labels: str) -> BlockNode:
        for b in self.blocks:
            if b.kind == kind and b.labels == labels:
                return b
        raise EvalError(f"{self.path}: no {kind} {'.'.join(labels)}")

    def var(self, name: str) -> Any:
        if name not in self._vars:
            block = self.block("variable", name)
            type_ = self.type_of(block.body.attributes["type"]) if "type" in block.body.attributes else None
            if name in self.inputs:
                value = self.inputs[name]
            elif "default" in block.body.attributes:
                value = self.eval(block.body.attributes["default"], {}, block.file)
            else:
                raise EvalError(f"{self.path}: variable {name} has no value")
            self._vars[name] = _convert(value, type_)
        return self._vars[name]

    def local(self, name: str) -> Any:
        if name not in self._locals:
            if name not in self._locals_src:
                raise EvalError(f"{self.path}: no local {name}")
            key = ("local", name)
            if key in self._in_progress:
                raise EvalError(f"{self.path}: local.{name} refers to itself")
            self._in_progress.add(key)
            try:
                tree, file = self._locals_src[name]
                self._locals[name] = self.eval(tree, {}, file)
            finally:
                self._in_progress.discard(key)
        return self._locals[name]

    def module(self, name: str) -> Lazy:
        if name not in self._modules:
            block = self.block("module", name)
            source = self.eval(block.body.attributes["source"], {}, block.file)
            child_path = (self.path / source).resolve()
            inputs = Lazy(lambda k: self.eval(block.body.attributes[k], {}, block.file),
                          [k for k in block.body.attributes if k not in ("source", "version", "providers", "depends_on", "count", "for_each")],
                          f"module.{name}")
            child = Scope(child_path, inputs, self.env, f"{self.address}module.{name}.")
            outputs = [b.labels[0] for b in child.blocks if b.kind == "output"]
            lazy = Lazy(lambda k: child.eval(child.block("output", k).body.attributes["value"], {}, child.block("output", k).file), outputs, f"module.{name}")
            lazy.scope = child  # type: ignore[attr-defined]
            self._modules[name] = lazy
        return self._modules[name]

    def child(self, name: str) -> "Scope":
        return self.module(name).scope  # type: ignore[attr-defined]

    def instances(self, kind: str, type_: str, name: str) -> dict[Any, dict]:
        """{instance key (None, index or for_each key): attribute object}."""
        key = (kind, type_, name)
        if key in self._resources:
            return self._resources[key]
        block = self.block(kind, type_, name)
        attrs = block.body.attributes
        if "count" in attrs:
            count = int(self.eval(attrs["count"], {}, block.file))
            keys: list[tuple[Any, dict]] = [(i, {"count": {"index": i}}) for i in range(count)]
        elif "for_each" in attrs:
            each = self.eval(attrs["for_each"], {}, block.file)
            pairs = each.items() if isinstance(each, dict) else [(v, v) for v in each]
            keys = [(k, {"each": {"key": k, "value": v}}) for k, v in pairs]
        else:
            keys = [(None, {})]
        out = {k: self._instance(block, ctx, k) for k, ctx in keys}
        self._resources[key] = out
        return out

    def _instance(self, block: BlockNode, ctx: dict, index: Any) -> Lazy:
        type_ = block.labels[0]
        address = f"{self.address}{block.kind}.{'.'.join(block.labels)}" + ("" if index is None else f"[{index!r}]")
        configured = [k for k in block.body.attributes if k not in ("count", "for_each", "depends_on", "lifecycle", "provider")]

        def compute(attr: str) -> Any:
            if block.kind == "data":
                synthetic = self._data_attribute(block, ctx, attr, address)
                if synthetic is not _MISSING:
                    return synthetic
            elif type_ in RESOURCE_ARNS and attr not in block.body.attributes:
                config = Lazy(lambda k: self.eval(block.body.attributes[k], ctx, block.file), configured, address)
                built = RESOURCE_ARNS[type_](self, config)
                if attr in built:
                    return built[attr]
            if attr in block.body.attributes:
                return self.eval(block.body.attributes[attr], ctx, block.file)
            if attr == "name" and type_ in RESOURCE_ARNS:
                return None
            return Unknown(f"{address}.{attr}")

        keys = configured + ["arn", "id", "json", "key_id"]
        lazy = Lazy(compute, keys, address)
        lazy.block, lazy.ctx = block, ctx  # type: ignore[attr-defined]
        return lazy

    def _data_attribute(self, block: BlockNode, ctx: dict, attr: str, address: str) -> Any:
        type_ = block.labels[0]
        if type_ == "aws_caller_identity":
            return {"account_id": self.account, "arn": f"arn:{self.partition}:iam::{self.account}:user/deployer"}.get(attr, _MISSING)
        if type_ == "aws_partition":
            return {"partition": self.partition, "dns_suffix": "amazonaws.com"}.get(attr, _MISSING)
        if type_ == "aws_region":
            return {"region": self.region, "name": self.region, "id": self.region}.get(attr, _MISSING)
        if type_ == "aws_iam_policy_document" and attr == "json":
            return json.dumps(self.policy_document(block, ctx), indent=2)
        return _MISSING

    # ----------------------------------------------------------- policies
    def policy_document(self, block: BlockNode, ctx: dict) -> dict:
        """The policy document an aws_iam_policy_document renders (source documents first,
        the document's own statements overriding theirs by Sid, as the provider merges)."""
        attrs = block.body.attributes
        statements: list[dict] = []
        for source in self.eval(attrs["source_policy_documents"], ctx, block.file) if "source_policy_documents" in attrs else []:
            statements.extend(json.loads(source)["Statement"])
        own = [self._statement(s.body, ctx, block.file) for s in block.body.blocks_of("statement")]
        for dyn in block.body.blocks_of("dynamic"):
            if dyn.labels[0] != "statement":
                continue
            iterator = self.eval(dyn.body.attributes["iterator"], ctx, block.file) if "iterator" in dyn.body.attributes else "statement"
            each = self.eval(dyn.body.attributes["for_each"], ctx, block.file)
            pairs = each.items() if isinstance(each, dict) else list(enumerate(each))
            for key, value in pairs:
                for content in dyn.body.blocks_of("content"):
                    own.append(self._statement(content.body, {**ctx, iterator: {"key": key, "value": value}}, block.file))
        for statement in own:
            sid = statement.get("Sid")
            if sid:
                statements = [s for s in statements if s.get("Sid") != sid]
            statements.append(statement)
        return {"Version": "2012-10-17", "Statement": statements}

    def _statement(self, body: Body, ctx: dict, file: Path) -> dict:
        a = body.attributes
        ev = lambda name: self.eval(a[name], ctx, file)  # noqa: E731
        statement: dict[str, Any] = {}
        if "sid" in a and ev("sid"):
            statement["Sid"] = ev("sid")
        statement["Effect"] = ev("effect") if "effect" in a else "Allow"
        for tf_name, key in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"), ("not_resources", "NotResource")):
            if tf_name in a:
                statement[key] = sorted(set(_plain(ev(tf_name))))
        blocks: list[tuple[Body, dict]] = [(b.body, ctx) for b in body.blocks]
        for dyn in body.blocks_of("dynamic"):
            iterator = dyn.labels[0]
            each = self.eval(dyn.body.attributes["for_each"], ctx, file)
            pairs = each.items() if isinstance(each, dict) else list(enumerate(each))
            for key, value in pairs:
                for content in dyn.body.blocks_of("content"):
                    blocks.append((BodyOf(iterator, content.body), {**ctx, iterator: {"key": key, "value": value}}))
        for sub, sub_ctx in blocks:
            kind = sub.kind if isinstance(sub, BodyOf) else next(b.kind for b in body.blocks if b.body is sub)
            sa = sub.attributes
            sev = lambda name: self.eval(sa[name], sub_ctx, file)  # noqa: E731
            if kind in ("principals", "not_principals"):
                key = "Principal" if kind == "principals" else "NotPrincipal"
                statement.setdefault(key, {}).setdefault(sev("type"), []).extend(_plain(sev("identifiers")))
            elif kind == "condition":
                statement.setdefault("Condition", {}).setdefault(sev("test"), {}).setdefault(sev("variable"), []).extend(_plain(sev("values")))
        return statement

    # ----------------------------------------------------------- types
    def type_of(self, tree: Tree) -> Any:
        node = _unwrap(tree)
        if isinstance(node, Tree) and node.data == "identifier":
            return (_name(node),)
        if isinstance(node, Tree) and node.data == "function_call":
            fname = _name(node.children[0])
            args = _args(node)
            if fname == "object":
                obj = _unwrap(args[0])
                attrs = {}
                for elem in _object_elems(obj):
                    key = _key_name(elem[0])
                    t = _unwrap(elem[1])
                    if isinstance(t, Tree) and t.data == "function_call" and _name(t.children[0]) == "optional":
                        targs = _args(t)
                        default = self.eval(targs[1], {}, self.path) if len(targs) > 1 else None
                        attrs[key] = (self.type_of(targs[0]), True, default)
                    else:
                        attrs[key] = (self.type_of(elem[1]), False, None)
                return ("object", attrs)
            if fname in ("map", "list", "set"):
                return (fname, self.type_of(args[0]))
            if fname == "tuple":
                return ("any",)
        raise EvalError(f"{self.path}: unsupported type expression {tree}")

    # ----------------------------------------------------------- expressions
    def eval(self, tree: Any, ctx: dict, file: Path) -> Any:
        try:
            return Evaluator(self, ctx, file).eval(tree)
        except EvalError:
            raise
        except Exception as exc:  # name the file for anything the evaluator trips on
            raise EvalError(f"{file}: {type(exc).__name__}: {exc}") from exc


class BodyOf(Body):
    """The content of a dynamic block, with the block kind it stands for."""

    def __init__(self, kind: str, body: Body):
        super().__init__(body.attributes, body.blocks)
        self.kind = kind


class Unknown(str):
    """A value known only after apply; it still renders inside strings."""

    def __new__(cls, address: str) -> "Unknown":
        return super().__new__(cls, f"<{address}>")


class TemplateFile(Unknown):
    """A templatefile() call: known after apply only where its variables are, but its
    template and variable values are read by the checks of what is rendered."""

    def __new__(cls, path: str, variables: dict) -> "TemplateFile":
        call = super().__new__(cls, f"templatefile({path})")
        call.path, call.variables = Path(path), variables
        return call


_MISSING = object()


def _unwrap(node: Any) -> Any:
    while isinstance(node, Tree) and node.data == "expr_term" and len([c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]) == 1 \
            and not any(isinstance(c, Token) and c.type == "LPAR" for c in node.children):
        node = next(c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment")
    return node


def _trees(node: Tree) -> list:
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _args(call: Tree) -> list:
    arguments = next((c for c in call.children if isinstance(c, Tree) and c.data == "arguments"), None)
    return _trees(arguments) if arguments is not None else []


def _object_elems(obj: Tree) -> list[tuple[Tree, Tree]]:
    out = []
    for elem in _trees(obj):
        parts = _trees(elem)
        out.append((parts[0], parts[1]))
    return out


def _key_name(key: Tree) -> str:
    node = _unwrap(_trees(key)[0]) if key.data == "object_elem_key" else _unwrap(key)
    if isinstance(node, Tree) and node.data in ("identifier", "keyword", "literal_value"):
        return _name(node)
    if isinstance(node, Tree) and node.data == "string":
        return _name(node)
    raise EvalError(f"unsupported object key {key}")


def _unescape(text: str) -> str:
    return re.sub(r'\\(["\\nrt])', lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), text)


class Evaluator:
    def __init__(self, scope: Scope, ctx: dict, file: Path):
        self.scope, self.ctx, self.file = scope, ctx, file

    def eval(self, node: Any) -> Any:
        node = _unwrap(node)
        if isinstance(node, Token):
            raise EvalError(f"unexpected token {node!r}")
        method = getattr(self, "_" + node.data, None)
        if method is None:
            raise EvalError(f"{self.file}: unsupported expression {node.data}")
        return method(node)

    # literals
    def _expr_term(self, node: Tree) -> Any:  # parenthesised
        return self.eval(_trees(node)[0])

    def _int_lit(self, node: Tree) -> int:
        return int(str(node.children[0]))

    def _float_lit(self, node: Tree) -> float:
        return float(str(node.children[0]))

    def _literal_value(self, node: Tree) -> Any:
        return {"true": True, "false": False, "null": None}[str(node.children[0])]

    def _string(self, node: Tree) -> Any:
        parts = [c for c in node.children if isinstance(c, Tree) and c.data == "string_part"]
        if len(parts) == 1 and isinstance(parts[0].children[0], Tree) and parts[0].children[0].data == "interpolation":
            return self.eval(_trees(parts[0].children[0])[0])  # "${x}" keeps x's type
        out = []
        for part in parts:
            inner = part.children[0]
            if isinstance(inner, Tree) and inner.data == "interpolation":
                out.append(_tf_str(self.eval(_trees(inner)[0])))
            elif isinstance(inner, Token) and inner.type == "ESCAPED_INTERPOLATION":
                out.append(str(inner)[1:])
            elif isinstance(inner, Token):
                out.append(_unescape(str(inner)))
            else:
                raise EvalError(f"{self.file}: template directives are not supported")
        return "".join(out)

    def _heredoc_template(self, node: Tree) -> str:
        text = str(node.children[0])
        return text[text.index("\n") + 1:text.rstrip().rindex("\n") + 1]

    def _tuple(self, node: Tree) -> list:
        return [self.eval(c) for c in _trees(node)]

    def _object(self, node: Tree) -> dict:
        out = {}
        for key, value in _object_elems(node):
            inner = _unwrap(_trees(key)[0])
            if isinstance(inner, Tree) and inner.data in ("identifier", "keyword"):
                name = _name(inner)
            else:
                name = _tf_str(self.eval(inner))
            out[name] = self.eval(value)
        return out

    # references
    def _identifier(self, node: Tree) -> Any:
        name = _name(node)
        if name in self.ctx:
            return self.ctx[name]
        if name == "var":
            return Lazy(self.scope.var, [b.labels[0] for b in self.scope.blocks if b.kind == "variable"], "var")
        if name == "local":
            return Lazy(self.scope.local, list(self.scope._locals_src), "local")
        if name == "module":
            return Lazy(self.scope.module, [b.labels[0] for b in self.scope.blocks if b.kind == "module"], "module")
        if name == "path":
            # Absolute paths: the files they name are read from here, not from the root module.
            return {"module": str(self.scope.path), "root": str(self.scope.path), "cwd": str(Path.cwd())}
        if name == "data":
            types = sorted({b.labels[0] for b in self.scope.blocks if b.kind == "data"})
            return Lazy(lambda t: self._resource_type("data", t), types, "data")
        types = {b.labels[0] for b in self.scope.blocks if b.kind == "resource"}
        if name in types:
            return self._resource_type("resource", name)
        if name in ("string", "number", "bool", "any"):
            return name
        raise EvalError(f"{self.file}: unknown name {name!r}")

    def _resource_type(self, kind: str, type_: str) -> Lazy:
        names = [b.labels[1] for b in self.scope.blocks if b.kind == kind and b.labels[0] == type_]

        def one(name: str) -> Any:
            block = self.scope.block(kind, type_, name)
            instances = self.scope.instances(kind, type_, name)
            if "count" in block.body.attributes:
                return [instances[i] for i in sorted(instances)]
            if "for_each" in block.body.attributes:
                return Lazy(lambda k: instances[k], list(instances), f"{type_}.{name}")
            return instances[None]

        return Lazy(one, names, f"{kind}.{type_}")

    def _get_attr_expr_term(self, node: Tree) -> Any:
        base, attr = _trees(node)
        value = self.eval(base)
        return self._attr(value, _name(_trees(attr)[0]))

    def _attr(self, value: Any, name: str) -> Any:
        if isinstance(value, Lazy):
            return value[name]
        if isinstance(value, dict):
            if name not in value:
                raise EvalError(f"{self.file}: no attribute {name!r} in {getattr(value, 'where', '') or sorted(value)[:8]}")
            return value[name]
        raise EvalError(f"{self.file}: .{name} of a {type(value).__name__}")

    def _index_expr_term(self, node: Tree) -> Any:
        base, index = _trees(node)
        value = self.eval(base)
        if index.data == "short_index":
            key: Any = int(str(index.children[1]))
        else:
            key = self.eval(_trees(index)[0])
        if isinstance(value, list):
            return value[int(key)]
        if isinstance(value, dict):
            if key not in value:
                raise EvalError(f"{self.file}: no key {key!r} in {getattr(value, 'where', '')} ({list(value)[:10]})")
            return value[key]
        raise EvalError(f"{self.file}: cannot index a {type(value).__name__}")

    def _full_splat_expr_term(self, node: Tree) -> Any:
        base, splat = _trees(node)
        value = self.eval(base)
        items = value if isinstance(value, list) else ([] if value is None else [value])
        out = []
        for item in items:
            for op in _trees(splat):
                item = self._attr(item, _name(_trees(op)[0])) if op.data == "get_attr" else item[self.eval(_trees(op)[0])]
            out.append(item)
        return out

    _attr_splat_expr_term = _full_splat_expr_term

    # operators
    def _conditional(self, node: Tree) -> Any:
        cond, yes, no = _trees(node)
        return self.eval(yes) if self.eval(cond) else self.eval(no)

    def _binary_op(self, node: Tree) -> Any:
        left, term = _trees(node)
        op_node, right = _trees(term)
        op = str(op_node.children[0])
        if op == "&&":
            return bool(self.eval(left)) and bool(self.eval(right))
        if op == "||":
            return bool(self.eval(left)) or bool(self.eval(right))
        a, b = self.eval(left), self.eval(right)
        if op == "==":
            return _plain(a) == _plain(b)
        if op == "!=":
            return _plain(a) != _plain(b)
        ops = {"<": lambda: a < b, ">": lambda: a > b, "<=": lambda: a <= b, ">=": lambda: a >= b,
               "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b, "%": lambda: a % b}
        return ops[op]()

    def _unary_op(self, node: Tree) -> Any:
        op = str(node.children[0])
        value = self.eval(node.children[1])
        return (not value) if op == "!" else -value

    # for expressions
    def _for_intro(self, node: Tree) -> tuple[list[str], Any]:
        names = [_name(c) for c in node.children if isinstance(c, Tree) and c.data == "identifier"]
        collection = self.eval(_trees(node)[-1])
        return names, collection

    def _iterate(self, intro: Tree):
        names, collection = self._for_intro(intro)
        pairs = collection.items() if isinstance(collection, dict) else list(enumerate(collection))
        for key, value in pairs:
            yield ({names[0]: key, names[1]: value} if len(names) == 2 else {names[0]: value})

    def _for_tuple_expr(self, node: Tree) -> list:
        parts = _trees(node)
        intro, expr = parts[0], parts[1]
        cond = parts[2] if len(parts) > 2 else None
        out = []
        for bound in self._iterate(intro):
            inner = Evaluator(self.scope, {**self.ctx, **bound}, self.file)
            if cond is None or inner.eval(_trees(cond)[0]):
                out.append(inner.eval(expr))
        return out

    def _for_object_expr(self, node: Tree) -> dict:
        parts = _trees(node)
        intro, key_expr, value_expr = parts[0], parts[1], parts[2]
        grouping = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in node.children)
        cond = parts[3] if len(parts) > 3 else None
        out: dict = {}
        for bound in self._iterate(intro):
            inner = Evaluator(self.scope, {**self.ctx, **bound}, self.file)
            if cond is None or inner.eval(_trees(cond)[0]):
                key = inner.eval(key_expr)
                if grouping:
                    out.setdefault(key, []).append(inner.eval(value_expr))
                else:
                    out[key] = inner.eval(value_expr)
        return out

    # functions
    def _function_call(self, node: Tree) -> Any:
        name = _name(node.children[0])
        args = _args(node)
        expand = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in next((c for c in node.children if isinstance(c, Tree) and c.data == "arguments"), Tree("x", [])).children)
        if name == "try":
            for arg in args:
                try:
                    return self.eval(arg)
                except (EvalError, KeyError, IndexError, TypeError):
                    continue
            raise EvalError(f"{self.file}: no argument of try() could be evaluated")
        if name == "can":
            try:
                self.eval(args[0])
                return True
            except (EvalError, KeyError, IndexError, TypeError):
                return False
        values = [self.eval(a) for a in args]
        if expand:
            values = values[:-1] + list(values[-1])
        function = FUNCTIONS.get(name)
        if function is None:
            raise EvalError(f"{self.file}: function {name}() is not supported by the evaluator")
        return function(self.scope, *values)


def _flatten(value: Any) -> list:
    out = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _file(scope: Scope, path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _fileset(scope: Scope, root: str, pattern: str) -> list[str]:
    patterns = [pattern]
    brace = re.search(r"\{([^}]*)\}", pattern)
    if brace:
        patterns = [pattern[:brace.start()] + alt + pattern[brace.end():] for alt in brace.group(1).split(",")]
    found = set()
    for p in patterns:
        for match in glob.glob(os.path.join(root, p), recursive=True):
            if os.path.isfile(match):
                found.add(os.path.relpath(match, root))
    return sorted(found)


def _coalesce(scope: Scope, *values: Any) -> Any:
    for v in values:
        if v is not None and v != "":
            return v
    raise EvalError("coalesce(): no non-null, non-empty argument")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": lambda s, *maps: {k: v for m in maps if m for k, v in m.items()},
    "concat": lambda s, *lists: [x for lst in lists for x in lst],
    "flatten": lambda s, v: _flatten(v),
    "compact": lambda s, v: [x for x in v if x not in (None, "")],
    "distinct": lambda s, v: [x for i, x in enumerate(v) if _plain(x) not in [_plain(y) for y in v[:i]]],
    "coalesce": _coalesce,
    "length": lambda s, v: len(v),
    "keys": lambda s, v: sorted(v.keys()),
    "values": lambda s, v: [v[k] for k in sorted(v.keys())],
    "contains": lambda s, coll, v: _plain(v) in [_plain(x) for x in coll],
    "lookup": lambda s, m, k, *d: m[k] if k in m else d[0],
    "replace": lambda s, text, old, new: re.sub(old[1:-1], re.sub(r"\$(\d)", r"\\\1", new), text) if len(old) > 1 and old.startswith("/") and old.endswith("/") else text.replace(old, new),
    "title": lambda s, text: re.sub(r"\b(\w)", lambda m: m.group(1).upper(), text),
    "lower": lambda s, text: text.lower(),
    "upper": lambda s, text: text.upper(),
    "join": lambda s, sep, items: sep.join(_tf_str(i) for i in items),
    "split": lambda s, sep, text: text.split(sep),
    "format": lambda s, fmt, *a: re.sub(r"%[sd]", "{}", fmt).format(*a),
    "tostring": lambda s, v: v if v is None else _tf_str(v),
    "tonumber": lambda s, v: v if v is None else (float(v) if "." in str(v) else int(v)),
    "tolist": lambda s, v: list(v),
    "toset": lambda s, v: sorted(set(v)),
    "tomap": lambda s, v: dict(v),
    "sort": lambda s, v: sorted(v),
    "alltrue": lambda s, v: all(v),
    "anytrue": lambda s, v: any(v),
    "jsonencode": lambda s, v: _jsonencode(v),
    "jsondecode": lambda s, v: json.loads(v),
    "yamldecode": lambda s, v: yaml.safe_load(v),
    "file": _file,
    "fileset": _fileset,
    "filemd5": lambda s, p: hashlib.md5(Path(p).read_bytes()).hexdigest(),
    "filebase64sha256": lambda s, p: base64.b64encode(hashlib.sha256(Path(p).read_bytes()).digest()).decode(),
    "md5": lambda s, v: hashlib.md5(v.encode()).hexdigest(),
    "sha256": lambda s, v: hashlib.sha256(v.encode()).hexdigest(),
    "regex": lambda s, pattern, text: _regex(pattern, text),
    "startswith": lambda s, text, prefix: text.startswith(prefix),
    "endswith": lambda s, text, suffix: text.endswith(suffix),
    "trimprefix": lambda s, text, prefix: text[len(prefix):] if text.startswith(prefix) else text,
    "trimsuffix": lambda s, text, suffix: text[:-len(suffix)] if suffix and text.endswith(suffix) else text,
    "min": lambda s, *v: min(v),
    "floor": lambda s, v: math.floor(v),
    "ceil": lambda s, v: math.ceil(v),
    "max": lambda s, *v: max(v),
    "one": lambda s, v: (list(v)[0] if len(v) == 1 else None),
    "element": lambda s, v, i: v[i % len(v)],
    "zipmap": lambda s, k, v: dict(zip(k, v)),
    "templatefile": lambda s, path, variables: TemplateFile(path, variables),
    "basename": lambda s, p: os.path.basename(p),
    "dirname": lambda s, p: os.path.dirname(p),
    "abspath": lambda s, p: os.path.abspath(p),
}


def _regex(pattern: str, text: str) -> Any:
    match = re.search(pattern, text)
    if not match:
        raise EvalError(f"regex({pattern!r}) does not match {text!r}")
    if match.groupdict():
        return match.groupdict()
    if match.groups():
        return list(match.groups())
    return match.group(0)


def root(path: Path, env: Optional[Environment] = None, inputs: Optional[dict] = None,
         var_file: Optional[str] = None) -> Scope:
    """A root module (an example or an environment) with its tfvars: ``var_file`` (as
    ``-var-file`` names it, relative to the root) or else terraform.tfvars, if any."""
    values: dict[str, Any] = {}
    tfvars = path / (var_file or "terraform.tfvars")
    if var_file and not tfvars.is_file():
        raise EvalError(f"{tfvars} not found")
    if tfvars.is_file():
        tree = hcl2.parses_to_tree(tfvars.read_text(encoding="utf-8"))
        body = _to_body(next(c for c in tree.children if isinstance(c, Tree) and c.data == "body"), tfvars)
        scratch = Scope(path, {}, env or Environment())
        values = {k: scratch.eval(v, {}, tfvars) for k, v in body.attributes.items()}
    values.update(inputs or {})
    return Scope(path, values, env or Environment())


def module_scopes(scope: Scope) -> Iterator[Scope]:
    """The scope and every module instance below it."""
    yield scope
    for block in scope.blocks:
        if block.kind == "module":
            yield from module_scopes(scope.child(block.labels[0]))


def resource_instances(scope: Scope, type_: str) -> Iterator[tuple[Scope, str, Any, Lazy]]:
    """(module scope, resource name, instance key, instance) of every resource of this
    type in the scope and the modules below it."""
    for module in module_scopes(scope):
        for block in module.blocks:
            if block.kind == "resource" and block.labels[0] == type_:
                for key, instance in module.instances("resource", type_, block.labels[1]).items():
                    yield module, block.labels[1], key, instance


################################################################################
# Expressions of a module for given variable values
################################################################################

def expression_text(value: Any) -> str:
    """HCL text of a python-hcl2 (tools.tfmodel) value: `${expr}` unwrapped, literals as HCL literals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    match = re.fullmatch(r"\$\{(.*)\}", text, re.S)
    return match.group(1) if match else text


def evaluate(module_path: Path, expressions: dict[str, Any], inputs: dict[str, Any],
             env: Optional[Environment] = None) -> dict[str, Any]:
    """{name: value} of expressions written in the module at module_path, for these values
    of its variables (converted by their declared types, optional() defaults filled in).
    Each expression stands as a local of that name, so they may refer to one another as
    ``local.<name>``; the module's own locals are not in scope."""
    scope = Scope(Path(module_path), inputs, env or Environment())
    source = Path(module_path) / "<expressions>"
    scope._locals_src = {}
    for name, value in expressions.items():
        tree = hcl2.parses_to_tree(f"{name} = {expression_text(value)}\n")
        body = _to_body(next(c for c in tree.children if isinstance(c, Tree) and c.data == "body"), source)
        scope._locals_src[name] = (body.attributes[name], source)
    return {name: _plain(scope.local(name)) for name in expressions}
