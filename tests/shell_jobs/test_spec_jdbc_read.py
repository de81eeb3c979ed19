"""``sources.<name>.jdbc_read``: how a JDBC source is split and fetched, checked when the
spec loads, each refusal naming the dotted path and the rule (stdlib only: also Python 3.9)."""
from __future__ import annotations

import datetime as dt

import pytest

from export_spec import DEFAULT_JDBC_FETCH_SIZE, DEFAULT_JDBC_PARTITIONS, JdbcRead, SpecError, load_spec

_JDBC = {"url": "jdbc:postgresql://db/shop", "table": "public.orders", "password_env": "PW"}


def _spec(source):
    return {
        "sources": {"orders": source},
        "datasets": {"interactions": {"source": "orders", "fields": {"USER_ID": "customer_id", "ITEM_ID": "sku", "TIMESTAMP": "ordered_at"}}},
    }


def _jdbc_source(jdbc_read=None, **extra):
    source = {"format": "jdbc", "jdbc": dict(_JDBC)}
    if jdbc_read is not None:
        source["jdbc_read"] = jdbc_read
    source.update(extra)
    return source


def _error(source) -> SpecError:
    with pytest.raises(SpecError) as error:
        load_spec(_spec(source))
    return error.value


def test_a_jdbc_source_without_settings_gets_the_defaults():
    read = load_spec(_spec(_jdbc_source())).sources["orders"].jdbc_read
    assert read == JdbcRead(partitions=DEFAULT_JDBC_PARTITIONS, fetch_size=DEFAULT_JDBC_FETCH_SIZE)
    assert (read.partitions, read.fetch_size, read.column) == (8, 10000, None)


def test_a_catalog_only_jdbc_source_takes_the_settings_too():
    source = {"format": "jdbc", "catalog": {"database": "retail", "table": "shop_public_orders"},
              "jdbc_read": {"column": "order_no", "partitions": 16, "hash_expression": "order_no % 1000", "fetch_size": 5000}}
    read = load_spec(_spec(source)).sources["orders"].jdbc_read
    assert read == JdbcRead(partitions=16, column="order_no", hash_expression="order_no % 1000", fetch_size=5000)


@pytest.mark.parametrize("lower,upper,expected", [
    (1, 5_000_000, (1, 5_000_000)),
    ("2023-06-01", "2025-06-01", ("2023-06-01", "2025-06-01")),
    ("2023-06-01T00:00:00", "2025-06-01 12:30:00.25", ("2023-06-01 00:00:00", "2025-06-01 12:30:00.25")),
    (dt.date(2023, 6, 1), dt.date(2025, 6, 1), ("2023-06-01", "2025-06-01")),  # unquoted YAML dates
    (dt.datetime(2023, 6, 1, 8), dt.datetime(2025, 6, 1), ("2023-06-01 08:00:00", "2025-06-01 00:00:00")),
])
def test_bounds_are_integers_dates_or_timestamps(lower, upper, expected):
    read = load_spec(_spec(_jdbc_source({"column": "c", "lower_bound": lower, "upper_bound": upper}))).sources["orders"].jdbc_read
    assert (read.lower_bound, read.upper_bound) == expected


def test_yaml_text_with_unquoted_dates_loads():
    text = """\
sources:
  orders:
    format: jdbc
    jdbc: {url: "jdbc:postgresql://db/shop", table: orders}
    jdbc_read: {column: ordered_on, partitions: 4, lower_bound: 2023-06-01, upper_bound: 2025-06-01, fetch_size: 2000}
datasets:
  interactions:
    source: orders
    fields: {USER_ID: customer_id, ITEM_ID: sku, TIMESTAMP: ordered_at}
"""
    read = load_spec(text).sources["orders"].jdbc_read
    assert (read.column, read.partitions, read.lower_bound, read.upper_bound, read.fetch_size) == (
        "ordered_on", 4, "2023-06-01", "2025-06-01", 2000)


