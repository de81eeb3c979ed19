"""Reading sources with plain Spark readers (local runs; in AWS the job reads the catalog)."""
from __future__ import annotations

import os
from typing import Optional

from pyspark.sql import DataFrame, SparkSession

from personalize_export.spec import SourceSpec
from personalize_export.storage import is_s3


class SourceReadError(RuntimeError):
    pass


def resolve_path(path: str, base_dir: Optional[str]) -> str:
    if is_s3(path) or os.path.isabs(path) or "://" in path or not base_dir:
        return path
    return os.path.join(base_dir, path)


def read_source(spark: SparkSession, source: SourceSpec, base_dir: Optional[str] = None) -> DataFrame:
    """A source as a DataFrame, read from its ``path`` or ``jdbc`` settings."""
    options = dict(source.options)
    if source.format == "jdbc":
        return _read_jdbc(spark, source, options)
    if not source.path:
        raise SourceReadError(
            "sources.%s: has no path; outside AWS a %s source needs one (the catalog table is only read by Glue)"
            % (source.name, source.format)
        )
    path = resolve_path(source.path, base_dir)
    if not is_s3(path) and not os.path.exists(path):
        raise SourceReadError("sources.%s.path: %s does not exist" % (source.name, path))
    reader = spark.read.options(**options)
    if source.format == "csv":
        if "header" not in options:
            reader = reader.option("header", "true")
        return reader.csv(path)
    if source.format == "jsonl":
        return reader.json(path)
    if source.format == "parquet":
        return reader.parquet(path)
    raise SourceReadError("sources.%s.format: unsupported format %r" % (source.name, source.format))


def _read_jdbc(spark: SparkSession, source: SourceSpec, options: dict) -> DataFrame:
    jdbc = source.jdbc
    if jdbc is None:
        raise SourceReadError("sources.%s.jdbc: outside AWS a jdbc source needs its url and table or query" % source.name)
    reader = spark.read.format("jdbc").option("url", jdbc.url)
    if jdbc.table:
        reader = reader.option("dbtable", jdbc.table)
    else:
        reader = reader.option("query", jdbc.query)
    if jdbc.user:
        reader = reader.option("user", jdbc.user)
    if jdbc.password_env:
        password = os.environ.get(jdbc.password_env)
        if password is None:
            raise SourceReadError(
                "sources.%s.jdbc.password_env: environment variable %s is not set" % (source.name, jdbc.password_env)
            )
        reader = reader.option("password", password)
    if jdbc.driver:
        reader = reader.option("driver", jdbc.driver)
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load()
