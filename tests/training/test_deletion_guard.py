"""The guards of the vanished-users deletion (personalize_pipeline.deletion):
the share of the users held before the run that one run may delete
(delete_vanished_users: true, or {"max_share": x}), and the HEAD of the
deletion input file (missing, or over Personalize's 100 MB). Both refuse the
run at ReadParams, before any Personalize resource is touched."""
from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from personalize_pipeline import clients, deletion, params
from personalize_pipeline.errors import ParamsInvalid

from .exports import INTERACTIONS_SCHEMA, USERS_SCHEMA, full_params, make_delta, make_export, mark_full
from .test_incremental_scenarios import BASE, DAY2, DAY3, daily_params, interaction_rows, succeeded
from .test_scenarios import assert_failed_once

RUN = "r2"
SCHEMAS = {"interactions": json.dumps(INTERACTIONS_SCHEMA), "users": json.dumps(USERS_SCHEMA)}


# ------------------------------------------------------------------ helpers
def users_full(rows: int) -> dict:
    """The manifest's users entry of a FULL users export (it replaces the dataset)."""
    return {"prefix": "users/", "rows": rows, "mode": "FULL", "carried": False, "chain_rows": rows,
            "chain": [{"run_id": RUN, "mode": "FULL", "prefix": "users/", "rows": rows, "carried": False}]}


def users_delta(*earlier: tuple[str, int, bool], rows: int = 1) -> dict:
    """The manifest's users entry of an INCREMENTAL users export: earlier links
    (run id, rows, carried), then this run's link."""
    chain = [{"run_id": run, "mode": "FULL" if i == 0 else "INCREMENTAL", "prefix": f"../{run}/users/", "rows": n, "carried": c}
             for i, (run, n, c) in enumerate(earlier)]
    chain.append({"run_id": RUN, "mode": "INCREMENTAL", "prefix": "users/", "rows": rows, "carried": False})
    return {"prefix": "users/", "rows": rows, "mode": "INCREMENTAL", "carried": False, "chain": chain,
            "chain_rows": sum(link["rows"] for link in chain if not link["carried"])}


def write_export(root: Path, users: dict | None, vanished: int, file_bytes: bytes | None = None) -> str:
    """A local export folder (manifest beside vanished_users.csv); returns the manifest path."""
    root.mkdir(parents=True, exist_ok=True)
    datasets = {"interactions": {"prefix": "interactions/", "rows": 1500, "mode": "FULL"}}
    if users is not None:
        datasets["users"] = users
    manifest = {"run_id": RUN, "datasets": datasets,
                "vanished_users": {"count": vanished, "file": "vanished_users.csv", "since_run_id": "r1"}}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    body = file_bytes if file_bytes is not None else ("USER_ID\n" + "".join(f"u{i}\n" for i in range(vanished))).encode()
    (root / "vanished_users.csv").write_bytes(body)
    return str(root / "manifest.json")


def plan_for(manifest_uri: str, option=True, manifest: dict | None = None) -> dict:
    """build_plan over the manifest (read from ``manifest_uri`` unless given), as ReadParams calls it."""
    p = {**full_params(), "delete_vanished_users": option, "export": {"manifest_uri": manifest_uri, "run_id": RUN}}
    normalised = params.parse_params(p)
    if manifest is None:
        manifest = json.loads(Path(manifest_uri).read_text(encoding="utf-8"))
    return params.build_plan(normalised, manifest, manifest_uri, SCHEMAS, "aws", "eu-west-1", "111122223333", {}, "/pp")


def refused(manifest_uri: str, option=True, manifest: dict | None = None) -> str:
    with pytest.raises(ParamsInvalid) as info:
        plan_for(manifest_uri, option, manifest)
    return str(info.value)


# ------------------------------------------------------------------ parsing
@pytest.mark.parametrize("given, expected", [
    (False, False),
    (True, {"maxShare": 0.1}),
    ({}, {"maxShare": 0.1}),
    ({"max_share": 0.25}, {"maxShare": 0.25}),
    ({"max_share": 1}, {"maxShare": 1.0}),
    ({"max_share": 0.001}, {"maxShare": 0.001}),
])
def test_delete_vanished_users_takes_a_bool_or_an_object_with_max_share(given, expected):
    assert params.parse_delete_vanished_users(given) == expected
    normalised = params.parse_params({**full_params(), "delete_vanished_users": given,
                                      "export": {"manifest_uri": "s3://b/m.json", "run_id": RUN}})
    assert normalised["delete_vanished_users"] == expected


def test_delete_vanished_users_defaults_to_off():
    normalised = params.parse_params({**full_params(), "export": {"manifest_uri": "s3://b/m.json", "run_id": RUN}})
    assert normalised["delete_vanished_users"] is False


