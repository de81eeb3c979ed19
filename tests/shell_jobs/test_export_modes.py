"""FULL or INCREMENTAL: the choice, its reason, the chain in the manifest, retention of chains.

Exports are written by hand in the export jobs' layout (export_fixtures), then finalized
with the plan ``prepare`` would publish, exactly as start_training does.
"""
from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from export_fixtures import GOOD_INTERACTIONS, GOOD_ITEMS, SPEC, write_dataset

from export_spec import SpecError, load_spec
from personalize_export import layout
from personalize_export.finalize import HandOffRefused, ReadinessFailed, finalize_export
from personalize_export.incremental import (
    FULL,
    INCREMENTAL,
    ExportModeRefused,
    choose_mode,
    dataset_window,
    describe_delta,
    iso_utc,
    prepare_plan,
    previous_export,
    spec_fingerprint,
)
from personalize_export.storage import Storage
from personalize_export.workflow import InMemoryRunProperties, current_plan, prepare_export

HIGH = 1717200000  # 2024-06-01T00:00:00Z


def _spec(**changes):
    raw = copy.deepcopy(SPEC)
    raw["datasets"]["interactions"]["watermark"] = {"column": "loaded_at", "allowance_seconds": 600}
    raw["run"]["keep_exports"] = 1
    for path, value in changes.items():
        node = raw
        keys = path.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return load_spec(raw)


def _run_id(day: int) -> str:
    return "202406%02dT000000Z-%06x" % (day, day)


def _template(tmp_path):
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"solutions": []}))
    return str(path)


def _export(tmp_path, spec, run_id, mode="auto", rows=GOOD_INTERACTIONS, high=HIGH, overlap=0, carried=False,
            now=None, keep=None, rejected=None, new_rows=None, items=GOOD_ITEMS, items_rejected=None, items_mode=FULL):
    """prepare -> the export jobs' files and reports -> start_training, for one run."""
    storage = Storage()
    root = str(tmp_path / "root")
    properties = InMemoryRunProperties()
    plan = prepare_export(properties, spec, root, mode, storage, run_id=run_id, now=now)
    window = dataset_window(spec, "interactions", plan, previous_export(storage, root)[1] if plan.previous_run_id else None)
    report = write_dataset(storage, root, run_id, spec, "interactions", rows, rejected_by_reason=rejected, filtered=1)
    report.update({
        "mode": window.mode, "bytes": 100, "carried": carried, **({} if new_rows is None else {"new_rows": new_rows}),
        "carried_reason": "below the minimum" if carried else None,
        "watermark": {"column": "loaded_at", "allowance_seconds": 600, "read_from": iso_utc(window.read_from),
                      "high": iso_utc(window.previous_high if carried else high), "overlap_rows": overlap},
    })
    storage.write_json(layout.report_path(root, run_id, "interactions"), report)
    items = write_dataset(storage, root, run_id, spec, "items", items, rejected_by_reason=items_rejected)
    items.update({"mode": items_mode, "bytes": 50, "carried": False, "watermark": None})
    storage.write_json(layout.report_path(root, run_id, "items"), items)
    result = finalize_export(spec, root, run_id, _template(tmp_path), str(tmp_path / "params.json"), keep, storage,
                             plan=current_plan(properties))
    return result


# ----------------------------------------------------------------------------- the choice


def test_first_export_is_full_with_its_reason(tmp_path):
    manifest = _export(tmp_path, _spec(), _run_id(1)).manifest
    assert manifest["export"]["mode"] == FULL
    assert manifest["export"]["reason"] == "no earlier successful export"
    assert manifest["export"]["base_run_id"] == _run_id(1)
    assert manifest["export"]["requested"] == "auto"
    interactions = manifest["datasets"]["interactions"]
    assert interactions["mode"] == FULL
    assert interactions["watermark"]["high"] == "2024-06-01T00:00:00Z"
    assert interactions["chain"] == [{"run_id": _run_id(1), "mode": FULL, "prefix": "interactions/", "rows": 5, "carried": False}]


