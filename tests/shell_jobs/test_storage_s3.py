"""The storage helper on local folders and on (moto) S3."""
from __future__ import annotations

import pytest

from personalize_export.storage import Storage, join, relative, split_s3


@pytest.fixture(params=["local", "s3"])
def place(request, tmp_path):
    if request.param == "local":
        yield Storage(), str(tmp_path / "root")
    else:
        aws = request.getfixturevalue("aws")
        yield Storage(aws["s3"]), "s3://data/root"


def test_write_read_list_and_delete(place):
    storage, root = place
    storage.write_json(join(root, "a", "x.json"), {"k": 1})
    storage.write_text(join(root, "a", "b", "y.csv"), "h\n1\n")
    storage.write_text(join(root, "c", "_SUCCESS"), "")
    assert storage.read_json(join(root, "a", "x.json")) == {"k": 1}
    assert storage.read_head(join(root, "a", "b", "y.csv"), 2) == b"h\n"
    assert storage.exists(join(root, "a", "x.json")) and not storage.exists(join(root, "a", "nope.json"))
    assert [relative(p, root) for p in storage.list_files(root)] == ["a/b/y.csv", "a/x.json", "c/_SUCCESS"]
    assert storage.list_children(root) == ["a", "c"]
    assert storage.keep_only(join(root, "c"), ".csv") == [join(root, "c", "_SUCCESS")]
    assert storage.delete_prefix(join(root, "a")) == 2
    assert storage.list_files(root) == []


def test_many_objects_are_deleted_in_batches(aws):
    storage = Storage(aws["s3"])
    for i in range(1005):
        aws["s3"].put_object(Bucket="data", Key="bulk/%04d.csv" % i, Body=b"")
    assert storage.delete_prefix("s3://data/bulk") == 1005
    assert storage.list_files("s3://data/bulk") == []


def test_s3_uri_parsing():
    assert split_s3("s3://bucket/a/b.json") == ("bucket", "a/b.json")
    with pytest.raises(ValueError, match="not an s3"):
        split_s3("/local/path")
    assert join("s3://b/x/", "/y/", "z.json") == "s3://b/x/y/z.json"
