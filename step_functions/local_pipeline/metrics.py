"""Offline metrics computed the way Amazon Personalize documents them, for the local trainer.

The method follows "Evaluating an Amazon Personalize solution version with
metrics" in the Personalize developer guide:
https://docs.aws.amazon.com/personalize/latest/dg/working-with-training-metrics.html

* Split: about 10% of users are test users. The model is trained on the other
  users only; each test user's oldest 90% of interactions is the model's input
  and the newest 10% is what its recommendations are compared with.
* A *relevant recommendation* is one that "matches a value in the testing data
  for the particular user": the held-out items, whether or not the user had
  them before. Nothing is excluded from a list: only a filter would exclude
  items, and filters apply to GetRecommendations, not to this evaluation.
* ``precision_at_K``, ``normalized_discounted_cumulative_gain_at_K`` and
  ``mean_reciprocal_rank_at_25`` are per query (test user) and averaged;
  ``coverage`` counts the distinct recommended items of all queries over the
  distinct items of the Items and Interactions datasets.

This module is plain Python over per-user ranked lists: the test users are
few, so no Spark is needed here. Metric names are exactly the keys Personalize
returns from GetSolutionMetrics.
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Collection, Iterable, Mapping, NamedTuple, Optional, Sequence

PRECISION_CUTOFFS = (5, 10, 25)
NDCG_CUTOFFS = (5, 10, 25)
MRR_CUTOFF = 25
# The longest list any metric looks at: the evaluation asks the model for this many.
EVALUATION_LIST_LENGTH = max(PRECISION_CUTOFFS + NDCG_CUTOFFS + (MRR_CUTOFF,))

METRIC_NAMES = tuple(
    [f"precision_at_{k}" for k in PRECISION_CUTOFFS]
    + [f"normalized_discounted_cumulative_gain_at_{k}" for k in NDCG_CUTOFFS]
    + [f"mean_reciprocal_rank_at_{MRR_CUTOFF}", "coverage"]
)


class Interaction(NamedTuple):
    """One row of a Personalize interactions dataset (TIMESTAMP in epoch seconds).

    ``event_type`` and ``event_value`` are None when the dataset has no
    EVENT_TYPE or EVENT_VALUE column (or the row leaves EVENT_VALUE empty).
    """

    user_id: str
    item_id: str
    timestamp: int
    event_type: Optional[str] = None
    event_value: Optional[float] = None


class HoldoutError(ValueError):
    """The interactions cannot be split into a training set and a testing set."""


# --------------------------------------------------------------------------- metrics


def _check_ranked_list(recommended: Sequence[str], k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if len(set(recommended)) != len(recommended):
        duplicates = sorted(item for item, count in Counter(recommended).items() if count > 1)
        raise ValueError(f"a recommendation list must not repeat items; repeated: {duplicates}")


def precision_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """"The number of relevant recommendations out of the top K recommendations divided by K."

    The denominator is always ``k``, even when the list is shorter or the user
    has fewer than ``k`` held-out items. Each recommended item counts once,
    however often the user interacted with it in the testing data.
    """
    _check_ranked_list(recommended, k)
    relevant_set = set(relevant)
    hits = sum(1 for item in recommended[:k] if item in relevant_set)
    return hits / k


def ndcg_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalized discounted cumulative gain of the top ``k`` recommendations.

    As the page defines it: each relevant recommendation at 1-based position
    ``i <= k`` is weighted ``1 / log(1 + i)`` and summed (DCG); the ideal DCG is
    that of the same top ``k`` "sorted by relevance", i.e. with its relevant
    recommendations moved to the top: ``sum for i in 1..hits of 1 / log(1 + i)``,
    where ``hits`` is the number of relevant recommendations in the top ``k``.
    ``NDCG = DCG / ideal DCG``, and 0 when there is no hit. The logarithm's
    base cancels out; base 2 is used.

    The page's example (hits at positions 2 and 5, ``K = 5``):
    ``(1/log(1+2) + 1/log(1+5)) / (1/log(1+1) + 1/log(1+2)) = 0.6241``.
    """
    _check_ranked_list(recommended, k)
    relevant_set = set(relevant)
    if not relevant_set:
        raise ValueError("NDCG is undefined without relevant items: the relevant set is empty")
    hit_positions = [position for position, item in enumerate(recommended[:k], start=1) if item in relevant_set]
    if not hit_positions:
        return 0.0
    dcg = sum(1.0 / math.log2(1 + position) for position in hit_positions)
    ideal = sum(1.0 / math.log2(1 + position) for position in range(1, len(hit_positions) + 1))
    return dcg / ideal