def test_the_next_auto_run_is_incremental_on_the_base_and_reads_past_the_watermark_minus_the_allowance(tmp_path):
    spec = _spec()
    _export(tmp_path, spec, _run_id(1))
    plan = prepare_plan(spec, str(tmp_path / "root"), _run_id(2), "auto")
    assert (plan.mode, plan.reason, plan.base_run_id, plan.previous_run_id) == (
        INCREMENTAL, "incremental on base %s" % _run_id(1), _run_id(1), _run_id(1))
    window = dataset_window(spec, "interactions", plan, previous_export(Storage(), str(tmp_path / "root"))[1])
    assert (window.mode, window.previous_high, window.read_from) == (INCREMENTAL, HIGH, HIGH - 600)
    # items has no change column: read in full, as today
    items = dataset_window(spec, "items", plan, None)
    assert (items.mode, items.read_from) == (FULL, None)


def test_a_delta_chains_onto_its_base_and_readiness_counts_the_chain(tmp_path):
    spec = _spec()
    _export(tmp_path, spec, _run_id(1))
    delta = _export(tmp_path, spec, _run_id(2), rows=GOOD_INTERACTIONS[:3], high=HIGH + 86400, overlap=1).manifest
    interactions = delta["datasets"]["interactions"]
    assert delta["export"]["mode"] == INCREMENTAL and delta["export"]["base_run_id"] == _run_id(1)
    assert interactions["mode"] == INCREMENTAL
    assert [(link["run_id"], link["prefix"], link["rows"]) for link in interactions["chain"]] == [
        (_run_id(1), "../%s/interactions/" % _run_id(1), 5), (_run_id(2), "interactions/", 3)]
    assert interactions["chain_rows"] == 8
    assert interactions["watermark"]["read_from"] == iso_utc(HIGH - 600)
    assert interactions["watermark"]["overlap_rows"] == 1
    # 3 rows alone are below min_interactions (4): the chain holds 8
    check = next(c for c in delta["readiness"]["checks"] if c["rule"] == "min_interactions")
    assert check["passed"] and "8 interactions" in check["detail"] and _run_id(1) in check["detail"]
    assert delta["datasets"]["items"]["mode"] == FULL and delta["datasets"]["items"]["chain_rows"] == 3


def test_a_carried_delta_keeps_the_watermark_and_is_left_out_of_the_chain_rows(tmp_path):
    spec = _spec()
    _export(tmp_path, spec, _run_id(1))
    carried = _export(tmp_path, spec, _run_id(2), rows=GOOD_INTERACTIONS[:2], high=HIGH + 100, carried=True).manifest
    entry = carried["datasets"]["interactions"]
    assert entry["carried"] is True and entry["carried_reason"]
    assert entry["watermark"]["high"] == iso_utc(HIGH)  # not advanced
    assert entry["chain"][-1]["carried"] is True and entry["chain_rows"] == 5
    # the next delta starts from the same watermark, so it holds the carried rows again
    plan = prepare_plan(spec, str(tmp_path / "root"), _run_id(3), "auto")
    window = dataset_window(spec, "interactions", plan, previous_export(Storage(), str(tmp_path / "root"))[1])
    assert window.read_from == HIGH - 600


