"""One dataset's export: read, classify, write CSV + rejected rows + schema + report.

The work is one Spark plan, persisted once: the CSV write, the rejected-rows write and
two small aggregations (counts per status/reason, users per interaction count) read the
persisted rows instead of recomputing the source read and the duplicate shuffle.
Nothing is collected to the driver except those aggregates.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from personalize_export import layout
from personalize_export.spec import ExportSpec, SourceSpec, avro_schema
from personalize_export.storage import Storage, relative
from personalize_export.transform import (
    FILTER_KEY,
    MATCH,
    MATCH_CLASSES,
    REASON,
    REJECTED,
    STATUS,
    WRITTEN,
    FILTERED,
    ClassifyOptions,
    classify,
    item_catalog,
    mark_duplicates_sparse,
    rejected_rows,
    written_rows,
)

SourceReader = Callable[[SourceSpec], DataFrame]

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
) -> Dict[str, Any]:
    """Export one dataset of the spec for ``run_id``; returns (and writes) its report."""
    storage = storage or Storage()
    dataset = spec.dataset(dataset_name)
    started = time.time()
    # Spark must not leave _SUCCESS markers: Personalize imports every object under a prefix.
    spark.sparkContext._jsc.hadoopConfiguration().set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    spark.conf.set("spark.sql.session.timeZone", "UTC")

    options = ClassifyOptions(
        now_epoch=int(now_epoch if now_epoch is not None else time.time()),
        timestamp_floor=spec.run.timestamp_floor,
        max_future_skew_seconds=spec.run.max_future_skew_seconds,
    )
    source_df = read(spec.sources[dataset.source])
    catalog = None
    if dataset_name == "interactions" and "items" in spec.datasets:
        catalog = item_catalog(read(spec.source_for("items")), spec)
    # Persisted once; the duplicate rules then only shuffle rows whose key hash repeats.
    persisted = classify(source_df, dataset, spec, options, catalog, dedupe=False).persist(StorageLevel.MEMORY_AND_DISK)
    suspects = None
    try:
        classified, suspects = mark_duplicates_sparse(persisted, dataset)
        prefix = layout.dataset_prefix(export_root, run_id, dataset_name)
        rejected_at = layout.rejected_prefix(export_root, run_id, dataset_name)
        progress("  %s: writing Personalize CSV to %s" % (dataset_name, prefix))
        write_personalize_csv(written_rows(classified, dataset), prefix)
        rejected_rows(classified).write.mode("overwrite").option("ignoreNullFields", "false").json(rejected_at)
        counts = (
            classified.groupBy(STATUS, REASON, FILTER_KEY, MATCH).count().collect()
        )
        user_stats = None
        if dataset_name == "interactions":
            per_user = written_rows(classified, dataset).groupBy("USER_ID").count()
            threshold = spec.run.readiness.min_interactions_per_user
            row = per_user.agg(
                F.count(F.lit(1)).alias("users"),
                F.sum(F.when(F.col("count") >= threshold, 1).otherwise(0)).alias("qualified"),
            ).collect()[0]
            user_stats = {
                "distinct_users": int(row["users"] or 0),
                "users_with_min_interactions": int(row["qualified"] or 0),
                "min_interactions_per_user": threshold,
            }
    finally:
        persisted.unpersist()
        if suspects is not None:
            suspects.unpersist()

    storage.keep_only(prefix, ".csv")
    storage.keep_only(rejected_at, ".json")
    schema_uri = layout.schema_path(export_root, run_id, dataset_name)
    storage.write_json(schema_uri, avro_schema(dataset))

    report = _report(dataset_name, run_id, counts, user_stats, catalog is not None)
    run_dir = layout.run_root(export_root, run_id)
    files = [f for f in storage.list_files(prefix) if f.endswith(".csv")]
    report.update(
        {
            "prefix": relative(prefix, run_dir) + "/",
            "files": [relative(f, run_dir) for f in files],
            "schema": relative(schema_uri, run_dir),
            "rejected_prefix": relative(rejected_at, run_dir) + "/",
            "fields": list(dataset.field_names),
            "created_at": layout.utc_now_iso(),
            "seconds": round(time.time() - started, 3),
        }
    )
    storage.write_json(layout.report_path(export_root, run_id, dataset_name), report)
    return report


def _report(dataset: str, run_id: str, counts, user_stats, reconciled: bool) -> Dict[str, Any]:
    rows_read = written = rejected = filtered = 0
    by_reason: Dict[str, int] = {}
    by_status: Dict[str, int] = {}
    matches: Dict[str, int] = {name: 0 for name in MATCH_CLASSES}
    for row in counts:
        n = int(row["count"])
        rows_read += n
        status = row[STATUS]
        if status == WRITTEN:
            written += n
        elif status == REJECTED:
            rejected += n
            by_reason[row[REASON]] = by_reason.get(row[REASON], 0) + n
        elif status == FILTERED:
            filtered += n
            by_status[row[FILTER_KEY]] = by_status.get(row[FILTER_KEY], 0) + n
        if reconciled and status != FILTERED and row[MATCH] is not None:
            matches[row[MATCH]] = matches.get(row[MATCH], 0) + n
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
