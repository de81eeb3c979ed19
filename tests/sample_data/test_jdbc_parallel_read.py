"""A JDBC source read in parallel, seen from PostgreSQL: the split's range queries reach
the server (its statement log, one session each), and together they return exactly the
rows of the one-query read, bounds and NULL keys included."""
from __future__ import annotations

import math
import re
from collections import Counter

import pytest

from export_spec import load_spec
from personalize_export.sources import SourceReadError, plan_jdbc_split, read_source

pytestmark = [pytest.mark.postgres, pytest.mark.spark]

PASSWORD_ENV = "SPLIT_TEST_DB_PASSWORD"
ROWS = 1000


@pytest.fixture(scope="module")
def server(orders_server):
    """The shared server with tables of our own: a bigint primary key with a gap and
    values on the stride boundaries, a nullable date and a nullable number, a text key."""
    server = orders_server.server
    server.psql(
        "DROP TABLE IF EXISTS split_orders, split_text_key, split_empty;"
        "CREATE TABLE split_orders (line_id bigint PRIMARY KEY, customer_id text, ordered_on date, score integer);"
        f"INSERT INTO split_orders SELECT g, 'C' || (g % 97), DATE '2024-01-01' + (g % 400),"
        f" CASE WHEN g % 10 = 0 THEN NULL ELSE g % 50 END FROM generate_series(1, {ROWS}) g WHERE g NOT BETWEEN 300 AND 350;"
        "UPDATE split_orders SET ordered_on = NULL WHERE line_id % 7 = 0;"
        "CREATE TABLE split_text_key (order_id text PRIMARY KEY, n integer);"
        "INSERT INTO split_text_key SELECT 'SO-' || g, g FROM generate_series(1, 50) g;"
        "CREATE TABLE split_empty (id integer PRIMARY KEY);"
    )
    # Every statement in the server log, each line with its session (ALTER SYSTEM runs alone).
    for setting in ("log_statement = 'all'", "log_line_prefix = 'session=%c '"):
        server.psql("ALTER SYSTEM SET " + setting)
    server.psql("SELECT pg_reload_conf()")
    yield server
    for setting in ("log_statement", "log_line_prefix"):
        server.psql("ALTER SYSTEM RESET " + setting)
    server.psql("SELECT pg_reload_conf()")


@pytest.fixture
def with_password(server, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, server.password)


def _source(server, table: str, jdbc_read=None, query=None):
    jdbc = {"url": server.jdbc_url, "user": server.user, "password_env": PASSWORD_ENV, "driver": "org.postgresql.Driver"}
    jdbc.update({"query": query} if query else {"table": table})
    source = {"format": "jdbc", "jdbc": jdbc}
    if jdbc_read is not None:
        source["jdbc_read"] = jdbc_read
    spec = load_spec({"sources": {"db": source}, "datasets": {"interactions": {
        "source": "db", "fields": {"USER_ID": "customer_id", "ITEM_ID": "customer_id", "TIMESTAMP": "line_id"}}}})
    return spec.sources["db"]


def _server_log(server) -> str:
    return (server.socket_dir / "server.log").read_text(errors="replace")


def _statements_since(server, mark: int, table: str, fetches: bool = False):
    """(session, statement) of every SELECT on ``table`` a JDBC session ran after log offset
    ``mark`` (Spark's schema probes ``WHERE 1=0`` left out); with ``fetches``, also each
    further round trip of a result read through a cursor ("execute fetch from")."""
    found = []
    for line in _server_log(server)[mark:].splitlines():
        match = re.match(r"session=(\S+) LOG:  execute (fetch from )?\S+: (SELECT .*)", line)
        statement = match.group(3) if match else ""
        if table in statement and "1=0" not in statement and "TABLE_SCHEM" not in statement and (fetches or not match.group(2)):
            found.append((match.group(1), match.group(3).strip()))
    return found


def _rows(frame):
    return Counter(tuple(row) for row in frame.collect())


def test_the_default_split_is_range_queries_on_the_primary_key_and_loses_nothing(spark, server, with_password):
    mark = len(_server_log(server))
    split_read = read_source(spark, _source(server, "public.split_orders", {"partitions": 4}))
    assert split_read.rdd.getNumPartitions() == 4
    split_rows = _rows(split_read)
    queries = _statements_since(server, mark, "split_orders")

    # One MIN/MAX query on the key found in the catalog, then one range query per partition,
    # each in a session of its own.
    # (Spark numbers its generated subquery aliases across the session.)
    assert [re.sub(r"SPARK_GEN_SUBQ_\d+", "SPARK_GEN_SUBQ", q) for _, q in queries if "MIN(" in q] == [
        'SELECT "lo","hi" FROM (SELECT MIN("line_id") AS lo, MAX("line_id") AS hi FROM public.split_orders) SPARK_GEN_SUBQ']
    ranges = sorted(q for _, q in queries if "WHERE" in q)
    assert len(ranges) == 4, ranges
    # Ranges that meet: the first takes the NULL keys, the last everything above.
    wheres = {re.search(r"WHERE (.*)$", q).group(1).strip() for q in ranges}
    cuts = sorted({int(n) for w in wheres for n in re.findall(r"\d+", w)})
    assert len(cuts) == 3 and 1 < cuts[0] < cuts[1] < cuts[2] < 1000, wheres
    assert wheres == {
        '"line_id" < %d or "line_id" is null' % cuts[0],
        '"line_id" >= %d AND "line_id" < %d' % (cuts[0], cuts[1]),
        '"line_id" >= %d AND "line_id" < %d' % (cuts[1], cuts[2]),
        '"line_id" >= %d' % cuts[2],
    }
    assert len({session for session, q in queries if "WHERE" in q}) == 4

    one_query = read_source(spark, _source(server, "public.split_orders", {"partitions": 1}))
    assert one_query.rdd.getNumPartitions() == 1
    assert split_rows == _rows(one_query)
    assert sum(split_rows.values()) == ROWS - 51


