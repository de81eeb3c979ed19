"""Export benchmark: the interactions export against a bare Spark copy of the same data.

    .venv/bin/python tests/benchmarks/bench_export.py [--sizes 1000000,5000000] [--repeat 1]

For each size, synthetic order lines (mixed timestamp formats, SKU spellings, dropped
statuses, replayed lines and a few bad rows, like the sample data) are written to Parquet
once, outside any timing. Then, in the same run, each workload runs in a fresh Spark driver process:

* ``bare``: read the Parquet, write it as CSV with a header (the floor any export pays);
* ``export``: the export library's interactions export (transform, Personalize CSV,
  rejected rows, counts and report).

The parent samples the resident memory of the driver's Python process and of its JVM
with psutil and prints rows/s, wall time, the ratio to the bare copy and peak RSS.
Wall time is the workload inside the driver (Spark start-up excluded, and the same for
both). The machine is small and noisy: compare ratios, not absolute times.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
for root in ("glue", "lambda_src", "step_functions", ""):
    path = str(REPO / root) if root else str(REPO)
    if path not in sys.path:
        sys.path.insert(0, path)

ITEMS = 20_000
USERS_PER_MILLION = 50_000
HISTORY_START_EPOCH = 1685577600  # 2023-06-01T00:00:00Z
HISTORY_SECONDS = 2 * 365 * 86400
# One line in 200 repeats the line before it exactly (a replayed order line).
DUPLICATE_EVERY = 200
DATA_VERSION = 3  # bump when the generated data changes: cached data is regenerated
DRIVER_MEMORY = "2g"
SAMPLE_INTERVAL_SECONDS = 0.1


# -- the synthetic data and the spec -------------------------------------------


def write_synthetic_data(spark, rows: int, data_dir: Path, extra_columns: int = 0) -> None:
    """Order lines and an item catalog as Parquet, deterministic for a size; ``extra_columns``
    more string columns (``note_<i>``) make the order table as wide as real ones."""
    from pyspark.sql import functions as F

    users = max(1000, rows * USERS_PER_MILLION // 1_000_000)

    def uniform(seed: int):
        """A uniform draw in [0, 1) that is a function of the line id (duplicates repeat it)."""
        return F.pmod(F.xxhash64("id", F.lit(seed)), F.lit(1 << 30)) / float(1 << 30)

    line = F.col("id")
    ids = spark.range(rows).select(
        F.when(F.pmod(line, F.lit(DUPLICATE_EVERY)) == DUPLICATE_EVERY - 1, line - 1).otherwise(line).alias("id")
    )
    # Skewed popularity: item = ITEMS * u^3 for a uniform u gives a long tail. Drawn once
    # per row in its own column, so the SKU and the title name the same item.
    ids = ids.withColumn("item", F.floor(F.pow(uniform(7), F.lit(3.0)) * ITEMS).cast("long"))
    item = F.col("item")
    padded = F.lpad(item.cast("string"), 5, "0")
    moment = (F.lit(HISTORY_START_EPOCH) + F.pmod(F.xxhash64("id", F.lit(13)), F.lit(HISTORY_SECONDS))).cast("long")
    shape = F.pmod(F.col("id"), F.lit(4))
    frame = ids.select(
        F.format_string("SO-%09d", F.col("id")).alias("order_id"),
        F.lit(1).alias("line_no"),
        # One row in a thousand has no customer: a rejection path that stays busy. (Not 999:
        # those lines repeat the line before them, so that id never occurs.)
        F.when(F.pmod(F.col("id"), F.lit(1000)) == 500, F.lit(None).cast("string"))
        .otherwise(F.format_string("C%07d", F.pmod(F.xxhash64("id", F.lit(11)), F.lit(users)))).alias("customer_id"),
        F.when(F.pmod(F.col("id"), F.lit(10)) == 0, F.lower(F.concat(F.lit("SKU-"), padded)))
        .when(F.pmod(F.col("id"), F.lit(10)) == 1, padded)
        .otherwise(F.concat(F.lit("SKU-"), padded)).alias("sku"),
        F.concat(F.lit("Product "), item.cast("string")).alias("product_title"),
        F.when(uniform(3) < 0.06, F.lit("cancelled")).otherwise(F.lit("completed")).alias("status"),
        F.lit(1).alias("quantity"),
        F.round(uniform(5) * 100 + 1, 2).cast("decimal(10,2)").alias("amount"),
        F.element_at(F.array(F.lit("web"), F.lit("app"), F.lit("partner"), F.lit("store")), (shape + 1).cast("int")).alias("channel"),
        F.when(shape == 0, F.date_format(F.timestamp_seconds(moment), "yyyy-MM-dd'T'HH:mm:ssXXX"))
        .when(shape == 1, moment.cast("string"))
        .when(shape == 2, (moment * 1000).cast("string"))
        .otherwise(F.date_format(F.timestamp_seconds(moment), "dd/MM/yyyy HH:mm:ss")).alias("ordered_at"),
    )
    frame = frame.select("*", *[F.concat(F.lit("note %d of " % i), F.col("order_id")).alias("note_%d" % i) for i in range(extra_columns)])
    frame.repartition(4).write.mode("overwrite").parquet(str(data_dir / "orders"))
    catalog = spark.range(ITEMS).select(
        F.concat(F.lit("SKU-"), F.lpad(F.col("id").cast("string"), 5, "0")).alias("sku"),
        F.concat(F.lit("Product "), F.col("id").cast("string")).alias("title"),
        F.round(F.rand(9) * 100 + 1, 2).alias("price"),
    )
    catalog.coalesce(1).write.mode("overwrite").parquet(str(data_dir / "products"))


def bench_spec(data_dir: Path) -> dict:
    """The sample spec's interactions and item-id rules, on the Parquet sources."""
    return {
        "version": 1,
        "sources": {
            "orders": {"format": "parquet", "path": str(data_dir / "orders")},
            "products": {"format": "parquet", "path": str(data_dir / "products")},
        },
        "item_ids": {"normalize": ["trim", "upper", {"strip_prefix": ["SKU-"]}, "strip_leading_zeros"], "unmatched": "reject"},
        "datasets": {
            "interactions": {
                "source": "orders",
                "fields": {
                    "USER_ID": "customer_id",
                    "ITEM_ID": "sku",
                    "TIMESTAMP": {"from": "ordered_at", "timestamp": {"formats": ["iso8601", "epoch_seconds", "epoch_millis", "dd/MM/yyyy HH:mm:ss"]}},
                    "EVENT_TYPE": "status",
                    "EVENT_VALUE": {"from": "amount", "type": "float"},
                    "CHANNEL": {"from": "channel", "categorical": True},
                },
                "event_types": {"map": {"completed": "purchase"}, "drop": ["cancelled"], "unmapped": "reject"},
            },
            "items": {"source": "products", "fields": {"ITEM_ID": "sku", "PRICE": {"from": "price", "type": "double"}}},
        },
        "run": {"timestamp_floor": "2015-01-01T00:00:00Z", "max_rejected_share": 0.05},
    }