def reciprocal_rank_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """``1 / rank`` of the first relevant item within the top ``k`` (1-based), or 0 if none.

    Averaged over users this is the mean reciprocal rank (``mean_reciprocal_rank_at_25``).
    """
    _check_ranked_list(recommended, k)
    relevant_set = set(relevant)
    for rank, item in enumerate(recommended[:k], start=1):
        if item in relevant_set:
            return 1.0 / rank
    return 0.0


def coverage(recommendation_lists: Iterable[Sequence[str]], catalog: Collection[str]) -> float:
    """Share of the catalog's distinct items that appear in at least one recommendation list.

    ``coverage = |union of the lists ∩ catalog| / |catalog|``. Personalize's
    catalog is "the total number of unique items in the Interactions and Items
    datasets" (see ``catalog_items``). Items outside the catalog do not count.
    """
    catalog_set = set(catalog)
    if not catalog_set:
        raise ValueError("coverage is undefined for an empty catalog")
    recommended: set[str] = set()
    for ranked in recommendation_lists:
        recommended.update(ranked)
    return len(recommended & catalog_set) / len(catalog_set)


def catalog_items(interactions: Iterable[Interaction], items_dataset: Optional[Iterable[str]] = None) -> set[str]:
    """Coverage's denominator: the distinct item ids of the Items dataset and of the interactions.

    Without an Items dataset it is the items of the interactions alone.
    """
    catalog = {row.item_id for row in interactions}
    if items_dataset is not None:
        catalog.update(items_dataset)
    return catalog


