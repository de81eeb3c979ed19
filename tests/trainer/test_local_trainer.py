"""The local trainer: real popularity and ALS models on Personalize interactions CSV files."""
from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from local_pipeline.metrics import Interaction
from local_pipeline.trainer import AlsSettings, LocalTrainer, fit_als

POPULARITY = "arn:aws:personalize:::recipe/aws-popularity-count"
USER_PERSONALIZATION = "arn:aws:personalize:::recipe/aws-user-personalization"
USER_PERSONALIZATION_V2 = "arn:aws:personalize:::recipe/aws-user-personalization-v2"

pytestmark = pytest.mark.spark

GROUP_ITEMS = 40
PURCHASES_PER_USER = 20


def two_taste_groups(users: int = 240, seed: int = 5) -> list[tuple[str, str, int]]:
    """Even users buy "A" items, odd users "B" items; both clusters equally popular.

    Within a cluster item k is bought with weight 1/(k+1), so the global
    popularity list interleaves A and B items and is wrong for half of every
    user's top list, while ALS can learn each user's cluster. One purchase in
    ten strays into the other cluster.
    """
    rng = random.Random(seed)
    weights = [1 / (k + 1) for k in range(GROUP_ITEMS)]
    rows = []
    for user_number in range(users):
        own, other = ("A", "B") if user_number % 2 == 0 else ("B", "A")
        for purchase in range(PURCHASES_PER_USER):
            cluster = other if rng.random() < 0.1 else own
            item = rng.choices(range(GROUP_ITEMS), weights)[0]
            rows.append((f"user{user_number:03d}", f"{cluster}{item:02d}", 1_700_000_000 + 3600 * purchase + user_number))
    return rows


def to_csv_files(rows: list[tuple[str, str, int]]) -> list[bytes]:
    """Two files, as an export writes part files; extra EVENT_TYPE column, header in each."""
    half = len(rows) // 2
    files = []
    for chunk in (rows[:half], rows[half:]):
        lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"] + [f"{u},{i},{t},purchase" for u, i, t in chunk]
        files.append(("\n".join(lines) + "\n").encode())
    return files


ROWS = two_taste_groups()
SEEN = {}
for _user, _item, _ in ROWS:
    SEEN.setdefault(_user, set()).add(_item)


@pytest.fixture(scope="module")
def trained(spark):
    # 20% of users instead of Personalize's 10% gives 48 test users: a steadier comparison.
    trainer = LocalTrainer(spark=spark, seed=42, holdout_user_fraction=0.2)
    files = to_csv_files(ROWS)
    return {
        "als": trainer(USER_PERSONALIZATION, "FULL", files),
        "popularity": trainer(POPULARITY, "FULL", files),
    }


def test_metrics_have_personalize_names_and_counts_add_up(trained):
    for model in trained.values():
        assert set(model.metrics) == {
            "precision_at_5",
            "precision_at_10",
            "precision_at_25",
            "normalized_discounted_cumulative_gain_at_5",
            "normalized_discounted_cumulative_gain_at_10",
            "normalized_discounted_cumulative_gain_at_25",
            "mean_reciprocal_rank_at_25",
            "coverage",
        }
        assert all(0.0 <= value <= 1.0 for value in model.metrics.values())
        assert model.summary["interactions"] == len(ROWS)
        assert model.summary["users"] == 240
        assert model.summary["test_users"] == 48  # round(0.2 * 240)
        # Every test user has testing data, repeats included: all 48 are scored.
        assert model.summary["evaluated_users"] == 48
        # The 192 other users train; the 48 test users' 20 interactions each are input or testing data.
        assert model.summary["training_interactions"] == 192 * PURCHASES_PER_USER
        assert model.summary["input_interactions"] == 48 * 18  # 20 - ceil(0.1 * 20)
        assert model.summary["held_out_interactions"] == 48 * 2