# -- the workloads (run in the child process) -----------------------------------


def workload_bare(spark, data_dir: Path, out_dir: Path) -> dict:
    frame = spark.read.parquet(str(data_dir / "orders"))
    frame.write.mode("overwrite").option("header", "true").csv(str(out_dir / "bare"))
    return {}


def workload_export(spark, data_dir: Path, out_dir: Path, rejected_row_columns: Optional[List[str]] = None) -> dict:
    """What the export_interactions job does: classify, write CSV and rejects, count, report."""
    from export_spec import load_spec
    from personalize_export.export_job import run_export
    from personalize_export.sources import read_source

    raw = bench_spec(data_dir)
    if rejected_row_columns is not None:
        raw["datasets"]["interactions"]["rejected_row_columns"] = rejected_row_columns
    spec = load_spec(raw)
    report = run_export(spark, spec, "interactions", str(out_dir / "export"), "20250101T000000Z-0be0c0",
                        lambda source: read_source(spark, source, spec.base_dir), now_epoch=HISTORY_START_EPOCH + HISTORY_SECONDS)
    return {"written": report["rows"], "rejected": report["rejected"], "filtered": report["filtered"], "rows_read": report["rows_read"]}


def workload_export_listed(spark, data_dir: Path, out_dir: Path) -> dict:
    """The export with ``rejected_row_columns``: rejected rows keep the order id and line
    besides the columns the rules read, and the export reads no other column."""
    return workload_export(spark, data_dir, out_dir, rejected_row_columns=["order_id", "line_no"])


def _classify_and_write_csv(spark, data_dir: Path, out_dir: Path, dedupe: bool) -> dict:
    from export_spec import load_spec
    from personalize_export import reconcile, transform
    from personalize_export.export_job import write_personalize_csv
    from personalize_export.sources import read_source

    spec = load_spec(bench_spec(data_dir))
    options = transform.ClassifyOptions(now_epoch=HISTORY_START_EPOCH + HISTORY_SECONDS, timestamp_floor=spec.run.timestamp_floor,
                                        text_may_wrap_json=False)
    catalog = reconcile.item_catalog(read_source(spark, spec.source_for("items")), spec, text_may_wrap_json=False)
    dataset = spec.dataset("interactions")
    source = read_source(spark, spec.sources[dataset.source])
    classified = transform.classify(source, dataset, spec, options, catalog, dedupe=dedupe)
    write_personalize_csv(transform.written_rows(classified, dataset), str(out_dir / "interactions"))
    return {}


def workload_classify_csv(spark, data_dir: Path, out_dir: Path) -> dict:
    """Profiling variant: the transform (full-window duplicate check) and the CSV write only,
    with no persist, rejected rows or counts."""
    return _classify_and_write_csv(spark, data_dir, out_dir, dedupe=True)


def workload_classify_csv_no_dedup(spark, data_dir: Path, out_dir: Path) -> dict:
    """Profiling variant: as classify_csv with the duplicate rules left out."""
    return _classify_and_write_csv(spark, data_dir, out_dir, dedupe=False)


# -- JDBC read: the benchmark table from PostgreSQL, one query against the default split --
#
# `--jdbc-read` (see bench_jdbc_read) loads the orders into a throwaway PostgreSQL server
# with a bigint primary key, then reads the whole table through the export's JDBC reader
# into Spark's noop sink: once as one query (jdbc_read.partitions: 1) and once with the
# default split (range queries on the primary key, bounds from MIN/MAX).

