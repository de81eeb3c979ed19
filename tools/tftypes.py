"""Terraform's type conversion for module inputs, offline: parse a variable's
`type` constraint (object/optional/list/map/primitives) and convert a value the
way Terraform does before the module sees it, so optional attributes left out
get their defaults (or null). Only the type and literal syntax the modules use
is supported; anything else raises ValueError naming the text."""
from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w-]*)|(?P<punct>[(){}\[\]=,:]))')


def _tokens(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"cannot read type text at {text[pos:pos + 30]!r}")
        out.append(match.group(match.lastgroup))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expected {expected!r}, found {token!r}")
        self.i += 1
        return token

    def type(self) -> tuple:
        name = self.take()
        if name in ("string", "number", "bool", "any"):
            return (name,)
        self.take("(")
        if name in ("list", "set", "map"):
            inner = self.type()
            self.take(")")
            return (name, inner)
        if name == "object":
            self.take("{")
            attrs = {}
            while self.peek() != "}":
                key = self.take()
                self.take("=")
                optional, default = False, None
                if self.peek() == "optional":
                    self.take()
                    self.take("(")
                    attr_type = self.type()
                    if self.peek() == ",":
                        self.take(",")
                        default = self.value()
                    self.take(")")
                    optional = True
                else:
                    attr_type = self.type()
                attrs[key] = (attr_type, optional, default)
                if self.peek() == ",":
                    self.take(",")
            self.take("}")
            self.take(")")
            return ("object", attrs)
        raise ValueError(f"unsupported type constructor {name!r}")

    def value(self) -> Any:
        token = self.take()
        if token == "{":
            out = {}
            while self.peek() != "}":
                key = self.take()
                key = json.loads(key) if key.startswith('"') else key
                self.take("=") if self.peek() == "=" else self.take(":")
                out[key] = self.value()
                if self.peek() == ",":
                    self.take(",")
            self.take("}")
            return out
        if token == "[":
            items = []
            while self.peek() != "]":
                items.append(self.value())
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            return items
        if token.startswith('"'):
            return json.loads(token)
        if token in ("true", "false"):
            return token == "true"
        if token == "null":
            return None
        if re.fullmatch(r"-?\d+(?:\.\d+)?", token):
            return float(token) if "." in token else int(token)
        raise ValueError(f"not a literal: {token!r}")


def parse_type(text: str) -> tuple:
    parser = _Parser(text)
    result = parser.type()
    if parser.peek() is not None:
        raise ValueError(f"unexpected {parser.peek()!r} after the type")
    return result


def convert(value: Any, type_: tuple, where: str = "var") -> Any:
    """The value the module sees: optional attributes filled with their default or null."""
    if value is None:
        return None
    kind = type_[0]
    if kind == "object":
        if not isinstance(value, dict):
            raise ValueError(f"{where}: an object is required")
        unknown = set(value) - set(type_[1])
        if unknown:
            raise ValueError(f"{where}: unknown attributes {sorted(unknown)}")
        out = {}
        for key, (attr_type, optional, default) in type_[1].items():
            if key in value and value[key] is not None:
                out[key] = convert(value[key], attr_type, f"{where}.{key}")
            elif optional:
                out[key] = convert(default, attr_type, f"{where}.{key}")
            else:
                raise ValueError(f"{where}: attribute {key!r} is required")
        return out
    if kind in ("list", "set"):
        return [convert(item, type_[1], f"{where}[{i}]") for i, item in enumerate(value)]
    if kind == "map":
        return {k: convert(v, type_[1], f"{where}.{k}") for k, v in value.items()}
    return value