@pytest.mark.parametrize("change, reason", [
    ({"datasets__interactions__event_types__map": {"completed": "purchase", "shipped": "purchase"}}, "spec changed since base"),
    ({"run__timestamp_floor": "2015-01-01T00:00:00Z"}, "spec changed since base"),
    ({"datasets__interactions__watermark": {"column": "loaded_at", "allowance_seconds": 3600}}, "spec changed since base"),
    ({"datasets__items__fields": {"ITEM_ID": "sku", "CATEGORY": {"from": "category", "categorical": True},
                                  "PRICE": {"from": "price", "type": "double", "nullable": True}}},
     "the items schema changed since base"),
    ({"datasets__interactions__fields": {"USER_ID": "customer_id", "ITEM_ID": "sku", "TIMESTAMP": "ordered_at",
                                         "EVENT_TYPE": "status", "CHANNEL": {"from": "channel", "categorical": True}}},
     "the interactions schema changed since base"),
])
def test_a_spec_or_schema_change_forces_full(tmp_path, change, reason):
    _export(tmp_path, _spec(), _run_id(1))
    plan = prepare_plan(_spec(**change), str(tmp_path / "root"), _run_id(2), "auto")
    assert plan.mode == FULL
    assert plan.reason.startswith(reason) and _run_id(1) in plan.reason
    with pytest.raises(ExportModeRefused, match="run a FULL export"):
        prepare_plan(_spec(**change), str(tmp_path / "root"), _run_id(2), "INCREMENTAL")


@pytest.mark.parametrize("change", [
    {"run__keep_exports": 3},
    {"run__readiness": {"min_interactions": 2}},
    {"run__full_every": {"days": 30}},
    {"datasets__interactions__rejected_row_columns": ["order_id"]},
])
def test_settings_that_do_not_change_the_rows_keep_the_chain(tmp_path, change):
    _export(tmp_path, _spec(), _run_id(1))
    assert prepare_plan(_spec(**change), str(tmp_path / "root"), _run_id(2), "auto").mode == INCREMENTAL


def test_how_a_source_is_read_in_parallel_and_unread_sources_are_not_spec_changes():
    jdbc = {"format": "jdbc", "jdbc": {"url": "jdbc:postgresql://db/shop", "table": "public.orders", "password_env": "PW"}}
    base = spec_fingerprint(_spec(sources__orders=jdbc))
    split = dict(jdbc, jdbc_read={"column": "order_id", "partitions": 4, "lower_bound": 1, "upper_bound": 10**6,
                                  "fetch_size": 5000})
    assert spec_fingerprint(_spec(sources__orders=split)) == base
    assert spec_fingerprint(_spec(sources__orders=jdbc, sources__archive={"format": "csv", "path": "old.csv"})) == base
    # The table a dataset reads is one.
    other_table = dict(jdbc, jdbc=dict(jdbc["jdbc"], table="public.orders_v2"))
    assert spec_fingerprint(_spec(sources__orders=other_table)) != base


def test_full_every_runs_starts_a_new_chain(tmp_path):
    spec = _spec(run__full_every=2)
    _export(tmp_path, spec, _run_id(1))
    assert _export(tmp_path, spec, _run_id(2), high=HIGH + 10).manifest["export"]["mode"] == INCREMENTAL
    third = _export(tmp_path, spec, _run_id(3), high=HIGH + 20).manifest
    assert third["export"]["mode"] == FULL
    assert third["export"]["reason"].startswith("full_every=2 reached")
    assert third["datasets"]["interactions"]["chain"] == [
        {"run_id": _run_id(3), "mode": FULL, "prefix": "interactions/", "rows": 5, "carried": False}]


def test_full_every_days_counts_from_the_base(tmp_path):
    spec = _spec(run__full_every={"days": 7})
    start = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    _export(tmp_path, spec, _run_id(1), now=start)
    assert prepare_plan(spec, str(tmp_path / "root"), _run_id(2), "auto", now=start + dt.timedelta(days=6)).mode == INCREMENTAL
    late = prepare_plan(spec, str(tmp_path / "root"), _run_id(2), "auto", now=start + dt.timedelta(days=7))
    assert late.mode == FULL and late.reason.startswith("full_every.days=7 reached")


