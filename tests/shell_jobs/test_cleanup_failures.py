"""Retention when a deletion fails: S3's per-key refusals are errors, and a run whose
deletion stopped partway keeps its manifest, so the next cleanup finishes it (no Spark)."""
from __future__ import annotations

import contextlib
import os

import pytest
from export_fixtures import write_good_export

from personalize_export import layout
from personalize_export.finalize import build_manifest, cleanup
from personalize_export.storage import DeletionFailed, Storage, join

RUNS = ["20240101T000000Z-aaaaaa", "20240102T000000Z-bbbbbb", "20240103T000000Z-cccccc"]


class RefusingS3:
    """An S3 client whose DeleteObjects refuses the keys holding ``part`` as S3 does:
    a 200 answer listing them in ``Errors``, the other keys deleted."""

    def __init__(self, client, part):
        self._client, self._part = client, part

    def __getattr__(self, name):
        return getattr(self._client, name)

    def delete_objects(self, Bucket, Delete):
        refused = [o for o in Delete["Objects"] if self._part in o["Key"]]
        accepted = [o for o in Delete["Objects"] if self._part not in o["Key"]]
        if accepted:
            self._client.delete_objects(Bucket=Bucket, Delete={**Delete, "Objects": accepted})
        return {"Errors": [{"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"} for o in refused]}


@pytest.fixture(params=["local", "s3"])
def place(request, tmp_path):
    """(storage, export root, a context giving a storage that cannot delete objects under ``part``)."""
    if request.param == "local":
        @contextlib.contextmanager
        def refusing(part):
            real_remove = os.remove

            def remove(path):
                if part in path:
                    raise PermissionError(13, "Permission denied", path)
                real_remove(path)

            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(os, "remove", remove)
                yield Storage()

        yield Storage(), str(tmp_path / "root"), refusing, PermissionError
    else:
        s3 = request.getfixturevalue("aws")["s3"]
        yield Storage(s3), "s3://data/root", lambda part: contextlib.nullcontext(Storage(RefusingS3(s3, part))), DeletionFailed


def _successful_runs(storage, root, spec):
    for run_id in RUNS:
        write_good_export(storage, root, run_id, spec)
        storage.write_json(layout.manifest_path(root, run_id), build_manifest(spec, root, run_id, storage))
        storage.write_text(join(layout.rejected_prefix(root, run_id, "interactions"), "part-0.json"), "{}\n")
    storage.write_json(layout.latest_path(root), {"run_id": RUNS[-1]})


def test_s3_refusals_name_the_keys_and_codes_and_the_rest_is_deleted(aws):
    storage = Storage(RefusingS3(aws["s3"], "/locked/"))
    keys = ["bulk/locked/%d.csv" % n for n in range(7)] + ["bulk/free.csv"]
    for key in keys:
        aws["s3"].put_object(Bucket="data", Key=key, Body=b"")
    with pytest.raises(DeletionFailed) as failure:
        storage.delete_prefix("s3://data/bulk")
    message = str(failure.value)
    assert message.startswith("S3 did not delete 7 of 8 objects in bucket data: bulk/locked/0.csv (AccessDenied: Access "
                              "Denied), bulk/locked/1.csv"), message
    assert message.endswith("and 2 more") and "bulk/locked/5.csv" not in message
    assert Storage(aws["s3"]).list_files("s3://data/bulk") == ["s3://data/" + key for key in keys[:7]]


def test_the_manifest_is_deleted_last(place):
    storage, root, refusing, error = place
    run_dir = join(root, "exports", RUNS[0])
    for name in ("a.csv", layout.MANIFEST, "reports/z.json"):
        storage.write_text(join(run_dir, name), "x\n")
    with refusing("/reports/") as failing, pytest.raises(error):
        failing.delete_prefix(run_dir, last=layout.MANIFEST)
    assert storage.list_files(run_dir) == [join(run_dir, layout.MANIFEST), join(run_dir, "reports/z.json")]
    assert storage.delete_prefix(run_dir, last=layout.MANIFEST) == 2
    assert storage.list_files(run_dir) == []


def test_a_run_whose_deletion_fails_is_not_reported_deleted_and_the_next_cleanup_finishes_it(place, spec):
    storage, root, refusing, error = place
    _successful_runs(storage, root, spec)
    with refusing("/schemas/") as failing, pytest.raises(error, match=RUNS[0] + "/schemas/"):
        cleanup(failing, root, keep=1, current_run_id=RUNS[-1])
    # Still a successful export (its manifest is there): retention deletes it again.
    left = storage.list_files(layout.run_root(root, RUNS[0]))
    assert layout.manifest_path(root, RUNS[0]) in left and any("/schemas/" in uri for uri in left)
    assert storage.exists(layout.manifest_path(root, RUNS[1]))
    assert cleanup(storage, root, keep=1, current_run_id=RUNS[-1]) == RUNS[:2]
    # (Files, not folders: moto still lists a prefix whose objects have delete markers.)
    for run_id in RUNS[:2]:
        assert storage.list_files(layout.run_root(root, run_id)) == []
        assert storage.list_files(layout.rejected_run_root(root, run_id)) == []
    assert storage.exists(layout.manifest_path(root, RUNS[2]))
