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
from personalize_export.workflow import GlueRunProperties, current_run_id, prepare_run

WORKFLOW_ARGS = ("WORKFLOW_NAME", "WORKFLOW_RUN_ID")


def _glue_client(factory: Optional[Callable[[], Any]]):
    if factory is not None:
        return factory()
    import boto3

    return boto3.client("glue")


def prepare_main(argv: Optional[Sequence[str]] = None, glue_client_factory: Optional[Callable[[], Any]] = None) -> str:
    """Python-shell job ``prepare``: allocate the run id, publish it as run property ``run_id``."""
    args = resolved_options(argv if argv is not None else sys.argv, WORKFLOW_ARGS)
    properties = GlueRunProperties(_glue_client(glue_client_factory), args["WORKFLOW_NAME"], args["WORKFLOW_RUN_ID"])
    run_id = prepare_run(properties)
    print("prepare: run_id=%s (workflow %s, run %s)" % (run_id, args["WORKFLOW_NAME"], args["WORKFLOW_RUN_ID"]))
    return run_id


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
    spec = load_spec(storage.read_text(args["spec_uri"]))
    result = finalize_export(
        spec, args["export_root"], run_id, args["params_template_uri"], args["params_uri"],
        keep_exports=keep_exports, storage=storage,
    )
    print("start_training: run %s ready; manifest %s; params written to %s (version %s); removed old exports: %s" % (
        run_id, result.manifest_uri, result.params_uri, result.params_version, ", ".join(result.deleted_runs) or "none"))
    return result


def export_main(dataset: str, argv: Optional[Sequence[str]] = None) -> dict:
    """Spark job ``export_<dataset>``: read the catalog table(s), transform, write, report."""
    import boto3
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from pyspark.context import SparkContext

    from export_spec import load_spec
    from personalize_export.export_job import run_export
    from personalize_export.storage import Storage

    argv = argv if argv is not None else sys.argv
    args = resolved_options(argv, ("JOB_NAME", "spec_uri", "export_root") + WORKFLOW_ARGS)
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)

    run_id = current_run_id(GlueRunProperties(boto3.client("glue"), args["WORKFLOW_NAME"], args["WORKFLOW_RUN_ID"]))
    storage = Storage()
    spec = load_spec(storage.read_text(args["spec_uri"]))

    def read_catalog(source):
        if source.catalog is None:
            raise ValueError("sources.%s.catalog: in AWS every source needs its Data Catalog table" % source.name)
        read_options = {}
        split = catalog_read_options(source)
        if split:
            read_options["additional_options"] = split
        print("export_%s: sources.%s: %s" % (dataset, source.name, describe_catalog_read(source, split)))
        frame = glue_context.create_dynamic_frame.from_catalog(
            database=source.catalog.database,
            table_name=source.catalog.table,
            transformation_ctx="read_%s_%s" % (dataset, source.name),
            **read_options,
        )
        return frame.toDF()

    report = run_export(spark, spec, dataset, args["export_root"], run_id, read_catalog, storage=storage, progress=print)
    print("export_%s: run %s: %d rows written, %d rejected %s, %d filtered" % (
        dataset, run_id, report["rows"], report["rejected"], report["rejected_by_reason"], report["filtered"]))
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

