"""Turn one catalog event into classified findings, working from the catalog as it is now.

Events are best effort: they can arrive late, twice, out of order or not at all.
So nothing here trusts event order: table updates compare the two newest
versions by numeric VersionId, and table events re-read the table's current state.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from schema_drift.catalog import GlueCatalog, TableSnapshot, diff_tables
from schema_drift.events import (
    DATABASE_CHANGE_TYPES,
    DATABASE_LEVEL_CHANGE_TYPES,
    DATABASE_STATE_CHANGE,
    PARTITION_CHANGE_TYPES,
    TABLE_CHANGE_TYPES,
    TABLE_STATE_CHANGE,
    CatalogEvent,
)
from schema_drift.read_map import ReadMap
from schema_drift.rules import Finding, classify_changes, missing_read_columns, worst_severity

# Unread tables in a batch are summarised in one finding; this many are named.
_NAMED_UNREAD_TABLES = 20
_NAMED_PARTITIONS = 5
KNOWN_CHANGE_TYPES = TABLE_CHANGE_TYPES + DATABASE_CHANGE_TYPES


@dataclass
class Assessment:
    event: CatalogEvent
    findings: List[Finding] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    # UpdateTable only: the version pair compared and how many versions exist.
    versions_compared: Optional[List[int]] = None
    versions_available: Optional[int] = None
    # Identifies the content of the alert independently of the event that caused it,
    # so two events that lead to the same comparison send one alert.
    content_key: Optional[str] = None

    @property
    def severity(self) -> str:
        return worst_severity(self.findings)

    @property
    def affected_jobs(self) -> List[str]:
        return sorted({job for finding in self.findings for job in finding.jobs})


def assess(event: CatalogEvent, catalog: GlueCatalog, read_map: ReadMap) -> Assessment:
    result = Assessment(event)
    change = event.type_of_change
    tables = event.tables
    if change in KNOWN_CHANGE_TYPES and not event.documented:
        result.notes.append("Glue documents typeOfChange %s for %s events; this one came in a %s event and was "
                            "handled as %s%s." % (change, _documented_detail_type(change), event.detail_type, change,
                                                  " of " + ", ".join(tables) if tables else ""))
    if change in DATABASE_LEVEL_CHANGE_TYPES:
        _assess_database(result, event, catalog, read_map)
    elif change in KNOWN_CHANGE_TYPES and not tables:
        _assess_without_table(result, event, catalog, read_map)
    elif change == "UpdateTable":
        _assess_updates(result, event, tables, catalog, read_map)
    elif change in PARTITION_CHANGE_TYPES:
        for table in tables:
            _assess_partitions(result, event, table, read_map)
    elif change == "CreateTable":
        for table in tables:
            _assess_created(result, event.database, table, catalog, read_map)
    elif change in ("DeleteTable", "BatchDeleteTable"):
        _assess_deleted(result, event.database, tables, catalog, read_map, "deleted")
    else:
        for table in tables or [None]:
            jobs = sorted(read_map.jobs_for_table(event.database, table)) if table else []
            label = "%s.%s" % (event.database, table) if table else event.database
            result.findings.append(Finding("unknown_change_type", event.database, table,
                                           "unrecognised change %s on %s" % (change, label), jobs=jobs))
            if table and jobs:
                current = catalog.current(event.database, table)
                if current is None:
                    result.findings.append(_gone(event.database, table, jobs, "does not exist now"))
                else:
                    result.findings.extend(missing_read_columns(current, read_map, []))
    return result


def _documented_detail_type(change: str) -> str:
    return TABLE_STATE_CHANGE if change in TABLE_CHANGE_TYPES else DATABASE_STATE_CHANGE


def _assess_database(result: Assessment, event: CatalogEvent, catalog: GlueCatalog, read_map: ReadMap) -> None:
    if event.type_of_change == "CreateDatabase":
        result.findings.append(Finding("database_created", event.database, None, "database %s created" % event.database))
        read_tables = read_map.tables_in(event.database)
        if read_tables:
            result.notes.append("The export reads %d table(s) in this database: %s." % (len(read_tables), ", ".join(read_tables)))
        return
    read_tables = read_map.tables_in(event.database)
    if read_tables:
        _assess_deleted(result, event.database, read_tables, catalog, read_map, "deleted with its database")
    else:
        result.findings.append(Finding("database_deleted", event.database, None,
                                       "database %s deleted; the export reads no table in it" % event.database))


def _assess_without_table(result: Assessment, event: CatalogEvent, catalog: GlueCatalog, read_map: ReadMap) -> None:
    """A table change that names no table: say so, and check every table the export reads there."""
    read_tables = read_map.tables_in(event.database)
    jobs = sorted({job for table in read_tables for job in read_map.jobs_for_table(event.database, table)})
    result.findings.append(Finding(
        "unknown_change_type", event.database, None,
        "%s in a %s event that names no table; check the tables of %s by hand"
        % (event.type_of_change, event.detail_type, event.database), jobs=jobs))
    for table in read_tables:
        current = catalog.current(event.database, table)
        if current is None:
            result.findings.append(_gone(event.database, table, sorted(read_map.jobs_for_table(event.database, table)),
                                         "does not exist"))
        else:
            result.findings.extend(missing_read_columns(current, read_map, []))


def _assess_updates(result: Assessment, event: CatalogEvent, tables: List[str], catalog: GlueCatalog,
                    read_map: ReadMap) -> None:
    identities = [_assess_update(result, event.database, table, catalog, read_map, len(tables) == 1)
                  for table in tables]
    if all(identity is not None for identity in identities):
        # The account, region, table and both versions' content and creation time: a table
        # deleted and created again restarts at VersionId 1, so ids alone would repeat.
        # The findings too, so the same versions judged against a changed spec alert again.
        judged = sorted([f.rule, f.table or "", f.column or "", f.summary] for f in result.findings)
        digest = hashlib.sha256(json.dumps([event.account, event.region, event.database, identities, judged],
                                           ensure_ascii=False).encode("utf-8")).hexdigest()
        result.content_key = "update:" + digest


def _assess_update(result: Assessment, database: str, table: str, catalog: GlueCatalog, read_map: ReadMap,
                   only_table: bool = True) -> Optional[List[str]]:
    """Compare the two newest versions; returns what identifies that comparison, if there was one."""
    history = catalog.history(database, table)
    jobs = sorted(read_map.jobs_for_table(database, table))
    if not history.exists:
        result.notes.append("Table %s.%s no longer exists in the Data Catalog, so there are no versions to compare "
                            "(it was deleted after this update)." % (database, table))
        result.findings.append(_gone(database, table, jobs, "no longer exists"))
        return None
    latest = history.versions[-1]
    if only_table:
        result.versions_available = len(history.versions)
    if len(history.versions) == 1:
        result.notes.append("Only one version (%s) of %s.%s exists, so there is nothing to compare it with."
                            % (latest.version_id, database, table))
        result.findings.append(Finding("single_version", database, table,
                                       "only version %s exists; nothing to compare" % latest.version_id, jobs=jobs))
        result.findings.extend(missing_read_columns(latest, read_map, []))
        return None
    previous = history.versions[-2]
    if only_table:
        result.versions_compared = [previous.version_id or 0, latest.version_id or 0]
    findings = classify_changes(database, table, diff_tables(previous, latest), read_map, latest.format_name)
    if not findings:
        findings.append(Finding("no_schema_change", database, table,
                                "versions %s and %s differ only in properties the export does not use"
                                % (previous.version_id, latest.version_id), jobs=jobs))
    result.findings.extend(findings)
    if jobs:
        result.findings.extend(missing_read_columns(latest, read_map, findings))
    return [previous.fingerprint(), latest.fingerprint()]


def _gone(database: str, table: str, jobs: List[str], how: str) -> Finding:
    if jobs:
        return Finding("read_table_deleted", database, table,
                       "table %s %s; read by %s" % (table, how, ", ".join(jobs)), jobs=jobs)
    return Finding("unread_table_changed", database, table, "table %s %s" % (table, how))


def _assess_partitions(result: Assessment, event: CatalogEvent, table: str, read_map: ReadMap) -> None:
    jobs = sorted(read_map.jobs_for_table(event.database, table))
    partitions = event.changed_partitions
    named = ", ".join(partitions[:_NAMED_PARTITIONS]) + (", ..." if len(partitions) > _NAMED_PARTITIONS else "")
    count = ("1 partition" if len(partitions) == 1 else "%d partitions" % len(partitions)) if partitions else "partitions"
    if event.type_of_change in ("CreatePartition", "BatchCreatePartition"):
        rule, verb = "partitions_added", "added"
    else:
        rule, verb = ("read_partitions_deleted" if jobs else "unread_table_changed"), "deleted"
    summary = "%s %s on %s" % (count, verb, table) + (": " + named if partitions else "")
    if jobs:
        summary += "; read by " + ", ".join(jobs)
    result.findings.append(Finding(rule, event.database, table, summary, jobs=jobs))


def _assess_created(result: Assessment, database: str, table: str, catalog: GlueCatalog, read_map: ReadMap) -> None:
    jobs = sorted(read_map.jobs_for_table(database, table))
    if not jobs:
        result.findings.append(Finding("unread_table_changed", database, table, "table %s created" % table))
        return
    current = catalog.current(database, table)
    if current is None:
        result.notes.append("Table %s.%s was created but no longer exists." % (database, table))
        result.findings.append(_gone(database, table, jobs, "was created but no longer exists"))
        return
    missing = missing_read_columns(current, read_map, [])
    if missing:
        result.findings.extend(missing)
    else:
        result.findings.append(Finding("read_table_created", database, table,
                                       "table %s created with every column the export reads; read by %s"
                                       % (table, ", ".join(jobs)), jobs=jobs))


def _assess_deleted(result: Assessment, database: str, tables: List[str], catalog: GlueCatalog,
                    read_map: ReadMap, how: str) -> None:
    unread: List[str] = []
    for table in tables:
        jobs = sorted(read_map.jobs_for_table(database, table))
        if not jobs:
            unread.append(table)
            continue
        current: Optional[TableSnapshot] = catalog.current(database, table)
        if current is None:
            result.findings.append(_gone(database, table, jobs, how))
            continue
        # Out of order: the table was deleted and has been created again since.
        result.notes.append("Table %s.%s was %s but exists again now; checked the current version." % (database, table, how))
        missing = missing_read_columns(current, read_map, [])
        result.findings.extend(missing or [Finding(
            "read_table_recreated", database, table,
            "table %s was %s and re-created; every column the export reads is present; read by %s"
            % (table, how, ", ".join(jobs)), jobs=jobs)])
    if len(unread) == 1:
        result.findings.append(Finding("unread_table_changed", database, unread[0], "table %s %s" % (unread[0], how)))
    elif unread:
        named = ", ".join(unread[:_NAMED_UNREAD_TABLES]) + (", ..." if len(unread) > _NAMED_UNREAD_TABLES else "")
        result.findings.append(Finding("unread_table_changed", database, None,
                                       "%d tables the export does not read were %s: %s" % (len(unread), how, named)))


def table_label(event: CatalogEvent) -> Dict[str, str]:
    """How the alert names what changed: one table, several, or the database."""
    tables = event.tables
    if len(tables) == 1:
        return {"attribute": tables[0], "subject": "%s.%s" % (event.database, tables[0])}
    if tables:
        return {"attribute": "(multiple)", "subject": "%s (%d tables)" % (event.database, len(tables))}
    return {"attribute": "(database)", "subject": event.database}
