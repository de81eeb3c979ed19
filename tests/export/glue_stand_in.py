"""The awsglue modules the Glue entrypoints import, standing in for Glue in the tests.

``from_catalog`` takes the keyword arguments Glue's does
(https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-dynamic-frame-reader.html)
and records each read and its ``additional_options`` in ``calls``.
"""
from __future__ import annotations

import types


class _DynamicFrame:
    def __init__(self, frame):
        self._frame = frame

    def toDF(self):
        return self._frame


def awsglue_modules(spark, tables, calls):
    """``{module name: module}`` to put in ``sys.modules``. ``tables`` maps (database,
    table) to a DataFrame, or to (DataFrame, partition columns) for a partitioned table."""
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
            frame, partition_keys = table if isinstance(table, tuple) else (table, ())
            if push_down_predicate:
                calls.append(("push_down_predicate", push_down_predicate))
                # Glue evaluates the predicate on the catalog's partition values, before any
                # file is listed: it may name partition columns only.
                # https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-pushdown.html
                kept = frame.select(*partition_keys).distinct().where(push_down_predicate)
                frame = frame.join(kept, list(partition_keys), "left_semi")
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
