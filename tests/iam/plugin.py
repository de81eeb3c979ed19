"""pytest hooks of the IAM proof: record while the suites run, prove last.

The tests of test_iam_proof.py are moved to the end of the run, so they see
every call the session's suites made.
"""
from __future__ import annotations

import os
from typing import Any

from . import recorder
from .recordings import RECORDING_FILE_VARIABLE

# The tests that judge the recorded calls; they run after every other test.
PROOF_TESTS = ("tests/iam/test_iam_proof.py",)


def pytest_configure(config: Any) -> None:
    recorder.install()
    config._iam_recording_suites = set()


def pytest_collection_modifyitems(session: Any, config: Any, items: list) -> None:
    last = [item for item in items if item.nodeid.startswith(PROOF_TESTS)]
    if last:
        items[:] = [item for item in items if item not in last] + last
    config._iam_recording_suites = {item.nodeid.split("/")[1] for item in items if item.nodeid.startswith("tests/")}


def pytest_runtest_setup(item: Any) -> None:
    recorder.set_current_test(item.nodeid)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """Hand the recorded calls to the IAM proof that started this run in a subprocess."""
    target = os.environ.get(RECORDING_FILE_VARIABLE)
    if target:
        recorder.dump(target)
