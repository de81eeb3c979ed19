"""The local harness's own layout: one name per class, the clock apart from the fake."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (ROOT / "step_functions" / "local_pipeline", ROOT / "lambda_src" / "personalize_pipeline")


def test_no_two_classes_of_the_harness_and_the_lambdas_share_a_name():
    """Two classes of one name (a model, an error) read as the same thing in tracebacks and imports."""
    where = defaultdict(list)
    for package in PACKAGES:
        for module in sorted(package.glob("*.py")):
            for node in ast.parse(module.read_text()).body:
                if isinstance(node, ast.ClassDef):
                    where[node.name].append(f"{package.name}/{module.name}")
    assert {name: files for name, files in where.items() if len(files) > 1} == {}


def test_the_simulated_clock_lives_apart_from_the_fake():
    from local_pipeline import fake_personalize, sim_clock

    assert fake_personalize.SimClock is sim_clock.SimClock
    assert "class SimClock" not in (ROOT / "step_functions" / "local_pipeline" / "fake_personalize.py").read_text()
