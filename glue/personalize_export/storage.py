"""Small-object I/O for both local folders and ``s3://`` URIs.

Manifests, schemas, reports, the ``latest`` pointer and cleanup all go through here, so
an export can live in a local folder or in S3 with the same code. Big data is written
by Spark; this module only lists, reads, writes and deletes objects.

Stdlib only (boto3 is imported lazily for ``s3://``), Python 3.9 compatible.
"""
from __future__ import annotations

import json
import os
import posixpath
import shutil
from typing import Any, Iterator, List, Optional, Tuple


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> Tuple[str, str]:
    if not is_s3(uri):
        raise ValueError("not an s3:// URI: %r" % uri)
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError("s3 URI without a bucket: %r" % uri)
    return bucket, key


def join(base: str, *parts: str) -> str:
    """Join URI/path segments with single slashes (also for local paths)."""
    result = base.rstrip("/")
    for part in parts:
        part = part.strip("/")
        if part:
            result = result + "/" + part
    return result


def relative(path: str, base: str) -> str:
    """``path`` relative to ``base`` (both URIs or both local paths); ``..`` steps up."""
    if is_s3(path) != is_s3(base) or (is_s3(path) and split_s3(path)[0] != split_s3(base)[0]):
        raise ValueError("%r and %r are not in the same bucket or file system" % (path, base))
    strip = (lambda uri: "/" + split_s3(uri)[1]) if is_s3(path) else os.path.abspath
    return posixpath.relpath(strip(path), strip(base.rstrip("/")))


class DeletionFailed(RuntimeError):
    """S3 kept objects a DeleteObjects request named: it answers 200 and lists each
    refused key in ``Errors`` (AccessDenied on a locked or foreign object, InternalError)."""


# How many refused keys a DeletionFailed message names.
REFUSED_KEYS_NAMED = 5


def _s3():
    import boto3  # only S3 URIs need it

    return boto3.client("s3")


