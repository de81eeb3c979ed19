from __future__ import annotations

import pytest

from local_pipeline.fake_personalize import FixedMetricsTrainer
from local_pipeline.harness import LocalPipeline

from .exports import metrics

# Short simulated durations keep the scenario runs small; the benchmark uses
# realistic ones.
SCENARIO_DURATIONS = {
    "dataset_group": 15, "dataset": 15, "solution": 15, "filter": 15, "event_tracker": 15,
    "dataset_import_job": 300, "solution_version": 600, "campaign": 300, "campaign_update": 300,
}


@pytest.fixture
def trainer():
    return FixedMetricsTrainer({"*": metrics(precision_at_10=0.2)})


@pytest.fixture
def pipeline(trainer):
    with LocalPipeline(durations=SCENARIO_DURATIONS, trainer=trainer) as local:
        yield local
