"""The fake Personalize imports and deletes as the service documents it
(local_pipeline.fake_imports): replace by ID, identical interactions kept once,
INCREMENTAL only after an ACTIVE FULL import, FULL replaces everything, the
per-job size limits and record minimum, data deletion jobs and their states."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_pipeline import fake_imports
from local_pipeline.fake_personalize import FakePersonalize, SimClock

REGION = "us-east-1"
GROUP = "arn:aws:personalize:us-east-1:123456789012:dataset-group/g"
INTERACTIONS_HEADER = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"
SCHEMA_FIELDS = {
    "Interactions": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                     {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"}],
    "Items": [{"name": "ITEM_ID", "type": "string"}, {"name": "CATEGORY", "type": ["null", "string"], "categorical": True}],
    "Users": [{"name": "USER_ID", "type": "string"}, {"name": "SEGMENT", "type": ["null", "string"], "categorical": True}],
}


def interactions(n: int, start: int = 0, user=lambda i: f"u{i % 30}") -> str:
    return INTERACTIONS_HEADER + "\n" + "".join(f"{user(i)},i{i % 7},{1_700_000_000 + i},buy\n" for i in range(start, start + n))


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        fake = FakePersonalize(clock=SimClock(), s3_client=s3, durations={"dataset_import_job": 100, "data_deletion_job": 100})
        client = fake.client()
        client.create_dataset_group(name="g")
        fake.clock.advance(1000)
        datasets = {}
        for kind, fields in SCHEMA_FIELDS.items():
            schema = client.create_schema(name=kind.lower(), schema=json.dumps({"type": "record", "name": kind, "fields": fields}))["schemaArn"]
            datasets[kind.upper()] = client.create_dataset(name=kind.lower(), schemaArn=schema, datasetGroupArn=GROUP, datasetType=kind)["datasetArn"]
        fake.clock.advance(1000)
        yield fake, client, s3, datasets


# Under the local harness's export root (tests/iam binds it to the deployed one), where
# the Personalize role reads the export runs.
BUCKET = "personalize-data"
RUN_FOLDER = "personalize/exports/20240101T000000Z-0a1b2c/"


def put(s3, key: str, text: str) -> str:
    s3.put_object(Bucket=BUCKET, Key=RUN_FOLDER + key, Body=text.encode("utf-8"))
    return f"s3://{BUCKET}/{RUN_FOLDER}{key}"


def run_import(fake, client, dataset_arn: str, location: str, mode: str, name: str) -> dict:
    arn = client.create_dataset_import_job(jobName=name, datasetArn=dataset_arn, dataSource={"dataLocation": location},
                                           roleArn="arn:aws:iam::123456789012:role/p", importMode=mode)["datasetImportJobArn"]
    fake.clock.advance(1000)
    return client.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]


def content(fake, kind: str):
    return fake.dataset_content(GROUP, kind)


def test_incremental_is_refused_until_a_full_import_is_active(world):
    fake, client, s3, datasets = world
    location = put(s3, "d1/part.csv", interactions(1200))
    with pytest.raises(ClientError) as info:
        run_import(fake, client, datasets["INTERACTIONS"], location, "INCREMENTAL", "first")
    assert info.value.response["Error"]["Code"] == "InvalidInputException"
    assert "you can only specify FULL" in info.value.response["Error"]["Message"]
    # A FULL import still running does not count either.
    client.create_dataset_import_job(jobName="base", datasetArn=datasets["INTERACTIONS"], dataSource={"dataLocation": location},
                                     roleArn="arn:aws:iam::123456789012:role/p", importMode="FULL")
    with pytest.raises(ClientError):
        run_import(fake, client, datasets["INTERACTIONS"], location, "INCREMENTAL", "too-early")
    fake.clock.advance(1000)
    assert run_import(fake, client, datasets["INTERACTIONS"], put(s3, "d2/part.csv", interactions(1000, start=5000)),
                      "INCREMENTAL", "delta")["status"] == "ACTIVE"


def test_identical_interactions_are_kept_once_and_others_added(world):
    fake, client, s3, datasets = world
    assert run_import(fake, client, datasets["INTERACTIONS"], put(s3, "base/part.csv", interactions(1200)), "FULL", "base")["status"] == "ACTIVE"
    # 200 rows identical to the base's last 200, 1,000 new; one row differing only in EVENT_TYPE is another event.
    delta = interactions(1200, start=1000) + "u0,i0,1700000000,view\n"
    assert run_import(fake, client, datasets["INTERACTIONS"], put(s3, "delta/part.csv", delta), "INCREMENTAL", "delta")["status"] == "ACTIVE"
    rows = list(content(fake, "INTERACTIONS").records.values())
    assert len(rows) == 1200 + 1000 + 1
    data = fake._dataset_data(GROUP, "INTERACTIONS")
    assert len(data) == 1 and data[0].decode().splitlines()[0] == INTERACTIONS_HEADER


def test_items_and_users_are_replaced_by_id(world):
    fake, client, s3, datasets = world
    run_import(fake, client, datasets["ITEMS"], put(s3, "items/a.csv", "ITEM_ID,CATEGORY\ni1,a\ni2,b\ni3,c\n"), "FULL", "items-base")
    run_import(fake, client, datasets["ITEMS"], put(s3, "items-delta/a.csv", "ITEM_ID,CATEGORY\ni2,B\ni4,d\n"), "INCREMENTAL", "items-delta")
    items = content(fake, "ITEMS").records
    assert {k: v["CATEGORY"] for k, v in items.items()} == {"i1": "a", "i2": "B", "i3": "c", "i4": "d"}
    run_import(fake, client, datasets["USERS"], put(s3, "users/a.csv", "USER_ID,SEGMENT\nu1,x\n"), "FULL", "users-base")
    run_import(fake, client, datasets["USERS"], put(s3, "users-delta/a.csv", "USER_ID,SEGMENT\nu1,y\n"), "INCREMENTAL", "users-delta")
    assert {k: v["SEGMENT"] for k, v in content(fake, "USERS").records.items()} == {"u1": "y"}


def test_full_replaces_everything(world):
    fake, client, s3, datasets = world
    run_import(fake, client, datasets["ITEMS"], put(s3, "items/a.csv", "ITEM_ID,CATEGORY\ni1,a\ni2,b\n"), "FULL", "one")
    run_import(fake, client, datasets["ITEMS"], put(s3, "items2/a.csv", "ITEM_ID,CATEGORY\ni9,z\n"), "FULL", "two")
    assert list(content(fake, "ITEMS").records) == ["i9"]


def test_every_import_job_needs_1000_interaction_records(world):
    fake, client, s3, datasets = world
    small = run_import(fake, client, datasets["INTERACTIONS"], put(s3, "small/part.csv", interactions(999)), "FULL", "small")
    assert small["status"] == "CREATE FAILED" and "999 item interaction records, under the minimum of 1000" in small["failureReason"]
    run_import(fake, client, datasets["INTERACTIONS"], put(s3, "base/part.csv", interactions(1000)), "FULL", "base")
    delta = run_import(fake, client, datasets["INTERACTIONS"], put(s3, "delta/part.csv", interactions(10, start=9000)), "INCREMENTAL", "delta")
    assert delta["status"] == "CREATE FAILED" and "INCREMENTAL" in delta["failureReason"]
    # Items carry no such minimum.
    assert run_import(fake, client, datasets["ITEMS"], put(s3, "items/a.csv", "ITEM_ID,CATEGORY\ni1,a\n"), "FULL", "items")["status"] == "ACTIVE"
    assert len(content(fake, "INTERACTIONS").records) == 1000


def test_an_incremental_import_needs_1000_new_interaction_records(world):
    fake, client, s3, datasets = world
    run_import(fake, client, datasets["INTERACTIONS"], put(s3, "base/part.csv", interactions(1200)), "FULL", "base")
    # 1,100 records, of which 150 repeat the base's last 150: 950 new.
    short = run_import(fake, client, datasets["INTERACTIONS"], put(s3, "short/part.csv", interactions(1100, start=1050)),
                       "INCREMENTAL", "short")
    assert short["status"] == "CREATE FAILED"
    assert "950 new item interaction records (1100 in all), under the minimum of 1000 new records" in short["failureReason"]
    # Identical records inside the job count once: 1,000 new records written twice are 1,000.
    doubled = interactions(1000, start=5000) + interactions(1000, start=5000).split("\n", 1)[1]
    assert run_import(fake, client, datasets["INTERACTIONS"], put(s3, "enough/part.csv", doubled), "INCREMENTAL", "enough")["status"] == "ACTIVE"
    assert len(content(fake, "INTERACTIONS").records) == 2200


def test_size_limits_per_import_mode(world, monkeypatch):
    fake, client, s3, datasets = world
    base = put(s3, "base/part.csv", interactions(1200))
    size = s3.head_object(Bucket=BUCKET, Key=RUN_FOLDER + "base/part.csv")["ContentLength"]
    # The quotas scaled down to this file's size: FULL may read it, INCREMENTAL not.
    monkeypatch.setattr(fake_imports, "MAX_IMPORT_BYTES", {"FULL": size, "INCREMENTAL": size - 1})
    assert run_import(fake, client, datasets["INTERACTIONS"], base, "FULL", "base")["status"] == "ACTIVE"
    too_big = run_import(fake, client, datasets["INTERACTIONS"], base, "INCREMENTAL", "delta")
    assert too_big["status"] == "CREATE FAILED"
    assert f"over the maximum of {size - 1} bytes for a dataset import job with INCREMENTAL import mode" in too_big["failureReason"]


class _Sized:
    """Stands for an object of ``n`` bytes without holding them: only its size is read first."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def test_one_gb_is_read_as_the_smaller_10_to_the_9_bytes():
    # The service does not say which "1 GB" it means: the fake refuses under either reading.
    over = fake_imports.ImportsMixin._import_problem("INTERACTIONS", "INCREMENTAL", "s3://b/d/", [_Sized(10**9 + 1)], None)
    assert over is not None and "over the maximum of 1000000000 bytes" in over
    full = fake_imports.ImportsMixin._import_problem("INTERACTIONS", "FULL", "s3://b/d/", [_Sized(100 * 10**9 + 1)], None)
    assert full is not None and "over the maximum of 100000000000 bytes" in full


