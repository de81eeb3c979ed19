"""The two Glue Data Catalog EventBridge events, parsed into one typed record."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional

TABLE_STATE_CHANGE = "Glue Data Catalog Table State Change"
DATABASE_STATE_CHANGE = "Glue Data Catalog Database State Change"

TABLE_CHANGE_TYPES = ("UpdateTable", "CreatePartition", "BatchCreatePartition", "DeletePartition", "BatchDeletePartition")
DATABASE_CHANGE_TYPES = ("CreateDatabase", "DeleteDatabase", "CreateTable", "DeleteTable", "BatchDeleteTable")
# Database events about tables name them in changedTables.
TABLE_LIST_CHANGE_TYPES = ("CreateTable", "DeleteTable", "BatchDeleteTable")
PARTITION_CHANGE_TYPES = ("CreatePartition", "BatchCreatePartition", "DeletePartition", "BatchDeletePartition")
# Changes to a whole database need no table name, whichever detail-type carries them.
DATABASE_LEVEL_CHANGE_TYPES = ("CreateDatabase", "DeleteDatabase")


class InvalidEventError(ValueError):
    """The Lambda was invoked with something that is not a Glue Data Catalog event."""


@dataclass(frozen=True)
class CatalogEvent:
    event_id: str
    time: str
    region: str
    account: str
    detail_type: str
    type_of_change: str
    database: str
    table: Optional[str] = None
    changed_tables: List[str] = field(default_factory=list)
    changed_partitions: List[str] = field(default_factory=list)

    @property
    def tables(self) -> List[str]:
        return [self.table] if self.table else list(self.changed_tables)

    @property
    def documented(self) -> bool:
        """Whether Glue documents this typeOfChange for this detail-type."""
        expected = TABLE_CHANGE_TYPES if self.detail_type == TABLE_STATE_CHANGE else DATABASE_CHANGE_TYPES
        return self.type_of_change in expected


def _string(container: Mapping[str, Any], key: str, path: str, required: bool = True) -> str:
    value = container.get(key)
    if value is None or value == "":
        if required:
            raise InvalidEventError("%s: is required in a Glue Data Catalog event" % path)
        return ""
    if not isinstance(value, str):
        raise InvalidEventError("%s: must be a string, got %s" % (path, type(value).__name__))
    return value


def _string_list(container: Mapping[str, Any], key: str, path: str) -> List[str]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise InvalidEventError("%s: must be a list of non-empty strings" % path)
    return list(value)


def parse_event(event: Any) -> CatalogEvent:
    """Validate the fields this Lambda relies on; errors name the field and the rule."""
    if not isinstance(event, Mapping):
        raise InvalidEventError("event: must be a JSON object (an EventBridge event), got %s" % type(event).__name__)
    source = event.get("source")
    if source != "aws.glue":
        raise InvalidEventError("source: must be \"aws.glue\", got %r" % (source,))
    detail_type = _string(event, "detail-type", "detail-type")
    if detail_type not in (TABLE_STATE_CHANGE, DATABASE_STATE_CHANGE):
        raise InvalidEventError("detail-type: must be %r or %r, got %r" % (TABLE_STATE_CHANGE, DATABASE_STATE_CHANGE, detail_type))
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise InvalidEventError("detail: must be an object")
    type_of_change = _string(detail, "typeOfChange", "detail.typeOfChange")
    database = _string(detail, "databaseName", "detail.databaseName")
    table = None
    changed_tables = _string_list(detail, "changedTables", "detail.changedTables")
    # Each detail-type documents one way of naming tables; an event that uses the other
    # way still names them, so either is taken (the documented one first).
    if detail_type == TABLE_STATE_CHANGE:
        needs_table = type_of_change not in DATABASE_LEVEL_CHANGE_TYPES and not changed_tables
        table = _string(detail, "tableName", "detail.tableName", required=needs_table) or None
    elif not changed_tables:
        table = _string(detail, "tableName", "detail.tableName", required=False) or None
        if type_of_change in TABLE_LIST_CHANGE_TYPES and table is None:
            raise InvalidEventError("detail.changedTables: must list at least one table for %s" % type_of_change)
    return CatalogEvent(
        event_id=_string(event, "id", "id"),
        time=_string(event, "time", "time", required=False),
        region=_string(event, "region", "region", required=False),
        account=_string(event, "account", "account", required=False),
        detail_type=detail_type,
        type_of_change=type_of_change,
        database=database,
        table=table,
        changed_tables=changed_tables,
        changed_partitions=_string_list(detail, "changedPartitions", "detail.changedPartitions"),
    )
