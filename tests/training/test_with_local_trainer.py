"""The harness with the local Spark trainer: the fake Personalize trains real
models on the imported interactions and the campaign serves them."""
from __future__ import annotations

import pytest

from local_pipeline.harness import LocalPipeline

from .exports import full_params, make_export

METRIC_NAMES = {
    "coverage", "mean_reciprocal_rank_at_25", "precision_at_5", "precision_at_10", "precision_at_25",
    "normalized_discounted_cumulative_gain_at_5", "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
}


@pytest.mark.spark
def test_trains_real_models_and_serves_recommendations(spark, tmp_path):
    from local_pipeline.trainer import LocalTrainer

    params = full_params()
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
