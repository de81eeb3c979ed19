"""The export job end to end for one dataset: CSV format, rejected rows, schema, report."""
from __future__ import annotations

import csv
import glob
import io
import json
import os

import export_golden as g
import pytest

from export_spec import load_spec
from personalize_export import export_job, layout
from personalize_export.export_job import run_export
from personalize_export.incremental import INCREMENTAL, DeltaWindow, iso_utc, parse_iso_utc
from personalize_export.sources import read_changed_rows, read_source
from personalize_export.text import SourceSchemaError

pytestmark = pytest.mark.spark
RUN = "20240101T000000Z-abcdef"


@pytest.fixture(scope="module")
def exported(spark, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("export-job"))
    g.write_inputs(folder)
    spec = load_spec(g.SPEC)
    root = os.path.join(folder, "root")
    reports = {}
    for name in ("interactions", "items"):
        reports[name] = run_export(spark, spec, name, root, RUN, lambda s: read_source(spark, s, folder), now_epoch=g.NOW)
    return spec, root, reports


def _csv_rows(root, dataset):
    files = sorted(glob.glob(os.path.join(layout.dataset_prefix(root, RUN, dataset), "*")))
    headers, rows = set(), []
    for path in files:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
        reader = csv.reader(io.StringIO(text))
        headers.add(tuple(next(reader)))
        rows.extend(reader)
    return files, headers, rows


def test_dataset_prefix_holds_only_personalize_csv_files(exported):
    _, root, reports = exported
    for dataset in ("interactions", "items"):
        files, headers, _ = _csv_rows(root, dataset)
        assert files and all(f.endswith(".csv") for f in files)
        assert not any(os.path.basename(f).startswith((".", "_")) for f in files)
        assert [os.path.join(layout.run_root(root, RUN), f) for f in reports[dataset]["files"]] == files


def test_csv_round_trips_unicode_quotes_commas_newlines_and_lowercase_booleans(exported):
    spec, root, _ = exported
    _, headers, rows = _csv_rows(root, "items")
    assert headers == {spec.datasets["items"].field_names}
    by_id = {r[0]: r for r in rows}
    assert by_id["1"] == ["1", 'Red, "Big" Shirt', "tops|red", "9.99", "3", "true", 'Soft\nand, "warm"']
    assert by_id["2"] == ["2", "Blue Hat", "hats", "5.0", "1", "false", ""]
    assert by_id["3"][1] == "Café Crème" and by_id["3"][6] == "ünïcödé ✓ – “quoted”"
    raw = open(glob.glob(os.path.join(layout.dataset_prefix(root, RUN, "items"), "*.csv"))[0], "rb").read()
    raw.decode("utf-8")  # UTF-8, no BOM
    assert not raw.startswith(b"\xef\xbb\xbf")


