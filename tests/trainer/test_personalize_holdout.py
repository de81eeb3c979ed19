"""The holdout follows Personalize: ~10% of users are test users, not trained on; the
oldest 90% of each one's interactions is the model's input, the newest 10% the testing data.

https://docs.aws.amazon.com/personalize/latest/dg/working-with-training-metrics.html
"""
from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from local_pipeline.metrics import HoldoutError, Interaction, holdout_count, personalize_holdout


def _history(user: str, count: int, start: int = 1_700_000_000) -> list[Interaction]:
    return [Interaction(user, f"{user}-item{n}", start + 60 * n) for n in range(count)]


def _population(eligible: int = 200, single: int = 50) -> list[Interaction]:
    rows: list[Interaction] = []
    for n in range(eligible):
        rows.extend(_history(f"multi{n:03d}", 2 + n % 30))
    for n in range(single):
        rows.extend(_history(f"single{n:03d}", 1))
    return rows


@pytest.mark.parametrize(
    "interactions, held",
    [(2, 1), (9, 1), (10, 1), (11, 2), (25, 3), (100, 10)],
)
def test_holdout_count_is_the_newest_tenth_rounded_up(interactions, held):
    assert holdout_count(interactions, 0.1) == held


def test_holdout_count_always_leaves_history():
    # 90% of 2 rounds up to 2, but one interaction must stay as the model's input.
    assert holdout_count(2, 0.9) == 1


def test_about_ten_percent_of_eligible_users_are_tested_and_single_interaction_users_never():
    split = personalize_holdout(_population(), seed=7)
    assert split.eligible_users == 200
    assert len(split.test_users) == 20  # round(0.1 * 200)
    assert all(user.startswith("multi") for user in split.test_users)


def test_the_newest_interactions_are_held_out_whatever_the_input_order():
    # 20 interactions -> ceil(0.1 * 20) = 2 held out: the ones at timestamps 19 and 20.
    user_rows = [Interaction("u1", f"item{ts % 7}", ts) for ts in range(1, 21)]
    shuffled = list(user_rows)
    random.Random(1).shuffle(shuffled)
    split = personalize_holdout(shuffled, user_fraction=1.0)
    assert split.test_users == ["u1"]
    assert [row.timestamp for row in split.held_out["u1"]] == [19, 20]
    assert [row.timestamp for row in split.history["u1"]] == list(range(1, 19))
    # The test user's older interactions are the model's input, not training data.
    assert split.train == []


def test_split_on_a_small_hand_made_dataset():
    # Ten users with 2 or more interactions and one with a single interaction.
    # user_fraction 0.2 -> round(0.2 * 10) = 2 test users, drawn with the seed.
    rows = []
    for n in range(10):
        user = f"u{n}"
        rows.extend(Interaction(user, f"{user}-i{k}", 100 * n + k) for k in range(2 + n))  # u0: 2 rows ... u9: 11
    rows.append(Interaction("solo", "s", 5))
    split = personalize_holdout(rows, user_fraction=0.2, seed=3)
    assert split.eligible_users == 10  # "solo" has one interaction
    assert len(split.test_users) == 2
    for user in split.test_users:
        count = 2 + int(user[1:])
        # Newest ceil(0.1 * n) held out (1 for n <= 10, 2 for n = 11), the rest is input.
        held = 2 if count == 11 else 1
        own = sorted((row for row in rows if row.user_id == user), key=lambda row: row.timestamp)
        assert split.held_out[user] == own[count - held:]
        assert split.history[user] == own[: count - held]
    # Training data: every interaction of the 9 other users (solo included), none of the test users.
    others = [row for row in rows if row.user_id not in split.test_users]
    assert Counter(split.train) == Counter(others)
    assert not {row.user_id for row in split.train} & set(split.test_users)


def test_equal_timestamps_are_ordered_by_item_id():
    rows = [Interaction("u", "b", 5), Interaction("u", "a", 5), Interaction("u", "c", 1)]
    split = personalize_holdout(rows, user_fraction=1.0)
    assert split.held_out["u"] == [Interaction("u", "b", 5)]


