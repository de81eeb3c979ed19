"""What the trainer refuses or accepts before any model is fitted (no Spark needed)."""
from __future__ import annotations

import pytest

from local_pipeline.metrics import Interaction
from local_pipeline.trainer import (
    AlsSettings,
    EventSelectionError,
    InteractionsFormatError,
    LocalTrainer,
    UnsupportedRecipeError,
    parse_interactions,
    parse_item_ids,
    recipe_kind,
    select_solution_events,
)

POPULARITY = "arn:aws:personalize:::recipe/aws-popularity-count"
USER_PERSONALIZATION = "arn:aws:personalize:::recipe/aws-user-personalization"
USER_PERSONALIZATION_V2 = "arn:aws:personalize:::recipe/aws-user-personalization-v2"

SMALL_EXPORT = [
    ("USER_ID,ITEM_ID,TIMESTAMP\n" + "".join(f"u{n % 10},i{n % 7},{1_700_000_000 + n}\n" for n in range(100))).encode()
]


def test_recipes_map_to_local_models():
    assert recipe_kind(POPULARITY) == "popularity"
    assert recipe_kind(USER_PERSONALIZATION) == "als"
    assert recipe_kind(USER_PERSONALIZATION_V2) == "als"


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_recipes_of_other_partitions_map_to_the_same_models(partition):
    assert recipe_kind(POPULARITY.replace("arn:aws:", f"arn:{partition}:")) == "popularity"
    assert recipe_kind(USER_PERSONALIZATION_V2.replace("arn:aws:", f"arn:{partition}:")) == "als"
    for not_a_recipe in (f"arn:{partition}:personalize:eu-west-1:1:recipe/aws-popularity-count", "aws-popularity-count", "arn:x:personalize:::recipe/aws-popularity-count"):
        with pytest.raises(UnsupportedRecipeError):
            recipe_kind(not_a_recipe)


def test_unknown_recipe_is_refused_by_name():
    unknown = "arn:aws:personalize:::recipe/aws-similar-items"
    with pytest.raises(UnsupportedRecipeError) as error:
        LocalTrainer()(unknown, "FULL", SMALL_EXPORT)
    assert unknown in str(error.value)
    assert POPULARITY in str(error.value)  # and lists what is supported


def test_unknown_training_mode_is_refused():
    with pytest.raises(ValueError, match="training_mode must be one of FULL, UPDATE, AUTOTRAIN, got 'PARTIAL'"):
        LocalTrainer()(POPULARITY, "PARTIAL", SMALL_EXPORT)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LocalTrainer(holdout_user_fraction=0), "holdout_user_fraction must be in (0, 1], got 0"),
        (lambda: LocalTrainer(holdout_latest_fraction=1), "holdout_latest_fraction must be in (0, 1), got 1"),
        (lambda: AlsSettings(rank=0), "ALS rank must be a positive integer, got 0"),
        (lambda: AlsSettings(alpha=-1.0), "ALS alpha must be a number >= 0, got -1.0"),
    ],
)
def test_bad_settings_are_refused_when_the_trainer_is_built(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value)


def test_parse_reads_every_file_the_required_columns_and_the_event_columns():
    files = [
        b"USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,10\n",
        b"",  # an empty part file
        # another column order, a quoted id with a comma, CRLF line ends, a BOM, an ignored column
        b'\xef\xbb\xbfEVENT_TYPE,CHANNEL,TIMESTAMP,USER_ID,ITEM_ID,EVENT_VALUE\r\nclick,web,20,u2,"i,2",0.5\r\n'
        b"view,app,30,u3,i3,\r\n\r\n",
    ]
    rows = parse_interactions(files)
    assert rows == [
        Interaction("u1", "i1", 10, None, None),
        Interaction("u2", "i,2", 20, "click", 0.5),
        Interaction("u3", "i3", 30, "view", None),  # an empty EVENT_VALUE
    ]