def test_interactions_csv_has_epoch_seconds_and_joined_categoricals(exported):
    _, root, _ = exported
    _, headers, rows = _csv_rows(root, "interactions")
    assert headers == {("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "TAGS")}
    assert ["u1", "1", str(g.T), "purchase", "10.5", "web|promo"] in rows
    assert ["u3", "3", str(g.T), "return", "", ""] in rows
    assert all(r[2].isdigit() for r in rows)


def test_report_counts_reconcile_per_reason(exported):
    _, _, reports = exported
    report = reports["interactions"]
    expected_reasons = {}
    for _, (status, _, _) in g.ORDERS:
        if status not in ("written", "filtered"):
            expected_reasons[status] = expected_reasons.get(status, 0) + 1
    assert report["rows_read"] == len(g.ORDERS)
    assert report["rejected_by_reason"] == expected_reasons
    assert report["rows"] == sum(1 for _, (s, _, _) in g.ORDERS if s == "written")
    assert report["filtered"] == 1 and report["filtered_by_event_type"] == {"cancelled": 1}
    assert report["rows_read"] == report["rows"] + report["rejected"] + report["filtered"]
    # over every interaction that was not filtered, written or rejected for another rule
    assert report["item_id_reconciliation"] == {"exact": 13, "normalized": 3, "fuzzy": 1, "unmatched": 2, "missing": 1}
    assert report["users"]["users_with_min_interactions"] == 4  # u1, u2, u3, u4 have 2 written rows each


def test_rejected_rows_keep_original_columns_and_reason(exported):
    _, root, reports = exported
    rows = []
    for path in glob.glob(os.path.join(layout.rejected_prefix(root, RUN, "interactions"), "*.json")):
        rows.extend(json.loads(line) for line in open(path, encoding="utf-8") if line.strip())
    assert len(rows) == reports["interactions"]["rejected"]
    bad_amount = [r for r in rows if r["reason"] == "invalid_number"][0]
    assert bad_amount["amount"] == "12,5" and bad_amount["oid"] == "o17" and bad_amount["rejected_field"] == "EVENT_VALUE"
    assert set(rows[0]) >= {"oid", "customer", "sku", "ts", "status", "amount", "title", "reason", "rejected_field"}
    # a duplicate is only found after the rules ran; it still carries its own source columns
    duplicates = [r for r in rows if r["reason"] == "duplicate"]
    assert [(r["oid"], r["sku"], r["customer"]["_id"]) for r in duplicates] == [("o10", "SKU-0001", {"$oid": "u5"})]


def test_schema_json_matches_the_csv_header(exported):
    spec, root, _ = exported
    schema = json.load(open(layout.schema_path(root, RUN, "items")))
    assert [f["name"] for f in schema["fields"]] == list(spec.datasets["items"].field_names)
    assert schema["fields"][6] == {"name": "DESCRIPTION", "type": ["null", "string"], "textual": True}


def test_items_report_counts_duplicates_found_by_the_sparse_check(exported):
    _, _, reports = exported
    expected = {}
    for _, (status, _) in g.PRODUCTS:
        if status != "written":
            expected[status] = expected.get(status, 0) + 1
    assert reports["items"]["rejected_by_reason"] == expected
    assert reports["items"]["rows"] == sum(1 for _, (s, _) in g.PRODUCTS if s == "written")


def _rejected_rows(root, run, dataset):
    rows = []
    for path in glob.glob(os.path.join(layout.rejected_prefix(root, run, dataset), "*.json")):
        rows.extend(json.loads(line) for line in open(path, encoding="utf-8") if line.strip())
    return rows


@pytest.mark.parametrize("listed,carried", [([], set()), (["OID"], {"oid"})])
def test_rejected_row_columns_limit_the_columns_read_and_kept(exported, spark, tmp_path, listed, carried):
    spec, root, reports = exported
    raw = json.loads(json.dumps(g.SPEC))
    raw["datasets"]["interactions"]["rejected_row_columns"] = listed
    folder = os.path.dirname(root)
    run = "20240102T000000Z-abcdef"
    report = run_export(spark, load_spec(raw), "interactions", str(tmp_path), run,
                        lambda s: read_source(spark, s, folder), now_epoch=g.NOW)
    # The same rows are written, rejected and filtered as with every column read.
    full = reports["interactions"]
    assert [report[k] for k in ("rows_read", "rows", "rejected", "filtered", "rejected_by_reason")] == \
        [full[k] for k in ("rows_read", "rows", "rejected", "filtered", "rejected_by_reason")]
    rows = _rejected_rows(str(tmp_path), run, "interactions")
    # The fields' columns (customer, sku, ts, status, amount, tags), the fuzzy title match's
    # (title), the JSON-lines reader's own and the listed ones; oid is read only when
    # listed (matched case-insensitively).
    expected = ({"customer", "sku", "ts", "status", "amount", "tags", "title", "_corrupt_record", "_corrupt_reason"}
                | carried | {"reason", "rejected_field"})
    assert rows and all(set(row) == expected for row in rows)
    assert set(report["rejected_row_columns"]) == expected - {"reason", "rejected_field"}
    assert "oid" in full["rejected_row_columns"]
    reasons = sorted((r["reason"], str(r["sku"])) for r in rows)
    assert reasons == sorted((r["reason"], str(r["sku"])) for r in _rejected_rows(root, RUN, "interactions"))


def test_a_listed_rejected_row_column_the_source_lacks_is_named(exported, spark, tmp_path):
    raw = json.loads(json.dumps(g.SPEC))
    raw["datasets"]["interactions"]["rejected_row_columns"] = ["oid", "order_ref"]
    folder = os.path.dirname(exported[1])
    with pytest.raises(SourceSchemaError, match=r"datasets\.interactions\.rejected_row_columns\[1\]: no column 'order_ref' in source 'orders' \(available: .*oid"):
        run_export(spark, load_spec(raw), "interactions", str(tmp_path), RUN, lambda s: read_source(spark, s, folder), now_epoch=g.NOW)


FEBRUARY = parse_iso_utc("2023-02-01T00:00:00Z")


def _customers(tmp_path, lines, change_column="updated_at"):
    """A CSV of customers (id, tier and ``change_column``) and a spec whose users dataset
    has updated_at as its change column (interactions are required; not exported here)."""
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,tier,%s\n%s" % (change_column, "".join(line + "\n" for line in lines)), encoding="utf-8")
    return load_spec({"sources": {"customers": {"format": "csv", "path": str(path)}},
                      "datasets": {"interactions": {"source": "customers", "fields": {"USER_ID": "customer_id", "ITEM_ID": "tier",
                                                                                       "TIMESTAMP": change_column}},
                                   "users": {"source": "customers", "watermark": {"column": "updated_at"},
                                             "fields": {"USER_ID": "customer_id", "TIER": {"from": "tier", "categorical": True}}}}})


def _export_users(spark, tmp_path, spec, mode, read_changes=None):
    window = DeltaWindow("users", mode, spec.dataset("users").watermark, FEBRUARY if mode == INCREMENTAL else None, FEBRUARY)
    return run_export(spark, spec, "users", str(tmp_path / "root"), RUN, lambda s: read_source(spark, s), now_epoch=g.NOW,
                      window=window, read_changes=read_changes)


@pytest.mark.parametrize("read_at_source", [False, True], ids=["filtered-after-read", "filtered-by-the-reader"])
def test_an_incremental_file_read_keeps_rows_without_a_change_value_and_stops_the_mark_at_the_run(spark, tmp_path, read_at_source):
    spec = _customers(tmp_path, [
        "c1,gold,2023-01-01T00:00:00Z",  # before the window
        "c2,gold,2023-03-01T00:00:00Z",  # in it
        "c3,gold,",                      # no change value
        "c4,gold,yesterday",             # not a time: no change value either
        "c5,gold,2031-01-01T00:00:00Z",  # after the run started (g.NOW is in 2023)
    ])
    changes = (lambda s, w: read_changed_rows(spark, s, w.watermark, w.read_from)) if read_at_source else None
    report = _export_users(spark, tmp_path, spec, INCREMENTAL, changes)
    _, _, rows = _csv_rows(str(tmp_path / "root"), "users")
    assert sorted(row[0] for row in rows) == ["c2", "c3", "c4", "c5"]
    watermark = report["watermark"]
    assert (watermark["unstamped_rows"], watermark["future_rows"], watermark["overlap_rows"]) == (2, 1, 0)
    assert (watermark["high_read"], watermark["high"]) == ("2031-01-01T00:00:00Z", iso_utc(g.NOW))


@pytest.mark.parametrize("mode", ["FULL", INCREMENTAL])
def test_a_change_column_the_source_lacks_is_named(spark, tmp_path, mode):
    spec = _customers(tmp_path, ["c1,gold,2023-01-01T00:00:00Z"], change_column="changed")
    with pytest.raises(SourceSchemaError, match=r"^datasets\.users\.watermark\.column: no column 'updated_at' in source "
                                                r"'customers' \(available: customer_id, tier, changed\)$"):
        _export_users(spark, tmp_path, spec, mode)


@pytest.mark.parametrize("mode", [INCREMENTAL, "FULL"])
def test_a_delta_larger_than_one_import_job_takes_is_written_as_even_files_under_it(spark, tmp_path, monkeypatch, mode):
    # The part size stands for a quarter of Personalize's 1 GB per INCREMENTAL import job.
    monkeypatch.setattr(export_job, "DELTA_FILE_BYTES", 1000)
    spec = _customers(tmp_path, ["c%04d,gold,2023-03-01T00:00:00Z" % n for n in range(1000)])
    report = _export_users(spark, tmp_path, spec, mode)
    files, _, rows = _csv_rows(str(tmp_path / "root"), "users")
    assert sorted(row[0] for row in rows) == ["c%04d" % n for n in range(1000)]
    if mode == "FULL":
        assert len(files) == 1  # one import job reads the whole folder
        return
    # "c0000,gold\n": 11 bytes a row, 11,000 in all: 11 files of 1,000 bytes.
    assert len(files) == 11 and len(report["files"]) == 11
    sizes = [len(open(f, encoding="utf-8").read().splitlines()) - 1 for f in files]
    assert sum(sizes) == 1000 and max(sizes) - min(sizes) <= 1
