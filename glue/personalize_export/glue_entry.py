"""The AWS side of the five Glue jobs: arguments, GlueContext, workflow run properties.

Each script in ``glue/jobs/`` calls one of these. awsglue and pyspark are imported inside
the functions only, so the Python-shell jobs (``prepare``, ``start_training``) never load
Spark and importing this module needs neither. Job arguments (Glue ``--name value``):
``--spec_uri``, ``--export_root``, ``--keep_exports``, ``--params_template_uri``,
``--params_uri``, plus Glue's ``WORKFLOW_NAME`` and ``WORKFLOW_RUN_ID``, and ``JOB_NAME`` for the
Spark jobs (``Job.init`` needs it). The Python-shell jobs have no Job object, so they do not
ask for ``JOB_NAME``: a run with or without it works.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Optional, Sequence

from personalize_export.jobargs import optional_int, resolved_options
from personalize_export.workflow import GlueRunProperties, current_plan, current_run_id, prepare_export

WORKFLOW_ARGS = ("WORKFLOW_NAME", "WORKFLOW_RUN_ID")


def _glue_client(factory: Optional[Callable[[], Any]]):
    if factory is not None:
        return factory()
    import boto3

    return boto3.client("glue")


def prepare_main(argv: Optional[Sequence[str]] = None, glue_client_factory: Optional[Callable[[], Any]] = None,
                 storage: Any = None) -> str:
    """Python-shell job ``prepare``: allocate the run id and choose FULL or INCREMENTAL.

    Both go into the workflow run properties. ``--export_mode`` (auto, FULL or INCREMENTAL)
    forces a mode; so does a run property ``export_requested`` given to StartWorkflowRun,
    which wins over the job's default argument ``--export_mode auto`` (modules/dataset-export).
    ``--export_expiry_days`` is the bucket's expiry of exports: a chain ends before its base expires.
    """
    from export_spec import load_spec
    from personalize_export.incremental import ExportModeRefused
    from personalize_export.storage import Storage

    args = resolved_options(argv if argv is not None else sys.argv, ("spec_uri", "export_root") + WORKFLOW_ARGS,
                            ("export_mode", "export_expiry_days"))
    export_expiry_days = optional_int(args, "export_expiry_days")
    storage = storage or Storage()
    properties = GlueRunProperties(_glue_client(glue_client_factory), args["WORKFLOW_NAME"], args["WORKFLOW_RUN_ID"])
    spec = load_spec(storage.read_text(args["spec_uri"]))
    try:
        plan = prepare_export(properties, spec, args["export_root"], args.get("export_mode"), storage,
                              requested_by="--export_mode", export_expiry_days=export_expiry_days)
    except ExportModeRefused as refusal:
        raise SystemExit("prepare: %s" % refusal)
    print("prepare: run_id=%s (workflow %s, run %s); export %s" % (
        plan.run_id, args["WORKFLOW_NAME"], args["WORKFLOW_RUN_ID"], plan.describe()))
    return plan.run_id


def start_training_main(argv: Optional[Sequence[str]] = None, glue_client_factory: Optional[Callable[[], Any]] = None,
                        storage: Any = None):
    """Python-shell job ``start_training``: manifest, readiness, ``latest``, cleanup, hand-off."""
    from export_spec import load_spec
    from personalize_export.finalize import check_keep_exports, finalize_export
    from personalize_export.storage import Storage

    argv = argv if argv is not None else sys.argv
    args = resolved_options(
        argv, ("spec_uri", "export_root", "params_template_uri", "params_uri") + WORKFLOW_ARGS, ("keep_exports",)
    )
    keep_exports = optional_int(args, "keep_exports")
    if keep_exports is not None:
        try:
            check_keep_exports(keep_exports, "job argument --keep_exports")
        except ValueError as exc:
            raise SystemExit(str(exc))
    storage = storage or Storage()
    properties = GlueRunProperties(_glue_client(glue_client_factory), args["WORKFLOW_NAME"], args["WORKFLOW_RUN_ID"])
    run_id = current_run_id(properties)
    plan = current_plan(properties)
    spec = load_spec(storage.read_text(args["spec_uri"]))
    result = finalize_export(
        spec, args["export_root"], run_id, args["params_template_uri"], args["params_uri"],
        keep_exports=keep_exports, storage=storage, plan=plan,
    )
    print("start_training: run %s (%s) ready; manifest %s; params written to %s (version %s); removed old exports: %s" % (
        run_id, plan.describe(), result.manifest_uri, result.params_uri, result.params_version,
        ", ".join(result.deleted_runs) or "none"))
    return result


def export_main(dataset: str, argv: Optional[Sequence[str]] = None) -> dict:
    """Spark job ``export_<dataset>``: read the catalog table(s), transform, write, report."""
    import boto3
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from pyspark.context import SparkContext

    from export_spec import load_spec
    from personalize_export.export_job import run_export
    from personalize_export.incremental import dataset_window, describe_delta, previous_manifest_for
    from personalize_export.sources import frame_high_water_mark
    from personalize_export.storage import Storage

    argv = argv if argv is not None else sys.argv
    args = resolved_options(argv, ("JOB_NAME", "spec_uri", "export_root") + WORKFLOW_ARGS)
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)

    properties = GlueRunProperties(boto3.client("glue"), args["WORKFLOW_NAME"], args["WORKFLOW_RUN_ID"])
    run_id = current_run_id(properties)
    plan = current_plan(properties)
    storage = Storage()
    spec = load_spec(storage.read_text(args["spec_uri"]))
    previous = previous_manifest_for(storage, args["export_root"], plan)

    def read_catalog(source, window=None):
        if source.catalog is None:
            raise ValueError("sources.%s.catalog: in AWS every source needs its Data Catalog table" % source.name)
        read_options = {}
        split = catalog_read_options(source)
        changed = changed_rows_read_options(source, window) if window is not None else {}
        if split or changed.get("additional_options"):
            read_options["additional_options"] = dict(split, **changed.get("additional_options", {}))
        if changed.get("push_down_predicate"):
            read_options["push_down_predicate"] = changed["push_down_predicate"]
        print("export_%s: sources.%s: %s" % (dataset, source.name, describe_catalog_read(source, split)))
        frame = glue_context.create_dynamic_frame.from_catalog(
            database=source.catalog.database,
            table_name=source.catalog.table,
            transformation_ctx="read_%s_%s" % (dataset, source.name),
            **read_options,
        )
        return frame.toDF()

    def read_catalog_changes(source, window):
        return read_catalog(source, window)

    def read_catalog_high_water_mark(source, watermark, frame):
        probe = high_water_mark_read_options(source, watermark)
        if probe is None:
            return frame_high_water_mark(frame, watermark, dataset=dataset)
        high = glue_context.create_dynamic_frame.from_catalog(
            database=source.catalog.database,
            table_name=source.catalog.table,
            transformation_ctx="high_water_mark_%s_%s" % (dataset, source.name),
            **probe,
        )
        return frame_high_water_mark(high.toDF(), watermark, column="high", dataset=dataset)

    report = run_export(spark, spec, dataset, args["export_root"], run_id, read_catalog, storage=storage, progress=print,
                        window=dataset_window(spec, dataset, plan, previous), read_changes=read_catalog_changes,
                        previous_run_id=plan.previous_run_id, read_high_water_mark=read_catalog_high_water_mark)
    print("export_%s: run %s: %d rows written, %d rejected %s, %d filtered" % (
        dataset, run_id, report["rows"], report["rejected"], report["rejected_by_reason"], report["filtered"]))
    for line in describe_delta(report):
        print("export_%s: %s" % (dataset, line))
    job.commit()
    return report


# --------------------------------------------------------------------------- JDBC catalog reads


def catalog_read_options(source) -> dict:
    """``additional_options`` for Glue's ``from_catalog`` read of a JDBC table: the split
    (``hashexpression`` or ``hashfield``, with ``hashpartitions``) and the fetch size.

    Without them Glue reads the table in one query over one connection, into one
    partition. https://docs.aws.amazon.com/glue/latest/dg/run-jdbc-parallel-read-job.html:
    ``hashfield`` is a column of any type whose value Glue hashes to a partition number;
    ``hashexpression`` is an SQL expression returning a whole number, used in each query's
    WHERE clause; ``hashpartitions`` is the number of parallel reads (Glue's default 7).
    """
    read = source.jdbc_read
    if source.format != "jdbc" or read is None:
        return {}
    # The JDBC reader's name for rows per round trip.
    options = {"fetchsize": str(read.fetch_size)}
    if read.partitions > 1:
        if read.hash_expression:
            options.update(hashexpression=read.hash_expression, hashpartitions=str(read.partitions))
        elif read.column:
            options.update(hashfield=read.column, hashpartitions=str(read.partitions))
    return options


def describe_catalog_read(source, options: dict) -> str:
    if "hashpartitions" in options:
        on = "hashexpression %s" % options["hashexpression"] if "hashexpression" in options else "hashfield %s" % options["hashfield"]
        return "JDBC read in %s parallel queries on %s, fetch size %s" % (options["hashpartitions"], on, options["fetchsize"])
    if source.format != "jdbc":
        return "read from the Data Catalog"
    if source.jdbc_read is not None and source.jdbc_read.partitions <= 1:
        return "JDBC read in one query (jdbc_read.partitions is 1), fetch size %s" % options.get("fetchsize")
    return ("JDBC read in one query over one connection: name sources.%s.jdbc_read.column (or hash_expression) "
            "to split it; in AWS the job cannot see the table's primary key through the Data Catalog" % source.name)


def changed_rows_read_options(source: Any, window: Any) -> dict:
    """How the Data Catalog read takes only an incremental window's rows (``from_catalog`` keywords).

    * A JDBC table: Glue runs ``sampleQuery`` on the database instead of reading the whole
      table, so the condition reaches the database. It names the table as the database
      knows it: ``sources.<name>.jdbc.table`` (or ``query``). A sample query runs as one
      query on one executor unless ``enablePartitioningForSampleQuery`` is true; then Glue
      appends each parallel query's hash condition to it, so it must end with ``WHERE`` or
      ``AND`` (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-connect-jdbc-home.html,
      https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-pushdown.html). When
      the spec splits the read (``catalog_read_options``), the delta is split the same way.
    * A table on S3 partitioned by day (``watermark.partition_column``): ``push_down_predicate``
      prunes the partitions before the first day read, from the catalog's partition metadata,
      before any file is listed
      (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-pushdown.html); the rows of
      that first day are then filtered by the change column.
    * Any other table is read whole and filtered by the change column.

    No Glue job bookmark is used: a bookmark advances when the export job commits, even when
    ``start_training`` then refuses the export; the watermark in the manifest advances only
    with an export that was handed off, allows for late rows, and can be run and tested here.
    """
    from personalize_export.sources import changed_rows_sql

    if not window.incremental or window.read_from is None:
        return {}
    watermark = window.watermark
    if source.format == "jdbc":
        relation = _database_relation(source)
        if relation is None:
            raise ValueError("sources.%s.jdbc: an incremental read of a JDBC catalog table needs jdbc.table (or jdbc.query): "
                             "the name Glue's sampleQuery gives the database" % source.name)
        query = "SELECT * FROM %s WHERE %s" % (relation, changed_rows_sql(watermark, window.read_from))
        if "hashpartitions" not in catalog_read_options(source):
            return {"additional_options": {"sampleQuery": query}}
        # Glue appends each parallel query's hash condition after the trailing AND.
        return {"additional_options": {"sampleQuery": query + " AND", "enablePartitioningForSampleQuery": "true"}}
    if watermark.partition_column:
        import datetime

        day = datetime.datetime.fromtimestamp(int(window.read_from), tz=datetime.timezone.utc).strftime("%Y-%m-%d")
        return {"push_down_predicate": "%s >= '%s'" % (watermark.partition_column, day)}
    return {}


def high_water_mark_read_options(source: Any, watermark: Any) -> Optional[dict]:
    """``from_catalog`` keywords that ask a JDBC table for ``max(<change column>)`` through the
    catalog table's connection, in one query (one row: no split); None for a table whose
    rows are aggregated instead (files, or a JDBC table without the name the database knows).

    Glue runs a ``sampleQuery`` on the database as written, on one executor unless
    ``enablePartitioningForSampleQuery`` is set
    (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-pushdown.html).
    """
    from personalize_export.sources import high_water_mark_sql

    relation = _database_relation(source) if source.format == "jdbc" else None
    if relation is None:
        return None
    return {"additional_options": {"sampleQuery": high_water_mark_sql(watermark, relation)}}


def _database_relation(source: Any) -> Optional[str]:
    """The table (or query, as a derived table) as the database names it, for a sampleQuery."""
    if source.jdbc is None:
        return None
    return source.jdbc.table if source.jdbc.table else "(%s) AS source_rows" % source.jdbc.query
