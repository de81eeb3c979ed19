"""The daily cycle against a real PostgreSQL: FULL, then deltas read past the watermark.

What PostgreSQL itself counts (pg_stat_user_tables) proves that the incremental read's
condition runs in the database: the delta run fetches only the delta and the overlap
through the index on the change column, and scans the table sequentially not once.
"""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from export_spec import load_spec
from personalize_export import layout
from personalize_export.export_job import run_export
from personalize_export.incremental import FULL, ExportPlan, dataset_window, iso_utc
from personalize_export.local_workflow import run_local_workflow
from personalize_export.sources import read_changed_rows, read_source_counted, source_high_water_mark

pytestmark = pytest.mark.spark

BASE_ROWS = 20000
ALLOWANCE = 600
START = "2024-06-01 00:00:00+00"  # loaded_at of event 0; each event one second later
NOW_EPOCH = 1800000000
CUSTOMERS = 40


def _sql(server, text):
    return server.psql(text).strip()


def _insert_events(server, first, count, loaded_at_sql, table="events"):
    """``count`` events numbered from ``first``, loaded at ``loaded_at_sql`` (may use i)."""
    _sql(server, f"""
        INSERT INTO {table} (user_id, item_id, ts, loaded_at)
        SELECT 'c' || (i % {CUSTOMERS}), 'i' || (i % 50), 1700000000 + i, {loaded_at_sql}
        FROM generate_series({first}, {first + count - 1}) AS i""")


def _table_reads(server, table):
    """(sequential scans, rows read by them, rows fetched through indexes) so far."""
    # Statistics reach the shared counters when a backend finishes its transaction;
    # the JDBC connections are closed by then, give the last flush a moment.
    time.sleep(1.5)
    row = _sql(server, "SELECT pg_stat_clear_snapshot(); SELECT seq_scan, seq_tup_read, coalesce(idx_tup_fetch, 0) "
                       f"FROM pg_stat_user_tables WHERE relname = '{table}'")
    return tuple(int(v) for v in row.splitlines()[-1].split("|"))


