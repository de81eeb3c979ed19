"""Offline metrics shaped like Amazon Personalize's, for the local trainer.

Personalize evaluates a solution version by holding out the newest interactions
of about 10% of users, asking the model for recommendations from the rest of
their history, and comparing. This module does the same with plain Python over
per-user ranked lists: the holdout users are few, so no Spark is needed here.

Metric names are exactly the keys Personalize returns from GetSolutionMetrics:
``precision_at_{5,10,25}``, ``normalized_discounted_cumulative_gain_at_{5,10,25}``,
``mean_reciprocal_rank_at_25`` and ``coverage``.
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Collection, Iterable, Mapping, NamedTuple, Sequence

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
    """One row of a Personalize interactions dataset (TIMESTAMP in epoch seconds)."""

    user_id: str
    item_id: str
    timestamp: int


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
    """Share of the top ``k`` recommendations that are relevant.

    ``precision@k = |top_k(recommended) ∩ relevant| / k``. The denominator is
    always ``k``, even when the list is shorter or fewer than ``k`` items are
    relevant, as in Personalize: a perfect score needs ``k`` relevant items.
    """
    _check_ranked_list(recommended, k)
    relevant_set = set(relevant)
    hits = sum(1 for item in recommended[:k] if item in relevant_set)
    return hits / k


def ndcg_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalized discounted cumulative gain of the top ``k`` recommendations.

    With binary relevance and 1-based rank ``i``:
    ``DCG@k = sum over relevant items at rank i <= k of 1 / log2(i + 1)``, and
    ``IDCG@k`` is the DCG of an ideal list (all relevant items first), i.e.
    ``sum for i in 1..min(|relevant|, k) of 1 / log2(i + 1)``.
    ``NDCG@k = DCG@k / IDCG@k``, between 0 and 1. Hits near the top weigh more.
    """
    _check_ranked_list(recommended, k)
    relevant_set = set(relevant)
    if not relevant_set:
        raise ValueError("NDCG is undefined without relevant items: the relevant set is empty")
    dcg = sum(1.0 / math.log2(rank + 1) for rank, item in enumerate(recommended[:k], start=1) if item in relevant_set)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant_set), k) + 1))
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

    ``coverage = |union of the lists ∩ catalog| / |catalog|``. Items outside the
    catalog do not count.
    """
    catalog_set = set(catalog)
    if not catalog_set:
        raise ValueError("coverage is undefined for an empty catalog")
    recommended: set[str] = set()
    for ranked in recommendation_lists:
        recommended.update(ranked)
    return len(recommended & catalog_set) / len(catalog_set)


def personalize_metrics(
    recommendations: Mapping[str, Sequence[str]],
    relevant: Mapping[str, Collection[str]],
    catalog: Collection[str],
) -> dict[str, float]:
    """Personalize's offline metrics, averaged over the evaluated users.

    ``recommendations`` maps each evaluated user to the ranked list the model
    returned (at least 25 long when the catalog allows), ``relevant`` maps the
    same users to their held-out items, and ``catalog`` is every item the
    interactions mention. Precision, NDCG and reciprocal rank are computed per
    user and averaged with equal weight per user; ``coverage`` is measured over
    the top-25 lists of those users.
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
    """A Personalize-shaped split of the interactions.

    ``train`` is what the model is fitted on: every interaction of the users
    not chosen for testing, plus the older part of each test user's history.
    ``held_out`` maps each test user to their newest interactions, which the
    model never sees. ``history`` maps each test user to the part of their
    history that stays in ``train`` (the model's input for that user).
    """

    train: list[Interaction]
    history: dict[str, list[Interaction]]
    held_out: dict[str, list[Interaction]]
    eligible_users: int = field(default=0)

    @property
    def test_users(self) -> list[str]:
        return sorted(self.held_out)

    def relevant_items(self) -> dict[str, set[str]]:
        """Held-out items per test user, minus items already in that user's history.

        Recommendations never repeat an item the user has interacted with, so a
        re-purchase of a known item could never be hit; counting it would only
        lower every model's score alike. Users left with nothing are not
        evaluated (see ``unevaluable_users``).
        """
        relevant: dict[str, set[str]] = {}
        for user, held in self.held_out.items():
            seen = {row.item_id for row in self.history[user]}
            novel = {row.item_id for row in held} - seen
            if novel:
                relevant[user] = novel
        return relevant

    @property
    def unevaluable_users(self) -> list[str]:
        """Test users whose held-out interactions only repeat items they already had."""
        return sorted(set(self.held_out) - set(self.relevant_items()))


def holdout_count(interaction_count: int, latest_fraction: float) -> int:
    """How many of a test user's newest interactions are held out.

    ``ceil(latest_fraction * n)``, at least 1, and at most ``n - 1`` so that the
    model always has some history for the user.
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

    1. Users with at least 2 interactions are eligible; ``round(user_fraction *
       eligible)`` of them (at least 1) are drawn at random with ``seed``.
    2. Each drawn user's interactions are ordered by (TIMESTAMP, ITEM_ID) and the
       newest ``holdout_count(n, latest_fraction)`` are held out.
    3. Everything else is the training set.

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
        train.extend(ordered[:cut])
    return HoldoutSplit(train=train, history=history, held_out=held_out, eligible_users=len(eligible))
