"""One dataset's export: read, classify, write CSV + rejected rows + schema + report.

Every source row is classified once (only the fuzzy title match reads the source again,
for its distinct titles). The classified rows are persisted on local disk, narrow: output
values, the outcome code, and the source columns as one struct on the rows that are not
filtered (the rejected-rows output needs them, duplicates included). From that copy come
the duplicate-hash aggregate, the CSV, the rejected rows and one aggregation with every
count of the report (per status, reason, filtered status and item-id match class, plus
users per interaction count, and the CSV's size, by which a large delta is split into files). Nothing is collected to the driver except the aggregates.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable, Dict, Optional, Sequence, Union

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, functions as F

from export_spec import DatasetSpec, ExportSpec, SourceSpec, Watermark, avro_schema
from personalize_export import layout
from personalize_export.columns import (
    CORRUPT_REASON,
    CORRUPT_RECORD,
    FILTER_KEY,
    FILTERED,
    LINES,
    MATCH,
    MATCH_CLASSES,
    PREFIX,
    REASON,
    REJECTED,
    STATUS,
    WRITTEN,
    out_col,
)
from personalize_export.duplicates import mark_duplicates_sparse
from personalize_export.incremental import (
    FULL,
    MAX_INCREMENTAL_IMPORT_BYTES,
    MIN_INTERACTIONS_PER_IMPORT_JOB,
    DeltaWindow,
    iso_utc,
    schema_fingerprint,
)
from personalize_export.reconcile import item_catalog
from personalize_export.sources import (
    SourceFrame,
    as_source_frame,
    change_seconds,
    change_value,
    check_change_type,
    frame_change_seconds,
    frame_high_water_mark,
    in_window,
    source_column,
    unparsed_change_value,
)
from personalize_export.storage import Storage, relative
from personalize_export.text import SourceSchemaError
from personalize_export.transform import (
    ClassifyOptions,
    classify,
    distinct_written_rows,
    label_outcomes,
    narrow,
    narrow_rejected_rows,
    written_rows,
)

# Above this many repeated key hashes the exact check shuffles every row instead of
# broadcasting the hashes.
MAX_DUPLICATE_SUSPECTS = 2_000_000
# The classified rows are kept on local disk: the job's memory then does not grow with the
# number of rows, and reading them back costs little next to classifying them again.
PERSIST_LEVEL = StorageLevel.DISK_ONLY
# A delta whose CSV would be larger than this is written as even files of about this size.
# The training pipeline imports a delta over Personalize's 1 GB per INCREMENTAL job one job
# per file, so no file may pass the limit; the size is estimated from the values, and a
# quarter of the limit leaves room for CSV quoting (at most four times a value: a lone quote
# is written as four).
DELTA_FILE_BYTES = MAX_INCREMENTAL_IMPORT_BYTES // 4

# A reader returns the source's rows, or a SourceFrame that also counts its physical lines.
SourceReader = Callable[[SourceSpec], Union[DataFrame, SourceFrame]]
# Reads only the rows of an incremental window, with the condition pushed to the source.
ChangedRowsReader = Callable[[SourceSpec, DeltaWindow], Union[DataFrame, SourceFrame]]
# The largest change value of the whole source (epoch seconds) for a FULL read, asked the
# way the reader reads (a database query through the reader's connection), given the rows
# ``read`` returned; the default aggregates those rows.
HighWaterMarkReader = Callable[[SourceSpec, Watermark, DataFrame], Optional[int]]

# Personalize's CSV: header row, RFC 4180 quoting (quotes doubled), UTF-8, values kept
# exactly (Spark trims whitespace on write unless told not to).
CSV_WRITE_OPTIONS = {
    "header": "true",
    "quote": '"',
    "escape": '"',
    "escapeQuotes": "true",
    "encoding": "UTF-8",
    "lineSep": "\n",
    "nullValue": "",
    "emptyValue": "",
    "ignoreLeadingWhiteSpace": "false",
    "ignoreTrailingWhiteSpace": "false",
}


def write_personalize_csv(df: DataFrame, path: str) -> None:
    df.write.mode("overwrite").options(**CSV_WRITE_OPTIONS).csv(path)


def run_export(
    spark: SparkSession,
    spec: ExportSpec,
    dataset_name: str,
    export_root: str,
    run_id: str,
    read: SourceReader,
    storage: Optional[Storage] = None,
    now_epoch: Optional[int] = None,
    progress: Callable[[str], Any] = lambda message: None,
    window: Optional[DeltaWindow] = None,
    read_changes: Optional[ChangedRowsReader] = None,
    previous_run_id: Optional[str] = None,
    read_high_water_mark: Optional[HighWaterMarkReader] = None,
) -> Dict[str, Any]:
    """Export one dataset of the spec for ``run_id``; returns (and writes) its report.

    ``window`` says which rows to read (all of them by default). An incremental window is
    read with ``read_changes`` (which pushes the condition to the source), or else by
    filtering ``read``'s rows. ``previous_run_id`` (users only) names the export whose user
    ids this run compares with, to list the users that vanished from the source.
    ``read_high_water_mark`` gives a FULL read's high-water mark (default: the maximum of
    ``read``'s rows).
    """
    storage = storage or Storage()
    dataset = spec.dataset(dataset_name)
    window = window or DeltaWindow(dataset_name, FULL, dataset.watermark)
    started = time.time()
    # Spark must not leave _SUCCESS markers: Personalize imports every object under a prefix.
    spark.sparkContext._jsc.hadoopConfiguration().set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    spark.conf.set("spark.sql.session.timeZone", "UTC")

    options = ClassifyOptions(
        now_epoch=int(now_epoch if now_epoch is not None else time.time()),
        timestamp_floor=spec.run.timestamp_floor,
        max_future_skew_seconds=spec.run.max_future_skew_seconds,
        text_may_wrap_json=spec.sources[dataset.source].text_may_wrap_json,
    )
    source_spec = spec.sources[dataset.source]
    delta: Optional[DataFrame] = None
    if window.incremental:
        # The reader narrows the read at the source where it can (a database query, pruned
        # partitions); the change column then decides row by row.
        narrowed = read_changes(source_spec, window) if read_changes is not None else read(source_spec)
        source = _filtered(columns_read(with_change_column(as_source_frame(narrowed), dataset), spec, dataset), window)
        # The delta is small: kept on disk so the source is read once, for the watermark
        # statistics and for the export.
        delta = source.frame.persist(PERSIST_LEVEL)
        source = SourceFrame(delta, None, source.files, source.ignored_files)
        read_stats = _delta_statistics(delta, window, options.now_epoch)
    else:
        source = columns_read(with_change_column(as_source_frame(read(source_spec)), dataset), spec, dataset)
        # A FULL export reads every row: none is read again, and the rows without a change
        # value or stamped ahead of the run are not counted (that would take another pass).
        read_stats = {"high": None, "overlap_rows": 0, "unstamped_rows": None, "future_rows": None}
        if window.watermark is not None:
            high_water_mark = read_high_water_mark or (
                lambda _source, watermark, frame: frame_high_water_mark(frame, watermark, dataset=dataset_name))
            read_stats["high"] = high_water_mark(source_spec, window.watermark, source.frame)
    progress("  %s: %s" % (dataset_name, describe_window(window)))
    source_df = source.frame
    catalog = None
    if dataset_name == "interactions" and "items" in spec.datasets:
        items_source = spec.source_for("items")
        catalog = item_catalog(as_source_frame(read(items_source)).frame, spec, items_source.text_may_wrap_json)
    persisted = persist_classified(classify(source_df, dataset, spec, options, catalog, labels=False))
    helpers: list = []
    try:
        deduplicated, helpers = mark_duplicates_sparse(label_outcomes(persisted, dataset), dataset, MAX_DUPLICATE_SUSPECTS)
        prefix = layout.dataset_prefix(export_root, run_id, dataset_name)
        rejected_at = layout.rejected_prefix(export_root, run_id, dataset_name)
        threshold = spec.run.readiness.min_interactions_per_user
        counts = _count_outcomes(deduplicated, dataset, threshold if dataset_name == "interactions" else None)
        written = written_rows(deduplicated, dataset)
        files = delta_file_count(window, counts)
        if files is not None:
            progress("  %s: the delta's CSV is about %d MB, more than one INCREMENTAL import job takes: written as %d "
                     "files of about %d MB, imported one job per file" % (
                         dataset_name, _csv_bytes(counts) // 10**6, files, DELTA_FILE_BYTES // 10**6))
            written = written.repartition(files)
        progress("  %s: writing Personalize CSV to %s" % (dataset_name, prefix))
        write_personalize_csv(written, prefix)
        narrow_rejected_rows(deduplicated).write.mode("overwrite").option("ignoreNullFields", "false").json(rejected_at)
    finally:
        for frame in [persisted, *helpers] + ([delta] if delta is not None else []):
            frame.unpersist()

    storage.keep_only(prefix, ".csv")
    storage.keep_only(rejected_at, ".json")
    schema_uri = layout.schema_path(export_root, run_id, dataset_name)
    storage.write_json(schema_uri, avro_schema(dataset))

    report = _report(dataset_name, run_id, counts, threshold if dataset_name == "interactions" else None, catalog is not None)
    if source.lines is not None:
        report["lines"] = _line_report(source, counts)
    if source.files:
        report["source_files"] = {"read": len(source.files), "ignored": list(source.ignored_files)}
    run_dir = layout.run_root(export_root, run_id)
    files = [f for f in storage.list_files(prefix) if f.endswith(".csv")]
    report.update(
        {
            "prefix": relative(prefix, run_dir) + "/",
            "files": [relative(f, run_dir) for f in files],
            "schema": relative(schema_uri, run_dir),
            "rejected_prefix": relative(rejected_at, run_dir) + "/",
            "fields": list(dataset.field_names),
            # The source columns each rejected row holds (rejected_row_columns narrows them).
            "rejected_row_columns": [c for c in source_df.columns if not c.startswith(PREFIX)],
            "created_at": layout.utc_now_iso(),
            "bytes": storage.total_size(prefix, ".csv"),
            "schema_fingerprint": schema_fingerprint(dataset),
        }
    )
    report.update(_delta_report(dataset_name, window, read_stats, report["rows"], options.now_epoch))
    if dataset_name == "users":
        report.update(export_user_ids(spark, spec, read, export_root, run_id, previous_run_id, options, storage))
    report["seconds"] = round(time.time() - started, 3)
    storage.write_json(layout.report_path(export_root, run_id, dataset_name), report)
    return report


def columns_read(source: SourceFrame, spec: ExportSpec, dataset: DatasetSpec) -> SourceFrame:
    """The source columns the export reads: all of them, unless the dataset lists its
    ``rejected_row_columns``. Then those, plus the columns its rules read (the fields', the
    fuzzy title match's, the watermark's) and the readers' own, in source order. The
    others are dropped here (Spark's Parquet and JDBC readers then never read them) and
    are not kept on rejected rows. On a wide source this also keeps the per-row pass small
    enough for the JVM to compile (``transform.classify``)."""
    if dataset.rejected_row_columns is None:
        return source
    columns = source.frame.columns
    keep = {c for c in columns if _readers_own(c)}
    for index, name in enumerate(dataset.rejected_row_columns):
        found = source_column(columns, name)
        if found is None:
            raise _no_such_column("datasets.%s.rejected_row_columns[%d]" % (dataset.name, index), name, dataset, columns)
        keep.add(found)
    # A column the rules name but the source lacks is left for classify to report.
    keep.update(found for found in (source_column(columns, name) for name in spec.rule_columns(dataset.name)) if found)
    return replace(source, frame=source.frame.select(*[F.col("`%s`" % c) for c in columns if c in keep]))


def with_change_column(source: SourceFrame, dataset: DatasetSpec) -> SourceFrame:
    """``source``, checked to hold the dataset's change column (``watermark.column``), which
    every export of a dataset with a watermark reads, of a type it reads (``change_value``)."""
    if dataset.watermark is not None:
        if source_column(source.frame.columns, dataset.watermark.column) is None:
            raise _no_such_column("datasets.%s.watermark.column" % dataset.name, dataset.watermark.column, dataset,
                                  source.frame.columns)
        change_value(source.frame, dataset.watermark, dataset.name)
    return source


def _readers_own(column: str) -> bool:
    """A column the readers add (the export's own prefix, the corrupt-record columns)."""
    return column.startswith(PREFIX) or column in (CORRUPT_RECORD, CORRUPT_REASON)


def _no_such_column(where: str, name: str, dataset: DatasetSpec, columns: Sequence[str]) -> SourceSchemaError:
    return SourceSchemaError("%s: no column %r in source %r (available: %s)" % (
        where, name, dataset.source, ", ".join(c for c in columns if not _readers_own(c))))


def classified_copy(classified: DataFrame) -> DataFrame:
    """The rows of ``classify(labels=False)`` that ``persist_classified`` keeps.

    Narrow: output values and outcome code, plus the source columns (as one struct) on
    every row that is not filtered: rejected rows, and rows that may turn out to be
    duplicates, need them for the rejected-rows output. The duplicate-key hash is left to
    the passes over the copy: in this pass its code would take the per-row method past
    the size the JVM compiles (``sparkutil``), and the pass would run as slower
    per-operator code.
    """
    return narrow(classified, F.col(FILTER_KEY).isNull())


def persist_classified(classified: DataFrame) -> DataFrame:
    """``classified_copy``, persisted: the copy every output is derived from."""
    # Compressing the persisted columns cost more than writing them uncompressed to disk.
    classified.sparkSession.conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")
    return classified_copy(classified).persist(PERSIST_LEVEL)


def _count_outcomes(classified: DataFrame, dataset: DatasetSpec, min_per_user: Optional[int]) -> list:
    """All the report's counts in one aggregation: rows per (status, reason, filtered
    status) with their item-id match classes, the CSV bytes of the written rows (estimated
    without quoting) and, for interactions, the written rows per user summarised as the
    number of users and of users with ``min_per_user`` rows."""
    sums = [F.sum(F.when(F.col(MATCH) == name, 1).otherwise(0)).alias(name) for name in MATCH_CLASSES]
    # Physical lines per outcome, where the reader counted the lines each record spans.
    lines = F.sum(F.col(LINES) if LINES in classified.columns else F.lit(1)).alias("lines")
    sums.append(lines)
    # Each value's UTF-8 bytes, plus a comma after each but the last and the line break.
    line_bytes = sum((F.coalesce(F.octet_length(F.col(out_col(f.name)).cast("string")), F.lit(0)) for f in dataset.fields),
                     F.lit(len(dataset.fields)))
    sums.append(F.sum(F.when(F.col(STATUS) == WRITTEN, line_bytes.cast("long"))).alias("csv_bytes"))
    keys = [STATUS, REASON, FILTER_KEY]
    if min_per_user is None:
        return classified.groupBy(*keys).agg(F.count(F.lit(1)).alias("count"), *sums).collect()
    user = F.when(F.col(STATUS) == WRITTEN, F.col(out_col("USER_ID")))
    per_user = classified.groupBy(*keys, user.alias("user")).agg(F.count(F.lit(1)).alias("rows"), *sums)
    return per_user.groupBy(*keys).agg(
        F.sum("rows").alias("count"),
        *[F.sum(name).alias(name) for name in MATCH_CLASSES],
        F.sum("lines").alias("lines"),
        F.sum("csv_bytes").alias("csv_bytes"),
        F.count(F.lit(1)).alias("users"),
        F.sum(F.when(F.col("rows") >= min_per_user, 1).otherwise(0)).alias("qualified"),
    ).collect()


def _csv_bytes(counts) -> int:
    return sum(int(row["csv_bytes"] or 0) for row in counts if row[STATUS] == WRITTEN)


def delta_file_count(window: DeltaWindow, counts) -> Optional[int]:
    """How many even files an INCREMENTAL delta's CSV is written as, when it is larger
    than ``DELTA_FILE_BYTES`` (None: as Spark writes it). A FULL export is one import job
    of up to 100 GB, whatever its files."""
    estimated = _csv_bytes(counts)
    if not window.incremental or estimated <= DELTA_FILE_BYTES:
        return None
    return -(-estimated // DELTA_FILE_BYTES)


def _line_report(source: SourceFrame, counts) -> Dict[str, int]:
    """Every physical line is a header, blank, or inside a record; lines inside rejected
    records beyond their first were merged into them (e.g. by an unbalanced quote)."""
    assert source.lines is not None
    in_records = sum(int(row["lines"] or 0) for row in counts)
    merged = sum(int(row["lines"] or 0) - int(row["count"]) for row in counts if row[STATUS] == REJECTED)
    # A quote left open at the end of a file takes in the file's last line break as well,
    # which is no line of its own.
    past_end = in_records - (source.lines.physical - source.lines.headers)
    if 0 < past_end <= max(len(source.files), 1) and merged >= past_end:
        in_records, merged = in_records - past_end, merged - past_end
    return dict(source.lines.as_dict(), in_records=in_records, merged_in_rejected=merged)


def _report(dataset: str, run_id: str, counts, min_per_user: Optional[int], reconciled: bool) -> Dict[str, Any]:
    rows_read = written = rejected = filtered = 0
    by_reason: Dict[str, int] = {}
    by_status: Dict[str, int] = {}
    matches: Dict[str, int] = {name: 0 for name in MATCH_CLASSES}
    user_stats = None
    if min_per_user is not None:
        user_stats = {"distinct_users": 0, "users_with_min_interactions": 0, "min_interactions_per_user": min_per_user}
    for row in counts:
        n = int(row["count"])
        rows_read += n
        status = row[STATUS]
        if status == WRITTEN:
            written += n
            if user_stats is not None:
                user_stats["distinct_users"] += int(row["users"])
                user_stats["users_with_min_interactions"] += int(row["qualified"] or 0)
        elif status == REJECTED:
            rejected += n
            by_reason[row[REASON]] = by_reason.get(row[REASON], 0) + n
        elif status == FILTERED:
            filtered += n
            by_status[row[FILTER_KEY]] = by_status.get(row[FILTER_KEY], 0) + n
        if reconciled and status != FILTERED:
            for name in MATCH_CLASSES:
                matches[name] += int(row[name] or 0)
    report: Dict[str, Any] = {
        "dataset": dataset,
        "run_id": run_id,
        "rows_read": rows_read,
        "rows": written,
        "rejected": rejected,
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "filtered": filtered,
        "filtered_by_event_type": dict(sorted(by_status.items())),
    }
    if user_stats is not None:
        report["users"] = user_stats
    if reconciled:
        report["item_id_reconciliation"] = matches
    return report


# --------------------------------------------------------------------------- incremental exports


def describe_window(window: DeltaWindow) -> str:
    if not window.incremental:
        how = "FULL: every row"
        return how + ("" if window.watermark is None else " (change column %s)" % window.watermark.column)
    if window.read_from is None:
        return "INCREMENTAL: every row (the previous export saw no %s value)" % window.watermark.column
    return "INCREMENTAL: rows with %s >= %s (previous high %s minus %d s allowance)" % (
        window.watermark.column, iso_utc(window.read_from), iso_utc(window.previous_high), window.watermark.allowance_seconds)


def _filtered(source: SourceFrame, window: DeltaWindow) -> SourceFrame:
    """The window's rows filtered in Spark, for readers that cannot push the condition down."""
    if window.read_from is None:
        return source
    seconds = frame_change_seconds(source.frame, window.watermark, window.dataset)
    return SourceFrame(source.frame.where(in_window(seconds, window.read_from)), None, source.files, source.ignored_files)


def _delta_statistics(delta: DataFrame, window: DeltaWindow, now_epoch: int) -> Dict[str, Any]:
    """The highest change value read, and how many rows were read:
    - again: at or below the previous high-water mark, inside the late-arrival allowance
      (an earlier export may have written them);
    - without a change value (every delta reads them, ``sources.in_window``);
    - stamped after the run started (the high-water mark stops at the run's time).

    While no export of the chain has seen a change value, a type that reads none of the
    values is refused (``check_change_type``); after one has, the type matched, and values
    that are no time are unstamped rows.
    """
    value = change_value(delta, window.watermark, window.dataset)
    seconds = change_seconds(value, window.watermark)
    again = F.lit(False) if window.previous_high is None else seconds <= F.lit(int(window.previous_high))

    def rows(condition):
        return F.sum(F.when(condition, 1).otherwise(0))

    row = delta.agg(F.max(seconds).alias("high"), rows(again).alias("overlap"), rows(seconds.isNull()).alias("unstamped"),
                    rows(seconds > F.lit(int(now_epoch))).alias("future"),
                    unparsed_change_value(value, seconds).alias("sample")).first()
    if window.previous_high is None:
        check_change_type(row["high"], row["sample"], window.watermark, window.dataset)
    return {"high": None if row["high"] is None else int(row["high"]), "overlap_rows": int(row["overlap"] or 0),
            "unstamped_rows": int(row["unstamped"] or 0), "future_rows": int(row["future"] or 0)}


def new_rows_of(window: DeltaWindow, stats: Dict[str, Any], rows: int) -> int:
    """The written rows Personalize has not seen, counted low: an INCREMENTAL delta's rows
    less those read again inside the allowance, without a change value (every delta reads
    them) or stamped after the run started (read again until that time). A FULL export, or
    a dataset without a change column, is all new."""
    if not window.incremental or window.watermark is None:
        return rows
    seen = stats["overlap_rows"] + (stats["unstamped_rows"] or 0) + (stats["future_rows"] or 0)
    return max(0, rows - seen)


def _delta_report(dataset_name: str, window: DeltaWindow, stats: Dict[str, Any], rows: int, now_epoch: int) -> Dict[str, Any]:
    """The dataset's mode, new rows, watermark and carry verdict (the manifest contract's keys).

    The high-water mark never passes the run's start (``now_epoch``): one row stamped in
    the future (a clock error, a typo) would otherwise move it past every row still to
    come, and each later delta would read nothing. Such rows are read again until their
    stamp is past.

    An INCREMENTAL delta is carried (written, not imported, the watermark kept) when
    Personalize would not take it: interactions with fewer than 1,000 new rows (its
    minimum of new interaction records to append with an import job, which rows read again
    do not meet), or items or users with no rows (an import job with no records fails).
    """
    new_rows = new_rows_of(window, stats, rows)
    report: Dict[str, Any] = {"mode": window.mode, "new_rows": new_rows, "carried": False, "carried_reason": None,
                              "watermark": None}
    if window.watermark is None:
        return report
    read_high = None if stats["high"] is None else min(stats["high"], int(now_epoch))
    highs = [h for h in (read_high, window.previous_high) if h is not None]
    high = max(highs) if highs else None
    if window.incremental:
        why = None
        if dataset_name == "interactions" and new_rows < MIN_INTERACTIONS_PER_IMPORT_JOB:
            why = ("%s in this delta, %d of them new (the others read again inside the allowance, without a %s value or "
                   "stamped after the run started), below Personalize's minimum of %d new interaction records to append "
                   "with an import job" % (_count(rows, "interactions row"), new_rows, window.watermark.column,
                                          MIN_INTERACTIONS_PER_IMPORT_JOB))
        elif dataset_name != "interactions" and rows == 0:
            why = "no %s rows in this delta: an import job with no records fails" % dataset_name
        if why is not None:
            # Not imported: the next run reads these rows again, from the same watermark.
            report["carried"] = True
            report["carried_reason"] = "%s: not imported now; the watermark stays at %s so the next delta holds these " \
                                       "rows too" % (why, iso_utc(window.previous_high) or "the start")
            high = window.previous_high
    report["watermark"] = {
        "column": window.watermark.column,
        "allowance_seconds": window.watermark.allowance_seconds,
        "read_from": iso_utc(window.read_from) if window.incremental else None,
        "high": iso_utc(high),
        # Clamped to 9999-12-31T23:59:59Z (describe_delta says so): a value past it is no
        # date, e.g. milliseconds in an epoch_seconds column.
        "high_read": iso_utc(stats["high"]),
        "overlap_rows": stats["overlap_rows"] if window.incremental else 0,
        "unstamped_rows": stats["unstamped_rows"],
        "future_rows": stats["future_rows"],
    }
    return report


def _count(n: int, noun: str) -> str:
    return "%d %s%s" % (n, noun, "" if n == 1 else "s")


def export_user_ids(spark: SparkSession, spec: ExportSpec, read: SourceReader, export_root: str, run_id: str,
                    previous_run_id: Optional[str], options: ClassifyOptions, storage: Storage) -> Dict[str, Any]:
    """Every user id in the source now (read alone: only the id column), and the users of
    the previous export that are gone from it.

    The ids go through the same rules as the export's USER_ID (trimmed, extended JSON
    unwrapped, invalid ids rejected), so they compare with what Personalize holds.
    """
    users = spec.dataset("users")
    id_field = users.field("USER_ID")
    assert id_field is not None
    ids_only = DatasetSpec(name="users", source=users.source, fields=(id_field,))
    source = as_source_frame(read(spec.sources[users.source])).frame.select("`%s`" % id_field.source_column)
    current = distinct_written_rows(classify(source, ids_only, spec, options, labels=False), ids_only)
    ids_at = layout.user_ids_prefix(export_root, run_id)
    current.write.mode("overwrite").options(**CSV_WRITE_OPTIONS).csv(ids_at)
    storage.keep_only(ids_at, ".csv")
    run_dir = layout.run_root(export_root, run_id)
    result: Dict[str, Any] = {"user_ids_prefix": relative(ids_at, run_dir) + "/", "vanished_users": None}
    if not previous_run_id:
        return result
    previous_at = layout.user_ids_prefix(export_root, previous_run_id)
    previous_files = [f for f in storage.list_files(previous_at) if f.endswith(".csv")]
    if not previous_files:
        return result  # the previous export predates the user id lists
    schema = "USER_ID STRING"
    previous = spark.read.options(**CSV_WRITE_OPTIONS).schema(schema).csv(previous_files)
    current_ids = spark.read.options(**CSV_WRITE_OPTIONS).schema(schema).csv(ids_at)
    vanished = previous.join(current_ids, "USER_ID", "left_anti").distinct()
    folder = layout.vanished_users_path(export_root, run_id) + ".parts"
    vanished.orderBy("USER_ID").coalesce(1).write.mode("overwrite").options(**CSV_WRITE_OPTIONS).csv(folder)
    count = vanished.count()
    parts = [f for f in storage.list_files(folder) if f.endswith(".csv")]
    body = storage.read_bytes(parts[0]) if parts else b""
    target = layout.vanished_users_path(export_root, run_id)
    # One file with its header, also when nobody vanished.
    storage.write_bytes(target, body if body.startswith(b"USER_ID") else b"USER_ID\n", "text/csv")
    storage.delete_prefix(folder)
    # How many users the previous export listed: what a deletion's share is judged against.
    previous_users = previous.distinct().count()
    result["vanished_users"] = {"count": int(count), "file": relative(target, run_dir), "since_run_id": previous_run_id,
                                "previous_users": int(previous_users)}
    return result
