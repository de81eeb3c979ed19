"""The orders table in a real PostgreSQL server, read over Spark JDBC as the Glue job's
JDBC connection would, then through the export's interactions transform."""
from __future__ import annotations

import csv
import os
import socket
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from sample_data.generate import ORDERS_FILE, PRODUCTS_FILE, normalized_sku
from sample_data.postgres import (
    INSTALL_HINT,
    PostgresUnavailable,
    find_bin_dir,
    load_orders,
    require_jdbc_driver,
    throwaway_postgres,
)
from sample_data.spec import demo_spec, expected_counts

pytestmark = [pytest.mark.postgres, pytest.mark.spark]


def read_orders(spark, loaded):
    server = loaded.server
    return spark.read.jdbc(server.jdbc_url, "public.orders", properties=server.jdbc_properties)


def csv_orders(sample_dir: Path):
    with (sample_dir / ORDERS_FILE).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_loader_reports_every_generated_line(orders_server, sample_truth):
    assert orders_server.rows == sample_truth["orders"]["rows"]
    count = orders_server.server.psql("SELECT count(*) FROM orders").strip()
    assert int(count) == orders_server.rows


def test_spark_jdbc_reads_the_table_with_its_types(spark, orders_server, sample_dir):
    from pyspark.sql import types as T

    frame = read_orders(spark, orders_server)
    assert {f.name: f.dataType for f in frame.schema.fields} == {
        "order_id": T.StringType(),
        "line_no": T.IntegerType(),
        "customer_id": T.StringType(),
        "sku": T.StringType(),
        "product_title": T.StringType(),
        "status": T.StringType(),
        "quantity": T.IntegerType(),
        "amount": T.DecimalType(10, 2),
        "channel": T.StringType(),
        "ordered_at": T.StringType(),
        # set by the database when the line is written: the incremental export's change column
        "loaded_at": T.TimestampType(),
    }
    assert frame.count() == orders_server.rows


def test_values_survive_the_round_trip(spark, orders_server, sample_dir):
    rows = read_orders(spark, orders_server).collect()
    from_db = Counter(
        (r.order_id, r.line_no, r.customer_id or "", r.sku or "", r.product_title, r.status, r.quantity, r.amount, r.channel, r.ordered_at)
        for r in rows
    )
    from_file = Counter(
        (r["order_id"], int(r["line_no"]), r["customer_id"], r["sku"], r["product_title"], r["status"], int(r["quantity"]),
         Decimal(r["amount"]), r["channel"], r["ordered_at"])
        for r in csv_orders(sample_dir)
    )
    assert from_db == from_file
    # NULL and the empty string stay distinct through COPY and JDBC.
    assert sum(1 for r in rows if r.customer_id is None) == 2
    assert sum(1 for r in rows if r.customer_id == "") == 1
    assert any(r.product_title == '12" Cast-Iron Skillet' for r in rows)
    assert any(r.product_title == "Crème Brûlée Torch" for r in rows)


