"""CheckDataReadiness over an export chain: a chain folder that is gone (expired,
deleted by hand, a copy of one run only) fails, naming it, instead of counting as empty."""
from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from personalize_pipeline import clients, imports
from personalize_pipeline.errors import TrainingDataNotReady
from personalize_pipeline.readiness import check_readiness

HEADER = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"
BASE_ROWS = ["u1,i1,1,purchase", "u2,i2,2,purchase", "u3,i3,3,purchase", "u1,i2,4,view"]
DELTA_ROWS = ["u2,i1,5,purchase", "u3,i1,6,view"]
# The base r1 and delta r2 are imported; this run r3 is a carried delta (not imported, not read).
ENTRY = {"prefix": "interactions/", "rows": 300, "mode": "INCREMENTAL", "carried": True, "chain_rows": 6, "chain": [
    {"run_id": "r1", "mode": "FULL", "prefix": "../r1/interactions/", "rows": 4, "carried": False},
    {"run_id": "r2", "mode": "INCREMENTAL", "prefix": "../r2/interactions/", "rows": 2, "carried": False},
    {"run_id": "r3", "mode": "INCREMENTAL", "prefix": "interactions/", "rows": 300, "carried": True}]}
RULES = {"minInteractions": 3, "solutions": [{"key": "buys", "eventType": "purchase"}]}


def _summary(manifest_uri: str) -> dict:
    return {"runId": "r3", "readiness": {"passed": True, "checks": []}, "rows": {"interactions": ENTRY["rows"]},
            "chainRows": {"interactions": imports.chain_rows(ENTRY)},
            "interactionsLocations": imports.chain_locations(manifest_uri, ENTRY)}


def _csv(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_a_chain_folder_that_is_gone_fails_readiness_naming_it_and_what_to_do(tmp_path):
    exports = tmp_path / "exports"
    (exports / "r2" / "interactions").mkdir(parents=True)
    (exports / "r2" / "interactions" / "part-00000.csv").write_text(_csv(DELTA_ROWS))
    summary = _summary(str(exports / "r3" / "manifest.json"))
    with pytest.raises(TrainingDataNotReady) as failure:
        check_readiness(summary, RULES)
    message = str(failure.value)
    assert message.startswith(f"run r3: the interactions dataset is to hold the rows of run(s) r1 (the export's chain), "
                              f"but {exports / 'r1' / 'interactions'}/ hold(s) no files (deleted or expired)"), message
    assert "run property export_requested=FULL" in message
    # Counted without the base, the solution's event_type filter is not to blame.
    assert "solutions.buys" not in message
    (exports / "r1" / "interactions").mkdir(parents=True)
    (exports / "r1" / "interactions" / "part-00000.csv").write_text(_csv(BASE_ROWS))
    assert check_readiness(summary, RULES)["perSolution"] == {"buys": 4}


def test_on_s3_a_chain_prefix_without_objects_fails_readiness(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="incr-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(Bucket="incr-data", Key="personalize/exports/r1/interactions/part-00000.csv", Body=_csv(BASE_ROWS).encode())
        # A folder marker is no data file.
        s3.put_object(Bucket="incr-data", Key="personalize/exports/r2/interactions/", Body=b"")
        clients.set_client_factory(lambda service: boto3.client(service, region_name="eu-west-1"))
        try:
            with pytest.raises(TrainingDataNotReady, match=r"rows of run\(s\) r2 \(the export's chain\), but "
                                                           r"s3://incr-data/personalize/exports/r2/interactions/ hold\(s\) no files"):
                check_readiness(_summary("s3://incr-data/personalize/exports/r3/manifest.json"), RULES)
        finally:
            clients.set_client_factory(None)
