"""The calls the IAM proof judges: those recorded in this pytest session, plus,
for every recording suite the session did not run, those of a run of that
suite in a subprocess. So `pytest tests/iam` alone proves as much as `make test`."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from . import recorder

REPO_ROOT = Path(__file__).resolve().parents[2]
# The suites whose code paths are the deployed components'.
RECORDING_SUITES = ("drift", "export", "shell_jobs", "training")
RECORDING_FILE_VARIABLE = "IAM_PROOF_RECORDING_FILE"

_from_subprocess: dict[tuple, list[recorder.Call]] = {}


def suite_of(call: recorder.Call) -> str:
    parts = call.test.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else ""


def run_suites(suites: tuple[str, ...]) -> list[recorder.Call]:
    if suites not in _from_subprocess:
        with tempfile.TemporaryDirectory(prefix="iam-proof-") as folder:
            target = os.path.join(folder, "calls.jsonl")
            env = {**os.environ, RECORDING_FILE_VARIABLE: target}
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *[f"tests/{s}" for s in suites]],
                cwd=REPO_ROOT, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"the recording suites {suites} failed, so their calls cannot be proven:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
            _from_subprocess[suites] = recorder.load(target)
    return _from_subprocess[suites]


def calls_to_prove(suites_in_session: set[str]) -> list[recorder.Call]:
    missing = tuple(s for s in RECORDING_SUITES if s not in suites_in_session)
    calls = list(recorder.RECORDING.calls)
    if missing:
        calls += run_suites(missing)
    return calls
