"""JSON lines, one document a line: which lines are documents, and each value's type.

Pure Python (the Spark reader in ``sources`` runs it over the lines): a line that is not
exactly one JSON object raises ``MalformedLine`` saying why; ``shape`` records the JSON
types each field holds across documents, ``spark_type`` turns that into a schema (a field
holding several types becomes a choice: a struct with one member per type, as Glue's
DynamicFrame carries it), and ``conform`` puts a document in that shape.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from pyspark.sql import types as T

# A shape is {type name: sub-shape}: "struct" -> {key: shape}, "array" -> element shape,
# scalars -> None. Type names are Glue's (DynamicFrame choice members).


class MalformedLine(ValueError):
    pass


def _reject_repeated_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    document: Dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise MalformedLine("the document repeats the key %r" % key)
        document[key] = value
    return document


_DECODER = json.JSONDecoder(object_pairs_hook=_reject_repeated_keys)


def parse_json_line(line: str) -> Dict[str, Any]:
    """One JSON-lines line -> its document; ``MalformedLine`` says why it is not exactly one object."""
    text = line.strip()
    try:
        document, end = _DECODER.raw_decode(text)
    except MalformedLine:
        raise
    except ValueError as error:
        raise MalformedLine("not valid JSON (%s)" % error)
    rest = text[end:].strip()
    if rest:
        count = 1
        while rest:
            try:
                _, end = _DECODER.raw_decode(rest)
            except ValueError:
                raise MalformedLine("text after the JSON document: %r" % rest[:40])
            count += 1
            rest = rest[end:].strip()
        raise MalformedLine("the line holds %d JSON documents; one document a line" % count)
    if not isinstance(document, dict):
        raise MalformedLine("the line holds a JSON %s, not an object" % _type_name(document))
    return document


def _type_name(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        # Beyond 64 bits the digits are kept exactly, as text.
        return "long" if -(2 ** 63) <= value < 2 ** 63 else "string"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "struct"


def add_shape(shape: Dict[str, Any], value: Any) -> None:
    name = _type_name(value)
    if name is None:
        return
    if name == "struct":
        fields = shape.setdefault("struct", {})
        for key, child in value.items():
            add_shape(fields.setdefault(key, {}), child)
    elif name == "array":
        element = shape.setdefault("array", {})
        for child in value:
            add_shape(element, child)
    else:
        shape.setdefault(name, None)


def merge_shapes(left: Dict[str, Any], right: Dict[str, Any]) -> Dict[str, Any]:
    for name, sub in right.items():
        if name not in left:
            left[name] = sub
        elif name == "struct":
            for key, child in sub.items():
                left["struct"][key] = merge_shapes(left["struct"].get(key, {}), child)
        elif name == "array":
            left["array"] = merge_shapes(left["array"], sub)
    return left


_SCALAR_TYPES = {"boolean": T.BooleanType(), "long": T.LongType(), "double": T.DoubleType(), "string": T.StringType()}


def _single_type(name: str, sub: Any) -> T.DataType:
    if name == "struct":
        return T.StructType([T.StructField(key, spark_type(child)) for key, child in sub.items()])
    if name == "array":
        # Elements of mixed types are kept as text (JSON for non-strings).
        return T.ArrayType(spark_type(sub) if len(sub) == 1 else T.StringType())
    return _SCALAR_TYPES[name]


def spark_type(shape: Dict[str, Any]) -> T.DataType:
    if not shape:
        return T.StringType()
    if len(shape) == 1:
        name, sub = next(iter(shape.items()))
        return _single_type(name, sub)
    # A choice: one member per JSON type, as Glue's DynamicFrame.toDF() carries it.
    return T.StructType([T.StructField(name, _single_type(name, shape[name])) for name in sorted(shape)])


def conform(value: Any, shape: Dict[str, Any]) -> Any:
    """A parsed JSON value in the row shape of ``spark_type(shape)``."""
    name = _type_name(value)
    if name is None or not shape:
        return None if name is None else (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    if len(shape) > 1:
        return tuple(_conform_single(value, member, shape[member]) if member == name else None for member in sorted(shape))
    return _conform_single(value, name, shape[name])


def _conform_single(value: Any, name: str, sub: Any) -> Any:
    if name == "struct":
        return tuple(conform(value.get(key), child) for key, child in sub.items())
    if name == "array":
        if len(sub) == 1:
            return [conform(v, sub) for v in value]
        return [None if v is None else v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in value]
    if name == "string" and not isinstance(value, str):
        return str(value)
    return value


def shapes_of_partition(lines: Iterable[Any]) -> Iterator[Tuple[Dict[str, Any], int, int]]:
    shape: Dict[str, Any] = {}
    blank = total = 0
    for row in lines:
        line = row[0]
        total += 1
        if not line.strip():
            blank += 1
            continue
        try:
            add_shape(shape, parse_json_line(line))
        except MalformedLine:
            pass
    yield shape, total, blank


def rows_of_partition(lines: Iterable[Any], fields: Dict[str, Any]) -> Iterator[tuple]:
    empty = (None,) * len(fields)
    for row in lines:
        line = row[0]
        if not line.strip():
            continue
        try:
            document = parse_json_line(line)
        except MalformedLine as malformed:
            yield empty + (line, str(malformed))
            continue
        yield tuple(conform(document.get(key), shape) for key, shape in fields.items()) + (None, None)