def personalize_metrics(
    recommendations: Mapping[str, Sequence[str]],
    relevant: Mapping[str, Collection[str]],
    catalog: Collection[str],
) -> dict[str, float]:
    """Personalize's offline metrics, averaged over the evaluated users.

    ``recommendations`` maps each evaluated user (one query each) to the ranked
    list the model returned (at least 25 long when the catalog allows),
    ``relevant`` maps the same users to their held-out items, and ``catalog``
    is coverage's denominator (``catalog_items``). Precision, NDCG and
    reciprocal rank are computed per user and averaged with equal weight per
    user; ``coverage`` is measured over the top-25 lists of those users.
    """
    if not relevant:
        raise ValueError("no user to evaluate: the relevant-items mapping is empty")
    missing = sorted(set(relevant) - set(recommendations))
    if missing:
        raise ValueError(f"no recommendations for evaluated users {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    users = sorted(relevant)
    count = len(users)
    metrics: dict[str, float] = {}
    for k in PRECISION_CUTOFFS:
        metrics[f"precision_at_{k}"] = sum(precision_at_k(recommendations[u], relevant[u], k) for u in users) / count
    for k in NDCG_CUTOFFS:
        metrics[f"normalized_discounted_cumulative_gain_at_{k}"] = (
            sum(ndcg_at_k(recommendations[u], relevant[u], k) for u in users) / count
        )
    metrics[f"mean_reciprocal_rank_at_{MRR_CUTOFF}"] = (
        sum(reciprocal_rank_at_k(recommendations[u], relevant[u], MRR_CUTOFF) for u in users) / count
    )
    metrics["coverage"] = coverage((recommendations[u][:EVALUATION_LIST_LENGTH] for u in users), catalog)
    return metrics


# --------------------------------------------------------------------------- holdout


@dataclass(frozen=True)
class HoldoutSplit:
    """Personalize's split of the interactions.

    ``train`` is what the model is fitted on: every interaction of the users
    not drawn for testing, and nothing of the test users. ``history`` maps each
    test user to the oldest part of their interactions, which the trained model
    is given as input (as GetRecommendations would know them) but is not
    trained on. ``held_out`` maps each test user to their newest interactions,
    the testing data the recommendations are compared with.
    """

    train: list[Interaction]
    history: dict[str, list[Interaction]]
    held_out: dict[str, list[Interaction]]
    eligible_users: int = field(default=0)

    @property
    def test_users(self) -> list[str]:
        return sorted(self.held_out)

    def relevant_items(self) -> dict[str, set[str]]:
        """Distinct held-out items per test user, including items also in that user's history.

        A relevant recommendation "matches a value in the testing data for the
        particular user"; a repeat purchase is such a value like any other.
        """
        return {user: {row.item_id for row in held} for user, held in self.held_out.items()}

    def new_items_only(self) -> dict[str, set[str]]:
        """Held-out items per test user that are not in the user's history; users left with none are omitted.

        Not Personalize's definition: the basis of the "new items only" view.
        """
        relevant: dict[str, set[str]] = {}
        for user, held in self.held_out.items():
            seen = {row.item_id for row in self.history[user]}
            novel = {row.item_id for row in held} - seen
            if novel:
                relevant[user] = novel
        return relevant


def holdout_count(interaction_count: int, latest_fraction: float) -> int:
    """How many of a test user's newest interactions are held out.

    ``ceil(latest_fraction * n)``, at least 1, and at most ``n - 1`` so that the
    model always has some input for the user.
    """
    if interaction_count < 2:
        raise HoldoutError(f"a test user needs at least 2 interactions, this one has {interaction_count}")
    return min(interaction_count - 1, max(1, math.ceil(latest_fraction * interaction_count)))


def personalize_holdout(
    interactions: Iterable[Interaction],
    user_fraction: float = 0.1,
    latest_fraction: float = 0.1,
    seed: int = 42,
) -> HoldoutSplit:
    """Split interactions the way Personalize does for its offline metrics.

    1. Users with at least 2 interactions are eligible (a user needs both an
       input and a testing part); ``round(user_fraction * eligible)`` of them
       (at least 1) are drawn at random with ``seed`` as test users.
    2. Each test user's interactions are ordered by (TIMESTAMP, ITEM_ID); the
       newest ``holdout_count(n, latest_fraction)`` are held out and the older
       ones are the model's input.
    3. The training set is every interaction of the other users.

    The result depends only on the interactions and the seed, not on their order.
    """
    if not 0 < user_fraction <= 1:
        raise HoldoutError(f"user_fraction must be in (0, 1], got {user_fraction!r}")
    if not 0 < latest_fraction < 1:
        raise HoldoutError(f"latest_fraction must be in (0, 1), got {latest_fraction!r}")
    by_user: dict[str, list[Interaction]] = defaultdict(list)
    for row in interactions:
        by_user[row.user_id].append(row)
    eligible = sorted(user for user, rows in by_user.items() if len(rows) >= 2)
    if not eligible:
        raise HoldoutError(
            f"no user has at least 2 interactions ({len(by_user)} users in total): nothing can be held out for evaluation"
        )
    sample_size = max(1, round(user_fraction * len(eligible)))
    test_users = set(random.Random(seed).sample(eligible, sample_size))

    train: list[Interaction] = []
    history: dict[str, list[Interaction]] = {}
    held_out: dict[str, list[Interaction]] = {}
    for user in sorted(by_user):
        rows = by_user[user]
        if user not in test_users:
            train.extend(rows)
            continue
        ordered = sorted(rows, key=lambda row: (row.timestamp, row.item_id))
        cut = len(ordered) - holdout_count(len(ordered), latest_fraction)
        history[user] = ordered[:cut]
        held_out[user] = ordered[cut:]
    return HoldoutSplit(train=train, history=history, held_out=held_out, eligible_users=len(eligible))
