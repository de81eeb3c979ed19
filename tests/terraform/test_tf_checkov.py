"""checkov over modules/ and envs/: zero failed checks, every skip inline with a reason."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tools.tfmodel import REPO_ROOT, TERRAFORM_ROOTS

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # broken code each check must reject

CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"


def run_checkov(directory: Path) -> list[dict]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make deps` (installs checkov into .tools/checkov)")
    result = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "--framework", "terraform", "--skip-download", "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode in (0, 1), f"checkov failed to run:\n{result.stderr[-3000:]}"
    # One JSON report per scanned root (a module and the modules it calls).
    reports, decoder, text, pos = [], json.JSONDecoder(), result.stdout, 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos < len(text):
            report, pos = decoder.raw_decode(text, pos)
            reports.append(report)
    return reports


@pytest.fixture(scope="module", params=TERRAFORM_ROOTS)
def report(request):
    return request.param, run_checkov(REPO_ROOT / request.param)


def test_checkov_finds_no_failed_check(report):
    root, reports = report
    assert reports, f"checkov produced no report for {root}/"
    failed = [f"{f['check_id']} {f['resource']} ({f['file_path']}:{f['file_line_range']}): {f['check_name']}"
              for r in reports for f in r["results"]["failed_checks"]]
    assert not failed, "\n".join(failed)
    for r in reports:
        assert r["summary"]["parsing_errors"] == 0, r["summary"]
    # --quiet lists only failures: the summary shows the scan really covered the pipeline.
    assert sum(r["summary"]["resource_count"] for r in reports) >= 50, [r["summary"] for r in reports]
    assert sum(r["summary"]["passed"] for r in reports) >= 200, [r["summary"] for r in reports]

def test_every_checkov_skip_is_inline_with_a_reason():
    skips = []
    for root in TERRAFORM_ROOTS:
        for tf in (REPO_ROOT / root).rglob("*.tf"):
            for number, line in enumerate(tf.read_text(encoding="utf-8").splitlines(), 1):
                if "checkov:skip" in line:
                    skips.append((tf, number, line))
                    assert re.search(r"#checkov:skip=CKV2?_AWS_\d+:\S.{10,}", line), f"{tf}:{number}: skip without a reason: {line.strip()}"
    assert skips, "expected the documented skips (e.g. Lambda VPC) to be found"


def test_checkov_reports_a_broken_fixture():
    reports = run_checkov(FIXTURES / "checkov_failure")
    failed = {f["check_id"] for r in reports for f in r["results"]["failed_checks"]}
    assert {"CKV_AWS_26", "CKV_AWS_27"} <= failed, failed
