"""Reading JSON documents from S3 (or, for local runs, from plain paths)."""
from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from . import clients


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an S3 URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def read_text(uri: str, version_id: str | None = None) -> str:
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        request: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            request["VersionId"] = version_id
        body = clients.client("s3").get_object(**request)["Body"].read()
        return body.decode("utf-8")
    return Path(uri).read_text(encoding="utf-8")


def read_json(uri: str, version_id: str | None = None) -> Any:
    return json.loads(read_text(uri, version_id))


def resolve(base_uri: str, relative: str) -> str:
    """Resolve a path relative to the folder of ``base_uri`` (manifest paths are
    relative to the manifest's own directory), keeping a trailing '/'."""
    if relative.startswith("s3://") or relative.startswith("/"):
        return relative
    if base_uri.startswith("s3://"):
        bucket, key = split_s3_uri(base_uri)
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(key), relative))
        if relative.endswith("/"):
            joined += "/"
        return f"s3://{bucket}/{joined}"
    joined = str((Path(base_uri).parent / relative).resolve())
    return joined + "/" if relative.endswith("/") else joined


def iter_lines(prefix_uri: str):
    """Yield the lines of every object under an S3 prefix (or files under a
    local folder), streaming: nothing is held whole in memory."""
    if prefix_uri.startswith("s3://"):
        bucket, prefix = split_s3_uri(prefix_uri)
        s3 = clients.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in sorted(page.get("Contents", []), key=lambda o: o["Key"]):
                if obj["Key"].endswith("/"):
                    continue
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"]
                for raw in body.iter_lines():
                    yield raw.decode("utf-8")
                yield ""  # each object starts with its own header
        return
    for path in sorted(Path(prefix_uri).rglob("*")):
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                yield from (line.rstrip("\n") for line in handle)
            yield ""


def list_objects(prefix_uri: str) -> list[tuple[str, int]]:
    """(URI, size) of each non-empty object under an S3 prefix (or file in a local
    folder), sorted: the data files of an export folder."""
    if not prefix_uri.startswith("s3://"):
        folder = Path(prefix_uri)
        return sorted((str(p), p.stat().st_size) for p in folder.rglob("*") if p.is_file() and p.stat().st_size > 0) \
            if folder.is_dir() else []
    bucket, prefix = split_s3_uri(prefix_uri)
    pages = clients.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted((f"s3://{bucket}/{o['Key']}", o["Size"]) for page in pages for o in page.get("Contents", [])
                  if not o["Key"].endswith("/") and o["Size"] > 0)


def list_folders(prefix_uri: str) -> list[str]:
    """The names of the folders directly under an S3 prefix ending in '/' (or a local folder)."""
    if not prefix_uri.startswith("s3://"):
        folder = Path(prefix_uri)
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    bucket, prefix = split_s3_uri(prefix_uri)
    pages = clients.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
    return sorted(p["Prefix"][len(prefix):].rstrip("/") for page in pages for p in page.get("CommonPrefixes", []))