def test_data_deletion_job_states_and_effect(world):
    fake, client, s3, datasets = world
    run_import(fake, client, datasets["INTERACTIONS"], put(s3, "base/part.csv", interactions(1200)), "FULL", "base")
    run_import(fake, client, datasets["USERS"], put(s3, "users/a.csv", "USER_ID,SEGMENT\nu1,x\nu2,y\nu3,z\n"), "FULL", "users")
    location = put(s3, "gone.csv", "USER_ID\nu1\nu2\n")
    arn = client.create_data_deletion_job(jobName="gone", datasetGroupArn=GROUP, dataSource={"dataLocation": location},
                                          roleArn="arn:aws:iam::123456789012:role/p")["dataDeletionJobArn"]
    assert arn == "arn:aws:personalize:us-east-1:123456789012:data-deletion-job/gone"
    seen = []
    for _ in range(3):
        job = client.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
        seen.append(job["status"])
        if job["status"] != "COMPLETED":
            # Until it completes, the users are still there.
            assert any(r["USER_ID"] == "u1" for r in content(fake, "INTERACTIONS").records.values())
        fake.clock.advance(50)
    assert seen == ["PENDING", "IN_PROGRESS", "COMPLETED"]
    # numDeleted counts records: u1's and u2's 40 interactions each, and their two user records.
    assert client.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]["numDeleted"] == 40 + 40 + 2
    assert not any(r["USER_ID"] in ("u1", "u2") for r in content(fake, "INTERACTIONS").records.values())
    assert list(content(fake, "USERS").records) == ["u3"]
    assert [j["status"] for j in client.list_data_deletion_jobs(datasetGroupArn=GROUP)["dataDeletionJobs"]] == ["COMPLETED"]
    # A later import brings a deleted user back: deletion is not a filter.
    run_import(fake, client, datasets["USERS"], put(s3, "users2/a.csv", "USER_ID,SEGMENT\nu1,back\n"), "INCREMENTAL", "users-again")
    assert sorted(content(fake, "USERS").records) == ["u1", "u3"]