@pytest.fixture(scope="module")
def shop(orders_server, tmp_path_factory):
    server = orders_server.server
    folder = tmp_path_factory.mktemp("incremental")
    _sql(server, "DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS customers")
    _sql(server, "CREATE TABLE events (user_id text, item_id text, ts bigint, loaded_at timestamptz NOT NULL)")
    _sql(server, "CREATE INDEX events_loaded_at ON events (loaded_at)")
    _sql(server, "CREATE TABLE customers (customer_id text PRIMARY KEY, age integer, updated_at timestamptz NOT NULL)")
    _insert_events(server, 0, BASE_ROWS, f"TIMESTAMPTZ '{START}' + i * INTERVAL '1 second'")
    _sql(server, f"INSERT INTO customers SELECT 'c' || i, 20 + i, TIMESTAMPTZ '{START}' FROM generate_series(0, {CUSTOMERS - 1}) AS i")
    _sql(server, "ANALYZE events; ANALYZE customers")
    with open(folder / "items.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "brand"])
        writer.writerows([["i%d" % n, "b%d" % (n % 3)] for n in range(50)])
    jdbc = {"url": server.jdbc_url, "user": server.user, "password_env": "INCREMENTAL_TEST_DB_PASSWORD",
            "driver": "org.postgresql.Driver"}
    spec = {
        "sources": {
            "events": {"format": "jdbc", "jdbc": dict(jdbc, table="public.events")},
            "customers": {"format": "jdbc", "jdbc": dict(jdbc, table="public.customers")},
            "products": {"format": "csv", "path": str(folder / "items.csv")},
        },
        "datasets": {
            "interactions": {
                "source": "events",
                "fields": {"USER_ID": "user_id", "ITEM_ID": "item_id", "TIMESTAMP": "ts"},
                "watermark": {"column": "loaded_at", "allowance_seconds": ALLOWANCE},
            },
            "items": {"source": "products", "fields": {"ITEM_ID": "sku", "BRAND": {"from": "brand", "categorical": True}}},
            "users": {
                "source": "customers",
                "fields": {"USER_ID": "customer_id", "AGE": {"from": "age", "type": "int", "nullable": True}},
                "watermark": {"column": "updated_at"},
            },
        },
        "run": {"keep_exports": 1, "readiness": {"min_interactions": 1000, "min_users": 25}},
    }
    (folder / "spec.json").write_text(json.dumps(spec))
    (folder / "template.json").write_text(json.dumps({"solutions": []}))
    return server, folder


def _run(spark, folder, monkeypatch, server, mode="auto"):
    monkeypatch.setenv("INCREMENTAL_TEST_DB_PASSWORD", server.password)
    return run_local_workflow(str(folder / "spec.json"), str(folder / "out"), str(folder / "template.json"),
                              str(folder / "params.json"), spark=spark, progress=lambda m: None, now_epoch=NOW_EPOCH,
                              mode=mode)


def _csv_rows(run_dir, entry):
    rows = []
    for name in entry["files"]:
        with open(Path(run_dir) / name, encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def test_the_daily_cycle_reads_only_the_delta_in_the_database(spark, shop, monkeypatch):
    server, folder = shop
    base = _run(spark, folder, monkeypatch, server)
    assert base.manifest["export"]["mode"] == "FULL"
    assert base.manifest["export"]["reason"] == "no earlier successful export"
    events = base.datasets["interactions"]
    assert events["rows"] == BASE_ROWS and events["mode"] == "FULL"
    high = events["watermark"]["high"]
    assert high == "2024-06-01T05:33:19Z"  # START + 19999 s
    assert base.manifest["vanished_users"] is None  # nothing to compare with yet

    # A day later: new rows, late rows committed after the export but stamped before its
    # high-water mark (inside the allowance), rows stamped exactly at the mark, one customer
    # gone and one updated.
    new, late, equal = 1500, 5, 3
    _insert_events(server, BASE_ROWS, new, f"TIMESTAMPTZ '{START}' + INTERVAL '1 day' + i * INTERVAL '1 second'")
    _insert_events(server, BASE_ROWS + new, late, f"TIMESTAMPTZ '{high}' - INTERVAL '100 seconds'")
    _insert_events(server, BASE_ROWS + new + late, equal, f"TIMESTAMPTZ '{high}'")
    _sql(server, "DELETE FROM customers WHERE customer_id = 'c5'")
    _sql(server, "UPDATE customers SET age = 99, updated_at = TIMESTAMPTZ '2024-06-02 00:00:00+00' WHERE customer_id = 'c7'")
    _sql(server, "SELECT pg_stat_reset()")
    before = _table_reads(server, "events")

    delta = _run(spark, folder, monkeypatch, server)

    seq_scans, seq_rows, index_rows = (a - b for a, b in zip(_table_reads(server, "events"), before))
    export = delta.manifest["export"]
    assert (export["mode"], export["base_run_id"]) == ("INCREMENTAL", base.run_id)
    assert export["reason"] == "incremental on base %s" % base.run_id
    entry = delta.datasets["interactions"]
    window_rows = ALLOWANCE + 1  # base rows stamped in [high - allowance, high]
    overlap = window_rows + late + equal
    assert entry["mode"] == "INCREMENTAL"
    assert entry["watermark"]["read_from"] == "2024-06-01T05:23:19Z"
    assert entry["watermark"]["overlap_rows"] == overlap
    assert entry["rows_read"] == new + overlap
    assert entry["watermark"]["high"] == "2024-06-02T05:58:19Z"  # START + 1 day + 21499 s
    # PostgreSQL's own counters: only the delta and the overlap left the table, by index.
    # The planner itself probes the index for the column's actual highest value when a
    # condition lies past its statistics (one row per planned statement: Spark's schema
    # query and the read), which the counter includes.
    assert seq_scans == 0 and seq_rows == 0
    assert new + overlap <= index_rows <= new + overlap + 2
    # The late rows and the rows at the mark were not skipped.
    timestamps = {int(row["TIMESTAMP"]) for row in _csv_rows(delta.run_dir, entry)}
    assert {1700000000 + n for n in range(BASE_ROWS + new, BASE_ROWS + new + late + equal)} <= timestamps
    assert entry["carried"] is False
    assert [link["run_id"] for link in entry["chain"]] == [base.run_id, delta.run_id]
    assert entry["chain_rows"] == BASE_ROWS + new + overlap

    users = delta.datasets["users"]
    # No allowance, but the rows stamped exactly at the mark are read again: every customer
    # still stamped at the base's time (38), and c7, updated since.
    assert users["mode"] == "INCREMENTAL" and users["rows"] == CUSTOMERS - 1
    assert users["watermark"]["overlap_rows"] == CUSTOMERS - 2
    assert {"USER_ID": "c7", "AGE": "99"} in _csv_rows(delta.run_dir, users)
    assert users["watermark"]["high"] == "2024-06-02T00:00:00Z"
    assert delta.datasets["items"]["mode"] == "FULL" and delta.datasets["items"]["watermark"] is None
    vanished = delta.manifest["vanished_users"]
    assert (vanished["count"], vanished["since_run_id"], vanished["previous_users"]) == (1, base.run_id, CUSTOMERS)
    assert (Path(delta.run_dir) / vanished["file"]).read_text(encoding="utf-8") == "USER_ID\nc5\n"
    # retention (keep_exports: 1) kept the base the delta builds on
    assert delta.deleted_runs == []

    # Nothing new: only the allowance window is read again, under Personalize's minimum of
    # 1,000 records per import job: carried, and the watermark stays where it was.
    quiet = _run(spark, folder, monkeypatch, server)
    entry = quiet.datasets["interactions"]
    assert entry["rows"] == ALLOWANCE + 1 and entry["carried"] is True
    assert "below Personalize's minimum of 1000" in entry["carried_reason"]
    assert entry["watermark"]["high"] == "2024-06-02T05:58:19Z"
    assert entry["chain"][-1]["carried"] is True and entry["chain_rows"] == BASE_ROWS + new + overlap
    # No customer changed: only c7, stamped at the mark, is read again.
    assert (quiet.datasets["users"]["rows"], quiet.datasets["users"]["watermark"]["overlap_rows"]) == (1, 1)

    # The next delta starts from the same watermark: it holds the carried rows again.
    _insert_events(server, BASE_ROWS + new + late + equal, 1200, f"TIMESTAMPTZ '{START}' + INTERVAL '2 days' + i * INTERVAL '1 second'")
    after = _run(spark, folder, monkeypatch, server)
    entry = after.datasets["interactions"]
    assert entry["watermark"]["read_from"] == "2024-06-02T05:48:19Z"
    assert entry["rows"] == 1200 + ALLOWANCE + 1 and entry["carried"] is False
    assert [link["run_id"] for link in entry["chain"]] == [base.run_id, delta.run_id, quiet.run_id, after.run_id]

    # Forced FULL: a new base; the old chain is no longer needed.
    full = _run(spark, folder, monkeypatch, server, mode="FULL")
    assert full.manifest["export"]["reason"] == "requested by --mode FULL"
    assert full.datasets["interactions"]["rows"] == BASE_ROWS + new + late + equal + 1200
    assert sorted(full.deleted_runs) == sorted([base.run_id, delta.run_id, quiet.run_id, after.run_id])


def test_rows_without_a_change_value_or_stamped_after_the_run_started_are_read_again(spark, orders_server, tmp_path,
                                                                                   monkeypatch):
    """A row inserted with a NULL change column fits no window: every delta reads it, so
    none is lost. A row stamped in the future does not move the high-water mark past the
    run's start, or every later delta would read nothing."""
    server = orders_server.server
    _sql(server, "DROP TABLE IF EXISTS stamped_events")
    _sql(server, "CREATE TABLE stamped_events (user_id text, item_id text, ts bigint, loaded_at timestamptz)")
    _sql(server, "CREATE INDEX stamped_events_loaded_at ON stamped_events (loaded_at)")
    monkeypatch.setenv("INCREMENTAL_TEST_DB_PASSWORD", server.password)
    spec = load_spec({
        "sources": {"events": {"format": "jdbc", "jdbc": {
            "url": server.jdbc_url, "user": server.user, "password_env": "INCREMENTAL_TEST_DB_PASSWORD",
            "driver": "org.postgresql.Driver", "table": "public.stamped_events"}}},
        "datasets": {"interactions": {
            "source": "events",
            "fields": {"USER_ID": "user_id", "ITEM_ID": "item_id", "TIMESTAMP": "ts"},
            "watermark": {"column": "loaded_at", "allowance_seconds": ALLOWANCE},
        }},
    })
    root = str(tmp_path / "exports")

    def export(run_id, window):
        return run_export(spark, spec, "interactions", root, run_id, lambda s: read_source_counted(spark, s),
                          now_epoch=NOW_EPOCH, window=window,
                          read_changes=lambda s, w: read_changed_rows(spark, s, w.watermark, w.read_from),
                          read_high_water_mark=lambda s, watermark, frame: source_high_water_mark(spark, s, watermark, frame))

    def next_window(report):
        plan = ExportPlan("next", "INCREMENTAL", "incremental", "auto", "base", "0" * 64, "base", 2)
        return dataset_window(spec, "interactions", plan, {"datasets": {"interactions": report}})

    _insert_events(server, 0, 20, f"TIMESTAMPTZ '{START}' + i * INTERVAL '1 second'", "stamped_events")
    _insert_events(server, 20, 2, "NULL", "stamped_events")
    _insert_events(server, 22, 1, "TIMESTAMPTZ '2030-01-01 00:00:00+00'", "stamped_events")  # NOW_EPOCH is in 2027

    full = export("20270101T000000Z-000001", dataset_window(spec, "interactions", ExportPlan("b", FULL, "", "auto", "b", ""), None))
    assert full["rows_read"] == 23
    # max(loaded_at) is in 2030; the mark stops at the run's start.
    assert full["watermark"]["high_read"] == "2030-01-01T00:00:00Z"
    assert full["watermark"]["high"] == iso_utc(NOW_EPOCH)
    assert (full["watermark"]["unstamped_rows"], full["watermark"]["future_rows"]) == (None, None)  # FULL: not counted

    _insert_events(server, 23, 4, f"TIMESTAMPTZ '{iso_utc(NOW_EPOCH - 100)}'", "stamped_events")
    _insert_events(server, 27, 1, "NULL", "stamped_events")
    window = next_window(full)
    assert window.read_from == NOW_EPOCH - ALLOWANCE
    delta = export("20270102T000000Z-000002", window)
    # The 4 new rows (stamped inside the allowance), the 3 without a stamp (2 read again,
    # 1 new) and the one from 2030 again.
    assert delta["rows_read"] == delta["rows"] == 8
    assert (delta["watermark"]["unstamped_rows"], delta["watermark"]["future_rows"]) == (3, 1)
    assert delta["watermark"]["overlap_rows"] == 4
    assert delta["watermark"]["high"] == iso_utc(NOW_EPOCH)
    written = _csv_rows(layout.run_root(root, "20270102T000000Z-000002"), delta)
    assert sorted(int(row["TIMESTAMP"]) - 1700000000 for row in written) == [20, 21, 22, 23, 24, 25, 26, 27]
