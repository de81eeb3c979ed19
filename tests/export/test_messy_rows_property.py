"""Hypothesis: whatever messy rows come in, counts reconcile and the CSV is Personalize-valid."""
from __future__ import annotations

import csv
import glob
import json
import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from export_spec import load_spec
from personalize_export import layout
from personalize_export.export_job import run_export

pytestmark = pytest.mark.spark

NOW = 1700000000
FLOOR = 1420070400
RUN = "20240101T000000Z-0a0b0c"
SPEC = load_spec({
    "sources": {"events": {"format": "parquet", "path": "unused"}},
    "item_ids": {"normalize": ["trim", "upper", {"strip_prefix": ["SKU-"]}, "strip_leading_zeros"]},
    "datasets": {"interactions": {
        "source": "events",
        "fields": {
            "USER_ID": "user",
            "ITEM_ID": "item",
            "TIMESTAMP": {"from": "ts", "timestamp": {"formats": ["iso8601", "epoch_seconds", "epoch_millis"]}},
            "EVENT_TYPE": "status",
            "EVENT_VALUE": {"from": "amount", "type": "float", "nullable": True},
        },
        "event_types": {"map": {"completed": "purchase"}, "drop": ["cancelled"], "unmapped": "keep"},
    }},
    "run": {"timestamp_floor": FLOOR, "max_rejected_share": 1.0},
})

messy_text = st.one_of(
    st.none(), st.just(""), st.just("   "), st.text(min_size=1, max_size=12),
    st.text(alphabet='ab,"\n é😀', min_size=1, max_size=8), st.just("x" * 300), st.just("SKU-000042"),
)
timestamps = st.one_of(
    st.none(), st.just("2021-03-04T05:06:07+02:00"), st.just("2021-03-04 05:06:07"), st.just("yesterday"),
    st.integers(min_value=-10**13, max_value=10**13).map(str), st.just("2099-01-01T00:00:00Z"),
    st.just("1999-12-31T23:59:59Z"), st.text(max_size=6),
)
amounts = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True).map(str),
                    st.integers(-10**6, 10**6).map(str), st.just("12,5"), st.just("1e400"), st.text(max_size=4))
statuses = st.sampled_from(["completed", " Completed ", "cancelled", "CANCELLED", "viewed", "", None])
rows = st.lists(st.tuples(messy_text, messy_text, timestamps, statuses, amounts), min_size=1, max_size=25)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=rows)
def test_counts_reconcile_and_output_is_personalize_valid(spark, rows):
    df = spark.createDataFrame(rows, "user string, item string, ts string, status string, amount string")
    root = tempfile.mkdtemp(prefix="messy-")
    try:
        report = run_export(spark, SPEC, "interactions", root, RUN, lambda source: df, now_epoch=NOW)
        expected_filtered = sum(1 for r in rows if r[3] is not None and r[3].strip().lower() == "cancelled")
        assert report["rows_read"] == len(rows)
        assert report["filtered"] == expected_filtered
        assert report["rows_read"] == report["rows"] + report["rejected"] + report["filtered"]
        assert sum(report["rejected_by_reason"].values()) == report["rejected"]

        written = []
        for path in sorted(glob.glob(os.path.join(layout.dataset_prefix(root, RUN, "interactions"), "*"))):
            assert path.endswith(".csv")
            with open(path, encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                assert next(reader) == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"]
                written.extend(reader)
        assert len(written) == report["rows"]
        assert len({tuple(r) for r in written}) == len(written)  # no duplicates survive
        source_users = {r[0].strip() for r in rows if r[0] is not None}
        for user, item, timestamp, event_type, value in written:
            assert 1 <= len(user) <= 256 and user in source_users
            assert 1 <= len(item) <= 256
            assert FLOOR <= int(timestamp) <= NOW
            assert event_type != "" and event_type.strip().lower() != "cancelled"
            if value:
                number = float(value)
                assert number == number and abs(number) <= 3.4028234663852886e38

        rejected = []
        for path in glob.glob(os.path.join(layout.rejected_prefix(root, RUN, "interactions"), "*.json")):
            rejected.extend(json.loads(line) for line in open(path, encoding="utf-8") if line.strip())
        assert len(rejected) == report["rejected"]
        for row in rejected:
            assert row["reason"] in report["rejected_by_reason"]
    finally:
        shutil.rmtree(root, ignore_errors=True)