@pytest.mark.parametrize("given, where, rule", [
    ("yes", "delete_vanished_users: ", 'must be true or false, or an object such as {"max_share": 0.25}; got str'),
    (None, "delete_vanished_users: ", "got NoneType"),
    (1, "delete_vanished_users: ", "got int"),
    ([0.2], "delete_vanished_users: ", "got list"),
    ({"maxShare": 0.2}, "delete_vanished_users.maxShare: ", "unknown field (allowed: max_share)"),
    ({"max_share": 0}, "delete_vanished_users.max_share: ", "must be a number above 0 and at most 1, got 0"),
    ({"max_share": -0.1}, "delete_vanished_users.max_share: ", "got -0.1"),
    ({"max_share": 1.01}, "delete_vanished_users.max_share: ", "got 1.01"),
    ({"max_share": 10}, "delete_vanished_users.max_share: ", "got 10"),
    ({"max_share": "0.2"}, "delete_vanished_users.max_share: ", "got '0.2'"),
    ({"max_share": True}, "delete_vanished_users.max_share: ", "got True"),
    ({"max_share": float("nan")}, "delete_vanished_users.max_share: ", "got nan"),
    ({"max_share": None}, "delete_vanished_users.max_share: ", "got None"),
])
def test_invalid_values_name_the_field_and_the_rule(given, where, rule):
    with pytest.raises(ParamsInvalid) as info:
        params.parse_delete_vanished_users(given)
    assert str(info.value).startswith(where), str(info.value)
    assert rule in str(info.value)
    if where.endswith("max_share: "):
        assert "set delete_vanished_users to false" in str(info.value)


# ------------------------------------------------------------ the share guard
def test_exactly_at_the_default_limit_is_deleted(tmp_path):
    # 6 of the 60 users the base imported: 10%.
    plan = plan_for(write_export(tmp_path, users_delta(("r0", 60, False)), vanished=6))
    assert plan["dataDeletion"]["users"] == 6
    assert plan["dataDeletion"]["dataLocation"] == str(tmp_path / "vanished_users.csv")


def test_just_over_the_default_limit_is_refused_naming_counts_share_limit_field_and_cause(tmp_path):
    message = refused(write_export(tmp_path, users_delta(("r0", 60, False)), vanished=7))
    assert message.startswith("delete_vanished_users: refused to delete 7 users: the export lists 7 vanished users "
                              "(manifest vanished_users, since export r1), 11.67% of the 60 users the users dataset held "
                              "before this run (datasets.users.chain: rows imported before this run, from r0)")
    assert "over the limit of 10% (delete_vanished_users.max_share 0.1)" in message
    assert "empty or partial users source" in message
    assert 'set delete_vanished_users to {"max_share": 0.12}' in message
    assert "set delete_vanished_users to false" in message


def test_the_reproduction_58_of_60_users_is_refused(tmp_path):
    message = refused(write_export(tmp_path, users_delta(("r0", 60, False)), vanished=58))
    assert "58 vanished users" in message and "96.67% of the 60 users" in message and "limit of 10%" in message


def test_the_object_form_raises_the_limit(tmp_path):
    assert plan_for(write_export(tmp_path / "a", users_delta(("r0", 60, False)), vanished=15),
                    {"max_share": 0.25})["dataDeletion"]["users"] == 15
    message = refused(write_export(tmp_path / "b", users_delta(("r0", 60, False)), vanished=16), {"max_share": 0.25})
    assert "26.67% of the 60 users" in message and "over the limit of 25% (delete_vanished_users.max_share 0.25)" in message
    # max_share 1: every user the dataset held may go.
    assert plan_for(write_export(tmp_path / "c", users_delta(("r0", 60, False)), vanished=60),
                    {"max_share": 1})["dataDeletion"]["users"] == 60


def test_the_object_form_lowers_the_limit(tmp_path):
    assert plan_for(write_export(tmp_path / "a", users_delta(("r0", 60, False)), vanished=3),
                    {"max_share": 0.05})["dataDeletion"]["users"] == 3
    message = refused(write_export(tmp_path / "b", users_delta(("r0", 60, False)), vanished=4), {"max_share": 0.05})
    assert "6.67% of the 60 users" in message and "over the limit of 5%" in message


def test_the_chain_before_this_run_counts_imported_links_only(tmp_path):
    # Base 50 + an imported delta of 20 = 70 before this run; a carried delta was never imported.
    entry = users_delta(("r0", 50, False), ("r1", 20, False), ("r1b", 500, True), rows=400)
    assert deletion.users_before({"run_id": RUN, "datasets": {"users": entry}}, 7)[0] == 70
    assert plan_for(write_export(tmp_path / "a", entry, vanished=7))["dataDeletion"]["users"] == 7
    message = refused(write_export(tmp_path / "b", entry, vanished=8))
    assert "11.43% of the 70 users" in message and "from r0 and 1 later export(s)" in message