JDBC_TABLE = "public.bench_orders"
JDBC_ENV = ("BENCH_JDBC_URL", "BENCH_JDBC_USER", "BENCH_JDBC_PASSWORD")


def _jdbc_read_spec(jdbc_read: dict) -> dict:
    spec = bench_spec(Path("unused"))
    spec["sources"]["orders"] = {
        "format": "jdbc",
        "jdbc": {"url": os.environ["BENCH_JDBC_URL"], "table": JDBC_TABLE, "user": os.environ["BENCH_JDBC_USER"],
                 "password_env": "BENCH_JDBC_PASSWORD", "driver": "org.postgresql.Driver"},
        "jdbc_read": jdbc_read,
    }
    return spec


def _jdbc_read(spark, jdbc_read: dict) -> dict:
    """Every column of every row through the export's JDBC reader, into the noop sink."""
    import contextlib
    import io

    from export_spec import load_spec
    from personalize_export.sources import read_source

    source = load_spec(_jdbc_read_spec(jdbc_read)).sources["orders"]
    said = io.StringIO()
    with contextlib.redirect_stdout(said):  # the reader says how it splits the read
        frame = read_source(spark, source)
    partitions = frame.rdd.getNumPartitions()
    frame.write.format("noop").mode("overwrite").save()
    return {"partitions": partitions, "split": said.getvalue().strip().split(": ", 1)[-1]}


def workload_jdbc_one_query(spark, data_dir: Path, out_dir: Path) -> dict:
    return _jdbc_read(spark, {"partitions": 1})


def workload_jdbc_default_split(spark, data_dir: Path, out_dir: Path) -> dict:
    return _jdbc_read(spark, {})


def write_jdbc_load_csv(spark, data_dir: Path, csv_dir: Path) -> None:
    """The benchmark's order lines as CSV files for PostgreSQL's COPY."""
    frame = spark.read.parquet(str(data_dir / "orders"))
    frame.write.mode("overwrite").option("header", "true").option("escape", '"').csv(str(csv_dir))


def load_jdbc_table(server, data_dir: Path, work_dir: Path, rows: int) -> int:
    """The orders in PostgreSQL with a bigint primary key numbered 1..rows in load order."""
    from sample_data.generate import ORDER_COLUMNS

    csv_dir = work_dir / f"jdbc-load-v{DATA_VERSION}-{rows}"
    if not (csv_dir / ".complete").exists():
        shutil.rmtree(csv_dir, ignore_errors=True)
        run_measured(child_command("jdbc_load_csv", rows, data_dir, csv_dir))
        (csv_dir / ".complete").write_text("ok\n")
    columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type in ORDER_COLUMNS)
    server.psql(f"DROP TABLE IF EXISTS {JDBC_TABLE}; CREATE TABLE {JDBC_TABLE} (line_id bigint GENERATED ALWAYS AS IDENTITY, {columns})")
    names = ", ".join(f'"{name}"' for name, _ in ORDER_COLUMNS)
    for part in sorted(csv_dir.glob("part-*.csv")):
        server.psql(f"COPY {JDBC_TABLE} ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)", stdin_path=str(part))
    server.psql(f"ALTER TABLE {JDBC_TABLE} ADD PRIMARY KEY (line_id)")
    server.psql(f"VACUUM ANALYZE {JDBC_TABLE}")
    return int(server.psql(f"SELECT count(*) FROM {JDBC_TABLE}").strip())


def bench_jdbc_read(sizes: Sequence[int], repeat: int, work_dir: Path, json_path: Optional[str]) -> int:
    """Read the benchmark table from PostgreSQL with one query and with the default split;
    the two alternate in fresh driver processes, the median of ``repeat`` runs is reported."""
    from sample_data.postgres import throwaway_postgres

    report = []
    for rows in sizes:
        print(f"size {rows:,}", flush=True)
        data_dir = ensure_data(rows, work_dir)
        with throwaway_postgres(database="bench") as server:
            started = time.perf_counter()
            loaded = load_jdbc_table(server, data_dir, work_dir, rows)
            size = server.psql(f"SELECT pg_size_pretty(pg_total_relation_size('{JDBC_TABLE}'))").strip()
            print(f"  loaded {loaded:,} rows ({size}) into PostgreSQL in {time.perf_counter() - started:.0f}s (not timed)", flush=True)
            os.environ.update(dict(zip(JDBC_ENV, (server.jdbc_url, server.user, server.password))))
            runs: Dict[str, List[dict]] = {"jdbc_one_query": [], "jdbc_default_split": []}
            for attempt in range(repeat):
                for name in runs:
                    result = run_measured(child_command(name, rows, data_dir, work_dir))
                    print(f"  {name:>18} run {attempt + 1}: {result['seconds']:.1f}s, {result['partitions']} partition(s), "
                          f"JVM {result['peak_jvm_mb']:.0f} MB; {result['split']}", flush=True)
                    runs[name].append(result)
        one = statistics.median(r["seconds"] for r in runs["jdbc_one_query"])
        for name, results in runs.items():
            seconds = statistics.median(r["seconds"] for r in results)
            report.append({"rows": loaded, "workload": name, "partitions": results[-1]["partitions"], "seconds": round(seconds, 2),
                           "runs": [round(r["seconds"], 2) for r in results], "ratio_to_one_query": round(seconds / one, 2),
                           "rows_per_second": round(loaded / seconds), "peak_jvm_mb": round(max(r["peak_jvm_mb"] for r in results)),
                           "split": results[-1]["split"]})
    print()
    print(f"{'rows':>10} {'workload':>18} {'parts':>5} {'wall s':>8} {'rows/s':>10} {'ratio':>6} {'JVM MB':>8}")
    for entry in report:
        print(f"{entry['rows']:>10,} {entry['workload']:>18} {entry['partitions']:>5} {entry['seconds']:>8.1f} "
              f"{entry['rows_per_second']:>10,} {entry['ratio_to_one_query']:>5.2f}x {entry['peak_jvm_mb']:>8}")
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
    return 0


