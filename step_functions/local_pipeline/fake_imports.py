"""Dataset imports and data deletion jobs of the fake Personalize, as the service
documents them.

Imports (https://docs.aws.amazon.com/personalize/latest/dg/bulk-data-import.html,
https://docs.aws.amazon.com/personalize/latest/dg/API_CreateDatasetImportJob.html):

- FULL "overwrite[s] all existing bulk data in your dataset"; INCREMENTAL
  appends: "If you import an item, user, or action with the same ID as a record
  that's already in your dataset, Amazon Personalize replaces it with the new
  record. If you record two item interaction or action interaction events with
  exactly the same timestamp and identical properties, Amazon Personalize keeps
  only one of the events.";
- "If you haven't imported bulk records into the dataset previously, you can
  only specify FULL": INCREMENTAL is refused until a FULL import is ACTIVE;
- the quotas (https://docs.aws.amazon.com/personalize/latest/dg/limits.html):
  "Maximum amount of bulk ... data per dataset import job with FULL import
  mode: 100 GB", "... with INCREMENTAL import mode: 1 GB", and "Minimum number
  of item interactions records per dataset import job with FULL or INCREMENTAL
  import mode: 1000". An INCREMENTAL job counts only new records: "To append
  data to an Item interactions dataset ... with a dataset import job, you must
  have at minimum 1000 new item interaction ... records"
  (https://docs.aws.amazon.com/personalize/latest/dg/updating-datasets.html);
  records identical to one the dataset holds are not new. A job that breaks
  them ends CREATE FAILED with the reason;
- every object must match the dataset's schema: "Input CSV is missing the
  following columns:[COLUMN_NAME, COLUMN_NAME]" and "The data that you import
  into Amazon Personalize, including attribute names and data types, must match
  the destination dataset's schema"
  (https://docs.aws.amazon.com/personalize/latest/dg/error-messages.html); only
  a field whose type allows null may be empty ("Depending on your schema,
  interaction metadata can include empty/null values",
  https://docs.aws.amazon.com/personalize/latest/dg/interactions-dataset-requirements.html);
  "Categorical values can have at most 1000 characters ... your dataset import
  job will fail" (same page);
- the location is one object or a folder: "s3://amzn-s3-demo-bucket/<folder
  path>/<CSVfilename>", or the same "without the CSV file name" for every file
  of a folder, else "Invalid Data location" (error-messages.html); a folder is
  named "with a / after the folder name" (botocore's DataSource.dataLocation).

Data deletion jobs (https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html,
https://docs.aws.amazon.com/personalize/latest/dg/API_CreateDataDeletionJob.html):
a CSV with a single USER_ID column; at most 5 jobs PENDING per dataset group;
input at most 100 MB; PENDING > IN_PROGRESS > COMPLETED -or- FAILED; once
COMPLETED the users' interactions and user records are gone from the datasets,
and numDeleted is "The number of records deleted by a COMPLETED job" (botocore's
DataDeletionJob shape), not the number of user IDs in the file.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

# The service does not say whether its "1 GB" is 10^9 or 2^30 bytes: the fake takes
# the smaller reading, so it refuses whatever the service could refuse.
MAX_IMPORT_BYTES = {"FULL": 100 * 10**9, "INCREMENTAL": 10**9}
MIN_INTERACTION_RECORDS_PER_JOB = 1000
MAX_CATEGORICAL_CHARACTERS = 1000
MAX_DELETION_INPUT_BYTES = 100 * 10**6
MAX_PENDING_DELETIONS_PER_GROUP = 5
ID_FIELDS = {"ITEMS": "ITEM_ID", "USERS": "USER_ID"}
DELETION_STATUS = {"CREATE PENDING": "PENDING", "CREATE IN_PROGRESS": "IN_PROGRESS", "ACTIVE": "COMPLETED", "CREATE FAILED": "FAILED"}


# Schema data types (https://docs.aws.amazon.com/personalize/latest/dg/how-it-works-dataset-schema.html):
# how a CSV value of each Avro type is written.
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


def _parses_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


VALUE_CHECKS = {
    "int": lambda text: bool(_INTEGER.match(text)) and -2**31 <= int(text) < 2**31,
    "long": lambda text: bool(_INTEGER.match(text)) and -2**63 <= int(text) < 2**63,
    "float": _parses_as_float,
    "double": _parses_as_float,
    "boolean": lambda text: text.lower() in ("true", "false"),
    "string": lambda text: True,
}


def value_problem(field: dict, text: str) -> Optional[str]:
    """Why Personalize cannot import ``text`` as a value of the schema field ``field``."""
    types = field["type"] if isinstance(field["type"], list) else [field["type"]]
    if text == "":
        return None if "null" in types else f"is empty, and its type {field['type']} does not allow null"
    value_types = [t for t in types if t != "null"]
    if not any(VALUE_CHECKS.get(t, lambda _: True)(text) for t in value_types):
        return f"{text[:40]!r} is not a value of type {field['type']}"
    if field.get("categorical") and len(text) > MAX_CATEGORICAL_CHARACTERS:
        return f"is a categorical value of {len(text)} characters, over the maximum of {MAX_CATEGORICAL_CHARACTERS}"
    return None


def schema_problem(schema_text: str, objects: list[tuple[str, bytes]]) -> Optional[str]:
    """Why the CSV objects do not match the dataset's schema (None when they do)."""
    fields = {f["name"]: f for f in json.loads(schema_text)["fields"]}
    for key, blob in objects:
        rows = csv.reader(io.StringIO(blob.decode("utf-8")))
        header = next(rows, [])
        missing = [name for name in fields if name not in header]
        if missing:
            return f"Input CSV is missing the following columns:[{', '.join(missing)}] ({key})"
        unknown = [name for name in header if name not in fields]
        if unknown:
            return f"Input CSV has columns that are not in the dataset's schema:[{', '.join(unknown)}] ({key})"
        for line, row in enumerate(rows, start=2):
            if len(row) != len(header):
                return f"{key}, line {line}: {len(row)} values for the header's {len(header)} columns"
            for name, text in zip(header, row):
                problem = value_problem(fields[name], text)
                if problem:
                    return f"{key}, line {line}, column {name}: the value {problem}"
    return None


