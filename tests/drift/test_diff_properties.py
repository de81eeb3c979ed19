"""Whatever two versions look like, the diff accounts for every column exactly once."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from schema_drift.catalog import COLUMN_ADDED, COLUMN_REMOVED, COLUMN_RENAMED, TYPE_CHANGED, Column, TableSnapshot, diff_tables

NAMES = st.sampled_from(["user_id", "userid", "item_id", "sku", "ts", "event_ts", "amount", "price", "status", "state"])
TYPES = st.sampled_from(["string", "int", "bigint", "float", "double"])
COLUMNS = st.lists(st.tuples(NAMES, TYPES), max_size=7, unique_by=lambda c: c[0])


def _snapshot(columns, version):
    return TableSnapshot("retail", "orders", version, tuple(Column(n, t) for n, t in columns), (),
                         "s3://landing/orders/", (("classification", "parquet"),))


@settings(max_examples=60, deadline=None)
@given(COLUMNS, COLUMNS)
def test_every_column_is_accounted_for_once(old_columns, new_columns):
    old, new = _snapshot(old_columns, 1), _snapshot(new_columns, 2)
    changes = diff_tables(old, new)
    old_names, new_names = {n for n, _ in old_columns}, {n for n, _ in new_columns}

    gone = [c.column for c in changes if c.kind in (COLUMN_REMOVED, COLUMN_RENAMED)]
    came = [c.column for c in changes if c.kind == COLUMN_ADDED] + [c.new_column for c in changes if c.kind == COLUMN_RENAMED]
    assert sorted(gone) == sorted(old_names - new_names)
    assert sorted(came) == sorted(new_names - old_names)

    old_types, new_types = dict(old_columns), dict(new_columns)
    retyped = sorted(c.column for c in changes if c.kind == TYPE_CHANGED)
    assert retyped == sorted(n for n in old_names & new_names if old_types[n] != new_types[n])
    assert diff_tables(new, new) == []
