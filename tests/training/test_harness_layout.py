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


def test_the_moto_release_the_hooks_were_written_for_is_the_pinned_one():
    from local_pipeline import moto_internals

    pins = dict(line.split("==") for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line)
    assert moto_internals.SUPPORTED_MOTO == pins["moto"]
    moto_internals.check_moto_version()  # the installed release


def test_another_moto_release_is_refused_with_what_to_recheck():
    import pytest

    from local_pipeline import moto_internals

    with pytest.raises(moto_internals.UnsupportedMotoVersion) as refused:
        moto_internals.check_moto_version("5.3.0")
    message = str(refused.value)
    assert f"written against moto {moto_internals.SUPPORTED_MOTO}, but moto 5.3.0 is installed" in message
    assert "WaitFunction._wait_interval" in message and "requirements.lock" in message


def test_every_hook_named_exists_in_the_installed_moto():
    """The list the refusal message gives is the list of what the harness touches."""
    import importlib

    from local_pipeline import moto_internals

    for hook in moto_internals.HOOKS:
        dotted = hook.split("[", 1)[0]
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                target = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attribute in parts[cut:]:
                target = getattr(target, attribute)
            break
        else:
            raise AssertionError(f"{hook}: not found")
    source = (ROOT / "step_functions" / "local_pipeline" / "harness.py").read_text()
    assert "from moto." not in source and "moto.stepfunctions" not in source