def test_interactions_transform_on_the_jdbc_table(spark, orders_server, sample_dir, sample_truth):
    from export_spec import load_spec
    from personalize_export.columns import REASON, STATUS, out_col
    from personalize_export.reconcile import item_catalog
    from personalize_export.transform import ClassifyOptions, classify, written_rows

    spec = load_spec(demo_spec(sample_dir, orders_server.server))
    products = spec.sources["products"]
    catalog_source = spark.read.options(**products.options).csv(products.path)
    catalog = item_catalog(catalog_source, spec)
    now = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp())
    options = ClassifyOptions(now_epoch=now, timestamp_floor=spec.run.timestamp_floor, max_future_skew_seconds=0)
    interactions = spec.dataset("interactions")
    classified = classify(read_orders(spark, orders_server), interactions, spec, options, catalog).cache()
    try:
        expected = expected_counts(sample_truth)["interactions"]
        statuses = {row[0]: row[1] for row in classified.groupBy(STATUS).count().collect()}
        assert statuses == {"written": expected["rows"], "filtered": expected["filtered"], "rejected": sum(expected["rejected_by_reason"].values())}
        reasons = {row[0]: row[1] for row in classified.where(classified[STATUS] == "rejected").groupBy(REASON).count().collect()}
        assert reasons == expected["rejected_by_reason"]

        written = written_rows(classified, interactions)
        assert written.columns == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "CHANNEL"]
        low, high = datetime(2023, 6, 1, tzinfo=timezone.utc).timestamp(), datetime(2025, 6, 1, tzinfo=timezone.utc).timestamp()
        bounds = written.agg({"TIMESTAMP": "min"}).first()[0], written.agg({"TIMESTAMP": "max"}).first()[0]
        assert low <= bounds[0] and bounds[1] < high
        assert {r[0] for r in written.select("EVENT_TYPE").distinct().collect()} == {"purchase"}
        # Every item id is a catalog id in normalised form: SKU-04213, sku-04213, 04213 ... -> 4213.
        catalog_ids = {normalized_sku(r["sku"]) for r in csv.DictReader((sample_dir / PRODUCTS_FILE).open(encoding="utf-8", newline="")) if r["sku"].strip()}
        assert {r[0] for r in written.select("ITEM_ID").distinct().collect()} <= catalog_ids
        # The lines without SKU were matched on their mistyped title to the right product.
        fuzzy = sample_truth["orders"]["fuzzy_title_lines"]
        keys = [(line["order_id"], line["line_no"]) for line in fuzzy]
        found = classified.where(" OR ".join(f"(order_id = '{o}' AND line_no = {n})" for o, n in keys)).select(
            "order_id", "line_no", out_col("ITEM_ID"), STATUS).collect()
        assert {(r[0], r[1]): (r[2], r[3]) for r in found} == {
            (line["order_id"], line["line_no"]): (normalized_sku(line["sku"]), "written") for line in fuzzy}
    finally:
        classified.unpersist()


def test_throwaway_server_is_stopped_and_removed_on_exit(sample_dir):
    with throwaway_postgres(database="scratch") as server:
        assert load_orders(server, sample_dir / ORDERS_FILE) > 0
        root, port = server.socket_dir, server.port
        assert root.is_dir()
    assert not root.exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the server still listens after exit"


def test_missing_postgresql_says_what_to_install(tmp_path):
    with pytest.raises(PostgresUnavailable, match="postgresql.*libpostgresql-jdbc-java"):
        find_bin_dir([str(tmp_path)])
    with pytest.raises(PostgresUnavailable, match="libpostgresql-jdbc-java") as raised:
        require_jdbc_driver(str(tmp_path / "postgresql.jar"))
    assert "make system-deps" in str(raised.value) and "make system-deps" in INSTALL_HINT


def test_loader_names_a_missing_orders_file(orders_server, tmp_path):
    with pytest.raises(FileNotFoundError, match="sample_data.generate"):
        load_orders(orders_server.server, tmp_path / "nope.csv", table="orders_missing")


def test_sample_sources_bundle_data_server_and_spec(tmp_path):
    from sample_data.spec import sample_sources

    with sample_sources(tmp_path / "sample", seed=3) as sources:
        assert sources.orders_loaded == sources.truth["orders"]["rows"]
        assert sources.spec["sources"]["orders"]["jdbc"]["url"] == sources.server.jdbc_url
        assert sources.environment == {"SAMPLE_SHOP_DB_PASSWORD": sources.server.password}
        assert Path(sources.spec["sources"]["products"]["path"]) == (tmp_path / "sample" / "products.csv").resolve()
        root = sources.server.socket_dir
    assert not root.exists()


def test_cli_serves_the_orders_until_stopped(sample_dir):
    import re
    import select
    import signal
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(repo / "glue"))
    process = subprocess.Popen([sys.executable, "-m", "sample_data.postgres", "--data", str(sample_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 120)
        assert ready, "the server did not report readiness"
        first = process.stdout.readline()
        assert first.startswith(f"{sum(1 for _ in csv_orders(sample_dir))} order lines loaded")
        socket_dir = Path(re.search(r"psql -h (\S+)", process.stdout.readline()).group(1))
        assert socket_dir.is_dir()
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=60)
    assert returncode == 0, process.stderr.read()
    assert not socket_dir.exists(), "SIGTERM must stop the server and delete its directory"
