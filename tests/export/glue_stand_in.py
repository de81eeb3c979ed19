"""The awsglue modules the Glue entrypoints import, standing in for Glue in the tests.

``from_catalog`` takes the keyword arguments Glue's does
(https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-dynamic-frame-reader.html)
and records each read, its ``additional_options`` and the partitions of the frame it
returns in ``calls``. A catalog table of a JDBC connection (``JdbcTable``) is read the way
Glue reads one: a ``sampleQuery`` is run (Spark SQL stands in for the database), a hash
split gives one partition per parallel query, and option combinations Glue cannot run
are refused.
"""
from __future__ import annotations

import functools
import re
import types
from dataclasses import dataclass

from pyspark.sql import DataFrame

# https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-connect-jdbc-home.html
# (JDBC connection option reference; every other option goes to Spark's JDBC reader).
GLUE_JDBC_READ_OPTIONS = {"hashfield", "hashexpression", "hashpartitions", "sampleQuery",
                          "enablePartitioningForSampleQuery", "sampleSize", "jobBookmarkKeys", "jobBookmarkKeysSortOrder"}
# https://spark.apache.org/docs/latest/sql-data-sources-jdbc.html (read options; case-insensitive).
SPARK_JDBC_READ_OPTIONS = {"fetchsize", "querytimeout", "sessioninitstatement", "customschema", "pushdownpredicate"}
# https://docs.aws.amazon.com/glue/latest/dg/run-jdbc-parallel-read-job.html: "hashpartitions"
# defaults to 7.
DEFAULT_HASH_PARTITIONS = 7


class GlueReadRefused(ValueError):
    """What Glue would fail on, or could not have meant."""


@dataclass(frozen=True)
class JdbcTable:
    """A Data Catalog table of a JDBC connection: its rows, and the name the database knows
    it by (a plain identifier: a sampleQuery reads it as a Spark temp view)."""

    frame: DataFrame
    name: str


class _DynamicFrame:
    def __init__(self, frame):
        self._frame = frame

    def toDF(self):
        return self._frame


def _checked_jdbc_options(options: dict) -> dict:
    for key in options:
        if key not in GLUE_JDBC_READ_OPTIONS and key.lower() not in SPARK_JDBC_READ_OPTIONS:
            raise GlueReadRefused("additional_options: %r is no option of Glue's or Spark's JDBC reader (misspelt?)" % key)
    if "hashfield" in options and "hashexpression" in options:
        # run-jdbc-parallel-read-job.html: "provide a hashexpression instead of a hashfield".
        raise GlueReadRefused("additional_options: hashfield and hashexpression together; give one")
    partitions = str(options.get("hashpartitions", DEFAULT_HASH_PARTITIONS))
    if not partitions.isdigit() or int(partitions) < 1:
        raise GlueReadRefused("additional_options: hashpartitions %r is not a positive whole number" % partitions)
    flag = str(options.get("enablePartitioningForSampleQuery", "false")).lower()
    if flag not in ("true", "false"):
        raise GlueReadRefused("additional_options: enablePartitioningForSampleQuery %r is neither true nor false" % flag)
    if flag == "true":
        # aws-glue-programming-etl-connect-jdbc-home.html and aws-glue-programming-pushdown.html:
        # the flag partitions a sampleQuery on hashfield/hashexpression, and Glue appends each
        # partition's condition to the query, which must end with "where" or "and".
        if "sampleQuery" not in options:
            raise GlueReadRefused("additional_options: enablePartitioningForSampleQuery without a sampleQuery")
        if "hashfield" not in options and "hashexpression" not in options:
            raise GlueReadRefused("additional_options: enablePartitioningForSampleQuery needs hashfield or hashexpression")
        if not re.search(r"\b(where|and)\s*$", options["sampleQuery"], re.IGNORECASE):
            raise GlueReadRefused("additional_options: with enablePartitioningForSampleQuery the sampleQuery must end with "
                                  "WHERE or AND, for Glue to append the partition condition: %r" % options["sampleQuery"])
    return dict(options, hashpartitions=int(partitions), enablePartitioningForSampleQuery=flag == "true")


def _hash_conditions(options: dict):
    """Each parallel query's condition, or None for one query (Spark SQL for the database's)."""
    if "hashexpression" in options:
        hashed = "(%s)" % options["hashexpression"]
    elif "hashfield" in options:
        hashed = "hash(`%s`)" % options["hashfield"]
    else:
        return None
    return ["pmod(%s, %d) = %d" % (hashed, options["hashpartitions"], index) for index in range(options["hashpartitions"])]


def _read_jdbc_table(spark, table: JdbcTable, additional_options: dict) -> DataFrame:
    options = _checked_jdbc_options(additional_options)
    conditions = _hash_conditions(options)
    query = options.get("sampleQuery")
    if query is not None:
        table.frame.createOrReplaceTempView(table.name)
        if not options["enablePartitioningForSampleQuery"]:
            # By default a sample query runs on one executor, whatever the split says.
            return spark.sql(query).coalesce(1)
        parts = [spark.sql("%s %s" % (query, condition)).coalesce(1) for condition in conditions]
    elif conditions is None:
        return table.frame.coalesce(1)  # one query over one connection
    else:
        parts = [table.frame.where(condition).coalesce(1) for condition in conditions]
    return functools.reduce(DataFrame.unionAll, parts)


def awsglue_modules(spark, tables, calls):
    """``{module name: module}`` to put in ``sys.modules``. ``tables`` maps (database,
    table) to a DataFrame, to (DataFrame, partition columns) for a partitioned table on S3,
    or to a ``JdbcTable``."""
    package = types.ModuleType("awsglue")
    package.__path__ = []
    context = types.ModuleType("awsglue.context")
    job = types.ModuleType("awsglue.job")

    class GlueContext:
        def __init__(self, spark_context):
            self.spark_session = spark
            self.create_dynamic_frame = self

        def from_catalog(self, database, table_name, redshift_tmp_dir="", transformation_ctx="", push_down_predicate="",
                         additional_options=None, catalog_id=None):
            calls.append(("from_catalog", database, table_name))
            calls.append(("additional_options", database, table_name, dict(additional_options or {})))
            table = tables[(database, table_name)]
            if isinstance(table, JdbcTable):
                frame = _read_jdbc_table(spark, table, dict(additional_options or {}))
            else:
                # JDBC options are ignored for S3 tables (run-jdbc-parallel-read-job.html).
                frame, partition_keys = table if isinstance(table, tuple) else (table, ())
                if push_down_predicate:
                    calls.append(("push_down_predicate", push_down_predicate))
                    # Glue evaluates the predicate on the catalog's partition values, before any
                    # file is listed: it may name partition columns only.
                    # https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-pushdown.html
                    kept = frame.select(*partition_keys).distinct().where(push_down_predicate)
                    frame = frame.join(kept, list(partition_keys), "left_semi")
            calls.append(("partitions", database, table_name, frame.rdd.getNumPartitions()))
            return _DynamicFrame(frame)

    class Job:
        def __init__(self, glue_context):
            pass

        def init(self, name, args):
            calls.append(("init", name))

        def commit(self):
            calls.append(("commit",))

    context.GlueContext = GlueContext
    job.Job = Job
    return {"awsglue": package, "awsglue.context": context, "awsglue.job": job}
