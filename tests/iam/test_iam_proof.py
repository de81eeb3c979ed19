"""Every AWS call the deployed components make, proven allowed by the IAM
Terraform writes. These tests run last (plugin.py), over the calls the
session's suites recorded; a recording suite the session did not run is run
in a subprocess (recordings.py)."""
from __future__ import annotations

import os

import pytest

from tools import iam_docs_table as docs_table

from . import proof, recordings, render


@pytest.fixture(scope="module")
def calls(request):
    return recordings.calls_to_prove(request.config._iam_recording_suites)


def test_every_recording_suite_recorded_calls(calls):
    """A recorder that stopped seeing calls would prove nothing: each suite's
    components must have been seen calling AWS."""
    seen = {recordings.suite_of(c) for c in calls}
    assert set(recordings.RECORDING_SUITES) <= seen, f"no AWS call recorded from {sorted(set(recordings.RECORDING_SUITES) - seen)}"


@pytest.mark.parametrize("root", sorted(render.ROOTS))
def test_every_recorded_call_is_allowed(root, calls):
    stack = render.stack(root)
    result = proof.prove(calls, stack)
    messages = result.problems + [proof.describe_denial(v, stack) for v in result.denied]
    assert not messages, f"{len(messages)} call(s) the deployed IAM would refuse:\n" + "\n".join(sorted(set(messages)))


def test_docs_table_of_calls_is_current(calls):
    verdicts = proof.prove(calls, render.stack(docs_table.ROOT)).verdicts
    if os.environ.get("IAM_PROOF_UPDATE_DOCS") == "1":  # snapshot-style update, as docs_table.main()
        docs_table.DOC.write_text(docs_table.rendered_doc(verdicts), encoding="utf-8")
    assert docs_table.DOC.read_text(encoding="utf-8") == docs_table.rendered_doc(verdicts), (
        "docs/terraform.md's table of IAM calls is stale: run `.venv/bin/python -m tools.iam_docs_table`")


def test_every_call_is_judged_in_some_root(calls):
    """A call that every root switches off would be proven nowhere."""
    judged: dict[int, int] = {}
    for root in render.ROOTS:
        result = proof.prove(calls, render.stack(root))
        for call, _ in result.out_of_reach:
            judged[id(call)] = judged.get(id(call), 0) + 1
    nowhere = {(c.component, c.operation, c.test) for c in calls if judged.get(id(c), 0) == len(render.ROOTS)}
    assert not nowhere, f"calls no rendered root lets the component make: {sorted(nowhere)[:20]}"
