"""The cost and noise goals, asserted on simulated counts (not wall time)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_polling.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_polling", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_polling_goals_against_the_reference():
    bench = load_bench()
    figures = bench.run_figures()
    ours, ref = figures["this pipeline"], figures["reference"]

    # The reference logs an error event for every poll; this pipeline none.
    assert ours["first run"]["error_events"] == 0 and ours["repeat run"]["error_events"] == 0
    assert ref["first run"]["error_events"] > 100
    # Every resource was noticed within 5 minutes of turning ACTIVE.
    for run in ours.values():
        assert run["detection_delay_seconds"], "no resource activations were recorded"
        assert max(run["detection_delay_seconds"].values()) <= 300, run["detection_delay_seconds"]
    assert ours["first run"]["state_transitions"] <= ref["first run"]["state_transitions"]
    assert 3 * ours["repeat run"]["state_transitions"] <= ref["repeat run"]["state_transitions"]
    assert all(bench.goals(figures).values())
