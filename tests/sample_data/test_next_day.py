"""The sample shop's next day (the demo's second cycle), on a server of its own."""
from __future__ import annotations

import csv
import json

import pytest

from sample_data.generate import ORDERS_FILE, PRODUCTS_FILE, PROFILES_FILE, generate
from sample_data.next_day import next_day


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from sample_data.postgres import PostgresUnavailable, load_orders, throwaway_postgres

    root = tmp_path_factory.mktemp("next-day")
    generate(root, seed=5)
    try:
        context = throwaway_postgres()
        server = context.__enter__()
    except PostgresUnavailable as error:
        pytest.fail(str(error))
    try:
        loaded = load_orders(server, root / ORDERS_FILE)
        yield root, server, loaded
    finally:
        context.__exit__(None, None, None)


def _prices(root):
    with open(root / PRODUCTS_FILE, encoding="utf-8", newline="") as handle:
        return {row["sku"]: row["price"] for row in csv.DictReader(handle)}


def _profile_ids(root):
    ids = []
    with open(root / PROFILES_FILE, encoding="utf-8") as handle:
        for line in handle:
            try:
                ids.append(json.loads(line).get("customer_id"))
            except ValueError:
                pass
    return ids


def test_the_history_was_loaded_over_two_years_before_its_end(shop):
    _root, server, loaded = shop
    low, high, distinct = server.psql("SELECT min(loaded_at), max(loaded_at), count(DISTINCT loaded_at) FROM orders").strip().split("|")
    assert low >= "2023-06-01" and high < "2025-06-01"
    assert int(distinct) > loaded * 0.95  # spread, not one load time for the whole history


def test_next_day_adds_new_and_late_lines_changes_prices_and_erases_customers(shop):
    root, server, loaded = shop
    high = server.psql("SELECT max(loaded_at) FROM orders").strip()
    prices = _prices(root)
    before_ids = _profile_ids(root)

    day = next_day(root, server, seed=5, lines=300, late=4, changed_products=3, erased_customers=2)

    counts = server.psql(f"""SELECT count(*) FILTER (WHERE loaded_at > TIMESTAMPTZ '{high}'),
                                    count(*) FILTER (WHERE loaded_at = TIMESTAMPTZ '{high}' - INTERVAL '20 minutes'
                                                       AND order_id LIKE 'SO-N%'),
                                    count(*) FROM orders""").strip().split("|")
    assert [int(c) for c in counts] == [300, 4, loaded + 304]
    assert (day.new_lines, day.late_lines) == (300, 4)
    # every new line buys a catalog product, as a completed web order of the day after the history
    lines = server.psql("SELECT DISTINCT status || ',' || channel || ',' || left(ordered_at, 10) FROM orders "
                        "WHERE order_id LIKE 'SO-N%'").split()
    assert set(lines) <= {"completed,web,2025-06-01", "completed,web,2025-05-31"}
    changed = {sku for sku, price in _prices(root).items() if prices.get(sku) != price}
    assert changed == set(day.changed_products) and len(changed) == 3
    after_ids = _profile_ids(root)
    assert set(before_ids) - set(after_ids) == set(day.erased_customers)
    assert len(before_ids) - len(after_ids) == 2