def nothing_at(location: str, empty_folder: str) -> str:
    """Why a job found no object at ``location``: an empty folder, or no such object."""
    if location.endswith("/"):
        return f"{empty_folder}: no objects under {location}"
    return f"Invalid Data location: {location} is no object (a folder is named with a / after its name)"


def read_records(blobs: list[bytes]) -> tuple[list[str], list[dict[str, str]]]:
    """Every record of the CSV objects, each read by its own header."""
    fields: list[str] = []
    records: list[dict[str, str]] = []
    for blob in blobs:
        reader = csv.DictReader(io.StringIO(blob.decode("utf-8")))
        for name in reader.fieldnames or []:
            if name not in fields:
                fields.append(name)
        records.extend(dict(row) for row in reader)
    return fields, records


@dataclass
class DatasetContent:
    """What a dataset holds: records keyed by identity (the ID for items and
    users, the whole record for interactions), in insertion order."""

    dataset_type: str
    fields: list[str] = field(default_factory=list)
    records: dict[Any, dict[str, str]] = field(default_factory=dict)

    def key(self, record: dict[str, str]) -> Any:
        id_field = ID_FIELDS.get(self.dataset_type)
        if id_field is not None:
            return record.get(id_field)
        return tuple(sorted((k, v) for k, v in record.items() if v not in (None, "")))

    def apply_import(self, mode: str, blobs: list[bytes]) -> None:
        fields, records = read_records(blobs)
        if mode == "FULL":
            self.fields, self.records = [], {}
        for name in fields:
            if name not in self.fields:
                self.fields.append(name)
        for record in records:
            key = self.key(record)
            self.records.pop(key, None)  # a replaced record takes the newer one's place
            self.records[key] = record

    def delete_users(self, user_ids: set[str]) -> int:
        """Remove the users' records (their interactions, or their user record); returns how many."""
        doomed = [k for k, r in self.records.items() if r.get("USER_ID") in user_ids]
        for key in doomed:
            del self.records[key]
        return len(doomed)

    def as_csv(self) -> list[bytes]:
        if not self.records:
            return []
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.fields, lineterminator="\n")
        writer.writeheader()
        for record in self.records.values():
            writer.writerow({k: record.get(k, "") for k in self.fields})
        return [out.getvalue().encode("utf-8")]