@pytest.mark.parametrize("base_at, day_8_at", [
    ("02:00:40", "02:00:55"),  # day 8's prepare starts later in the day than the base's
    ("02:00:40", "02:00:20"),  # ...or earlier: still 7 UTC days on
    ("23:59:50", "00:00:05"),  # across midnight
])
def test_full_every_days_counts_utc_calendar_days_whatever_the_start_time(tmp_path, base_at, day_8_at):
    spec = _spec(run__full_every={"days": 7})

    def at(day, clock):
        return dt.datetime.strptime("2024-06-%02d %s" % (day, clock), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)

    _export(tmp_path, spec, _run_id(1), now=at(1, base_at))
    root = str(tmp_path / "root")
    assert prepare_plan(spec, root, _run_id(7), "auto", now=at(7, "23:59:59")).mode == INCREMENTAL
    day_8 = prepare_plan(spec, root, _run_id(8), "auto", now=at(8, day_8_at))
    assert day_8.mode == FULL
    assert day_8.reason == "full_every.days=7 reached (base %s is from 2024-06-01, 7 UTC days before 2024-06-08)" % _run_id(1)


@pytest.mark.parametrize("expiry_days, age_days, mode", [
    (90, 82, INCREMENTAL),
    (90, 83, FULL),  # 7 days before the base would expire
    (7, 1, FULL),  # an expiry within the margin: every run is FULL
])
def test_a_chain_gets_a_new_base_before_the_bucket_expires_its_base(tmp_path, expiry_days, age_days, mode):
    spec = _spec()  # no full_every: only the expiry ends the chain
    start = dt.datetime(2024, 6, 1, 5, tzinfo=dt.timezone.utc)
    _export(tmp_path, spec, _run_id(1), now=start)
    root = str(tmp_path / "root")
    plan = prepare_plan(spec, root, _run_id(2), "auto", now=start + dt.timedelta(days=age_days), export_expiry_days=expiry_days)
    assert plan.mode == mode
    if mode == FULL:
        assert plan.reason.startswith("base %s is from 2024-06-01, %d UTC days before" % (_run_id(1), age_days))
        assert "expires exports %d days after they are written (data_bucket.export_retention_days)" % expiry_days in plan.reason
        with pytest.raises(ExportModeRefused, match="INCREMENTAL refused: base %s is from 2024-06-01" % _run_id(1)):
            prepare_plan(spec, root, _run_id(2), "INCREMENTAL", now=start + dt.timedelta(days=age_days),
                         export_expiry_days=expiry_days)
    # Outside AWS nothing expires exports: the chain goes on.
    assert prepare_plan(spec, root, _run_id(2), "auto", now=start + dt.timedelta(days=age_days)).mode == INCREMENTAL


def test_a_requested_mode_wins_and_says_so(tmp_path):
    spec = _spec()
    _export(tmp_path, spec, _run_id(1))
    plan = prepare_plan(spec, str(tmp_path / "root"), _run_id(2), "full", requested_by="--export_mode")
    assert (plan.mode, plan.requested, plan.reason) == (FULL, FULL, "requested by --export_mode FULL")
    forced = prepare_plan(spec, str(tmp_path / "root"), _run_id(2), "INCREMENTAL")
    assert forced.mode == INCREMENTAL and forced.reason.startswith("requested by --mode INCREMENTAL")


def test_incremental_with_nothing_to_build_on_is_refused(tmp_path):
    with pytest.raises(ExportModeRefused, match="no earlier successful export.*--mode FULL"):
        prepare_plan(_spec(), str(tmp_path / "root"), _run_id(1), "INCREMENTAL")
    with pytest.raises(ExportModeRefused, match="must be one of auto, FULL, INCREMENTAL"):
        choose_mode(_spec(), _run_id(1), "sometimes")


def test_a_spec_without_change_columns_is_always_full(tmp_path):
    spec = load_spec(SPEC)
    _export(tmp_path, spec, _run_id(1))
    plan = prepare_plan(spec, str(tmp_path / "root"), _run_id(2), "auto")
    assert plan.mode == FULL and plan.reason == "no dataset names a change column (datasets.<name>.watermark)"


