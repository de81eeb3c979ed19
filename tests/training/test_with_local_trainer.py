"""The harness with the local Spark trainer: the fake Personalize trains real
models on the imported interactions and the campaign serves them."""
from __future__ import annotations

import json

import pytest

from local_pipeline.harness import LocalPipeline
from local_pipeline.trainer import LocalTrainer

from .conftest import SCENARIO_DURATIONS
from .exports import RECIPE_POPULARITY, full_params, make_export

METRIC_NAMES = {
    "coverage", "mean_reciprocal_rank_at_25", "precision_at_5", "precision_at_10", "precision_at_25",
    "normalized_discounted_cumulative_gain_at_5", "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
}


@pytest.mark.spark
def test_trains_real_models_and_serves_recommendations(spark, tmp_path):
    from local_pipeline.trainer import LocalTrainer

    params = full_params()
    # The export has no EVENT_VALUE column, so an eventValueThreshold cannot apply
    # (see test_a_threshold_without_event_values_fails_the_training).
    del params["solutions"][1]["solution_config"]
    params["quality_gate"] = {"thresholds": {"coverage": 0.01}}
    export = make_export(tmp_path, interactions=3000, users=100, items=60)
    with LocalPipeline(trainer=LocalTrainer(spark=spark)) as pipeline:
        result = pipeline.run(params, export)
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        summary = result.summary
        for solution in ("popular", "personal"):
            assert set(summary["solutions"][solution]["metrics"]) == METRIC_NAMES
        campaign = summary["campaigns"]["home"]["campaignArn"]
        recommended = pipeline.recommend(campaign, "u1", 10)
    assert len(recommended) == 10 and len(set(recommended)) == 10
    seen_by_u1 = {line.split(",")[1] for line in (export / "interactions" / "part-00000.csv").read_text().splitlines()[1:] if line.startswith("u1,")}
    assert not set(recommended) & seen_by_u1


def _popularity_only(**solution_settings) -> dict:
    params = full_params()
    params["solutions"] = [{"name": "popular", "recipe_arn": RECIPE_POPULARITY, **solution_settings}]
    params["campaigns"] = [{"name": "home", "solution": "popular", "min_provisioned_tps": 1}]
    params["quality_gate"] = {"thresholds": {"coverage": 0.01}}
    return params


def _add_catalog_items(export, count: int) -> None:
    """Items in the Items dataset that no interaction mentions (the manifest counts them)."""
    items_file = export / "items" / "part-00000.csv"
    items_file.write_text(items_file.read_text() + "".join(f"extra{n},cat0\n" for n in range(count)))
    manifest = json.loads((export / "manifest.json").read_text())
    for key in ("rows", "rows_read"):
        manifest["datasets"]["items"][key] += count
    (export / "manifest.json").write_text(json.dumps(manifest))


def test_coverage_counts_the_items_dataset_the_import_read(tmp_path):
    # 40 items in the interactions and the Items dataset, plus 20 catalog-only items:
    # popularity recommends the same 25 items to every test user -> coverage 25 / 60.
    export = make_export(tmp_path, interactions=1200, users=60, items=40)
    _add_catalog_items(export, 20)
    with LocalPipeline(durations=SCENARIO_DURATIONS, trainer=LocalTrainer()) as pipeline:
        result = pipeline.run(_popularity_only(), export)
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        version = result.summary["solutions"]["popular"]["solutionVersionArn"]
        model = pipeline.fake.models[version]
    assert model.summary["items"] == 60
    assert model.summary["items_in_interactions"] == 40
    assert result.summary["solutions"]["popular"]["metrics"]["coverage"] == pytest.approx(25 / 60)


class _RecordingTrainer(LocalTrainer):
    """The local trainer, noting the solution settings the local Personalize hands it."""

    def __init__(self):
        super().__init__()
        self.event_types = []

    def __call__(self, recipe_arn, training_mode, interactions_csv, **settings):
        self.event_types.append(settings.get("event_type"))
        return super().__call__(recipe_arn, training_mode, interactions_csv, **settings)


def test_the_solutions_event_type_reaches_the_trainer(tmp_path):
    # Half the interactions are clicks: enough for readiness after the solution's
    # event type, and the version is trained on the clicks alone.
    export = make_export(tmp_path, interactions=2400, users=60, items=40, event_types=("purchase", "click"))
    trainer = _RecordingTrainer()
    with LocalPipeline(durations=SCENARIO_DURATIONS, trainer=trainer) as pipeline:
        result = pipeline.run(_popularity_only(event_type="click"), export)
    assert result.status == "SUCCEEDED", result.failure
    assert trainer.event_types == ["click"]


def test_a_solution_whose_event_type_matches_nothing_stops_at_readiness(tmp_path):
    export = make_export(tmp_path, interactions=1200, users=60, items=40)
    trainer = _RecordingTrainer()
    with LocalPipeline(durations=SCENARIO_DURATIONS, trainer=trainer) as pipeline:
        result = pipeline.run(_popularity_only(event_type="click"), export)
    assert result.status == "FAILED"
    assert "0 of 1200 interactions are left after its event_type 'click'" in json.dumps(result.failure)
    assert trainer.event_types == []


def test_a_threshold_without_event_values_fails_the_training(tmp_path):
    export = make_export(tmp_path, interactions=1200, users=60, items=40)
    with LocalPipeline(durations=SCENARIO_DURATIONS, trainer=LocalTrainer()) as pipeline:
        result = pipeline.run(_popularity_only(solution_config={"eventValueThreshold": "0"}), export)
    assert result.status == "FAILED"
    assert "eventValueThreshold '0' is set but the interactions have no EVENT_VALUE values" in json.dumps(result.failure)
