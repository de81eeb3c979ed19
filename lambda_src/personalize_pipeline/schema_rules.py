"""Personalize's rules for replacing a dataset's schema.

https://docs.aws.amazon.com/personalize/latest/dg/updating-dataset-schema.html
- the schema of an Item interactions dataset cannot be replaced;
- a replacement keeps every field of the previous schema with the same data
  type and attributes (categorical, textual, ...), and every added field
  supports null.
"""
from __future__ import annotations

import json

from .errors import SchemaChangeNotAllowed

# Everything about a field except its name: type, categorical, textual, default...
# ("doc" is a comment, not an attribute).
IGNORED_FIELD_KEYS = ("name", "doc")


def _fields(schema_text: str) -> dict[str, dict]:
    return {f["name"]: {k: v for k, v in f.items() if k not in IGNORED_FIELD_KEYS} for f in json.loads(schema_text).get("fields", [])}


def _nullable(field_type: object) -> bool:
    return isinstance(field_type, list) and "null" in field_type


def same_fields(old_schema: str, new_schema: str) -> bool:
    """True when the two schemas define the same fields with the same types and
    attributes. Field order, the record's name, namespace and version are
    cosmetic: such a change needs no schema replacement."""
    return _fields(old_schema) == _fields(new_schema)


def check_schema_change(dataset_key: str, old_schema: str, new_schema: str) -> None:
    """Raise SchemaChangeNotAllowed unless Personalize accepts replacing
    ``old_schema`` with ``new_schema``; a cosmetic change passes (and needs no
    replacement, see ``same_fields``)."""
    old, new = _fields(old_schema), _fields(new_schema)
    if old == new:
        return
    if dataset_key == "interactions":
        changed = sorted(set(old) ^ set(new)) + sorted(n for n in set(old) & set(new) if old[n] != new[n])
        raise SchemaChangeNotAllowed(
            f"datasets.interactions: the interactions schema changed (fields {changed}), but Personalize cannot replace an "
            "interactions schema; create a new dataset group (change the params' name) to use the new schema"
        )
    removed = sorted(set(old) - set(new))
    if removed:
        raise SchemaChangeNotAllowed(f"datasets.{dataset_key}: fields {removed} were removed; only nullable fields may be added")
    retyped = sorted(name for name in old if old[name].get("type") != new[name].get("type"))
    if retyped:
        raise SchemaChangeNotAllowed(f"datasets.{dataset_key}: the type of fields {retyped} changed; only nullable fields may be added")
    reattributed = sorted(name for name in old if old[name] != new[name])
    if reattributed:
        details = "; ".join(f"{n}: {old[n]} -> {new[n]}" for n in reattributed)
        raise SchemaChangeNotAllowed(
            f"datasets.{dataset_key}: the attributes of fields {reattributed} changed ({details}); Personalize keeps every "
            "field's type and attributes: add a new nullable field instead"
        )
    required = sorted(name for name in set(new) - set(old) if not _nullable(new[name].get("type")))
    if required:
        raise SchemaChangeNotAllowed(
            f"datasets.{dataset_key}: added fields {required} are not nullable; only nullable fields (type [\"null\", ...]) may be added"
        )