class ImportsMixin:
    """CreateDatasetImportJob, the dataset contents the trainer reads, and the
    data deletion jobs, for FakePersonalize (which provides _new, _get,
    _status, _view, _require_active, _read_csv_objects, resources, clock, s3)."""

    # ------------------------------------------------------------ imports
    def _create_dataset_import_job(self, p: dict) -> dict:
        from .fake_personalize import MAX_PENDING_IMPORTS, FakeError

        dataset = self._require_active(p["datasetArn"], "dataset")
        mode = p.get("importMode", "FULL")
        jobs = [r for r in self.resources.values() if r.kind == "dataset_import_job"]
        if mode == "INCREMENTAL" and not any(j.fields["datasetArn"] == dataset.arn and j.fields["importMode"] == "FULL"
                                             and self._status(j) == "ACTIVE" for j in jobs):
            raise FakeError("InvalidInputException", "If you haven't imported bulk records into the dataset previously, "
                                                      "you can only specify FULL")
        pending = [j for j in jobs if self._status(j) in ("CREATE PENDING", "CREATE IN_PROGRESS")]
        if len(pending) >= MAX_PENDING_IMPORTS:
            raise FakeError("LimitExceededException", f"{len(pending)} dataset import jobs are already pending")
        arn = self._arn("dataset-import-job", p["jobName"])
        objects = self._read_csv_objects(p["dataSource"]["dataLocation"])
        blobs = [blob for _, blob in objects]
        res = self._new("dataset_import_job", arn, {
            "jobName": p["jobName"], "datasetImportJobArn": arn, "datasetArn": p["datasetArn"],
            "dataSource": p["dataSource"], "roleArn": p.get("roleArn"), "importMode": mode,
        })
        if res.failure_reason is None:
            held = self.dataset_content(dataset.fields["datasetGroupArn"], dataset.fields["datasetType"]) if mode == "INCREMENTAL" else None
            schema = self._get(self._view(dataset, record=False)["schemaArn"], "schema").fields["schema"]
            # The sizes first: an object over the limit is refused without being parsed.
            res.failure_reason = (self._import_problem(dataset.fields["datasetType"], mode, p["dataSource"]["dataLocation"], blobs, held)
                                  or schema_problem(schema, objects))
        res.fields["_data"] = blobs
        return {"datasetImportJobArn": arn}

    @staticmethod
    def _import_problem(dataset_type: str, mode: str, location: str, blobs: list[bytes],
                        held: Optional[DatasetContent]) -> Optional[str]:
        if not blobs:
            return nothing_at(location, "Input CSV has no data")
        size = sum(len(b) for b in blobs)
        if size > MAX_IMPORT_BYTES[mode]:
            return (f"The data under {location} is {size} bytes, over the maximum of {MAX_IMPORT_BYTES[mode]} bytes "
                    f"for a dataset import job with {mode} import mode")
        if dataset_type == "INTERACTIONS":
            _, records = read_records(blobs)
            if len(records) < MIN_INTERACTION_RECORDS_PER_JOB:
                return (f"The import has {len(records)} item interaction records, under the minimum of "
                        f"{MIN_INTERACTION_RECORDS_PER_JOB} per dataset import job with FULL or INCREMENTAL import mode")
            if held is not None:
                new = {held.key(record) for record in records} - held.records.keys()
                if len(new) < MIN_INTERACTION_RECORDS_PER_JOB:
                    return (f"The import has {len(new)} new item interaction records ({len(records)} in all), under the "
                            f"minimum of {MIN_INTERACTION_RECORDS_PER_JOB} new records to append with INCREMENTAL import mode")
        return None

    def dataset_content(self, group_arn: str, dataset_type: str, deleted: Optional[Counter] = None) -> DatasetContent:
        """The dataset's content now: its ACTIVE imports and COMPLETED data
        deletion jobs replayed in the order they finished. ``deleted`` counts the
        records each deletion job removed, by its ARN."""
        content = DatasetContent(dataset_type)
        dataset_arn = next((r.arn for r in self.resources.values() if r.kind == "dataset"
                            and r.fields["datasetGroupArn"] == group_arn and r.fields["datasetType"] == dataset_type), None)
        if dataset_arn is None:
            return content
        events = [(r.ready_at, 0, r) for r in self.resources.values()
                  if r.kind == "dataset_import_job" and r.fields["datasetArn"] == dataset_arn and self._status(r) == "ACTIVE"]
        events += [(r.ready_at, 1, r) for r in self.resources.values()
                   if r.kind == "data_deletion_job" and r.fields["datasetGroupArn"] == group_arn and self._status(r) == "ACTIVE"]
        for _, _, res in sorted(events, key=lambda e: (e[0], e[1], e[2].created_at)):
            if res.kind == "dataset_import_job":
                content.apply_import(res.fields["importMode"], res.fields["_data"])
            else:
                removed = content.delete_users(res.fields["_users"])
                if deleted is not None:
                    deleted[res.arn] += removed
        return content

    def _dataset_data(self, group_arn: str, dataset_type: str) -> list[bytes]:
        return self.dataset_content(group_arn, dataset_type).as_csv()

    # ------------------------------------------------------ data deletion
    def _create_data_deletion_job(self, p: dict) -> dict:
        from .fake_personalize import FakeError

        group = self._require_active(p["datasetGroupArn"], "dataset_group")
        pending = [r for r in self.resources.values() if r.kind == "data_deletion_job"
                   and r.fields["datasetGroupArn"] == group.arn and self._data_deletion_status(r) == "PENDING"]
        if len(pending) >= MAX_PENDING_DELETIONS_PER_GROUP:
            raise FakeError("LimitExceededException", f"{len(pending)} data deletion jobs are already pending for {group.arn}")
        arn = self._arn("data-deletion-job", p["jobName"])
        location = p["dataSource"]["dataLocation"]
        blobs = [blob for _, blob in self._read_csv_objects(location)]
        res = self._new("data_deletion_job", arn, {
            "jobName": p["jobName"], "dataDeletionJobArn": arn, "datasetGroupArn": group.arn,
            "dataSource": p["dataSource"], "roleArn": p["roleArn"],
        })
        users, problem = self._deletion_input(location, blobs)
        if res.failure_reason is None:
            res.failure_reason = problem
        res.fields["_users"] = users
        return {"dataDeletionJobArn": arn}

    @staticmethod
    def _deletion_input(location: str, blobs: list[bytes]) -> tuple[set[str], Optional[str]]:
        if sum(len(b) for b in blobs) > MAX_DELETION_INPUT_BYTES:
            return set(), f"The data deletion input under {location} is over the maximum of {MAX_DELETION_INPUT_BYTES} bytes"
        if not blobs:
            return set(), nothing_at(location, "No data deletion input file")
        users: set[str] = set()
        for blob in blobs:
            rows = [row for row in csv.reader(io.StringIO(blob.decode("utf-8"))) if row]
            if not rows or [name.strip() for name in rows[0]] != ["USER_ID"]:
                return set(), f"The data deletion input {location} must be a CSV file with a single USER_ID column"
            for line, row in enumerate(rows[1:], start=2):
                if len(row) != 1:
                    return set(), (f"The data deletion input {location} must be a CSV file with a single USER_ID column: "
                                   f"line {line} has {len(row)} values")
                users.add(row[0].strip())
        return users, None

    def _data_deletion_status(self, res: Any) -> str:
        return DELETION_STATUS[self._status(res)]

    def _data_deletion_view(self, res: Any, record: bool = True) -> dict:
        view = self._view(res, record=record)
        view = {k: v for k, v in view.items() if not k.startswith("_")}
        view["status"] = DELETION_STATUS[view["status"]]
        if view["status"] == "COMPLETED":
            deleted: Counter = Counter()
            for dataset_type in ("INTERACTIONS", "USERS"):
                self.dataset_content(res.fields["datasetGroupArn"], dataset_type, deleted)
            view["numDeleted"] = deleted[res.arn]
        return view

    def _describe_data_deletion_job(self, p: dict) -> dict:
        return {"dataDeletionJob": self._data_deletion_view(self._get(p["dataDeletionJobArn"], "data_deletion_job"))}

    def _list_data_deletion_jobs(self, p: dict) -> dict:
        jobs = [r for r in self.resources.values() if r.kind == "data_deletion_job"
                and r.fields["datasetGroupArn"] == p.get("datasetGroupArn", r.fields["datasetGroupArn"])]
        keys = ("dataDeletionJobArn", "datasetGroupArn", "jobName", "status", "creationDateTime", "lastUpdatedDateTime", "failureReason")
        out = []
        for res in sorted(jobs, key=lambda r: r.created_at, reverse=True):
            view = self._data_deletion_view(res, record=False)
            out.append({k: view[k] for k in keys if view.get(k) is not None})
        return {"dataDeletionJobs": out}