def test_a_nullable_date_column_puts_its_nulls_in_the_first_range_and_keeps_every_row(spark, server, with_password):
    source = _source(server, "split_orders", {"column": "ordered_on", "partitions": 3, "fetch_size": 7})
    split = plan_jdbc_split(spark, source)
    assert (split.column, split.lower_bound, split.upper_bound, split.partitions) == ("ordered_on", "2024-01-01", "2025-02-03", 3)
    mark = len(_server_log(server))
    frame = read_source(spark, source)
    by_partition = frame.rdd.glom().map(lambda rows: [row["ordered_on"] for row in rows]).collect()
    ranges = {q for _, q in _statements_since(server, mark, "FROM split_orders") if "WHERE" in q}
    assert len(ranges) == 3, ranges
    nulls = [sum(1 for value in part if value is None) for part in by_partition]
    expected_nulls = int(server.psql("SELECT count(*) FROM split_orders WHERE ordered_on IS NULL"))
    assert expected_nulls > 0 and nulls == [expected_nulls, 0, 0]
    assert _rows(frame) == _rows(read_source(spark, _source(server, "split_orders", {"partitions": 1})))


def test_bounds_narrower_than_the_data_still_read_every_row(spark, server, with_password):
    source = _source(server, "split_orders", {"column": "score", "partitions": 5, "lower_bound": 10, "upper_bound": 20})
    frame = read_source(spark, source)
    assert frame.rdd.getNumPartitions() == 5
    assert _rows(frame) == _rows(read_source(spark, _source(server, "split_orders", {"partitions": 1})))


def test_a_query_source_is_split_on_a_named_column(spark, server, with_password):
    query = "SELECT line_id, customer_id FROM split_orders WHERE line_id <= 500"
    source = _source(server, None, {"column": "line_id", "partitions": 3}, query=query)
    frame = read_source(spark, source)
    assert frame.rdd.getNumPartitions() == 3
    assert sum(_rows(frame).values()) == int(server.psql("SELECT count(*) FROM split_orders WHERE line_id <= 500"))
    # Without a column a query has no key to split on: one query.
    assert plan_jdbc_split(spark, _source(server, None, {}, query=query)).partitions == 1


@pytest.mark.parametrize("table,reason", [
    ("orders", "has no single-column primary key"),
    ("split_text_key", "is string, not numeric, date or timestamp"),
    ("split_empty", "holds no id values"),
])
def test_without_a_usable_key_the_read_is_one_query_and_says_why(spark, server, with_password, table, reason):
    split = plan_jdbc_split(spark, _source(server, table))
    assert split.partitions == 1 and reason in split.describe()
    assert read_source(spark, _source(server, table)).rdd.getNumPartitions() == 1


@pytest.mark.parametrize("jdbc_read,message", [
    ({"column": "order_id"}, "sources.db.jdbc_read.column: order_id is string; Spark's JDBC reader splits only on a numeric"),
    ({"column": "no_such"}, "sources.db.jdbc_read.column: split_text_key has no column 'no_such'"),
])
def test_a_named_column_that_cannot_split_is_refused_by_name(spark, server, with_password, jdbc_read, message):
    with pytest.raises(SourceReadError) as raised:
        read_source(spark, _source(server, "split_text_key", jdbc_read))
    assert str(raised.value).startswith(message)


def test_the_fetch_size_sets_the_round_trips_each_range_query_takes(spark, server, with_password):
    mark = len(_server_log(server))
    read_source(spark, _source(server, "split_orders", {"fetch_size": 123, "partitions": 2})).collect()
    trips = Counter(_statements_since(server, mark, "FROM split_orders", fetches=True))
    rows_in = {'"line_id" < 500 or "line_id" is null': 448, '"line_id" >= 500': 501}
    assert {re.search(r"WHERE (.*)$", q).group(1).strip(): n for (_, q), n in trips.items() if "WHERE" in q} == {
        where: math.ceil(count / 123) for where, count in rows_in.items()}, trips

    # The default fetch size (10,000) takes each range in one round trip.
    mark = len(_server_log(server))
    read_source(spark, _source(server, "split_orders", {"partitions": 2})).collect()
    trips = Counter(q for _, q in _statements_since(server, mark, "FROM split_orders", fetches=True) if "WHERE" in q)
    assert len(trips) == 2 and set(trips.values()) == {1}, trips
