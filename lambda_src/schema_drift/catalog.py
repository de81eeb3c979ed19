"""Reading table versions from the Glue Data Catalog and diffing two of them.

Catalog events carry no columns, so every comparison works from the versions
Glue keeps (``get_table_versions``), ordered by their numeric VersionId rather
than by the order the events arrived in.
"""
from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from schema_drift.column_types import SAME, compare_types

COLUMN_ADDED = "column_added"
COLUMN_REMOVED = "column_removed"
COLUMN_RENAMED = "column_renamed"
TYPE_CHANGED = "type_changed"
PARTITION_KEYS_CHANGED = "partition_keys_changed"
LOCATION_CHANGED = "location_changed"
FORMAT_CHANGED = "format_changed"
COLUMN_MOVED = "column_moved"

# Delimited text is read by position: the n-th field of a line is the n-th column of
# the table, so the column order is the mapping. Other formats are read by name.
_POSITIONAL_CLASSIFICATIONS = {"csv", "tsv"}
_POSITIONAL_SERDES = {"LazySimpleSerDe", "OpenCSVSerde", "MultiDelimitSerDe", "RegexSerDe"}

# Two names this alike (after dropping case, "_" and "-") are treated as a rename.
_RENAME_SIMILARITY = 0.8


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    is_partition_key: bool = False


@dataclass(frozen=True)
class TableSnapshot:
    """The parts of one table version that decide whether the export can read it."""

    database: str
    name: str
    version_id: Optional[int]
    columns: Tuple[Column, ...]
    partition_keys: Tuple[str, ...]
    location: str
    storage_format: Tuple[Tuple[str, str], ...]
    # When Glue created the table. A table deleted and created again under the same
    # name starts again at VersionId 1, so the version ids alone do not tell the two apart.
    create_time: str = ""

    @property
    def reads_by_position(self) -> bool:
        """True for delimited text (CSV, TSV, ...), whose columns are matched by position."""
        storage = dict(self.storage_format)
        serde = storage.get("serde_library", "").rsplit(".", 1)[-1]
        return storage.get("classification", "").lower() in _POSITIONAL_CLASSIFICATIONS or serde in _POSITIONAL_SERDES

    @property
    def format_name(self) -> str:
        return dict(self.storage_format).get("classification", "").upper() or "delimited text"

    def fingerprint(self) -> str:
        """A digest of everything this version is compared on, and of the table's creation time."""
        content = [self.database, self.name, self.version_id, self.create_time,
                   [[c.name, c.type, c.is_partition_key] for c in self.columns],
                   list(self.partition_keys), self.location, [list(item) for item in self.storage_format]]
        return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()

    def column(self, name: str) -> Optional[Column]:
        wanted = name.lower()
        for column in self.columns:
            if column.name == wanted:
                return column
        return None

    @classmethod
    def from_glue(cls, table: Dict[str, Any], version_id: Optional[str] = None, database: str = "") -> "TableSnapshot":
        descriptor = table.get("StorageDescriptor") or {}
        serde = descriptor.get("SerdeInfo") or {}
        # Hive names are case-insensitive; crawlers write them in lower case.
        columns = [Column(c["Name"].lower(), c.get("Type", "")) for c in descriptor.get("Columns") or []]
        keys = [Column(c["Name"].lower(), c.get("Type", ""), True) for c in table.get("PartitionKeys") or []]
        params = table.get("Parameters") or {}
        storage_format = {
            "classification": params.get("classification", ""),
            "input_format": descriptor.get("InputFormat", ""),
            "output_format": descriptor.get("OutputFormat", ""),
            "serde_library": serde.get("SerializationLibrary", ""),
        }
        for key, value in sorted((serde.get("Parameters") or {}).items()):
            storage_format["serde_parameter." + key] = value
        raw_version = version_id if version_id is not None else table.get("VersionId")
        return cls(
            database=(table.get("DatabaseName") or database).lower(),
            name=table["Name"].lower(),
            version_id=int(raw_version) if raw_version not in (None, "") else None,
            columns=tuple(columns + keys),
            partition_keys=tuple(k.name for k in keys),
            location=descriptor.get("Location", "") or "",
            storage_format=tuple(sorted(storage_format.items())),
            create_time=_timestamp(table.get("CreateTime")),
        )


def _timestamp(value: Any) -> str:
    """boto3 returns datetimes; keep them as ISO text so snapshots stay plain values."""
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@dataclass(frozen=True)
class SchemaChange:
    """One difference between two table versions, before any judgement of its impact."""

    kind: str
    column: Optional[str] = None
    before: Optional[str] = None
    after: Optional[str] = None
    # For type changes: widening or incompatible; for renames: how it was detected.
    compatibility: Optional[str] = None
    new_column: Optional[str] = None


@dataclass
class TableHistory:
    """What the catalog holds for a table now: its versions, newest last."""

    database: str
    table: str
    versions: List[TableSnapshot] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return bool(self.versions)

    @property
    def latest(self) -> Optional[TableSnapshot]:
        return self.versions[-1] if self.versions else None


def is_glue_name(name: str) -> bool:
    """Whether Glue accepts this as a database or table name (NameString: 1 to 255 characters
    of the single-line pattern). Glue refuses other names with InvalidInputException, so no
    table can have one; events are not trusted to hold only such names.
    https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-catalog-tables.html#aws-glue-api-catalog-tables-GetTable"""
    return 1 <= len(name) <= 255 and all(
        char == "\t" or "\u0020" <= char <= "\ud7ff" or "\ue000" <= char <= "\ufffd" or char > "\uffff"
        for char in name)