@pytest.mark.parametrize("jdbc_read,path,rule", [
    ("fast", "sources.orders.jdbc_read", "must be a mapping"),
    ({"parts": 4}, "sources.orders.jdbc_read.parts", "unknown key"),
    ({"partitions": 0}, "sources.orders.jdbc_read.partitions", "must be >= 1"),
    ({"partitions": 257}, "sources.orders.jdbc_read.partitions", "must be <= 256"),
    ({"partitions": "8"}, "sources.orders.jdbc_read.partitions", "must be an integer"),
    ({"partitions": True}, "sources.orders.jdbc_read.partitions", "must be an integer"),
    ({"fetch_size": 0}, "sources.orders.jdbc_read.fetch_size", "must be >= 1"),
    ({"fetch_size": 1_000_001}, "sources.orders.jdbc_read.fetch_size", "must be <= 1000000"),
    ({"fetch_size": 2.5}, "sources.orders.jdbc_read.fetch_size", "must be an integer"),
    ({"column": ""}, "sources.orders.jdbc_read.column", "must be a non-empty string"),
    ({"column": " id"}, "sources.orders.jdbc_read.column", "without surrounding spaces"),
    ({"column": 7}, "sources.orders.jdbc_read.column", "must be a non-empty string"),
    ({"hash_expression": "  "}, "sources.orders.jdbc_read.hash_expression", "must be a non-empty string"),
    ({"column": "id", "lower_bound": 1}, "sources.orders.jdbc_read.upper_bound", "is required when lower_bound is set"),
    ({"column": "id", "upper_bound": 9}, "sources.orders.jdbc_read.lower_bound", "is required when upper_bound is set"),
    ({"lower_bound": 1, "upper_bound": 9}, "sources.orders.jdbc_read.column", "is required with lower_bound and upper_bound"),
    ({"column": "id", "lower_bound": 9, "upper_bound": 9}, "sources.orders.jdbc_read.upper_bound", "must be greater than lower_bound"),
    ({"column": "id", "lower_bound": 10, "upper_bound": 9}, "sources.orders.jdbc_read.upper_bound", "must be greater than lower_bound"),
    ({"column": "d", "lower_bound": "2025-01-01", "upper_bound": "2024-12-31"}, "sources.orders.jdbc_read.upper_bound", "must be greater"),
    ({"column": "d", "lower_bound": 1, "upper_bound": "2024-12-31"}, "sources.orders.jdbc_read.upper_bound", "same kind as lower_bound"),
    ({"column": "d", "lower_bound": "2024-01-01", "upper_bound": "2024-12-31 00:00:00"}, "sources.orders.jdbc_read.upper_bound", "same kind"),
    ({"column": "id", "lower_bound": 1.5, "upper_bound": 9}, "sources.orders.jdbc_read.lower_bound", "must be an integer, a date"),
    ({"column": "id", "lower_bound": False, "upper_bound": 9}, "sources.orders.jdbc_read.lower_bound", "must be an integer, a date"),
    ({"column": "d", "lower_bound": "01/02/2024", "upper_bound": "2024-12-31"}, "sources.orders.jdbc_read.lower_bound", "must be an integer, a date"),
    ({"column": "d", "lower_bound": "2024-02-30", "upper_bound": "2024-12-31"}, "sources.orders.jdbc_read.lower_bound", "is not a real date"),
    ({"column": "d", "lower_bound": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), "upper_bound": "2024-12-31 00:00:00"},
     "sources.orders.jdbc_read.lower_bound", "without a time zone"),
])
def test_bad_settings_are_refused_with_path_and_rule(jdbc_read, path, rule):
    error = _error(_jdbc_source(jdbc_read))
    assert error.path == path
    assert rule in error.rule


def test_the_settings_belong_to_jdbc_sources_only():
    error = _error({"format": "csv", "path": "orders.csv", "jdbc_read": {"partitions": 4}})
    assert (error.path, error.rule) == ("sources.orders.jdbc_read", 'is only allowed for format "jdbc"')


@pytest.mark.parametrize("option,owner", [
    ("partitionColumn", "column"), ("numPartitions", "partitions"), ("lowerBound", "lower_bound"),
    ("upperBound", "upper_bound"), ("fetchsize", "fetch_size"), ("FETCHSIZE", "fetch_size"),
    ("hashfield", "column"), ("hashexpression", "hash_expression"), ("hashpartitions", "partitions"),
])
def test_reader_options_that_the_settings_own_are_refused_rather_than_overridden(option, owner):
    error = _error(_jdbc_source(options={option: "4"}))
    assert error.path == "sources.orders.options.%s" % option
    assert error.rule.startswith("is set by jdbc_read.%s" % owner)


def test_the_documented_jdbc_read_example_loads():
    import os
    import re

    doc = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "export-spec.md")
    text = open(doc, encoding="utf-8").read()
    block = re.search(r"#### Reading a JDBC source in parallel.*?```yaml\n(.*?)```", text, re.S).group(1)
    spec = "sources:\n" + block + "datasets:\n  interactions:\n    source: orders\n" \
        "    fields: {USER_ID: customer_id, ITEM_ID: sku, TIMESTAMP: ordered_at}\n"
    read = load_spec(spec).sources["orders"].jdbc_read
    assert read == JdbcRead(partitions=8, column="line_id", lower_bound=1, upper_bound=5000000, fetch_size=10000)