def test_the_previous_exports_user_count_is_exact_and_preferred():
    # 40 users updated in each of ten deltas make a chain of 460 rows, but the dataset held 60 users.
    entry = users_delta(("r0", 60, False), *[(f"d{i}", 40, False) for i in range(1, 11)], rows=40)
    manifest = {"run_id": RUN, "datasets": {"users": entry}}
    assert deletion.users_before(manifest, 30)[0] == 460
    exact = {**manifest, "vanished_users": {"count": 30, "previous_users": 60}}
    assert deletion.users_before(exact, 30) == (60, "vanished_users.previous_users: the users the previous export listed")
    with pytest.raises(ParamsInvalid, match=r"50% of the 60 users the users dataset held before this run"):
        deletion.check_share(30, exact, 0.1, "d10")


def test_a_full_users_export_counts_the_users_listed_now_plus_the_vanished(tmp_path):
    # A FULL users export of 2 users and 58 vanished: the source came back almost empty.
    message = refused(write_export(tmp_path / "a", users_full(2), vanished=58))
    assert "96.67% of the 60 users" in message
    assert "datasets.users is a FULL export of 2 users; with the 58 vanished ones the previous export held at most 60" in message
    # A FULL export of 600 users after 58 left: 58 of at most 658.
    assert plan_for(write_export(tmp_path / "b", users_full(600), vanished=58))["dataDeletion"]["users"] == 58


@pytest.mark.parametrize("users", [users_delta(("r0", 0, False)), users_delta(("r0", 60, True)), None])
def test_zero_users_before_is_refused_whatever_the_limit(tmp_path, users):
    for i, option in enumerate((True, {"max_share": 1})):
        message = refused(write_export(tmp_path / str(i), users, vanished=3), option)
        assert message.startswith("delete_vanished_users: refused to delete 3 users: the export lists 3 vanished users")
        assert "the manifest counts no users in the users dataset before this run" in message
        assert "empty or partial users source" in message and "set delete_vanished_users to false" in message


def test_without_the_opt_in_nothing_is_checked(tmp_path):
    # 58 of 60, and no file: no deletion is planned, so neither guard runs.
    uri = write_export(tmp_path, users_delta(("r0", 60, False)), vanished=58)
    (tmp_path / "vanished_users.csv").unlink()
    assert plan_for(uri, False)["dataDeletion"] is None


# ---------------------------------------------------------- the input file
def test_a_missing_input_file_is_refused_naming_it(tmp_path):
    uri = write_export(tmp_path, users_delta(("r0", 60, False)), vanished=2)
    (tmp_path / "vanished_users.csv").unlink()
    message = refused(uri)
    assert message.startswith(f"export.manifest_uri: the vanished users file {tmp_path / 'vanished_users.csv'} "
                              "(vanished_users.file, 2 users) does not exist")


def test_an_input_file_over_100_mb_is_refused_naming_it_and_the_limit(tmp_path, monkeypatch):
    assert deletion.MAX_INPUT_BYTES == 100 * 10**6
    body = b"USER_ID\nu1\nu2\n"  # 14 bytes
    monkeypatch.setattr(deletion, "MAX_INPUT_BYTES", len(body))
    assert plan_for(write_export(tmp_path / "a", users_delta(("r0", 60, False)), vanished=2, file_bytes=body))["dataDeletion"]
    monkeypatch.setattr(deletion, "MAX_INPUT_BYTES", len(body) - 1)
    message = refused(write_export(tmp_path / "b", users_delta(("r0", 60, False)), vanished=2, file_bytes=body))
    assert f"the vanished users file {tmp_path / 'b' / 'vanished_users.csv'} (vanished_users.file, 2 users) is 14 bytes, " \
           f"over the 13 bytes (100 MB) Personalize accepts" in message
    assert "https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html" in message