class GlueCatalog:
    """Thin reader over an injected boto3 Glue client."""

    def __init__(self, glue_client: Any) -> None:
        self.glue = glue_client

    def history(self, database: str, table: str) -> TableHistory:
        """All versions of a table sorted by numeric VersionId; none when the table is gone."""
        history = TableHistory(database, table)
        if not (is_glue_name(database) and is_glue_name(table)):
            return history
        paginator = self.glue.get_paginator("get_table_versions")
        try:
            for page in paginator.paginate(DatabaseName=database, TableName=table):
                for version in page.get("TableVersions", []):
                    history.versions.append(TableSnapshot.from_glue(version["Table"], version.get("VersionId"), database))
        except self.glue.exceptions.EntityNotFoundException:
            return TableHistory(database, table)
        history.versions.sort(key=lambda snapshot: snapshot.version_id or 0)
        return history

    def current(self, database: str, table: str) -> Optional[TableSnapshot]:
        if not (is_glue_name(database) and is_glue_name(table)):
            return None
        try:
            return TableSnapshot.from_glue(self.glue.get_table(DatabaseName=database, Name=table)["Table"], database=database)
        except self.glue.exceptions.EntityNotFoundException:
            return None


def _name_key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _similar(a: str, b: str) -> bool:
    if _name_key(a) == _name_key(b):
        return True
    return difflib.SequenceMatcher(None, _name_key(a), _name_key(b)).ratio() >= _RENAME_SIMILARITY


def _match_renames(old: TableSnapshot, new: TableSnapshot, removed: List[Column], added: List[Column]) -> List[Tuple[Column, Column, str]]:
    """Pair removed and added columns that are most likely one column renamed."""
    old_positions = {c.name: i for i, c in enumerate(old.columns)}
    new_positions = {c.name: i for i, c in enumerate(new.columns)}
    pairs, free = [], list(added)
    for gone in removed:
        match = None
        for candidate in free:
            same_slot = old_positions[gone.name] == new_positions[candidate.name] and gone.type == candidate.type
            if same_slot and gone.is_partition_key == candidate.is_partition_key:
                match = (candidate, "same type at the same position")
                break
        if match is None:
            for candidate in free:
                if _similar(gone.name, candidate.name):
                    match = (candidate, "similar name")
                    break
        if match is not None:
            free.remove(match[0])
            pairs.append((gone, match[0], match[1]))
    return pairs


def diff_tables(old: TableSnapshot, new: TableSnapshot) -> List[SchemaChange]:
    """Every difference between two versions that can change what the export reads."""
    changes: List[SchemaChange] = []
    old_names = {c.name for c in old.columns}
    new_names = {c.name for c in new.columns}
    removed = [c for c in old.columns if c.name not in new_names]
    added = [c for c in new.columns if c.name not in old_names]
    renamed = _match_renames(old, new, removed, added)
    renamed_old = {gone.name for gone, _, _ in renamed}
    renamed_new = {came.name for _, came, _ in renamed}

    for gone, came, how in renamed:
        changes.append(SchemaChange(COLUMN_RENAMED, gone.name, gone.type, came.type, how, came.name))
    for column in removed:
        if column.name not in renamed_old:
            changes.append(SchemaChange(COLUMN_REMOVED, column.name, before=column.type))
    for column in added:
        if column.name not in renamed_new:
            changes.append(SchemaChange(COLUMN_ADDED, column.name, after=column.type))
    for column in old.columns:
        counterpart = new.column(column.name)
        if counterpart is not None and counterpart.type != column.type:
            verdict = compare_types(column.type, counterpart.type)
            if verdict != SAME:
                changes.append(SchemaChange(TYPE_CHANGED, column.name, column.type, counterpart.type, verdict))
    if old.reads_by_position and new.reads_by_position:
        changes.extend(_moved_columns(old, new))
    if old.partition_keys != new.partition_keys:
        changes.append(SchemaChange(
            PARTITION_KEYS_CHANGED,
            before=", ".join(old.partition_keys) or "(none)",
            after=", ".join(new.partition_keys) or "(none)",
        ))
    if old.location != new.location:
        changes.append(SchemaChange(LOCATION_CHANGED, before=old.location, after=new.location))
    old_format, new_format = dict(old.storage_format), dict(new.storage_format)
    for key in sorted(set(old_format) | set(new_format)):
        if old_format.get(key, "") != new_format.get(key, ""):
            changes.append(SchemaChange(FORMAT_CHANGED, key, old_format.get(key, ""), new_format.get(key, "")))
    return changes


def _moved_columns(old: TableSnapshot, new: TableSnapshot) -> List[SchemaChange]:
    """Data columns kept by name whose position changed (a swap, or a column added or
    removed before them). Positions are 1-based and count data columns only."""
    old_positions = {c.name: i for i, c in enumerate(c for c in old.columns if not c.is_partition_key)}
    new_positions = {c.name: i for i, c in enumerate(c for c in new.columns if not c.is_partition_key)}
    return [SchemaChange(COLUMN_MOVED, name, "position %d" % (position + 1), "position %d" % (new_positions[name] + 1))
            for name, position in old_positions.items()
            if name in new_positions and new_positions[name] != position]
