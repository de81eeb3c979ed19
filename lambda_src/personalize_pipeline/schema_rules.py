"""Personalize's rules for replacing a dataset's schema."""
from __future__ import annotations

import json

from .errors import SchemaChangeNotAllowed


def _fields(schema_text: str) -> dict[str, object]:
    return {f["name"]: f["type"] for f in json.loads(schema_text).get("fields", [])}


def _nullable(field_type: object) -> bool:
    return isinstance(field_type, list) and "null" in field_type


def check_schema_change(dataset_key: str, old_schema: str, new_schema: str) -> None:
    """Interactions schemas cannot be replaced; users/items schemas may only
    keep every field (same type) and add nullable ones."""
    old, new = _fields(old_schema), _fields(new_schema)
    if old == new:
        return
    if dataset_key == "interactions":
        raise SchemaChangeNotAllowed(
            "datasets.interactions: the interactions schema changed, but Personalize cannot replace an interactions "
            "schema; create a new dataset group (change the params' name) to use the new schema"
        )
    removed = sorted(set(old) - set(new))
    if removed:
        raise SchemaChangeNotAllowed(f"datasets.{dataset_key}: fields {removed} were removed; only nullable fields may be added")
    retyped = sorted(name for name in old if old[name] != new[name])
    if retyped:
        raise SchemaChangeNotAllowed(f"datasets.{dataset_key}: the type of fields {retyped} changed; only nullable fields may be added")
    required = sorted(name for name in set(new) - set(old) if not _nullable(new[name]))
    if required:
        raise SchemaChangeNotAllowed(
            f"datasets.{dataset_key}: added fields {required} are not nullable; only nullable fields (type [\"null\", ...]) may be added"
        )