def test_a_failed_run_is_not_built_on(tmp_path):
    """Only a handed-off export moves latest: the next delta starts from the last good one."""
    spec = _spec()
    _export(tmp_path, spec, _run_id(1))
    with pytest.raises(ReadinessFailed, match="max_rejected_share"):
        _export(tmp_path, spec, _run_id(2), high=HIGH + 50, rejected={"null_id": 20})
    plan = prepare_plan(spec, str(tmp_path / "root"), _run_id(3), "auto")
    assert plan.previous_run_id == _run_id(1)


def test_a_run_older_than_latest_is_not_handed_off(tmp_path):
    """A workflow run resumed after a newer one finished: latest does not move back."""
    spec = _spec()
    root = str(tmp_path / "root")
    _export(tmp_path, spec, _run_id(1))
    _export(tmp_path, spec, _run_id(3), high=HIGH + 30)
    params = (tmp_path / "params.json").read_text()
    with pytest.raises(HandOffRefused, match="run %s is older than run %s, which latest.json already points to" % (
            _run_id(2), _run_id(3))):
        _export(tmp_path, spec, _run_id(2), high=HIGH + 20)
    storage = Storage()
    assert storage.read_json(layout.latest_path(root))["run_id"] == _run_id(3)
    assert (tmp_path / "params.json").read_text() == params
    assert storage.read_json(layout.manifest_path(root, _run_id(2)))["hand_off"] is None
    assert prepare_plan(spec, root, _run_id(4), "auto").previous_run_id == _run_id(3)


def test_prepare_keeps_its_choice_on_retry_and_reads_a_requested_run_property(tmp_path):
    spec = _spec()
    _export(tmp_path, spec, _run_id(1))
    properties = InMemoryRunProperties({"export_requested": "FULL"})
    plan = prepare_export(properties, spec, str(tmp_path / "root"))
    assert plan.mode == FULL and plan.reason == "requested by run property export_requested FULL"
    again = prepare_export(properties, spec, str(tmp_path / "root"), "INCREMENTAL")
    assert again == current_plan(properties) and again.mode == FULL


def test_a_forced_incremental_is_refused_when_full_every_is_reached(tmp_path):
    spec = _spec(run__full_every=2)
    _export(tmp_path, spec, _run_id(1))
    _export(tmp_path, spec, _run_id(2), high=HIGH + 10)
    with pytest.raises(ExportModeRefused, match="INCREMENTAL refused: full_every=2 reached"):
        prepare_plan(spec, str(tmp_path / "root"), _run_id(3), "INCREMENTAL")


# ----------------------------------------------------------------------------- readiness of deltas


def _readiness_check(manifest, rule):
    return next(c for c in manifest["readiness"]["checks"] if c["rule"] == rule)


def test_a_full_export_needs_its_share_of_users_with_two_interactions(tmp_path):
    # GOOD_INTERACTIONS: 3 users, 2 of them with 2 interactions.
    passed = _export(tmp_path / "a", _spec(run__readiness__min_users_share=0.6), _run_id(1)).manifest
    assert _readiness_check(passed, "min_users_share") == {
        "rule": "min_users_share", "passed": True,
        "detail": "66.67% of 3 users have at least 2 interactions (need at least 60.00%)"}
    with pytest.raises(ReadinessFailed, match="min_users_share: 66.67% of 3 users have at least 2 interactions "
                                              r"\(need at least 70.00%\)"):
        _export(tmp_path / "b", _spec(run__readiness__min_users_share=0.7), _run_id(1))


