"""Which catalog tables and columns each export job reads, taken from the export spec."""
from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Tuple
from urllib.parse import urlparse


class DriftConfigError(Exception):
    """The Lambda's configuration (environment or export spec) is unusable."""


class ReadMap:
    """(database, table) -> {export job: columns it reads}; names compared in lower case
    because the Data Catalog (Hive) treats them case-insensitively."""

    def __init__(self, source_columns: Mapping[Tuple[str, str], Mapping[str, Iterable[str]]]) -> None:
        self._tables: Dict[Tuple[str, str], Dict[str, FrozenSet[str]]] = {}
        for (database, table), jobs in source_columns.items():
            key = (database.lower(), table.lower())
            merged = self._tables.setdefault(key, {})
            for job, columns in jobs.items():
                merged[job] = merged.get(job, frozenset()) | frozenset(c.lower() for c in columns)

    @classmethod
    def from_spec(cls, spec: Any) -> "ReadMap":
        return cls(spec.source_columns())

    def jobs_for_table(self, database: str, table: str) -> Dict[str, FrozenSet[str]]:
        return dict(self._tables.get((database.lower(), table.lower()), {}))

    def read_columns(self, database: str, table: str) -> FrozenSet[str]:
        columns: FrozenSet[str] = frozenset()
        for job_columns in self.jobs_for_table(database, table).values():
            columns = columns | job_columns
        return columns

    def jobs_reading(self, database: str, table: str, column: str) -> List[str]:
        wanted = column.lower()
        return sorted(job for job, columns in self.jobs_for_table(database, table).items() if wanted in columns)

    def tables_in(self, database: str) -> List[str]:
        wanted = database.lower()
        return sorted(table for db, table in self._tables if db == wanted)


def load_read_map(s3_client: Any, spec_uri: str) -> ReadMap:
    """Read the export spec JSON that Terraform publishes and build the read map."""
    parsed = urlparse(spec_uri or "")
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise DriftConfigError("EXPORT_SPEC_URI: must be an s3://bucket/key URI of the export spec, got %r" % spec_uri)
    body = s3_client.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
    # Imported here so the diff and alert code stays usable without the export package.
    from export_spec import SpecError, load_spec

    try:
        spec = load_spec(body.decode("utf-8"))
    except SpecError as error:
        raise DriftConfigError("EXPORT_SPEC_URI %s: the export spec is invalid: %s" % (spec_uri, error)) from error
    return ReadMap.from_spec(spec)
