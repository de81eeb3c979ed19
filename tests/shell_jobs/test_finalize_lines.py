"""Readiness over physical lines: every line of a text source is a header, blank or inside
a record, and lines merged into rejected records stay within the rejected share."""
from __future__ import annotations

import pytest
from export_fixtures import SPEC, write_good_export

from export_spec import load_spec
from personalize_export import layout
from personalize_export.finalize import build_manifest
from personalize_export.storage import Storage

RUN = "20240101T000000Z-aaaaaa"


def _checks(tmp_path, lines):
    storage, root = Storage(), str(tmp_path / "root")
    spec = load_spec(SPEC)
    write_good_export(storage, root, RUN, spec)
    uri = layout.report_path(root, RUN, "interactions")
    report = storage.read_json(uri)
    report["lines"] = lines
    storage.write_json(uri, report)
    manifest = build_manifest(spec, root, RUN, storage)
    assert manifest["datasets"]["interactions"]["lines"] == lines
    return manifest["readiness"]["passed"], {c["rule"]: c for c in manifest["readiness"]["checks"]}


def test_lines_that_are_all_accounted_for_pass(tmp_path):
    passed, checks = _checks(tmp_path, {"physical": 9, "headers": 1, "blank": 2, "in_records": 6, "merged_in_rejected": 0})
    assert passed
    assert checks["lines_accounted.interactions"]["detail"] == "9 physical lines: 1 headers, 6 in records, 2 blank"
    assert checks["merged_lines.interactions"]["passed"]


@pytest.mark.parametrize("lines, missing", [
    ({"physical": 40, "headers": 1, "blank": 0, "in_records": 6, "merged_in_rejected": 0}, 33),
    ({"physical": 10, "headers": 1, "blank": 1, "in_records": 6, "merged_in_rejected": 0}, 2),
    ({"physical": 5, "headers": 1, "blank": 0, "in_records": 6, "merged_in_rejected": 0}, 2),
])
def test_lines_not_accounted_for_fail_with_their_number(tmp_path, lines, missing):
    passed, checks = _checks(tmp_path, lines)
    check = checks["lines_accounted.interactions"]
    assert not passed and not check["passed"]
    assert check["detail"].startswith("%d of %d physical lines are not accounted for" % (missing, lines["physical"]))


def test_lines_merged_into_rejected_records_beyond_the_share_fail(tmp_path):
    # 30 lines hidden inside one rejected record: far above the spec's 10 % of 36 data lines.
    passed, checks = _checks(tmp_path, {"physical": 37, "headers": 1, "blank": 0, "in_records": 36, "merged_in_rejected": 30})
    check = checks["merged_lines.interactions"]
    assert not passed and not check["passed"]
    assert check["detail"] == "30 lines merged into rejected records (83.33% of 36 data lines; at most 10.00%)"
    passed, checks = _checks(tmp_path, {"physical": 37, "headers": 1, "blank": 0, "in_records": 36, "merged_in_rejected": 3})
    assert checks["merged_lines.interactions"]["passed"]