def test_a_deltas_users_count_at_most_once_more_and_a_carried_delta_not_at_all(tmp_path):
    spec = _spec(run__readiness__min_users_share=0.4)
    _export(tmp_path, spec, _run_id(1))
    one_off = [("u4", "i1", 1600001000, "purchase"), ("u5", "i2", 1600001100, "purchase")]
    # A carried delta's users come again with the next delta: not counted now.
    carried = _export(tmp_path, spec, _run_id(2), rows=one_off, high=HIGH + 10, carried=True).manifest
    assert carried["datasets"]["interactions"]["chain_users_at_most"] == 3
    # 2 qualified users of at most 3 + 2: 40%.
    day3 = _export(tmp_path, spec, _run_id(3), rows=one_off, high=HIGH + 20).manifest
    assert _readiness_check(day3, "min_users_share")["detail"] == (
        "at least 40.00% of at most 5 users have at least 2 interactions (need at least 40.00%); a FULL export counts "
        "the users exactly")
    with pytest.raises(ReadinessFailed, match="min_users_share: at least 28.57% of at most 7 users"):
        _export(tmp_path, spec, _run_id(4), rows=[("u6", "i1", 1600002000, "purchase"), ("u7", "i2", 1600002100, "purchase")],
                high=HIGH + 30)


def test_a_carried_delta_is_not_judged_by_the_rejected_share(tmp_path):
    """1 bad row in 3 on a quiet day: the delta is not imported, its rows come again with the next one."""
    spec = _spec()
    _export(tmp_path, spec, _run_id(1))
    quiet = _export(tmp_path, spec, _run_id(2), rows=GOOD_INTERACTIONS[:1], rejected={"null_id": 1}, carried=True).manifest
    check = next(c for c in quiet["readiness"]["checks"] if c["rule"] == "max_rejected_share.interactions")
    assert quiet["readiness"]["passed"] and check["passed"]
    assert check["detail"] == "1 of 2 rows rejected in a carried delta: judged when its rows are imported with the next delta"


def test_a_small_imported_delta_is_judged_over_at_least_100_rows(tmp_path):
    spec = _spec()
    _export(tmp_path, spec, _run_id(1))
    # items is imported (not carried) on every run: 1 bad row of 3 is 1% of 100
    small = _export(tmp_path, spec, _run_id(2), high=HIGH + 10, items=GOOD_ITEMS[:2], items_rejected={"null_id": 1},
                    items_mode=INCREMENTAL).manifest
    check = next(c for c in small["readiness"]["checks"] if c["rule"] == "max_rejected_share.items")
    assert small["readiness"]["passed"] and check["passed"]
    assert check["detail"] == ("1 of 3 rows rejected in a small delta, 1.00% of the 100 rows a delta is judged over "
                               "(at most 10.00%)")
    # a small delta that is mostly rejected still fails
    with pytest.raises(ReadinessFailed, match=r"max_rejected_share.items: 11 of 13 rows rejected in a small delta, 11.00%"):
        _export(tmp_path, spec, _run_id(3), high=HIGH + 20, items=GOOD_ITEMS[:2], items_rejected={"null_id": 11},
                items_mode=INCREMENTAL)
    # a FULL export is judged over its own rows, as before
    with pytest.raises(ReadinessFailed, match=r"max_rejected_share.items: 33.33% of 3 rows rejected"):
        _export(tmp_path, spec, _run_id(4), mode="FULL", items=GOOD_ITEMS[:2], items_rejected={"null_id": 1})


# ----------------------------------------------------------------------------- new rows


def test_the_manifest_entry_carries_new_rows(tmp_path):
    spec = _spec()
    full = _export(tmp_path, spec, _run_id(1), new_rows=2).manifest
    # FULL: every row is new to the dataset it replaces
    assert full["datasets"]["interactions"]["new_rows"] == 5
    delta = _export(tmp_path, spec, _run_id(2), high=HIGH + 10, overlap=3, new_rows=2).manifest
    assert delta["datasets"]["interactions"]["new_rows"] == 2
    # a report without new_rows (written before it existed) counts every row
    assert delta["datasets"]["items"]["new_rows"] == 3