# `bare` and `export` run by default; `export_listed` narrows the columns read (for
# --extra-columns), and the classify ones isolate where the export's time goes.
WORKLOADS = {
    "bare": workload_bare,
    "export": workload_export,
    "export_listed": workload_export_listed,
    "classify_csv": workload_classify_csv,
    "classify_csv_no_dedup": workload_classify_csv_no_dedup,
}
# Run by --jdbc-read only (they need its PostgreSQL server).
JDBC_WORKLOADS = {
    "jdbc_one_query": workload_jdbc_one_query,
    "jdbc_default_split": workload_jdbc_default_split,
}
DEFAULT_WORKLOADS = ("bare", "export")


def child_main(args) -> int:
    from personalize_export.sparkutil import local_spark_session

    extra = dict(setting.split("=", 1) for setting in args.spark_conf or [])
    if args.event_log:
        # Spark's event log: where the time goes, job by job (see profile_from_event_log).
        Path(args.event_log).mkdir(parents=True, exist_ok=True)
        extra.update({"spark.eventLog.enabled": "true", "spark.eventLog.dir": Path(args.event_log).resolve().as_uri()})
    spark = local_spark_session(app_name=f"bench-{args.child}", driver_memory=DRIVER_MEMORY, extra_conf=extra)
    data_dir, out_dir = Path(args.data), Path(args.out)
    if args.child == "generate":
        write_synthetic_data(spark, args.rows, data_dir, args.extra_columns)
        spark.stop()
        return 0
    if args.child == "jdbc_load_csv":
        write_jdbc_load_csv(spark, data_dir, out_dir)
        spark.stop()
        return 0
    started = time.perf_counter()
    details = {**WORKLOADS, **JDBC_WORKLOADS}[args.child](spark, data_dir, out_dir)
    elapsed = time.perf_counter() - started
    print("BENCH-RESULT " + json.dumps({"seconds": elapsed, **details}), flush=True)
    spark.stop()
    return 0


# -- profile: Spark jobs from the event log ---------------------------------------


def profile_from_event_log(log_dir: Path) -> List[dict]:
    """One entry per Spark job: wall seconds, the Python call site that started it, its
    stages (skipped ones excluded), tasks, records read and shuffle bytes written."""
    jobs: Dict[int, dict] = {}
    stage_job: Dict[int, int] = {}
    for log in sorted(log_dir.iterdir()):
        with log.open(encoding="utf-8") as handle:
            for line in handle:
                event = json.loads(line)
                kind = event.get("Event")
                if kind == "SparkListenerJobStart":
                    job = jobs.setdefault(event["Job ID"], {"job": event["Job ID"], "stages": 0, "tasks": 0, "records_read": 0, "shuffle_write_mb": 0.0,
                                                            "task_seconds": 0.0, "gc_seconds": 0.0, "spill_mb": 0.0})
                    job["start"] = event["Submission Time"]
                    job["call_site"] = (event.get("Properties") or {}).get("callSite.short") or event["Stage Infos"][-1]["Stage Name"]
                    for stage in event["Stage Infos"]:
                        stage_job[stage["Stage ID"]] = event["Job ID"]
                elif kind == "SparkListenerJobEnd":
                    jobs[event["Job ID"]]["seconds"] = (event["Completion Time"] - jobs[event["Job ID"]]["start"]) / 1000
                elif kind == "SparkListenerStageCompleted":
                    info = event["Stage Info"]
                    job = jobs.get(stage_job.get(info["Stage ID"], -1))
                    if job is None:
                        continue
                    job["stages"] += 1
                    job["tasks"] += info["Number of Tasks"]
                    for accumulable in info.get("Accumulables", []):
                        name, value = accumulable.get("Name"), accumulable.get("Value")
                        if name == "internal.metrics.input.recordsRead":
                            job["records_read"] += int(value)
                        elif name == "internal.metrics.shuffle.write.bytesWritten":
                            job["shuffle_write_mb"] += int(value) / 2**20
                        elif name == "internal.metrics.executorRunTime":
                            job["task_seconds"] += int(value) / 1000
                        elif name == "internal.metrics.jvmGCTime":
                            job["gc_seconds"] += int(value) / 1000
                        elif name == "internal.metrics.diskBytesSpilled":
                            job["spill_mb"] += int(value) / 2**20
    return [dict(job, **{k: round(job[k], 1) for k in ("shuffle_write_mb", "task_seconds", "gc_seconds", "spill_mb")})
            for _, job in sorted(jobs.items())]