def test_als_beats_the_popularity_baseline_on_clustered_tastes(trained):
    als, popularity = trained["als"].metrics, trained["popularity"].metrics
    for name in ("precision_at_10", "normalized_discounted_cumulative_gain_at_10", "mean_reciprocal_rank_at_25"):
        assert als[name] > popularity[name], (name, als[name], popularity[name])
    # ALS ranks items per user, so it reaches more of the catalog than one global list.
    assert als["coverage"] > popularity["coverage"]


def _own_cluster_share(model) -> float:
    """Share of all users' top-10 recommendations that come from the user's own cluster."""
    hits = 0
    for user in SEEN:
        own = "A" if int(user[len("user"):]) % 2 == 0 else "B"
        hits += sum(item.startswith(own) for item in model.recommend(user, 10))
    return hits / (10 * len(SEEN))


def test_als_recommends_from_the_users_own_cluster(trained):
    # Popularity minus seen items mostly offers the other cluster's hits (about 30%
    # own-cluster here); ALS has learnt each user's taste.
    als_share = _own_cluster_share(trained["als"])
    assert als_share >= 0.7
    assert als_share > _own_cluster_share(trained["popularity"]) + 0.3


@pytest.mark.parametrize("recipe", ["als", "popularity"])
def test_recommendations_never_repeat_seen_items(trained, recipe):
    model = trained[recipe]
    for user, seen in SEEN.items():
        recommended = model.recommend(user, 25)
        assert len(recommended) == 25
        assert len(set(recommended)) == 25
        assert not set(recommended) & seen, user


def test_popularity_ranks_by_interaction_count_minus_seen_items(trained):
    counts = Counter(item for _, item, _ in ROWS)
    by_popularity = sorted(counts, key=lambda item: (-counts[item], item))
    user = "user007"
    expected = [item for item in by_popularity if item not in SEEN[user]][:10]
    assert trained["popularity"].recommend(user, 10) == expected


@pytest.mark.parametrize("recipe", ["als", "popularity"])
def test_cold_users_get_the_most_popular_items(trained, recipe):
    counts = Counter(item for _, item, _ in ROWS)
    top5 = sorted(counts, key=lambda item: (-counts[item], item))[:5]
    assert trained[recipe].recommend("never-seen-user", 5) == top5


def test_update_mode_is_a_reproducible_full_refit_from_another_thread(trained, spark):
    # The local Personalize trains on a worker thread and passes no session: the
    # trainer finds the running one. Same seed, same data: UPDATE (a full refit
    # locally) gives exactly the FULL model's metrics and recommendations.
    with ThreadPoolExecutor(max_workers=1) as pool:
        updated = pool.submit(
            LocalTrainer(seed=42, holdout_user_fraction=0.2), USER_PERSONALIZATION_V2, "UPDATE", to_csv_files(ROWS)
        ).result()
    assert updated.training_mode == "UPDATE"
    assert updated.recipe_arn == USER_PERSONALIZATION_V2
    assert updated.metrics == trained["als"].metrics
    for user in ("user000", "user001", "user123"):
        assert updated.recommend(user, 10) == trained["als"].recommend(user, 10)


@pytest.mark.parametrize("num_results", [0, 501, "5"])
def test_recommend_refuses_out_of_range_num_results(trained, num_results):
    with pytest.raises(ValueError, match="num_results must be an integer from 1 to 500"):
        trained["popularity"].recommend("user000", num_results)


def test_fold_in_reproduces_the_factors_spark_trained(spark):
    # Spark's last half-iteration computes every user factor from the final item
    # factors; folding a trained user's history in with the same item factors is that
    # step, so it must give back the user's factor (Spark stores floats: 1e-4).
    rows = [Interaction(user, item, timestamp) for user, item, timestamp in ROWS[: 60 * PURCHASES_PER_USER]]
    ranker = fit_als(spark, rows, AlsSettings(rank=8, max_iter=5), seed=3)
    for user in ("user000", "user001", "user031"):
        history = [row for row in rows if row.user_id == user]
        assert ranker.fold_in(history) == pytest.approx(ranker.user_factors[user], abs=1e-4)
    # A history of items the model never saw gives no factor: the user is cold.
    assert ranker.fold_in([Interaction("x", "unknown-item", 1)]) is None
