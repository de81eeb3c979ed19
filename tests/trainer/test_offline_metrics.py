"""Offline metrics as Personalize defines them, checked against values computed by hand.

https://docs.aws.amazon.com/personalize/latest/dg/working-with-training-metrics.html
"""
from __future__ import annotations

import math

import pytest

from local_pipeline.metrics import (
    Interaction,
    catalog_items,
    coverage,
    ndcg_at_k,
    personalize_metrics,
    precision_at_k,
    reciprocal_rank_at_k,
)

LOG2_3 = math.log2(3)  # discount at rank 2 is 1/log2(2+1) = 0.63093
LOG2_6 = math.log2(6)  # discount at rank 5 is 1/log2(5+1) = 0.38685

# Three users, hand-checked below.
#   alice: relevant {b, e}; hits at ranks 2 and 5.
#   bob:   relevant {q};    never recommended.
#   carol: relevant {c, k}; hit at rank 1 only (k is not in her list).
#   (alice is the developer guide's example: relevant recommendations at positions 2 and 5.)
RECOMMENDATIONS = {
    "alice": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
    "bob": ["x", "y", "z", "a", "b"],
    "carol": ["c", "a", "b", "d", "e", "f"],
}
RELEVANT = {"alice": {"b", "e"}, "bob": {"q"}, "carol": {"c", "k"}}
CATALOG = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "q", "x", "y", "z", "w"}


def test_precision_divides_by_k_even_for_short_lists():
    # alice: 2 hits in the top 5 -> 2/5; 2 hits in the top 10 -> 2/10; top 25 -> 2/25.
    assert precision_at_k(RECOMMENDATIONS["alice"], RELEVANT["alice"], 5) == pytest.approx(0.4)
    assert precision_at_k(RECOMMENDATIONS["alice"], RELEVANT["alice"], 10) == pytest.approx(0.2)
    assert precision_at_k(RECOMMENDATIONS["alice"], RELEVANT["alice"], 25) == pytest.approx(0.08)
    # Only the top k count: with k=1 alice's first item "a" is not relevant.
    assert precision_at_k(RECOMMENDATIONS["alice"], RELEVANT["alice"], 1) == 0.0
    assert precision_at_k(RECOMMENDATIONS["bob"], RELEVANT["bob"], 5) == 0.0


def test_precision_counts_each_recommended_item_once_however_often_it_was_held_out():
    # The testing data may hold the same item several times (a re-purchase): a
    # recommendation either matches it or not. 1 hit ("a") in the top 2 -> 1/2.
    assert precision_at_k(["a", "b"], ["a", "a", "a"], 2) == pytest.approx(0.5)


def test_ndcg_is_the_developer_guide_example():
    # The guide: hits at positions 2 and 5, K = 5:
    #   (1/log(1+2) + 1/log(1+5)) / (1/log(1+1) + 1/log(1+2)) = 0.6241
    #   = (0.63093 + 0.38685) / (1 + 0.63093) = 1.01778 / 1.63093 = 0.624050
    assert ndcg_at_k(RECOMMENDATIONS["alice"], RELEVANT["alice"], 5) == pytest.approx(0.624050, abs=1e-6)
    assert ndcg_at_k(RECOMMENDATIONS["alice"], RELEVANT["alice"], 5) == pytest.approx(
        (1 / LOG2_3 + 1 / LOG2_6) / (1 + 1 / LOG2_3)
    )


def test_ndcg_ideal_is_the_top_k_sorted_by_relevance():
    # "The ideal DCG is where the top K recommendations are sorted by relevance":
    # the ideal moves the list's own hits to the top; relevant items the list
    # missed do not enter it.
    # carol: one hit, at rank 1 -> DCG = 1, ideal = 1 -> 1.0 (her missed "k" is not counted).
    assert ndcg_at_k(RECOMMENDATIONS["carol"], RELEVANT["carol"], 5) == pytest.approx(1.0)
    # One hit at rank 3 among three relevant items: DCG = 1/log2(4) = 0.5, ideal = 1 -> 0.5.
    assert ndcg_at_k(["x", "y", "a", "z"], {"a", "b", "c"}, 4) == pytest.approx(0.5)
    # alice with k=2: only the rank-2 hit is in the top 2: (1/log2(3)) / 1 = 0.63093.
    assert ndcg_at_k(RECOMMENDATIONS["alice"], RELEVANT["alice"], 2) == pytest.approx(1 / LOG2_3)
    # Hits at ranks 1 and 3 of the top 3: (1 + 0.5) / (1 + 0.63093) = 1.5 / 1.63093 = 0.919721.
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}, 3) == pytest.approx(0.919721, abs=1e-6)
    # No hit: 0.
    assert ndcg_at_k(RECOMMENDATIONS["bob"], RELEVANT["bob"], 25) == 0.0


def test_reciprocal_rank_is_one_over_the_first_hit_within_k():
    assert reciprocal_rank_at_k(RECOMMENDATIONS["alice"], RELEVANT["alice"], 25) == pytest.approx(0.5)
    assert reciprocal_rank_at_k(RECOMMENDATIONS["alice"], RELEVANT["alice"], 1) == 0.0  # first hit is at rank 2
    assert reciprocal_rank_at_k(RECOMMENDATIONS["bob"], RELEVANT["bob"], 25) == 0.0
    assert reciprocal_rank_at_k(RECOMMENDATIONS["carol"], RELEVANT["carol"], 25) == pytest.approx(1.0)