class Storage:
    """Read, write, list and delete objects under local paths or ``s3://`` URIs."""

    def __init__(self, s3_client: Any = None):
        self._client = s3_client

    @property
    def s3(self):
        if self._client is None:
            self._client = _s3()
        return self._client

    # -- reading
    def read_bytes(self, uri: str) -> bytes:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with open(uri, "rb") as handle:
            return handle.read()

    def read_text(self, uri: str) -> str:
        return self.read_bytes(uri).decode("utf-8")

    def read_json(self, uri: str) -> Any:
        return json.loads(self.read_text(uri))

    def read_head(self, uri: str, size: int = 65536) -> bytes:
        """The first ``size`` bytes (a ranged GET on S3), e.g. to check a CSV header."""
        if is_s3(uri):
            bucket, key = split_s3(uri)
            response = self.s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-%d" % (size - 1))
            return response["Body"].read()
        with open(uri, "rb") as handle:
            return handle.read(size)

    def exists(self, uri: str) -> bool:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            # A listing, not HeadObject: the job roles may list only their own prefix, and
            # S3 answers HeadObject on a missing key with 403 unless ListBucket is unconditioned.
            found = self.s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
            return bool(found) and found[0]["Key"] == key
        return os.path.isfile(uri)

    # -- writing
    def write_bytes(self, uri: str, data: bytes, content_type: str = "application/octet-stream") -> Optional[str]:
        """Write an object; returns the S3 version id when the bucket is versioned."""
        if is_s3(uri):
            bucket, key = split_s3(uri)
            response = self.s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
            return response.get("VersionId")
        directory = os.path.dirname(uri)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # Write then rename, so a reader never sees half a manifest or pointer.
        temporary = uri + ".tmp-%d" % os.getpid()
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, uri)
        return None

    def write_text(self, uri: str, text: str, content_type: str = "text/plain; charset=utf-8") -> Optional[str]:
        return self.write_bytes(uri, text.encode("utf-8"), content_type)

    def write_json(self, uri: str, value: Any) -> Optional[str]:
        return self.write_text(uri, json.dumps(value, indent=2, sort_keys=True) + "\n", "application/json")

    # -- listing
    def list_files(self, prefix: str) -> List[str]:
        """Every object (file) under ``prefix``, as full URIs/paths, sorted."""
        return sorted(self._iter_files(prefix))

    def _iter_files(self, prefix: str) -> Iterator[str]:
        if is_s3(prefix):
            bucket, key = split_s3(prefix)
            key = key.rstrip("/") + "/" if key else ""
            paginator = self.s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=key):
                for item in page.get("Contents", []):
                    yield "s3://%s/%s" % (bucket, item["Key"])
            return
        if not os.path.isdir(prefix):
            return
        for root, _dirs, files in os.walk(prefix):
            for name in files:
                yield os.path.join(root, name)

    def total_size(self, prefix: str, suffix: str = "") -> int:
        """Bytes of the objects under ``prefix`` whose name ends in ``suffix``."""
        if is_s3(prefix):
            bucket, key = split_s3(prefix)
            key = key.rstrip("/") + "/" if key else ""
            total = 0
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                total += sum(int(item["Size"]) for item in page.get("Contents", []) if item["Key"].endswith(suffix))
            return total
        return sum(os.path.getsize(path) for path in self._iter_files(prefix) if path.endswith(suffix))

    def copy(self, source: str, destination: str) -> None:
        """Copy one object (small files: read and written whole)."""
        self.write_bytes(destination, self.read_bytes(source))

    def list_children(self, prefix: str) -> List[str]:
        """Names of the immediate sub-folders (sub-prefixes) of ``prefix``, sorted."""
        if is_s3(prefix):
            bucket, key = split_s3(prefix)
            key = key.rstrip("/") + "/" if key else ""
            names = set()
            paginator = self.s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=key, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    names.add(common["Prefix"][len(key):].rstrip("/"))
            return sorted(names)
        if not os.path.isdir(prefix):
            return []
        return sorted(name for name in os.listdir(prefix) if os.path.isdir(os.path.join(prefix, name)))

    # -- deleting
    def delete(self, uris: List[str]) -> None:
        """Delete the objects; ``DeletionFailed`` names the keys S3 refused (after trying all)."""
        s3_keys = {}
        for uri in uris:
            if is_s3(uri):
                bucket, key = split_s3(uri)
                s3_keys.setdefault(bucket, []).append(key)
            elif os.path.isfile(uri):
                os.remove(uri)
        for bucket, keys in s3_keys.items():
            refused = []
            for start in range(0, len(keys), 1000):  # DeleteObjects takes 1000 keys at most
                chunk = keys[start:start + 1000]
                response = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
                refused.extend(response.get("Errors") or [])
            if refused:
                named = ", ".join("%s (%s: %s)" % (e.get("Key"), e.get("Code"), e.get("Message")) for e in refused[:REFUSED_KEYS_NAMED])
                more = " and %d more" % (len(refused) - REFUSED_KEYS_NAMED) if len(refused) > REFUSED_KEYS_NAMED else ""
                raise DeletionFailed("S3 did not delete %d of %d objects in bucket %s: %s%s" % (
                    len(refused), len(keys), bucket, named, more))

    def delete_prefix(self, prefix: str, last: Optional[str] = None) -> int:
        """Delete everything under ``prefix``; returns how many objects went.

        ``last`` (a name directly under ``prefix``) is deleted only once everything else
        has gone, so a deletion that fails partway leaves it in place.
        """
        files = self.list_files(prefix)
        final = [uri for uri in files if last and uri == join(prefix, last)]
        self.delete([uri for uri in files if uri not in final])
        self.delete(final)
        if not is_s3(prefix) and os.path.isdir(prefix):
            shutil.rmtree(prefix, ignore_errors=True)
        return len(files)

    def keep_only(self, prefix: str, suffix: str) -> List[str]:
        """Delete every object under ``prefix`` whose name does not end in ``suffix``.

        Spark leaves ``_SUCCESS`` markers and ``.crc`` checksums next to its output;
        Personalize would try to import them.
        """
        strays = [uri for uri in self.list_files(prefix) if not uri.endswith(suffix)]
        self.delete(strays)
        return strays