def print_profile(name: str, jobs: List[dict], workload_seconds: float) -> None:
    total = sum(job.get("seconds", 0) for job in jobs)
    print(f"    {name}: {len(jobs)} Spark jobs, {total:.1f}s inside jobs, {workload_seconds - total:.1f}s on the driver between jobs (planning, file listing, small I/O)")
    for job in jobs:
        site = job.get("call_site", "?").replace(str(REPO) + "/", "")
        print(f"      job {job['job']:>3} {job.get('seconds', 0):6.1f}s  tasks {job['tasks']:>3} ({job['task_seconds']:6.1f}s, GC {job['gc_seconds']:4.1f}s)  "
              f"read {job['records_read']:>9,}  shuffle {job['shuffle_write_mb']:6.1f} MB  spill {job['spill_mb']:6.1f} MB  {site}")


# -- the full export's goals --------------------------------------------------------

# The full export's goals: at most this many times the bare copy's wall time, and a JVM
# whose memory does not grow with the rows beyond the configured heap.
FULL_EXPORT_MAX_RATIO = 3.0


def heap_mb(setting: str) -> int:
    """A JVM memory setting (``2g``, ``1536m``) in MB."""
    units = {"g": 1024, "m": 1, "k": 1 / 1024}
    setting = setting.strip().lower()
    return int(float(setting[:-1]) * units[setting[-1]]) if setting[-1] in units else int(setting) // 2**20


def full_export_goals(report: List[dict], driver_memory: str) -> List[str]:
    """The export's ratio to the bare copy at each size against the goal, and how its JVM's
    peak RSS moves from the smallest size to the largest next to the configured heap."""
    exports = sorted((entry for entry in report if entry["workload"] == "export"), key=lambda entry: entry["rows"])
    lines = []
    for entry in exports:
        verdict = "met" if entry["ratio_to_bare"] <= FULL_EXPORT_MAX_RATIO else "not met"
        lines.append(f"{entry['rows']:,} rows: export {entry['ratio_to_bare']:.2f}x the bare copy (goal <= {FULL_EXPORT_MAX_RATIO:.0f}x: {verdict})")
    if len(exports) >= 2:
        small, large = exports[0], exports[-1]
        growth = large["peak_jvm_mb"] - small["peak_jvm_mb"]
        heap = heap_mb(driver_memory)
        verdict = "within" if growth <= heap and large["peak_jvm_mb"] <= heap + 1024 else "beyond"
        lines.append(f"JVM peak RSS {small['peak_jvm_mb']:,} MB at {small['rows']:,} rows -> {large['peak_jvm_mb']:,} MB at {large['rows']:,} rows "
                     f"({growth:+,} MB; heap -Xmx {heap:,} MB: {verdict} the heap plus 1 GB of non-heap memory)")
    return lines


# -- daily delta: a 5M-row history in PostgreSQL, then a 1% delta ------------------
#
#     .venv/bin/python tests/benchmarks/bench_export.py --daily-delta [--history-rows 5000000] [--delta-share 0.01]
#
# A throwaway PostgreSQL holds the history (indexed load time). In the same run, each in a
# fresh driver: the FULL interactions export over JDBC, then, after the delta is inserted,
# the INCREMENTAL export of it. PostgreSQL's own counters (pg_stat_user_tables) say how
# many rows each read took from the table.

DAILY_TABLE = "bench_orders"
DAILY_ALLOWANCE_SECONDS = 3600
DAILY_PASSWORD_ENV = "BENCH_DB_PASSWORD"
DAILY_HISTORY_END = "2025-06-01 00:00:00+00"


def daily_spec(config: dict) -> dict:
    """The interactions mapping of ``bench_spec`` on the JDBC table, with a watermark."""
    spec = bench_spec(Path(config["data_dir"]))
    spec["sources"]["orders"] = {"format": "jdbc", "jdbc": {
        "url": config["url"], "table": "public.%s" % DAILY_TABLE, "user": config["user"],
        "password_env": DAILY_PASSWORD_ENV, "driver": "org.postgresql.Driver"}}
    spec["datasets"]["interactions"]["watermark"] = {"column": "loaded_at", "allowance_seconds": DAILY_ALLOWANCE_SECONDS}
    spec.pop("item_ids")
    spec["datasets"].pop("items")  # the delta's cost is the subject: no catalog read in either run
    return spec


