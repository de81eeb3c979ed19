"""The whole export workflow on one machine: prepare -> 3 exports -> start_training."""
from __future__ import annotations

import copy
import json
import os

import export_golden as g
import pytest

from personalize_export import layout
from personalize_export.finalize import ReadinessFailed
from personalize_export.local_workflow import run_local_workflow

pytestmark = pytest.mark.spark

CUSTOMERS = [
    {"_id": {"$oid": "5f0000000000000000000001"}, "customer_id": "u1", "profile": {"age": {"$numberInt": "31"}},
     "address": {"country": "FR"}, "interests": ["tea", "hats"], "signed_up": {"$date": {"$numberLong": "1600000000000"}}},
    {"_id": {"$oid": "5f0000000000000000000002"}, "customer_id": "u2", "profile": {"age": 45},
     "address": {"country": "DE"}, "interests": [], "signed_up": {"$date": "2020-09-13T12:26:40Z"}},
    {"_id": {"$oid": "5f0000000000000000000003"}, "customer_id": "u3", "profile": {},
     "address": None, "interests": ["ünï"], "signed_up": "2020-09-13T14:26:40+02:00"},
    {"_id": {"$oid": "5f0000000000000000000004"}, "customer_id": "u4", "profile": {"age": "old"},
     "address": {"country": "ES"}, "interests": ["x"], "signed_up": "2020-09-13T12:26:40Z"},
]


def _spec():
    spec = copy.deepcopy(g.SPEC)
    spec["sources"]["customers"] = {"format": "jsonl", "path": "customers.jsonl"}
    spec["datasets"]["users"] = {
        "source": "customers",
        "fields": {
            "USER_ID": "customer_id",
            "AGE": {"from": "profile.age", "type": "int", "nullable": True},
            "COUNTRY": {"from": "address.country", "categorical": True, "nullable": True},
            "INTERESTS": {"from": "interests", "categorical": True, "nullable": True},
            "SIGNED_UP": {"from": "signed_up", "type": "long", "timestamp": {"formats": ["iso8601"]}},
        },
    }
    spec["run"]["readiness"] = {"min_interactions": 8, "min_users": 4}
    spec["run"]["keep_exports"] = 1
    return spec


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workflow")
    g.write_inputs(str(folder))
    with open(folder / "customers.jsonl", "w", encoding="utf-8") as handle:
        for row in CUSTOMERS:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (folder / "spec.json").write_text(json.dumps(_spec()))
    (folder / "params_template.json").write_text(json.dumps({"solutions": [{"name": "user-personalization"}]}))
    return folder


def _run(spark, folder, spec_path, messages):
    return run_local_workflow(str(spec_path), str(folder / "out"), str(folder / "params_template.json"),
                              str(folder / "params.json"), spark=spark, progress=messages.append, now_epoch=g.NOW)


def test_local_workflow_writes_a_reconciled_export_then_refuses_a_thin_one(spark, workspace):
    messages = []
    summary = _run(spark, workspace, workspace / "spec.json", messages)

    assert summary.readiness_passed
    assert [m for m in messages if m.startswith("[")] == ["[1/3] prepare", "[2/3] exports", "[3/3] start_training"]
    manifest = json.loads(open(summary.manifest_uri).read())
    assert set(manifest["datasets"]) == {"interactions", "items", "users"}
    for name, entry in manifest["datasets"].items():
        assert entry["rows_read"] == entry["rows"] + entry["rejected"] + entry["filtered"], name
        assert sum(entry["rejected_by_reason"].values()) == entry["rejected"], name
        for relative_file in entry["files"]:
            assert os.path.isfile(os.path.join(summary.run_dir, relative_file))
    users = manifest["datasets"]["users"]
    assert (users["rows"], users["rejected_by_reason"]) == (3, {"invalid_number": 1})  # age "old"
    user_rows = []
    for relative_file in users["files"]:
        lines = open(os.path.join(summary.run_dir, relative_file), encoding="utf-8").read().splitlines()
        assert lines[0] == "USER_ID,AGE,COUNTRY,INTERESTS,SIGNED_UP"
        user_rows.extend(lines[1:])
    assert sorted(user_rows) == ["u1,31,FR,tea|hats,1600000000", "u2,45,DE,,1600000000", "u3,,,ünï,1600000000"]
    assert manifest["readiness"]["passed"] is True
    assert json.loads(open(layout.latest_path(str(workspace / "out"))).read())["run_id"] == summary.run_id
    params = json.loads((workspace / "params.json").read_text())
    assert params["export"] == {"manifest_uri": os.path.abspath(summary.manifest_uri), "run_id": summary.run_id}
    text = summary.format()
    assert "readiness: PASSED" in text and "rejected invalid_number" in text and summary.run_id in text
    # Personalize's minimums are shown even when they pass.
    shown = [line.split(":")[0].strip() for line in text.splitlines() if line.strip().startswith("[ok]")]
    assert shown == ["[ok] min_interactions", "[ok] min_users", "[ok] min_users_share"]

    # A second run whose data cannot meet the minimums: fails naming the rule, moves nothing.
    thin = _spec()
    thin["run"]["readiness"] = {"min_interactions": 1000, "min_users": 25}
    (workspace / "thin.json").write_text(json.dumps(thin))
    (workspace / "params.json").unlink()
    with pytest.raises(ReadinessFailed) as failure:
        _run(spark, workspace, workspace / "thin.json", [])
    assert "min_interactions" in str(failure.value) and "min_users" in str(failure.value)
    assert "readiness: FAILED" in failure.value.summary.format()
    assert json.loads(open(layout.latest_path(str(workspace / "out"))).read())["run_id"] == summary.run_id
    assert os.path.isfile(summary.manifest_uri)  # the previous good export is still there
    assert not (workspace / "params.json").exists()
