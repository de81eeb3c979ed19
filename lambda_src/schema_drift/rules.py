"""Classification rules: how much a catalog change matters to the next export.

BREAKING  the next export will fail or silently lose data.
WARNING   the export still runs, but someone should look (widened types, new
          columns that might deserve a mapping, deleted partitions, ...).
INFO      routine (new partitions, tables the export does not read); silent
          unless NOTIFY_INFO is on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlparse

from schema_drift.catalog import (
    COLUMN_ADDED,
    COLUMN_MOVED,
    COLUMN_REMOVED,
    COLUMN_RENAMED,
    FORMAT_CHANGED,
    LOCATION_CHANGED,
    PARTITION_KEYS_CHANGED,
    TYPE_CHANGED,
    SchemaChange,
    TableSnapshot,
)
from schema_drift.column_types import WIDENING
from schema_drift.read_map import ReadMap

INFO = "INFO"
WARNING = "WARNING"
BREAKING = "BREAKING"
SEVERITY_RANK = {INFO: 0, WARNING: 1, BREAKING: 2}


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: str
    when: str
    why: str


RULES: Dict[str, Rule] = {rule.rule_id: rule for rule in [
    Rule("read_column_removed", BREAKING,
         "a column an export job reads was removed (UpdateTable)",
         "the job selects a column that no longer exists, so the export fails"),
    Rule("read_column_renamed", BREAKING,
         "a column an export job reads looks renamed: a removed and an added column with the same type "
         "at the same position, or with similar names",
         "the spec still names the old column, so the export fails until the mapping is updated"),
    Rule("read_column_type_incompatible", BREAKING,
         "a column an export job reads changed to a type its values cannot be read as exactly "
         "(narrowing, number to string, string to number, struct field removed, ...)",
         "casts fail or values turn into nulls and the rows are rejected or lose data"),
    Rule("read_column_missing", BREAKING,
         "the table as it is now lacks a column an export job reads (checked after every update, and on "
         "created and re-created tables, also when there is no earlier version to compare)",
         "the export fails whatever the version history says"),
    Rule("read_column_moved", BREAKING,
         "a column an export job reads changed position in a table of delimited text (CSV, TSV), whose "
         "fields are matched to columns by position: two columns swapped, or a column added or removed before it",
         "in delimited text the column order is the mapping, so values are read into the wrong columns"),
    Rule("read_table_deleted", BREAKING,
         "a table an export job reads was deleted (DeleteTable, BatchDeleteTable, DeleteDatabase) "
         "or is gone when the event is handled",
         "the export cannot read its source"),
    Rule("read_partition_keys_changed", BREAKING,
         "the partition keys of a read table changed (added, removed or reordered)",
         "partitions registered under the old keys no longer match, so reads fail or skip data"),
    Rule("read_location_moved", BREAKING,
         "the location of a read table moved to another bucket or storage scheme",
         "the export job's role may only read the source locations it was deployed with"),
    Rule("read_format_changed", BREAKING,
         "the classification, input/output format, SerDe library or SerDe parameters of a read table changed",
         "files already written in the old format are decoded with the new one"),
    Rule("read_column_type_widened", WARNING,
         "a column an export job reads widened (int to bigint, float to double, longer varchar, "
         "larger decimal, struct gained fields, ...)",
         "every old value still reads exactly; check the Personalize field type still fits"),
    Rule("read_column_added", WARNING,
         "a column an export job reads was added to its table, for example back after a removal, or by "
         "renaming another column to it",
         "the export can read it again; check its type and values, and resume the schedule if it was paused"),
    Rule("column_order_changed", WARNING,
         "columns no export job reads changed position in a delimited-text (CSV, TSV) table an export job reads",
         "the columns the export reads kept their positions, but files written in the old order no longer "
         "match the table"),
    Rule("read_table_new_column", WARNING,
         "a column was added to a table an export job reads",
         "it might deserve a mapping in the export spec"),
    Rule("read_location_changed", WARNING,
         "the location of a read table changed within the same bucket",
         "the export reads the new prefix from now on; check the data is there"),
    Rule("read_table_recreated", WARNING,
         "a deleted table an export job reads exists again and still has every column the export reads",
         "the export will run, but the table may hold different data"),
    Rule("read_partitions_deleted", WARNING,
         "partitions of a table an export job reads were deleted",
         "the next FULL import replaces the dataset, so that history leaves the model"),
    Rule("unknown_change_type", WARNING,
         "a catalog event with a typeOfChange this version does not know, or a table change that names no table",
         "it could not be classified; check the table by hand"),
    Rule("unread_column_changed", INFO,
         "a column no export job reads was removed, renamed or changed type on a read table",
         "the export does not read it"),
    Rule("read_table_created", INFO,
         "a table an export job reads was created and has every column the export reads",
         "the export can read it"),
    Rule("partitions_added", INFO,
         "partitions were added (CreatePartition, BatchCreatePartition)",
         "new data arrived; the export picks it up"),
    Rule("unread_table_changed", INFO,
         "any change to a table no export job reads (created, updated, deleted, partitions)",
         "the export does not read it"),
    Rule("database_created", INFO,
         "a database was created (CreateDatabase)",
         "nothing reads it yet"),
    Rule("database_deleted", INFO,
         "a database without tables the export reads was deleted (DeleteDatabase)",
         "the export does not read it"),
    Rule("no_schema_change", INFO,
         "the two newest versions differ only in properties the export does not use (statistics, comments, ...)",
         "nothing the export reads changed"),
    Rule("single_version", INFO,
         "only one version of the table exists, so there is nothing to compare it with",
         "the read-column check still runs on that version"),
]}


@dataclass
class Finding:
    """One classified change, as it appears in the alert."""

    rule: str
    database: str
    table: Optional[str]
    summary: str
    column: Optional[str] = None
    before: Optional[str] = None
    after: Optional[str] = None
    jobs: List[str] = field(default_factory=list)
    renamed_to: Optional[str] = None

    @property
    def headline(self) -> str:
        """The first clause of the summary without parentheses, for the subject line."""
        first = self.summary.split(";")[0]
        return " ".join(re.sub(r"\s*\([^)]*\)", "", first).split())

    @property
    def severity(self) -> str:
        return RULES[self.rule].severity

    def to_json(self) -> Dict[str, object]:
        return {
            "severity": self.severity,
            "rule": self.rule,
            "database": self.database,
            "table": self.table,
            "column": self.column,
            "before": self.before,
            "after": self.after,
            "renamed_to": self.renamed_to,
            "summary": self.summary,
            "why": RULES[self.rule].why,
            "export_jobs": list(self.jobs),
        }


def worst_severity(findings: List[Finding]) -> str:
    severities = [f.severity for f in findings] or [INFO]
    return max(severities, key=SEVERITY_RANK.__getitem__)


def _jobs_text(jobs: List[str]) -> str:
    return "read by " + ", ".join(jobs) if jobs else "not read by the export"


def _bucket(location: str) -> Tuple[str, str]:
    parsed = urlparse(location)
    scheme = "s3" if parsed.scheme in ("s3", "s3a", "s3n") else parsed.scheme
    return scheme, parsed.netloc


def classify_changes(database: str, table: str, changes: List[SchemaChange], read_map: ReadMap,
                     format_name: str = "delimited text") -> List[Finding]:
    """Turn the raw differences between two versions into findings for the alert."""
    table_jobs = sorted(read_map.jobs_for_table(database, table))
    table_is_read = bool(table_jobs)
    findings = []
    unread_moves = []
    for change in changes:
        if not table_is_read:
            findings.append(Finding("unread_table_changed", database, table, _describe(change),
                                    change.column, change.before, change.after, renamed_to=change.new_column))
            continue
        if change.kind == COLUMN_MOVED and not read_map.jobs_reading(database, table, change.column or ""):
            unread_moves.append(change)
            continue
        findings.append(_classify_read_table_change(database, table, change, read_map, table_jobs, format_name))
    if unread_moves:
        moved = ", ".join("%s (%s -> %s)" % (c.column, c.before, c.after) for c in unread_moves)
        findings.append(Finding(
            "column_order_changed", database, table,
            "columns not read by the export changed position: %s; %s is read by position, so files written in the "
            "old order no longer match the table" % (moved, format_name), jobs=table_jobs))
    return findings


def _describe(change: SchemaChange) -> str:
    if change.kind == COLUMN_REMOVED:
        return "column %s (%s) removed" % (change.column, change.before)
    if change.kind == COLUMN_ADDED:
        return "column %s (%s) added" % (change.column, change.after)
    if change.kind == COLUMN_RENAMED:
        text = "column %s renamed to %s (%s)" % (change.column, change.new_column, change.compatibility)
        if change.before != change.after:
            text += ", type %s -> %s" % (change.before, change.after)
        return text
    if change.kind == TYPE_CHANGED:
        return "column %s type %s -> %s (%s)" % (change.column, change.before, change.after, change.compatibility)
    if change.kind == PARTITION_KEYS_CHANGED:
        return "partition keys [%s] -> [%s]" % (change.before, change.after)
    if change.kind == LOCATION_CHANGED:
        return "location %s -> %s" % (change.before, change.after)
    if change.kind == FORMAT_CHANGED:
        return "%s %r -> %r" % (change.column, change.before, change.after)
    if change.kind == COLUMN_MOVED:
        return "column %s moved from %s to %s" % (change.column, change.before, change.after)
    return change.kind


def _classify_read_table_change(database: str, table: str, change: SchemaChange, read_map: ReadMap,
                                table_jobs: List[str], format_name: str) -> Finding:
    text = _describe(change)
    if change.kind == COLUMN_MOVED:
        jobs = read_map.jobs_reading(database, table, change.column or "")
        return Finding("read_column_moved", database, table,
                       "%s; %s is read by position, so the column order is the mapping; %s"
                       % (text, format_name, _jobs_text(jobs)), change.column, change.before, change.after, jobs)
    if change.kind == COLUMN_RENAMED and not read_map.jobs_reading(database, table, change.column or ""):
        # Renamed from a column the export does not read to one it does: a read column is back.
        new_jobs = read_map.jobs_reading(database, table, change.new_column or "")
        if new_jobs:
            return Finding("read_column_added", database, table,
                           "%s, a column the export reads; %s" % (text, _jobs_text(new_jobs)),
                           change.column, change.before, change.after, new_jobs, renamed_to=change.new_column)
    if change.kind in (COLUMN_REMOVED, COLUMN_RENAMED, TYPE_CHANGED):
        jobs = read_map.jobs_reading(database, table, change.column or "")
        if not jobs:
            rule = "unread_column_changed"
        elif change.kind == COLUMN_REMOVED:
            rule = "read_column_removed"
        elif change.kind == COLUMN_RENAMED:
            rule = "read_column_renamed"
        elif change.compatibility == WIDENING:
            rule = "read_column_type_widened"
        else:
            rule = "read_column_type_incompatible"
        return Finding(rule, database, table, "%s; %s" % (text, _jobs_text(jobs)),
                       change.column, change.before, change.after, jobs, renamed_to=change.new_column)
    if change.kind == COLUMN_ADDED:
        jobs = read_map.jobs_reading(database, table, change.column or "")
        if jobs:
            return Finding("read_column_added", database, table,
                           "%s, a column the export reads; %s" % (text, _jobs_text(jobs)),
                           change.column, None, change.after, jobs)
        return Finding("read_table_new_column", database, table,
                       "%s; not mapped by the export spec" % text, change.column, None, change.after, table_jobs)
    if change.kind == PARTITION_KEYS_CHANGED:
        rule = "read_partition_keys_changed"
    elif change.kind == LOCATION_CHANGED:
        same_bucket = _bucket(change.before or "") == _bucket(change.after or "") and _bucket(change.after or "")[0] == "s3"
        rule = "read_location_changed" if same_bucket else "read_location_moved"
    else:
        rule = "read_format_changed"
    return Finding(rule, database, table, "%s; %s" % (text, _jobs_text(table_jobs)),
                   change.column, change.before, change.after, table_jobs)


def missing_read_columns(snapshot: TableSnapshot, read_map: ReadMap, already_reported: List[Finding]) -> List[Finding]:
    """Read columns the table lacks now that no finding about this version covers yet."""
    covered = {f.column for f in already_reported if f.rule in ("read_column_removed", "read_column_renamed")}
    present = {c.name for c in snapshot.columns}
    findings = []
    for column in sorted(read_map.read_columns(snapshot.database, snapshot.name)):
        if column not in present and column not in covered:
            jobs = read_map.jobs_reading(snapshot.database, snapshot.name, column)
            version = " (version %s)" % snapshot.version_id if snapshot.version_id is not None else ""
            findings.append(Finding("read_column_missing", snapshot.database, snapshot.name,
                                    "column %s is missing from the table%s; %s" % (column, version, _jobs_text(jobs)),
                                    column, None, None, jobs))
    return findings