def _daily_workload(spark, data_dir: Path, out_dir: Path) -> dict:
    from export_spec import load_spec
    from personalize_export.export_job import run_export
    from personalize_export.incremental import DeltaWindow
    from personalize_export.sources import read_changed_rows, read_source_counted, source_high_water_mark

    config = json.loads((data_dir / "daily.json").read_text(encoding="utf-8"))
    spec = load_spec(daily_spec(config))
    watermark = spec.dataset("interactions").watermark
    window = DeltaWindow("interactions", "FULL", watermark)
    if config["mode"] == "INCREMENTAL":
        window = DeltaWindow("interactions", "INCREMENTAL", watermark, config["high"] - DAILY_ALLOWANCE_SECONDS, config["high"])
    report = run_export(spark, spec, "interactions", str(out_dir / "export"), config["run_id"],
                        lambda source: read_source_counted(spark, source), now_epoch=NOW_FOR_DAILY,
                        window=window, read_changes=lambda source, w: read_changed_rows(spark, source, w.watermark, w.read_from),
                        read_high_water_mark=lambda source, w, frame: source_high_water_mark(spark, source, w, frame))
    return {"rows_read": report["rows_read"], "written": report["rows"], "high": report["watermark"]["high"],
            "overlap_rows": report["watermark"]["overlap_rows"], "carried": report["carried"]}


def _daily_warm_workload(spark, data_dir: Path, out_dir: Path) -> dict:
    """The same export twice in one driver; the second one's time is the export without
    the fresh driver's warm-up (class loading, JIT compilation, Spark's first plans)."""
    _daily_workload(spark, data_dir, out_dir / "first")
    started = time.perf_counter()
    details = _daily_workload(spark, data_dir, out_dir / "again")
    return dict(details, warm_seconds=time.perf_counter() - started)


NOW_FOR_DAILY = 1800000000
WORKLOADS["daily"] = _daily_workload
WORKLOADS["daily_warm"] = _daily_warm_workload


def _daily_insert(server, first: int, count: int, loaded_at_sql: str) -> None:
    server.psql(f"""
        INSERT INTO {DAILY_TABLE} (order_id, customer_id, sku, status, amount, channel, ordered_at, loaded_at)
        SELECT 'SO-' || i, 'C' || lpad((abs(hashint4(i * 11)) % 250000)::text, 7, '0'),
               'SKU-' || lpad((floor(power((abs(hashint4(i * 7)) % 1000000) / 1000000.0, 3) * {ITEMS}))::int::text, 5, '0'),
               CASE WHEN abs(hashint4(i * 3)) % 100 < 6 THEN 'cancelled' ELSE 'completed' END,
               round(((abs(hashint4(i * 5)) % 10000) / 100.0 + 1)::numeric, 2),
               (ARRAY['web', 'app', 'partner', 'store'])[1 + i % 4],
               ({HISTORY_START_EPOCH} + abs(hashint4(i * 13)) % {HISTORY_SECONDS})::text,
               {loaded_at_sql}
        FROM generate_series({first}, {first + count - 1}) AS i""")


def _daily_table_reads(server) -> Dict[str, int]:
    time.sleep(1.5)  # counters are flushed when the reading backends end
    row = server.psql("SELECT pg_stat_clear_snapshot(); SELECT seq_scan, seq_tup_read, coalesce(idx_tup_fetch, 0) "
                      f"FROM pg_stat_user_tables WHERE relname = '{DAILY_TABLE}'").strip().splitlines()[-1]
    seq_scan, seq_rows, index_rows = (int(v) for v in row.split("|"))
    return {"seq_scans": seq_scan, "seq_rows": seq_rows, "index_rows": index_rows}