def test_the_input_file_is_read_with_a_head_of_the_s3_object(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    manifest_uri = "s3://guard-data/personalize/exports/r2/manifest.json"
    file_uri = "s3://guard-data/personalize/exports/r2/vanished_users.csv"
    manifest = {"run_id": RUN, "datasets": {"interactions": {"prefix": "interactions/", "rows": 1500, "mode": "FULL"},
                                            "users": users_delta(("r0", 60, False))},
                "vanished_users": {"count": 2, "file": "vanished_users.csv", "since_run_id": "r1"}}
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="guard-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        calls: list[str] = []

        def factory(service):
            client = boto3.client(service, region_name="eu-west-1")
            client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
            return client
        clients.set_client_factory(factory)
        try:
            message = refused(manifest_uri, manifest=manifest)
            assert message.startswith(f"export.manifest_uri: the vanished users file {file_uri} (vanished_users.file, 2 users) "
                                      "does not exist")
            s3.put_object(Bucket="guard-data", Key="personalize/exports/r2/vanished_users.csv", Body=b"USER_ID\nu1\nu2\n")
            assert plan_for(manifest_uri, manifest=manifest)["dataDeletion"]["dataLocation"] == file_uri
            monkeypatch.setattr(deletion, "MAX_INPUT_BYTES", 13)
            assert "is 14 bytes, over the 13 bytes (100 MB)" in refused(manifest_uri, manifest=manifest)
            # Only the object's metadata is read, never its body.
            assert set(calls) == {"HeadObject"}
        finally:
            clients.set_client_factory(None)


# ------------------------------------------------- end to end, local pipeline
def test_a_mass_deletion_is_refused_at_read_params_and_nothing_is_deleted(pipeline, tmp_path):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    calls_before = len(pipeline.fake.calls)
    # The users source came back nearly empty: 58 of the 60 users look vanished.
    delta = make_delta(tmp_path, DAY2, BASE, interactions=1100, overlap=0, vanished=[f"u{i}" for i in range(58)])
    result = pipeline.run(daily_params(delete_vanished_users=True), delta)

    assert_failed_once(result, "ReadParams", "ParamsInvalid", "delete_vanished_users: refused to delete 58 users",
                       "96.67% of the 60 users the users dataset held before this run", "over the limit of 10%",
                       "delete_vanished_users.max_share 0.1", "empty or partial users source")
    assert pipeline.fake.calls_of("CreateDataDeletionJob") == []
    # Nothing but reads reached Personalize: no import, no deletion, no training.
    assert [op for op, _ in pipeline.fake.calls[calls_before:] if not op.startswith(("List", "Describe"))] == []
    (group,) = pipeline.fake.of_kind("dataset_group")
    assert len(pipeline.fake.dataset_content(group.arn, "USERS").records) == 60
    assert len(interaction_rows(pipeline.fake)) == 1200


def test_a_share_under_the_limit_is_deleted_and_the_object_form_lets_a_larger_one_through(pipeline, tmp_path):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    # 3 of 60 (5%) under the default 10%: deleted.
    result = succeeded(pipeline.run(daily_params(delete_vanished_users=True),
                                    make_delta(tmp_path, DAY2, BASE, overlap=0, vanished=("u3", "u4", "u5"))))
    (request,) = pipeline.fake.calls_of("CreateDataDeletionJob")
    assert request["dataSource"]["dataLocation"] == f"s3://personalize-data/personalize/exports/{DAY2}/vanished_users.csv"
    assert result.summary["dataDeletion"]["users"] == 3
    (group,) = pipeline.fake.of_kind("dataset_group")
    assert not {"u3", "u4", "u5"} & set(pipeline.fake.dataset_content(group.arn, "USERS").records)

    # 7 of the 61 user rows imported before (base 60 + the delta's update of u1), 11.48%: refused by
    # default, deleted once the params allow 12%.
    day3 = make_delta(tmp_path, DAY3, DAY2, overlap=0, seed=13, vanished=[f"u{i}" for i in range(10, 17)])
    refusal = pipeline.run(daily_params(delete_vanished_users=True), day3)
    assert_failed_once(refusal, "ReadParams", "ParamsInvalid", "11.48% of the 61 users", "over the limit of 10%",
                       "set delete_vanished_users to {", "max_share", ": 0.12} for this run")
    assert len(pipeline.fake.calls_of("CreateDataDeletionJob")) == 1
    succeeded(pipeline.run(daily_params(delete_vanished_users={"max_share": 0.12}), day3))
    assert len(pipeline.fake.calls_of("CreateDataDeletionJob")) == 2
    assert not {f"u{i}" for i in range(10, 17)} & set(pipeline.fake.dataset_content(group.arn, "USERS").records)


def test_an_oversized_input_file_fails_at_read_params(pipeline, tmp_path, monkeypatch):
    succeeded(pipeline.run(daily_params(), mark_full(make_export(tmp_path, run_id=BASE))))
    monkeypatch.setattr(deletion, "MAX_INPUT_BYTES", 10)
    result = pipeline.run(daily_params(delete_vanished_users=True), make_delta(tmp_path, DAY2, BASE, vanished=("u5",)))

    assert_failed_once(result, "ReadParams", "ParamsInvalid",
                       f"the vanished users file s3://personalize-data/personalize/exports/{DAY2}/vanished_users.csv",
                       "is 11 bytes, over the 10 bytes (100 MB)")
    assert pipeline.fake.calls_of("CreateDataDeletionJob") == []