def test_the_split_is_deterministic_for_a_seed_and_independent_of_row_order():
    rows = _population()
    shuffled = list(rows)
    random.Random(3).shuffle(shuffled)
    first = personalize_holdout(rows, seed=11)
    again = personalize_holdout(shuffled, seed=11)
    assert first.held_out == again.held_out
    assert Counter(first.train) == Counter(again.train)
    other_seed = personalize_holdout(rows, seed=12)
    assert other_seed.test_users != first.test_users


def test_relevant_items_are_the_held_out_items_including_repeats():
    rows = [
        # "repeat" buys the same item again at the end: that repeat is testing data like any other.
        Interaction("repeat", "x", 1),
        Interaction("repeat", "x", 2),
        # "fresh" ends with a new item.
        Interaction("fresh", "y", 1),
        Interaction("fresh", "z", 2),
    ]
    split = personalize_holdout(rows, user_fraction=1.0)
    assert split.relevant_items() == {"repeat": {"x"}, "fresh": {"z"}}
    # The separate "new items only" view leaves the repeat out.
    assert split.new_items_only() == {"fresh": {"z"}}


def test_relevant_items_hold_each_item_once():
    # 20 interactions -> the newest 2 held out, both of item "b": one relevant item.
    rows = [Interaction("u", "a", ts) for ts in range(18)] + [Interaction("u", "b", 18), Interaction("u", "b", 19)]
    split = personalize_holdout(rows, user_fraction=1.0)
    assert len(split.held_out["u"]) == 2
    assert split.relevant_items() == {"u": {"b"}}


@pytest.mark.parametrize(
    "rows, kwargs, message",
    [
        (_history("only", 1) + _history("lonely", 1), {}, "no user has at least 2 interactions (2 users in total)"),
        (_history("u", 5), {"user_fraction": 0}, "user_fraction must be in (0, 1]"),
        (_history("u", 5), {"latest_fraction": 1.0}, "latest_fraction must be in (0, 1)"),
    ],
)
def test_impossible_holdouts_are_refused_with_the_reason(rows, kwargs, message):
    with pytest.raises(HoldoutError) as error:
        personalize_holdout(rows, **kwargs)
    assert message in str(error.value)


interaction_lists = st.lists(
    st.builds(
        Interaction,
        st.sampled_from([f"user{n}" for n in range(12)]),
        st.sampled_from([f"item{n}" for n in range(8)]),
        st.integers(min_value=0, max_value=50),
    ),
    min_size=2,
    max_size=120,
).filter(lambda rows: any(count >= 2 for count in Counter(row.user_id for row in rows).values()))


@settings(max_examples=60, deadline=None)
@given(rows=interaction_lists, seed=st.integers(min_value=0, max_value=10_000))
def test_split_partitions_the_interactions_and_holds_out_only_the_newest(rows, seed):
    split = personalize_holdout(rows, seed=seed)
    held = [row for user_rows in split.held_out.values() for row in user_rows]
    given = [row for user_rows in split.history.values() for row in user_rows]
    # Nothing is lost or duplicated: training data + test users' input + testing data.
    assert Counter(split.train) + Counter(given) + Counter(held) == Counter(rows)
    # The model never trains on a test user.
    assert not {row.user_id for row in split.train} & set(split.test_users)
    per_user = Counter(row.user_id for row in rows)
    for user in split.test_users:
        assert per_user[user] >= 2
        assert len(split.held_out[user]) == holdout_count(per_user[user], 0.1)
        assert split.history[user], "a test user keeps some history as the model's input"
        newest_kept = max((row.timestamp, row.item_id) for row in split.history[user])
        assert all((row.timestamp, row.item_id) >= newest_kept for row in split.held_out[user])
    eligible = sum(1 for count in per_user.values() if count >= 2)
    assert len(split.test_users) == max(1, round(0.1 * eligible))