def daily_delta_main(history_rows: int, delta_share: float, work_dir: Path, json_out: Optional[str], profile: bool = False) -> int:
    """The FULL export of the history and the INCREMENTAL export of a day's delta, same run
    (with ``profile``, each run's Spark jobs are printed as for the other workloads)."""
    from sample_data.postgres import throwaway_postgres

    delta_rows = int(history_rows * delta_share)
    data_dir = work_dir / "daily"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    with throwaway_postgres() as server:
        os.environ[DAILY_PASSWORD_ENV] = server.password
        print(f"  loading {history_rows:,} order lines into PostgreSQL (not timed) ...", flush=True)
        server.psql(f"CREATE TABLE {DAILY_TABLE} (order_id text, customer_id text, sku text, status text, amount numeric(10,2), "
                    "channel text, ordered_at text, loaded_at timestamptz NOT NULL)")
        # The history was loaded over two years, in order.
        _daily_insert(server, 0, history_rows,
                      f"TIMESTAMPTZ '{DAILY_HISTORY_END}' - INTERVAL '730 days' + i * (INTERVAL '730 days' / {history_rows})")
        server.psql(f"CREATE INDEX {DAILY_TABLE}_loaded_at ON {DAILY_TABLE} (loaded_at); ANALYZE {DAILY_TABLE}")
        config = {"url": server.jdbc_url, "user": server.user, "data_dir": str(data_dir), "mode": "FULL",
                  "run_id": "20250601T000000Z-0da110"}
        results = {}
        for mode in ("FULL", "INCREMENTAL"):
            if mode == "INCREMENTAL":
                print(f"  inserting the day's {delta_rows:,} lines (not timed) ...", flush=True)
                _daily_insert(server, history_rows, delta_rows,
                              f"TIMESTAMPTZ '{DAILY_HISTORY_END}' + (i - {history_rows}) * (INTERVAL '1 day' / {delta_rows})")
                server.psql(f"ANALYZE {DAILY_TABLE}")
                config.update(mode=mode, run_id="20250602T000000Z-0da111", high=_iso_to_epoch(results["FULL"]["high"]))
            (data_dir / "daily.json").write_text(json.dumps(config))
            server.psql("SELECT pg_stat_reset()")
            before = _daily_table_reads(server)
            out_dir = work_dir / f"out-daily-{mode.lower()}"
            shutil.rmtree(out_dir, ignore_errors=True)
            event_log = work_dir / f"events-daily-{mode.lower()}" if profile else None
            if event_log is not None:
                shutil.rmtree(event_log, ignore_errors=True)
            result = run_measured(child_command("daily", history_rows, data_dir, out_dir, event_log))
            after = _daily_table_reads(server)
            result["database"] = {k: after[k] - before[k] for k in after}
            results[mode] = result
            shutil.rmtree(out_dir, ignore_errors=True)
            print(f"  {mode:>11}: {result['seconds']:.1f}s, read {result['rows_read']:,} rows (overlap {result['overlap_rows']:,}), "
                  f"PostgreSQL: {result['database']['seq_scans']} seq scans / {result['database']['seq_rows']:,} rows, "
                  f"{result['database']['index_rows']:,} rows by index; JVM {result['peak_jvm_mb']:.0f} MB", flush=True)
            if event_log is not None:
                print_profile(mode, profile_from_event_log(event_log), result["seconds"])
        # Where the delta's time goes: the same export again in a driver that has run it once.
        warm = run_measured(child_command("daily_warm", history_rows, data_dir, work_dir / "out-daily-warm"))
        shutil.rmtree(work_dir / "out-daily-warm", ignore_errors=True)
        print(f"  INCREMENTAL again in the same driver: {warm['warm_seconds']:.1f}s (a fresh driver: {results['INCREMENTAL']['seconds']:.1f}s)", flush=True)
    full, delta = results["FULL"], results["INCREMENTAL"]
    summary = {
        "history_rows": history_rows, "delta_rows": delta_rows,
        "full_seconds": round(full["seconds"], 2), "incremental_seconds": round(delta["seconds"], 2),
        "ratio": round(delta["seconds"] / full["seconds"], 3),
        "incremental_rows_read": delta["rows_read"], "overlap_rows": delta["overlap_rows"],
        "database_rows_full": full["database"]["seq_rows"] + full["database"]["index_rows"],
        "database_rows_incremental": delta["database"]["seq_rows"] + delta["database"]["index_rows"],
        "incremental_seq_scans": delta["database"]["seq_scans"],
        "incremental_warm_driver_seconds": round(warm["warm_seconds"], 2),
    }
    print()
    print(f"daily delta: FULL {summary['full_seconds']}s, INCREMENTAL {summary['incremental_seconds']}s "
          f"= {summary['ratio'] * 100:.1f}% of FULL; rows from PostgreSQL for the delta {summary['database_rows_incremental']:,} "
          f"= delta {delta_rows:,} + overlap {summary['overlap_rows']:,}")
    if json_out:
        Path(json_out).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def _iso_to_epoch(text: str) -> int:
    from personalize_export.incremental import parse_iso_utc

    return parse_iso_utc(text)


# -- the parent: processes and memory --------------------------------------------


def child_command(kind: str, rows: int, data_dir: Path, out_dir: Path, event_log: Optional[Path] = None,
                  spark_conf: Sequence[str] = ()) -> List[str]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--rows", str(rows), "--data", str(data_dir), "--out", str(out_dir)]
    if event_log is not None:
        command += ["--event-log", str(event_log)]
    for setting in spark_conf:
        command += ["--spark-conf", setting]
    return command


def child_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(REPO / p) for p in ("glue", "lambda_src", "step_functions")) + os.pathsep + str(REPO)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return env