def test_data_deletion_input_rules(world):
    fake, client, s3, _ = world
    role = "arn:aws:iam::123456789012:role/p"
    bad = put(s3, "bad.csv", "USER_ID,REASON\nu1,erasure\n")
    arn = client.create_data_deletion_job(jobName="bad", datasetGroupArn=GROUP, dataSource={"dataLocation": bad}, roleArn=role)["dataDeletionJobArn"]
    fake.clock.advance(1000)
    job = client.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
    assert job["status"] == "FAILED" and "single USER_ID column" in job["failureReason"]
    # At most 5 jobs PENDING per dataset group.
    good = put(s3, "good.csv", "USER_ID\nu1\n")
    for i in range(5):
        client.create_data_deletion_job(jobName=f"j{i}", datasetGroupArn=GROUP, dataSource={"dataLocation": good}, roleArn=role)
    with pytest.raises(ClientError) as info:
        client.create_data_deletion_job(jobName="j6", datasetGroupArn=GROUP, dataSource={"dataLocation": good}, roleArn=role)
    assert info.value.response["Error"]["Code"] == "LimitExceededException"
    fake.clock.advance(50)  # they are IN_PROGRESS now: a sixth may be created
    client.create_data_deletion_job(jobName="j6", datasetGroupArn=GROUP, dataSource={"dataLocation": good}, roleArn=role)


