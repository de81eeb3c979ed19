"""The table in docs/terraform.md of the calls each role makes and the statement
that allows each, generated from the IAM proof (tests/iam) of the complete example.
`.venv/bin/python -m tools.iam_docs_table` (from the repository root, with the
Makefile's PYTHONPATH) rewrites it; tests/iam/test_iam_proof.py fails when it is
stale. It is not part of `make generate`: the proof needs the calls of the recording
suites (drift, export with Spark, shell jobs, training), which it runs in a subprocess
for several minutes."""
from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "docs" / "terraform.md"
BEGIN, END = "<!-- BEGIN_IAM_CALLS -->", "<!-- END_IAM_CALLS -->"
ROOT = "complete"


def table(verdicts) -> str:
    rows = set()
    for verdict in verdicts:
        if not verdict.decision.allowed:
            continue
        statements = ", ".join(sorted({label.split("/", 1)[1] for label in verdict.decision.allowed_by}))
        call = f"{verdict.call.service}.{verdict.call.operation}"
        rows.add((verdict.role.removeprefix("retail-recs-"), verdict.call.component, call, verdict.request.action, statements))
    lines = ["| Role (`<name>-…`) | Component | Call | IAM action | Allowed by (Sid) |", "|---|---|---|---|---|"]
    lines += [f"| {role} | `{component}` | `{call}` | `{action}` | {sids} |" for role, component, call, action, sids in sorted(rows)]
    return "\n".join(lines)


def rendered_doc(verdicts) -> str:
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table(verdicts)}\n{END}{tail}"


def main() -> int:
    from tests.iam import proof, recorder, recordings, render

    recorder.install()
    calls = recordings.calls_to_prove(set())
    DOC.write_text(rendered_doc(proof.prove(calls, render.stack(ROOT)).verdicts), encoding="utf-8")
    print(f"updated {DOC.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
