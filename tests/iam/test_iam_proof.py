"""Every AWS call the deployed components make, proven allowed by the IAM
Terraform writes. Runs last (see plugin.py), over the calls the session's
suites recorded."""
from __future__ import annotations

import pytest

from . import proof, recorder, render

RECORDING_SUITES = {"training", "export", "shell_jobs", "drift"}


@pytest.mark.parametrize("root", sorted(render.ROOTS))
def test_every_recorded_call_is_allowed(root, request):
    ran = request.config._iam_recording_suites & RECORDING_SUITES
    if not recorder.RECORDING.calls:
        pytest.fail("no AWS call was recorded: run the IAM proof with the suites it records "
                    f"(pytest tests/iam {' '.join('tests/' + s for s in sorted(RECORDING_SUITES))}); ran: {sorted(ran)}")
    stack = render.stack(root)
    result = proof.prove(recorder.RECORDING.calls, stack)
    messages = result.problems + [proof.describe_denial(v, stack) for v in result.denied]
    assert not messages, f"{len(messages)} call(s) the deployed IAM would refuse:\n" + "\n".join(sorted(set(messages)))