def test_an_import_must_match_the_dataset_schema(world):
    fake, client, s3, datasets = world
    rows = interactions(1200).split("\n", 1)[1]

    def failure(name: str, text: str, dataset: str = "INTERACTIONS") -> str:
        job = run_import(fake, client, datasets[dataset], put(s3, f"{name}/part.csv", text), "FULL", name)
        assert job["status"] == "CREATE FAILED"
        return job["failureReason"]

    no_timestamp = "USER_ID,ITEM_ID,EVENT_TYPE\n" + "".join(f"u{i % 30},i{i},buy\n" for i in range(1200))
    assert failure("no-timestamp", no_timestamp).startswith("Input CSV is missing the following columns:[TIMESTAMP]")
    extra = INTERACTIONS_HEADER + ",PRICE\n" + rows.replace("buy\n", "buy,1\n")
    assert "not in the dataset's schema:[PRICE]" in failure("extra", extra)
    iso_time = INTERACTIONS_HEADER + "\n" + rows + "u1,i1,2024-01-01T00:00:00Z,buy\n"
    assert "line 1202, column TIMESTAMP: the value '2024-01-01T00:00:00Z' is not a value of type long" in failure("iso", iso_time)
    empty_user = INTERACTIONS_HEADER + "\n" + ",i1,1700000000,buy\n" + rows
    assert "line 2, column USER_ID: the value is empty, and its type string does not allow null" in failure("empty", empty_user)
    short_row = INTERACTIONS_HEADER + "\n" + rows + "u1,i1\n"
    assert "line 1202: 2 values for the header's 4 columns" in failure("short", short_row)
    long_category = "ITEM_ID,CATEGORY\ni1," + "x" * 1001 + "\n"
    assert "categorical value of 1001 characters, over the maximum of 1000" in failure("long", long_category, "ITEMS")
    # A nullable field may be empty, columns may come in any order, and a failed import leaves nothing behind.
    assert run_import(fake, client, datasets["ITEMS"], put(s3, "ok/a.csv", "CATEGORY,ITEM_ID\n,i1\nshoes,i2\n"), "FULL", "ok")["status"] == "ACTIVE"
    assert content(fake, "INTERACTIONS").records == {}


def test_a_location_is_one_object_or_a_folder_named_with_a_slash(world):
    fake, client, s3, datasets = world
    put(s3, "run1/part.csv", interactions(1000))
    put(s3, "run10/part.csv", interactions(1000, start=5000))
    folder = f"s3://{BUCKET}/{RUN_FOLDER}run1"
    # Without the slash, run1 names an object, not the folder (nor run10/).
    job = run_import(fake, client, datasets["INTERACTIONS"], folder, "FULL", "no-slash")
    assert job["status"] == "CREATE FAILED" and job["failureReason"].startswith(f"Invalid Data location: {folder} is no object")
    assert run_import(fake, client, datasets["INTERACTIONS"], folder + "/", "FULL", "folder")["status"] == "ACTIVE"
    assert len(content(fake, "INTERACTIONS").records) == 1000
    assert run_import(fake, client, datasets["INTERACTIONS"], folder + "0/part.csv", "FULL", "one-file")["status"] == "ACTIVE"
    assert min(int(r["TIMESTAMP"]) for r in content(fake, "INTERACTIONS").records.values()) == 1_700_005_000


def test_a_dataset_group_takes_a_role_only_with_a_kms_key(world):
    _, client, _, _ = world
    with pytest.raises(ClientError) as info:
        client.create_dataset_group(name="role-only", roleArn="arn:aws:iam::123456789012:role/p")
    assert info.value.response["Error"]["Code"] == "InvalidInputException"
    assert "only valid when kmsKeyArn is given" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        client.create_dataset_group(name="key-only", kmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/k")


def test_a_deletion_file_is_read_as_csv_with_one_column(world):
    fake, client, s3, datasets = world
    role = "arn:aws:iam::123456789012:role/p"
    run_import(fake, client, datasets["USERS"], put(s3, "users/a.csv", "USER_ID,SEGMENT\nu1,x\nu2,y\nu3,z\n"), "FULL", "users")

    def deletion(name: str, text: str) -> dict:
        location = put(s3, f"{name}.csv", text)
        arn = client.create_data_deletion_job(jobName=name, datasetGroupArn=GROUP, dataSource={"dataLocation": location},
                                              roleArn=role)["dataDeletionJobArn"]
        fake.clock.advance(1000)
        return client.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]

    two_values = deletion("two-values", "USER_ID\nu3\nu1,erasure\n")
    assert two_values["status"] == "FAILED" and "line 3 has 2 values" in two_values["failureReason"]
    assert sorted(content(fake, "USERS").records) == ["u1", "u2", "u3"]
    # A quoted ID is the ID; IDs the datasets do not hold delete nothing and count nothing.
    quoted = deletion("quoted", 'USER_ID\n"u2"\nnobody\n')
    assert quoted["status"] == "COMPLETED" and quoted["numDeleted"] == 1
    assert sorted(content(fake, "USERS").records) == ["u1", "u3"]
