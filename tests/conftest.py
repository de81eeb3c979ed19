"""Fixtures shared by every test folder.

pyspark is imported lazily so that the Python-shell job tests can run under
Python 3.9 (the Glue Python-shell runtime) without Spark installed.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest

# The IAM proof records every AWS call the deployed components make (tests/iam).
from iam.plugin import pytest_collection_modifyitems, pytest_configure, pytest_runtest_setup, pytest_sessionfinish  # noqa: F401,E402


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole run, tuned for a 2-core machine."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Java 17 is needed for the Spark tests: run `make system-deps` (apt-get install openjdk-17-jre-headless)")
    from personalize_export.sparkutil import local_spark_session

    warehouse = tempfile.mkdtemp(prefix="spark-warehouse-")
    session = local_spark_session(app_name="tests", warehouse_dir=warehouse)
    yield session
    session.stop()
    shutil.rmtree(warehouse, ignore_errors=True)
