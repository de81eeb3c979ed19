"""The whole local workflow on the generated sample, orders read over JDBC from the
throwaway PostgreSQL server: every row is accounted for, exactly as injected."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sample_data.generate import DROPPED_STATUSES, HISTORY_END, HISTORY_START, ORDERS_FILE, PRODUCTS_FILE, TIMESTAMP_FLOOR
from sample_data.spec import demo_environment, demo_spec, expected_counts

pytestmark = [pytest.mark.postgres, pytest.mark.spark]


def read_csv_files(run_dir: Path, files):
    header, rows = None, []
    for name in files:
        with (run_dir / name).open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            file_header = next(reader)
            assert header is None or file_header == header
            header = file_header
            rows.extend(reader)
    return header, rows


@pytest.fixture(scope="module")
def workflow_run(spark, orders_server, sample_dir, tmp_path_factory):
    from _pytest.monkeypatch import MonkeyPatch

    from personalize_export.local_workflow import run_local_workflow

    out = tmp_path_factory.mktemp("workflow")
    template = out / "params-template.json"
    template.write_text(json.dumps({"dataset_group": {"name": "sample-retail"}}), encoding="utf-8")
    spec = demo_spec(sample_dir, orders_server.server)
    messages = []
    with MonkeyPatch.context() as patch:
        for name, value in demo_environment(orders_server.server, spec).items():
            patch.setenv(name, value)
        summary = run_local_workflow(spec, str(out / "export"), str(template), str(out / "params.json"), spark=spark, progress=messages.append)
    return summary, messages, out


def test_manifest_reconciles_with_the_injected_quirks(workflow_run, sample_truth):
    summary, _, _ = workflow_run
    manifest = json.loads(Path(summary.manifest_uri).read_text(encoding="utf-8"))
    expected = expected_counts(sample_truth)
    assert set(manifest["datasets"]) == {"interactions", "items", "users"}
    for name, want in expected.items():
        entry = manifest["datasets"][name]
        assert entry["rows_read"] == want["rows_read"], name
        assert entry["rows"] == want["rows"], name
        assert entry["filtered"] == want["filtered"], name
        assert entry["rejected_by_reason"] == want["rejected_by_reason"], name
        assert entry["rows_read"] == entry["rows"] + entry["rejected"] + entry["filtered"], name
        assert entry["rejected"] == sum(entry["rejected_by_reason"].values()), name
    interactions = manifest["datasets"]["interactions"]
    assert interactions["filtered_by_event_type"] == {
        "cancelled": sample_truth["orders"]["by_status"]["cancelled"],
        "refunded": sample_truth["orders"]["by_status"]["refunded"],
    }
    assert manifest["readiness"]["passed"] is True
    assert summary.readiness_passed


def test_item_ids_reconcile_across_sources(workflow_run, sample_truth, sample_dir):
    summary, _, _ = workflow_run
    stats = summary.manifest["item_id_reconciliation"]
    interactions = summary.manifest["datasets"]["interactions"]
    considered = interactions["rows_read"] - interactions["filtered"]
    assert stats["fuzzy"] == len(sample_truth["orders"]["fuzzy_title_lines"]) == 12
    assert stats["missing"] == 1  # the line with no SKU and a title no product has
    assert stats["unmatched"] == 0
    assert sum(stats.values()) == considered
    # Exact: the trimmed order SKU equals a trimmed catalog SKU; every other spelling
    # (sku-04213, 04213, SKU-4213, 4213) only matches after normalisation.
    with (sample_dir / PRODUCTS_FILE).open(encoding="utf-8", newline="") as handle:
        catalog_as_written = {row["sku"].strip() for row in csv.DictReader(handle) if row["sku"].strip()}
    with (sample_dir / ORDERS_FILE).open(encoding="utf-8", newline="") as handle:
        skus = [row["sku"] for row in csv.DictReader(handle) if row["status"] not in DROPPED_STATUSES and row["sku"]]
    exact = sum(1 for sku in skus if sku.strip() in catalog_as_written)
    assert (stats["exact"], stats["normalized"]) == (exact, len(skus) - exact)
    assert stats["normalized"] > 1000


def test_written_files_are_personalize_csv(workflow_run, sample_truth):
    summary, _, _ = workflow_run
    run_dir = Path(summary.run_dir)
    datasets = summary.manifest["datasets"]

    header, rows = read_csv_files(run_dir, datasets["interactions"]["files"])
    assert header == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "CHANNEL"]
    assert len(rows) == datasets["interactions"]["rows"]
    timestamps = [int(row[2]) for row in rows]
    assert HISTORY_START.timestamp() <= min(timestamps) and max(timestamps) < HISTORY_END.timestamp()
    assert min(timestamps) > TIMESTAMP_FLOOR.timestamp()
    assert {row[3] for row in rows} == {"purchase"}
    assert {row[5] for row in rows} == {"web", "app", "partner", "store"}
    assert all(row[1].isdigit() and not row[1].startswith("0") for row in rows), "item ids are normalised SKUs"

    header, items = read_csv_files(run_dir, datasets["items"]["files"])
    assert header == ["ITEM_ID", "CATEGORIES", "BRAND", "PRICE", "CREATION_TIMESTAMP", "DESCRIPTION", "IN_STOCK"]
    assert len(items) == 300 and len({row[0] for row in items}) == 300
    assert {row[6] for row in items} == {"true", "false"}
    assert any("|" in row[1] and ";" not in row[1] for row in items)
    assert any(row[5].startswith('The "Everyday" Mug, 350 ml by') for row in items)
    assert any(row[5].startswith("🌱 Seed Starter Kit by") for row in items)
    assert {row[1] for row in rows} <= {row[0] for row in items}, "every interaction's item is in the catalog"

    header, users = read_csv_files(run_dir, datasets["users"]["files"])
    assert header == ["USER_ID", "GENDER", "LOYALTY_TIER", "AGE", "CITY", "COUNTRY", "INTERESTS", "MARKETING_OPT_IN", "SIGNUP_TIMESTAMP"]
    assert len(users) == sample_truth["profiles"]["distinct_profiles"]
    assert sum(1 for row in users if row[3] == "") == sample_truth["profiles"]["missing_age"]
    assert sum(1 for row in users if row[4] == "") == sample_truth["profiles"]["missing_address"]
    assert any("|" in row[6] for row in users) and any(row[4] == "München" for row in users)
    assert all(row[8].isdigit() and len(row[8]) == 10 for row in users), "signup dates in epoch seconds, both $date forms"

    # Only CSVs under the dataset prefixes: Personalize imports every object there.
    for name, entry in datasets.items():
        present = sorted(p.relative_to(run_dir).as_posix() for p in (run_dir / entry["prefix"]).rglob("*") if p.is_file())
        assert present == sorted(entry["files"]), name


def test_rejected_rows_carry_their_reason(workflow_run, sample_truth):
    summary, _, _ = workflow_run
    rejected_dir = Path(summary.run_dir) / summary.manifest["datasets"]["interactions"]["rejected_prefix"]
    rows = [json.loads(line) for path in sorted(rejected_dir.glob("*.json")) for line in path.read_text(encoding="utf-8").splitlines() if line]
    by_reason = {}
    for row in rows:
        by_reason.setdefault(row["reason"], []).append(row)
    assert {reason: len(found) for reason, found in by_reason.items()} == expected_counts(sample_truth)["interactions"]["rejected_by_reason"]
    assert sorted(row["ordered_at"] for row in by_reason["unparseable_timestamp"]) == ["unknown", "yesterday"]
    assert [len(row["customer_id"]) for row in by_reason["id_too_long"]] == [300]
    assert any(row["product_title"] == "Gift Wrapping Service" for row in by_reason["null_id"])


def test_hand_off_and_latest_pointer(workflow_run):
    summary, messages, out = workflow_run
    params = json.loads((out / "params.json").read_text(encoding="utf-8"))
    assert params["dataset_group"] == {"name": "sample-retail"}
    assert params["export"] == {"manifest_uri": str(Path(summary.manifest_uri).resolve()), "run_id": summary.run_id}
    latest = json.loads((out / "export" / "exports" / "latest.json").read_text(encoding="utf-8"))
    assert latest["run_id"] == summary.run_id
    assert any("prepare" in message for message in messages) and any("start_training" in message for message in messages)


def test_reconciliation_check_agrees_and_names_a_difference(workflow_run, sample_truth):
    from sample_data.spec import reconciliation_problems

    summary, _, _ = workflow_run
    assert reconciliation_problems(summary.manifest, sample_truth) == []
    tampered = json.loads(json.dumps(summary.manifest))
    tampered["datasets"]["items"]["rejected_by_reason"]["invalid_number"] -= 1
    del tampered["datasets"]["users"]
    problems = reconciliation_problems(tampered, sample_truth)
    assert problems[0].startswith("items.rejected_by_reason: manifest says") and problems[1] == "users: missing from the manifest"
