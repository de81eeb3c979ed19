"""Hive/Glue column types: parsing and "can old values be read as the new type" checks.

Glue stores column types as Hive type strings (``bigint``, ``decimal(10,2)``,
``struct<id:string,tags:array<string>>``). A change is *widening* when every value
of the old type is represented exactly by the new type, so the export keeps
reading the same data; anything else may fail the cast or lose data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

SAME = "same"
WIDENING = "widening"
INCOMPATIBLE = "incompatible"

_ALIASES = {
    "integer": "int",
    "long": "bigint",
    "short": "smallint",
    "byte": "tinyint",
    "real": "float",
    "float4": "float",
    "float8": "double",
    "bool": "boolean",
    "numeric": "decimal",
    "text": "string",
}

# Exact integer digits each integral type needs inside a decimal.
_INTEGRAL_DIGITS = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}
_INTEGRAL_ORDER = ["tinyint", "smallint", "int", "bigint"]
# float holds a 24-bit mantissa, double 53 bits: only small integers fit exactly.
_EXACT_IN_FLOAT = {"tinyint", "smallint"}
_EXACT_IN_DOUBLE = {"tinyint", "smallint", "int"}

_TOKEN = re.compile(r"\s*([<>(),:]|`[^`]*`|[^<>(),:\s]+)")


@dataclass(frozen=True)
class HiveType:
    """A parsed type: ``kind`` is primitive, array, map, struct or opaque."""

    kind: str
    name: str = ""
    params: Tuple[str, ...] = ()
    children: Tuple["HiveType", ...] = ()
    field_names: Tuple[str, ...] = ()

    def render(self) -> str:
        if self.kind == "array":
            return "array<%s>" % self.children[0].render()
        if self.kind == "map":
            return "map<%s,%s>" % (self.children[0].render(), self.children[1].render())
        if self.kind == "struct":
            inner = ",".join("%s:%s" % (n, t.render()) for n, t in zip(self.field_names, self.children))
            return "struct<%s>" % inner
        if self.params:
            return "%s(%s)" % (self.name, ",".join(self.params))
        return self.name


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = [m.group(1) for m in _TOKEN.finditer(text)]
        self.pos = 0

    def peek(self) -> Optional[str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: Optional[str] = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError("expected %r at token %d" % (expected or "a name", self.pos))
        self.pos += 1
        return token

    def parse_type(self) -> HiveType:
        name = self.take().strip("`").lower()
        name = _ALIASES.get(name, name)
        if name == "array":
            self.take("<")
            element = self.parse_type()
            self.take(">")
            return HiveType("array", "array", children=(element,))
        if name == "map":
            self.take("<")
            key = self.parse_type()
            self.take(",")
            value = self.parse_type()
            self.take(">")
            return HiveType("map", "map", children=(key, value))
        if name == "struct":
            self.take("<")
            names, types = [], []
            while self.peek() != ">":
                names.append(self.take().strip("`").lower())
                self.take(":")
                types.append(self.parse_type())
                if self.peek() == ",":
                    self.take(",")
            self.take(">")
            return HiveType("struct", "struct", children=tuple(types), field_names=tuple(names))
        params = []
        if self.peek() == "(":
            self.take("(")
            while self.peek() != ")":
                params.append(self.take())
                if self.peek() == ",":
                    self.take(",")
            self.take(")")
        return HiveType("primitive", name, params=tuple(params))


def parse_type(text: str) -> HiveType:
    """Parse a Hive type string; unparseable text becomes an opaque type compared as text."""
    normalised = " ".join((text or "").split()).lower()
    try:
        parser = _Parser(normalised)
        parsed = parser.parse_type()
        if parser.peek() is not None:
            raise ValueError("trailing tokens")
        return parsed
    except ValueError:
        return HiveType("opaque", normalised)


def compare_types(old: str, new: str) -> str:
    """SAME, WIDENING (old values read exactly as the new type) or INCOMPATIBLE."""
    return _compare(parse_type(old), parse_type(new))


def _compare(old: HiveType, new: HiveType) -> str:
    if old == new:
        return SAME
    if old.kind == "opaque" or new.kind == "opaque" or old.kind != new.kind:
        # Any primitive can still be read as text, but the export then parses it
        # again, so a change to string is not treated as safe.
        return INCOMPATIBLE
    if old.kind == "array":
        return _worst(_compare(old.children[0], new.children[0]))
    if old.kind == "map":
        if _compare(old.children[0], new.children[0]) != SAME:
            return INCOMPATIBLE
        return _worst(_compare(old.children[1], new.children[1]))
    if old.kind == "struct":
        new_fields = dict(zip(new.field_names, new.children))
        results = []
        for name, old_child in zip(old.field_names, old.children):
            if name not in new_fields:
                return INCOMPATIBLE
            results.append(_compare(old_child, new_fields[name]))
        if len(new_fields) > len(old.field_names):
            results.append(WIDENING)
        return _worst(*results)
    return _compare_primitive(old, new)


def _worst(*results: str) -> str:
    if INCOMPATIBLE in results:
        return INCOMPATIBLE
    if WIDENING in results:
        return WIDENING
    return SAME


def _int_param(value: HiveType, index: int, default: int) -> int:
    try:
        return int(value.params[index])
    except (IndexError, ValueError):
        return default


def _compare_primitive(old: HiveType, new: HiveType) -> str:
    a, b = old.name, new.name
    if a in _INTEGRAL_ORDER and b in _INTEGRAL_ORDER:
        return WIDENING if _INTEGRAL_ORDER.index(b) > _INTEGRAL_ORDER.index(a) else INCOMPATIBLE
    if a == "float" and b == "double":
        return WIDENING
    if a in _INTEGRAL_ORDER and b == "float":
        return WIDENING if a in _EXACT_IN_FLOAT else INCOMPATIBLE
    if a in _INTEGRAL_ORDER and b == "double":
        return WIDENING if a in _EXACT_IN_DOUBLE else INCOMPATIBLE
    if b == "decimal":
        # Hive's default decimal is decimal(10,0).
        new_precision, new_scale = _int_param(new, 0, 10), _int_param(new, 1, 0)
        if a in _INTEGRAL_DIGITS:
            return WIDENING if new_precision - new_scale >= _INTEGRAL_DIGITS[a] else INCOMPATIBLE
        if a == "decimal":
            old_precision, old_scale = _int_param(old, 0, 10), _int_param(old, 1, 0)
            if (old_precision, old_scale) == (new_precision, new_scale):
                return SAME
            keeps_scale = new_scale >= old_scale
            keeps_integer_digits = new_precision - new_scale >= old_precision - old_scale
            return WIDENING if keeps_scale and keeps_integer_digits else INCOMPATIBLE
    if a in ("char", "varchar") and b == "string":
        return WIDENING
    if a in ("char", "varchar") and b == "varchar":
        if a == "varchar" and _int_param(new, 0, 65535) == _int_param(old, 0, 65535):
            return SAME
        return WIDENING if _int_param(new, 0, 65535) >= _int_param(old, 0, 65535) else INCOMPATIBLE
    if a == "date" and b == "timestamp":
        return WIDENING
    return INCOMPATIBLE