def test_coverage_counts_distinct_catalog_items_across_all_lists():
    # Union of the three lists: a..j (10) + x, y, z (3) = 13 distinct items, all in the
    # 16-item catalog (k, q and w are never recommended) -> 13/16.
    assert coverage(RECOMMENDATIONS.values(), CATALOG) == pytest.approx(13 / 16)
    # Items outside the catalog are ignored: 1 of the 2 catalog items is recommended.
    assert coverage([["a", "not-in-catalog"]], {"a", "b"}) == pytest.approx(0.5)


def test_coverage_denominator_is_the_items_and_interactions_datasets():
    interactions = [Interaction("u1", "a", 1), Interaction("u2", "b", 2), Interaction("u2", "a", 3)]
    # Items dataset: a, b, c, d (c and d never interacted with); the interactions hold
    # a and b only -> union {a, b, c, d}: 4 items.
    assert catalog_items(interactions, ["a", "b", "c", "d"]) == {"a", "b", "c", "d"}
    # One list recommending a and b covers 2 of the 4 -> 0.5, not 2/2 as over the interactions alone.
    assert coverage([["a", "b"]], catalog_items(interactions, ["a", "b", "c", "d"])) == pytest.approx(0.5)
    # An interaction item missing from the Items dataset still counts: {a, b} ∪ {a, c} = 3 items.
    assert catalog_items(interactions, ["a", "c"]) == {"a", "b", "c"}
    assert coverage([["a", "b"]], catalog_items(interactions, ["a", "c"])) == pytest.approx(2 / 3)
    # Without an Items dataset: the interactions' items {a, b}.
    assert catalog_items(interactions) == {"a", "b"}


def test_personalize_metrics_averages_per_user_with_personalize_names():
    metrics = personalize_metrics(RECOMMENDATIONS, RELEVANT, CATALOG)
    assert sorted(metrics) == sorted(
        [
            "precision_at_5",
            "precision_at_10",
            "precision_at_25",
            "normalized_discounted_cumulative_gain_at_5",
            "normalized_discounted_cumulative_gain_at_10",
            "normalized_discounted_cumulative_gain_at_25",
            "mean_reciprocal_rank_at_25",
            "coverage",
        ]
    )
    # precision@5:  alice 2/5, bob 0, carol 1/5  -> (0.4 + 0 + 0.2) / 3 = 0.2
    assert metrics["precision_at_5"] == pytest.approx(0.2)
    # precision@10: alice 2/10, bob 0, carol 1/10 -> 0.3 / 3 = 0.1
    assert metrics["precision_at_10"] == pytest.approx(0.1)
    # precision@25: alice 2/25, bob 0, carol 1/25 -> (3/25) / 3 = 0.04
    assert metrics["precision_at_25"] == pytest.approx(0.04)
    # NDCG@5: alice 0.624050, bob 0, carol 1 -> 1.624050 / 3 = 0.541350
    assert metrics["normalized_discounted_cumulative_gain_at_5"] == pytest.approx(0.541350, abs=1e-6)
    # NDCG@10 and @25 equal @5 here: no list has a hit below rank 5.
    assert metrics["normalized_discounted_cumulative_gain_at_10"] == pytest.approx(0.541350, abs=1e-6)
    assert metrics["normalized_discounted_cumulative_gain_at_25"] == pytest.approx(0.541350, abs=1e-6)
    # MRR@25: alice 1/2, bob 0, carol 1 -> 1.5 / 3 = 0.5
    assert metrics["mean_reciprocal_rank_at_25"] == pytest.approx(0.5)
    assert metrics["coverage"] == pytest.approx(13 / 16)


def test_coverage_in_personalize_metrics_only_looks_at_the_top_25():
    long_list = [f"i{n:02d}" for n in range(30)]
    metrics = personalize_metrics({"u": long_list}, {"u": {"i00"}}, set(long_list))
    assert metrics["coverage"] == pytest.approx(25 / 30)
    assert metrics["mean_reciprocal_rank_at_25"] == pytest.approx(1.0)
    # A hit at rank 26 is outside every cutoff.
    late = personalize_metrics({"u": long_list}, {"u": {"i25"}}, set(long_list))
    assert late["mean_reciprocal_rank_at_25"] == 0.0
    assert late["precision_at_25"] == 0.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: precision_at_k(["a"], {"a"}, 0), "k must be a positive integer"),
        (lambda: ndcg_at_k(["a", "b", "a"], {"a"}, 5), "must not repeat items; repeated: ['a']"),
        (lambda: ndcg_at_k(["a"], set(), 5), "relevant set is empty"),
        (lambda: coverage([["a"]], set()), "empty catalog"),
        (lambda: personalize_metrics({}, {"u": {"a"}}, {"a"}), "no recommendations for evaluated users ['u']"),
        (lambda: personalize_metrics({"u": ["a"]}, {}, {"a"}), "no user to evaluate"),
    ],
)
def test_bad_metric_input_is_refused_with_the_rule(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)