# ----------------------------------------------------------------------------- far-future change values


def test_a_change_value_past_year_9999_is_shown_clamped_and_named():
    assert iso_utc(1677628800000) == "9999-12-31T23:59:59Z"  # milliseconds read as seconds: year 55131
    assert iso_utc(-10 ** 14) == "0001-01-01T00:00:00Z"
    watermark = {"column": "updated_at", "allowance_seconds": 0, "read_from": None, "high": "2024-06-01T00:00:00Z",
                 "high_read": iso_utc(1677628800000), "overlap_rows": 0, "unstamped_rows": None, "future_rows": None}
    lines = describe_delta({"dataset": "users", "mode": FULL, "watermark": watermark})
    assert lines[-1] == ("the highest updated_at read is past year 9999 (shown as 9999-12-31T23:59:59Z): is "
                         "datasets.users.watermark.type the unit the column holds (milliseconds in an epoch_seconds column)?")


# ----------------------------------------------------------------------------- retention


def test_retention_never_deletes_the_base_a_kept_delta_builds_on(tmp_path):
    spec = _spec()  # keep_exports: 1
    root = str(tmp_path / "root")
    _export(tmp_path, spec, _run_id(1))
    second = _export(tmp_path, spec, _run_id(2), high=HIGH + 10)
    third = _export(tmp_path, spec, _run_id(3), high=HIGH + 20)
    assert second.deleted_runs == [] and third.deleted_runs == []
    assert Storage().list_children(layout.exports_root(root)) == [_run_id(1), _run_id(2), _run_id(3)]
    # a new FULL base: the old chain is no longer needed and goes
    fourth = _export(tmp_path, spec, _run_id(4), mode="FULL", high=HIGH + 30)
    assert fourth.deleted_runs == [_run_id(1), _run_id(2), _run_id(3)]
    assert Storage().list_children(layout.exports_root(root)) == [_run_id(4)]


def test_retention_without_chains_still_keeps_only_the_newest(tmp_path):
    spec = _spec(run__full_every=1)  # every run FULL
    _export(tmp_path, spec, _run_id(1))
    assert _export(tmp_path, spec, _run_id(2)).deleted_runs == [_run_id(1)]


# ----------------------------------------------------------------------------- spec fields


@pytest.mark.parametrize("path, value, field, rule", [
    ("datasets__interactions__watermark", {"allowance_seconds": 5}, "datasets.interactions.watermark.column", "is required"),
    ("datasets__interactions__watermark", {"column": "loaded at"}, "datasets.interactions.watermark.column", "top-level column name"),
    ("datasets__interactions__watermark", {"column": "x; DROP TABLE orders"}, "datasets.interactions.watermark.column", "top-level column"),
    ("datasets__interactions__watermark", {"column": "t", "allowance_seconds": -1}, "datasets.interactions.watermark.allowance_seconds", ">= 0"),
    ("datasets__interactions__watermark", {"column": "t", "allowance_seconds": 40 * 86400},
     "datasets.interactions.watermark.allowance_seconds", "<= 2678400"),
    ("datasets__interactions__watermark", {"column": "t", "type": "date"}, "datasets.interactions.watermark.type", "must be one of"),
    ("datasets__interactions__watermark", {"column": "t", "since": 1}, "datasets.interactions.watermark.since", "unknown key"),
    ("run__full_every", 0, "run.full_every.runs", ">= 1"),
    ("run__full_every", {"weeks": 1}, "run.full_every.weeks", "unknown key"),
    ("run__full_every", {}, "run.full_every", "needs runs, days or both"),
    ("run__full_every", {"days": "7"}, "run.full_every.days", "must be an integer"),
    ("run__readiness__min_users_share", 1.5, "run.readiness.min_users_share", "between 0 and 1"),
    ("run__readiness__min_users_share", "1%", "run.readiness.min_users_share", "between 0 and 1"),
])
def test_bad_incremental_fields_name_the_field_and_the_rule(path, value, field, rule):
    with pytest.raises(SpecError) as caught:
        _spec(**{path: value})
    assert caught.value.path == field
    assert rule in caught.value.rule


