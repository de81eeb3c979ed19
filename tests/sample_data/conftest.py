"""Generated sample data and a throwaway PostgreSQL server holding its orders, shared by
the JDBC and end-to-end tests (one server for the whole run)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from sample_data.generate import EXPECTED_FILE, ORDERS_FILE, generate


@dataclass
class LoadedOrders:
    server: Any  # sample_data.postgres.PostgresServer
    rows: int


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample-data")
    generate(root, seed=7)
    return root


@pytest.fixture(scope="session")
def sample_truth(sample_dir):
    return json.loads((sample_dir / EXPECTED_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def orders_server(sample_dir):
    """A running server with the generated orders loaded into table `orders`, and the row count.

    Fails (never skips) when PostgreSQL or its JDBC driver is missing; the message says
    which Debian packages to install.
    """
    from sample_data.postgres import PostgresUnavailable, load_orders, throwaway_postgres

    try:
        context = throwaway_postgres()
        server = context.__enter__()
    except PostgresUnavailable as error:
        pytest.fail(str(error))
    try:
        yield LoadedOrders(server, load_orders(server, sample_dir / ORDERS_FILE))
    finally:
        context.__exit__(None, None, None)
