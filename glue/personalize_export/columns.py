"""Names of the columns the export adds beside the source columns, and the row outcomes.

Shared by the classify pass, reconciliation, duplicates and the export job.
"""
from __future__ import annotations

WRITTEN, REJECTED, FILTERED = "written", "rejected", "filtered"
DUPLICATE, DUPLICATE_ID = "duplicate", "duplicate_id"
MATCH_CLASSES = ("exact", "normalized", "fuzzy", "unmatched", "missing")

# Internal column names; the prefix keeps them apart from any source column.
PREFIX = "__pe_"
STATUS = PREFIX + "status"
REASON = PREFIX + "reason"
REASON_FIELD = PREFIX + "reason_field"
FILTER_KEY = PREFIX + "filtered_status"
MATCH = PREFIX + "match"
ORIGINAL = PREFIX + "original"
SUSPECT = PREFIX + "suspect"
ROW_ID = PREFIX + "row"
CODE = PREFIX + "code"  # reason priority * 1000 + field position; null when the row is fine
# Set by the source readers: the raw text of a record that could not be read (the row is
# rejected as ``malformed_record``), why, and the physical lines a record spans.
CORRUPT_RECORD = "_corrupt_record"
CORRUPT_REASON = "_corrupt_reason"
LINES = PREFIX + "lines"


def out_col(field_name: str) -> str:
    return PREFIX + "out_" + field_name