@pytest.mark.parametrize("url, refused", [
    ("jdbc:mysql://db:3306/shop", True),
    ("jdbc:sqlserver://db:1433;databaseName=shop", True),
    ("jdbc:oracle:thin:@db:1521/shop", True),
    ("jdbc:postgresql://db:5432/shop", False),
    ("jdbc:redshift://cluster:5439/shop", False),
])
def test_a_timestamp_change_column_only_where_the_database_parses_the_literal(url, refused):
    raw = copy.deepcopy(SPEC)
    raw["sources"]["orders"] = {"format": "jdbc", "jdbc": {"url": url, "table": "orders"}}
    raw["datasets"]["interactions"]["watermark"] = {"column": "loaded_at"}
    if not refused:
        assert load_spec(raw).datasets["interactions"].watermark.type == "timestamp"
        return
    with pytest.raises(SpecError) as caught:
        load_spec(raw)
    assert caught.value.path == "datasets.interactions.watermark.type"
    engine = ":".join(url.split(":")[:2])  # jdbc:mysql, never the rest of the url (it may hold a password)
    assert "(%s): give the source a numeric change column and use epoch_seconds or epoch_millis" % engine in caught.value.rule
    assert "db" not in caught.value.rule.split(engine)[1]
    raw["datasets"]["interactions"]["watermark"]["type"] = "epoch_millis"
    assert load_spec(raw).datasets["interactions"].watermark.type == "epoch_millis"


def test_partition_column_only_on_catalog_tables_on_s3():
    raw = copy.deepcopy(SPEC)
    raw["sources"]["orders"].pop("catalog")
    raw["datasets"]["interactions"]["watermark"] = {"column": "loaded_at", "partition_column": "dt"}
    with pytest.raises(SpecError) as caught:
        load_spec(raw)
    assert caught.value.path == "datasets.interactions.watermark.partition_column"
    assert "Data Catalog table on S3" in caught.value.rule
    raw["sources"]["orders"]["catalog"] = {"database": "retail", "table": "orders"}
    assert load_spec(raw).datasets["interactions"].watermark.partition_column == "dt"


def test_a_deltas_summary_names_rows_without_a_change_value_and_rows_stamped_after_the_run():
    watermark = {"column": "loaded_at", "allowance_seconds": 600, "read_from": "2024-06-01T00:00:00Z",
                 "high": "2024-06-02T00:00:00Z", "high_read": "2031-01-01T00:00:00Z", "overlap_rows": 4,
                 "unstamped_rows": 3, "future_rows": 1}
    assert describe_delta({"mode": INCREMENTAL, "watermark": watermark}) == [
        "INCREMENTAL delta: loaded_at >= 2024-06-01T00:00:00Z; 4 rows read again inside the 600 s allowance; "
        "high-water mark 2024-06-02T00:00:00Z",
        "3 rows without a loaded_at value (empty, or not a time): every delta reads them again",
        "1 row stamped after this run started (up to 2031-01-01T00:00:00Z): read again until that time is past",
    ]
    full = dict(watermark, read_from=None, overlap_rows=0, unstamped_rows=None, future_rows=None)
    assert describe_delta({"mode": FULL, "watermark": full}) == [
        "FULL: high-water mark loaded_at = 2024-06-02T00:00:00Z",
        "the highest loaded_at read, 2031-01-01T00:00:00Z, is after this run started: the high-water mark stays at "
        "the run's start",
    ]
    quiet = dict(watermark, unstamped_rows=0, future_rows=0)
    assert len(describe_delta({"mode": INCREMENTAL, "watermark": quiet})) == 1