def run_measured(command: List[str]) -> dict:
    """Run one driver process; sample peak RSS of its Python process(es) and its JVM."""
    import psutil

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    driver = psutil.Process(process.pid)
    peak_python = peak_jvm = 0
    while process.poll() is None:
        try:
            python_rss = driver.memory_info().rss
            jvm_rss = 0
            for descendant in driver.children(recursive=True):
                try:
                    name = descendant.name()
                    rss = descendant.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                if "java" in name:
                    jvm_rss += rss
                elif "python" in name:  # Spark's Python workers, if any UDF runs
                    python_rss += rss
            peak_python, peak_jvm = max(peak_python, python_rss), max(peak_jvm, jvm_rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(SAMPLE_INTERVAL_SECONDS)
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:4])} failed ({process.returncode}):\n{stderr[-3000:]}")
    results = [json.loads(line.split(" ", 1)[1]) for line in stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    result = results[-1] if results else {}
    result.update(peak_python_mb=peak_python / 2**20, peak_jvm_mb=peak_jvm / 2**20)
    return result


def ensure_data(rows: int, work_dir: Path, extra_columns: int = 0) -> Path:
    data_dir = work_dir / (f"data-v{DATA_VERSION}-{rows}" + (f"-wide{extra_columns}" if extra_columns else ""))
    marker = data_dir / ".complete"
    if not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        print(f"  generating {rows:,} synthetic order lines (not timed) ...", flush=True)
        run_measured(child_command("generate", rows, data_dir, work_dir) + ["--extra-columns", str(extra_columns)])
        marker.write_text("ok\n")
    return data_dir


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,5000000", help="comma-separated row counts (default 1000000,5000000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each workload per size; the median is reported")
    parser.add_argument("--work-dir", default=str(REPO / "out" / "bench-export"), help="where the data and outputs go")
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS), help="comma-separated subset of: " + ", ".join(WORKLOADS))
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--profile", action="store_true", help="record Spark's event log and print each workload's Spark jobs with their cost")
    parser.add_argument("--spark-conf", action="append", metavar="KEY=VALUE",
                        help="a Spark setting for every measured driver (repeatable), e.g. spark.sql.codegen.hugeMethodLimit=8000")
    parser.add_argument("--extra-columns", type=int, default=0,
                        help="give the order lines this many more string columns (a wide source; compare export with export_listed)")
    parser.add_argument("--jdbc-read", action="store_true",
                        help="instead: read the benchmark table from a throwaway PostgreSQL with one query and with the default split")
    parser.add_argument("--child", choices=["generate", "jdbc_load_csv", *WORKLOADS, *JDBC_WORKLOADS], help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--event-log", help=argparse.SUPPRESS)
    parser.add_argument("--daily-delta", action="store_true", help="run the daily-delta benchmark (PostgreSQL history + 1%% delta) instead")
    parser.add_argument("--history-rows", type=int, default=5_000_000, help="daily delta: rows of history (default 5000000)")
    parser.add_argument("--delta-share", type=float, default=0.01, help="daily delta: the day's rows as a share of the history")
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)
    if args.daily_delta:
        return daily_delta_main(args.history_rows, args.delta_share, Path(args.work_dir), args.json, args.profile)

    try:
        import psutil  # noqa: F401
    except ImportError:
        print("psutil is needed to measure memory: install the pinned requirements (make deps)", file=sys.stderr)
        return 2
    workloads = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown or "bare" not in workloads:
        parser.error(f"--workloads must include bare and name only {', '.join(WORKLOADS)} (got {', '.join(workloads)})")
    bad_settings = [setting for setting in args.spark_conf or [] if "=" not in setting]
    if bad_settings:
        parser.error(f"--spark-conf takes KEY=VALUE (got {', '.join(bad_settings)})")
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if args.jdbc_read:
        return bench_jdbc_read(sizes, args.repeat, work_dir, args.json)
    report = []
    header = f"{'rows':>10} {'workload':>13} {'wall s':>8} {'rows/s':>10} {'ratio':>6} {'JVM MB':>8} {'Py MB':>7}"
    for rows in sizes:
        print(f"size {rows:,}", flush=True)
        data_dir = ensure_data(rows, work_dir, args.extra_columns)
        runs: Dict[str, List[dict]] = {name: [] for name in workloads}
        for attempt in range(args.repeat):
            for name in workloads:  # alternate, so drift in machine load hits both
                out_dir = work_dir / f"out-{rows}-{name}"
                shutil.rmtree(out_dir, ignore_errors=True)
                event_log = work_dir / f"events-{rows}-{name}-{attempt + 1}" if args.profile else None
                if event_log is not None:
                    shutil.rmtree(event_log, ignore_errors=True)
                result = run_measured(child_command(name, rows, data_dir, out_dir, event_log, args.spark_conf or ()))
                print(f"  {name:>6} run {attempt + 1}: {result['seconds']:.1f}s, JVM {result['peak_jvm_mb']:.0f} MB, Python {result['peak_python_mb']:.0f} MB", flush=True)
                if event_log is not None:
                    result["spark_jobs"] = profile_from_event_log(event_log)
                    print_profile(name, result["spark_jobs"], result["seconds"])
                runs[name].append(result)
                shutil.rmtree(out_dir, ignore_errors=True)
        bare_seconds = statistics.median(r["seconds"] for r in runs["bare"])
        for name in workloads:
            seconds = statistics.median(r["seconds"] for r in runs[name])
            entry = {
                "rows": rows, "workload": name, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds),
                "ratio_to_bare": round(seconds / bare_seconds, 2),
                "peak_jvm_mb": round(max(r["peak_jvm_mb"] for r in runs[name])),
                "peak_python_mb": round(max(r["peak_python_mb"] for r in runs[name])),
                "runs": [round(r["seconds"], 2) for r in runs[name]],
            }
            entry.update({k: v for k, v in runs[name][-1].items() if k in ("rows_read", "written", "rejected", "filtered", "spark_jobs")})
            report.append(entry)
    print()
    print(header)
    for entry in report:
        print(f"{entry['rows']:>10,} {entry['workload']:>13} {entry['seconds']:>8.1f} {entry['rows_per_second']:>10,} "
              f"{entry['ratio_to_bare']:>5.2f}x {entry['peak_jvm_mb']:>8} {entry['peak_python_mb']:>7}")
    driver_memory = dict(setting.split("=", 1) for setting in args.spark_conf or []).get("spark.driver.memory", DRIVER_MEMORY)
    goals = full_export_goals(report, driver_memory)
    if goals:
        print()
        print("\n".join(goals))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
