"""Local SparkSession settings shared by tests, the demo and the benchmarks.

In AWS the Glue job builds its own session; nothing here runs there.
"""
from __future__ import annotations

import os
from typing import Optional

POSTGRES_JDBC_JAR = "/usr/share/java/postgresql.jar"


def local_spark_session(app_name: str, warehouse_dir: Optional[str] = None, driver_memory: str = "2g", extra_conf: Optional[dict] = None):
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[2]"))
        .appName(app_name)
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        # Personalize imports every object under a prefix: no _SUCCESS markers.
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    )
    if os.path.exists(POSTGRES_JDBC_JAR):
        builder = builder.config("spark.jars", POSTGRES_JDBC_JAR)
    if warehouse_dir:
        builder = builder.config("spark.sql.warehouse.dir", warehouse_dir)
    for key, value in (extra_conf or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