@pytest.mark.parametrize(
    "files, message",
    [
        ([b"USER_ID,TIMESTAMP\nu1,10\n"], "interactions file 1: header lacks required column(s) ['ITEM_ID']"),
        ([b"USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\n", b"USER_ID,ITEM_ID,TIMESTAMP\nu,i,1.5e9\n"],
         "interactions file 2, line 2: TIMESTAMP must be whole epoch seconds, got '1.5e9'"),
        ([b"USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\nu,i\n"], "interactions file 1, line 3: expected 3 fields as in the header, found 2"),
        ([b"USER_ID,ITEM_ID,TIMESTAMP\n,i,1\n"], "interactions file 1, line 2: USER_ID is empty"),
        ([b"USER_ID,ITEM_ID,TIMESTAMP\nu," + b"x" * 257 + b",1\n"], "line 2: ITEM_ID is longer than 256 characters"),
        ([b"USER_ID,ITEM_ID,ITEM_ID,TIMESTAMP\n"], "header repeats column(s) ['ITEM_ID']"),
        ([b"USER_ID,ITEM_ID,TIMESTAMP\nu,\xff,1\n"], "interactions file 1: not valid UTF-8"),
        ([b"USER_ID,ITEM_ID,TIMESTAMP\n", b""], "no interaction rows in the 2 interactions file(s)"),
        ([b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE\nu,i,1,1\nu,i,2,high\n"],
         "interactions file 1, line 3: EVENT_VALUE must be a finite number, got 'high'"),
        ([b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE\nu,i,1,nan\n"], "line 2: EVENT_VALUE must be a finite number, got 'nan'"),
    ],
)
def test_malformed_interactions_are_refused_naming_file_line_and_rule(files, message):
    with pytest.raises(InteractionsFormatError) as error:
        parse_interactions(files)
    assert message in str(error.value)


def test_item_ids_are_read_from_every_items_file():
    files = [b"ITEM_ID,PRICE\na,1.0\nb,2.0\n", b"", b'\xef\xbb\xbfBRAND,ITEM_ID\r\nx,"c,1"\r\ny,a\r\n']
    assert parse_item_ids(files) == {"a", "b", "c,1"}


@pytest.mark.parametrize(
    "files, message",
    [
        ([b"PRICE\n1.0\n"], "items file 1: header lacks required column ITEM_ID"),
        ([b"ITEM_ID\na\n", b"ITEM_ID,PRICE\nb,1\n,2\n"], "items file 2, line 3: ITEM_ID is empty"),
        ([b"ITEM_ID,PRICE\na\n"], "items file 1, line 2: expected 2 fields as in the header, found 1"),
    ],
)
def test_malformed_items_files_are_refused_naming_file_line_and_rule(files, message):
    with pytest.raises(InteractionsFormatError) as error:
        parse_item_ids(files)
    assert message in str(error.value)


# A hand-made export whose test user is fixed: "tester" is the only user with 2 or
# more interactions, so round(0.1 * 1) -> 1 test user, the newest 1 of 2 held out:
# input [pen], testing data [ink]. Everyone else is training data.
HAND_MADE = (
    "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
    "tester,pen,1,purchase,10\n"
    "tester,ink,2,purchase,10\n"
    "u1,ink,3,purchase,10\n"
    "u2,ink,4,purchase,10\n"
    "u3,pad,5,purchase,1\n"
    "u4,pad,6,purchase,1\n"
    "u5,pad,7,purchase,1\n"
    "u6,pen,8,purchase,10\n"
    + "".join(f"c{n},cap,{9 + n},click,10\n" for n in range(5))
).encode()
ITEMS_DATASET = [b"ITEM_ID\npen\nink\npad\ncap\nhat\n"]  # "hat" is never interacted with


def test_popularity_metrics_on_a_hand_made_export():
    # Training data: cap 5 (clicks), pad 3, ink 2, pen 1 -> everyone gets [cap, pad, ink, pen],
    # nothing excluded. tester's testing item "ink" is at rank 3:
    #   precision@5 = 1/5, @10 = 1/10, @25 = 1/25; MRR = 1/3;
    #   NDCG = (1/log2(1+3)) / (1/log2(1+1)) = 0.5 at every K.
    # Coverage: 4 recommended items / 5 in the Items dataset ∪ interactions (hat included) = 0.8.
    model = LocalTrainer()(POPULARITY, "FULL", [HAND_MADE], items_csv=ITEMS_DATASET)
    assert model.metrics == pytest.approx({
        "precision_at_5": 0.2, "precision_at_10": 0.1, "precision_at_25": 0.04,
        "normalized_discounted_cumulative_gain_at_5": 0.5,
        "normalized_discounted_cumulative_gain_at_10": 0.5,
        "normalized_discounted_cumulative_gain_at_25": 0.5,
        "mean_reciprocal_rank_at_25": 1 / 3,
        "coverage": 0.8,
    })
    assert model.summary == {
        "interactions": 13,
        "filtered_by_event_type": 0,
        "filtered_by_event_value": 0,
        "selected_interactions": 13,
        "users": 12,
        "items_in_interactions": 4,
        "items": 5,
        "training_interactions": 11,
        "input_interactions": 1,
        "held_out_interactions": 1,
        "test_users": 1,
        "evaluated_users": 1,
    }
    # Without the Items dataset coverage's denominator is the 4 interacted items: 4/4.
    assert LocalTrainer()(POPULARITY, "FULL", [HAND_MADE]).metrics["coverage"] == pytest.approx(1.0)


def test_the_solutions_event_type_selects_what_is_trained_and_evaluated():
    # eventType "purchase" drops the 5 clicks: training data pad 3, ink 2, pen 1 ->
    # [pad, ink, pen]; "ink" at rank 2: precision@5 = 1/5, MRR = 1/2,
    # NDCG = (1/log2(3)) / 1 = 0.63093. Coverage: 3 recommended / 5 catalog items = 0.6
    # (the catalog is the datasets', whatever the solution selects).
    model = LocalTrainer()(POPULARITY, "FULL", [HAND_MADE], items_csv=ITEMS_DATASET, event_type="purchase")
    assert model.metrics["precision_at_5"] == pytest.approx(0.2)
    assert model.metrics["mean_reciprocal_rank_at_25"] == pytest.approx(0.5)
    assert model.metrics["normalized_discounted_cumulative_gain_at_10"] == pytest.approx(0.630930, abs=1e-6)
    assert model.metrics["coverage"] == pytest.approx(0.6)
    assert model.summary["filtered_by_event_type"] == 5
    assert model.summary["selected_interactions"] == 8
    assert model.summary["training_interactions"] == 6
    # The served model is trained on every purchase (tester's too): ink 3, pad 3, pen 2,
    # ties by item id; the clicked cap never comes up.
    assert model.recommend("someone-new", 5) == ["ink", "pad", "pen"]


def test_the_event_value_threshold_applies_after_the_event_type():
    # eventValueThreshold "2" also drops the three pad purchases (value 1): training data
    # ink 2, pen 1 -> [ink, pen]; "ink" at rank 1: precision@5 = 1/5, MRR = 1, NDCG = 1.
    model = LocalTrainer()(
        POPULARITY, "FULL", [HAND_MADE], items_csv=ITEMS_DATASET, event_type="purchase", event_value_threshold="2"
    )
    assert model.metrics["precision_at_5"] == pytest.approx(0.2)
    assert model.metrics["mean_reciprocal_rank_at_25"] == pytest.approx(1.0)
    assert model.metrics["normalized_discounted_cumulative_gain_at_5"] == pytest.approx(1.0)
    assert model.summary["filtered_by_event_type"] == 5
    assert model.summary["filtered_by_event_value"] == 3
    # read = selected + filtered
    assert model.summary["interactions"] == model.summary["selected_interactions"] + 5 + 3


def test_event_selection_keeps_values_at_or_above_the_threshold():
    rows = [
        Interaction("u", "a", 1, "watch", 0.4),
        Interaction("u", "b", 2, "watch", 0.5),   # equal to the threshold: kept
        Interaction("u", "c", 3, "watch", None),  # no value: below any threshold
        Interaction("u", "d", 4, "click", 0.9),
    ]
    selection = select_solution_events(rows, "watch", "0.5")
    assert selection.kept == [rows[1]]
    assert (selection.filtered_by_event_type, selection.filtered_by_event_value) == (1, 2)
    # No settings: every interaction, whatever its type.
    assert select_solution_events(rows).kept == rows


@pytest.mark.parametrize(
    "rows, settings, message",
    [
        ([Interaction("u", "a", 1)], {"event_type": "purchase"},
         "eventType 'purchase' is set but the interactions have no EVENT_TYPE column"),
        ([Interaction("u", "a", 1, "click")], {"event_value_threshold": "0.5"},
         "eventValueThreshold '0.5' is set but the interactions have no EVENT_VALUE values"),
        ([Interaction("u", "a", 1, "click", 1.0)], {"event_value_threshold": "half"},
         "eventValueThreshold must be a number written as a string, got 'half'"),
        ([Interaction("u", "a", 1, "click", 1.0)], {"event_type": "purchase"},
         "no interaction is left to train on: eventType 'purchase' removed all 1 interactions (1 by event type, 0 by event value)"),
    ],
)
def test_event_settings_that_cannot_apply_are_refused(rows, settings, message):
    with pytest.raises(EventSelectionError) as error:
        select_solution_events(rows, **settings)
    assert message in str(error.value)


def test_popularity_trains_and_evaluates_on_a_small_export():
    # Ten users with 10 distinct items each: one test user (round(0.1 * 10)) gives its
    # 9 oldest interactions as input and its newest as testing data; the 9 others train.
    rows = "".join(f"u{user},i{(user + n) % 20},{1_700_000_000 + n}\n" for user in range(10) for n in range(10))
    model = LocalTrainer()(POPULARITY, "FULL", [("USER_ID,ITEM_ID,TIMESTAMP\n" + rows).encode()])
    assert model.summary == {
        "interactions": 100,
        "filtered_by_event_type": 0,
        "filtered_by_event_value": 0,
        "selected_interactions": 100,
        "users": 10,
        "items_in_interactions": 19,  # i0 .. i18
        "items": 19,
        "training_interactions": 90,
        "input_interactions": 9,
        "held_out_interactions": 1,
        "test_users": 1,
        "evaluated_users": 1,
    }
    assert model.recipe_arn == POPULARITY


def test_held_out_repeats_are_scored_and_the_new_items_view_is_left_out():
    # Every user cycles over the same 7 items, so the test user's newest interaction
    # repeats an item of its input. Personalize scores it like any other testing data;
    # the "new items only" view has nothing to score and is absent.
    model = LocalTrainer()(POPULARITY, "FULL", SMALL_EXPORT)
    assert model.summary["evaluated_users"] == 1
    # Popularity lists all 7 items, so the held-out item is among the top 25 and the top 10.
    assert model.metrics["precision_at_25"] == pytest.approx(1 / 25)
    assert model.metrics["precision_at_10"] == pytest.approx(1 / 10)
    assert model.views == {}


def test_the_new_items_view_has_its_own_name_beside_personalizes_metrics():
    model = LocalTrainer()(POPULARITY, "FULL", [HAND_MADE])
    # tester's input [pen] and testing data [ink]: ink is new to tester, so the view exists.
    # Excluding pen from the list: [cap, pad, ink] -> ink at rank 3, as in Personalize's list.
    assert set(model.views) == {"new_items_only"}
    assert model.views["new_items_only"]["mean_reciprocal_rank_at_25"] == pytest.approx(1 / 3)
    assert set(model.views["new_items_only"]) == set(model.metrics)
