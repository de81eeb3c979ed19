"""What the trainer refuses or accepts before any model is fitted (no Spark needed)."""
from __future__ import annotations

import pytest

from local_pipeline.trainer import (
    AlsSettings,
    InteractionsFormatError,
    LocalTrainer,
    UnsupportedRecipeError,
    parse_interactions,
    recipe_kind,
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


def test_parse_reads_every_file_and_only_the_required_columns():
    files = [
        b"USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,10\n",
        b"",  # an empty part file
        # another column order, a quoted id with a comma, CRLF line ends, a BOM
        b'\xef\xbb\xbfEVENT_TYPE,TIMESTAMP,USER_ID,ITEM_ID\r\nclick,20,u2,"i,2"\r\n\r\n',
    ]
    rows = parse_interactions(files)
    assert [(r.user_id, r.item_id, r.timestamp) for r in rows] == [("u1", "i1", 10), ("u2", "i,2", 20)]


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
    ],
)
def test_malformed_interactions_are_refused_naming_file_line_and_rule(files, message):
    with pytest.raises(InteractionsFormatError) as error:
        parse_interactions(files)
    assert message in str(error.value)


def test_popularity_trains_and_evaluates_on_a_small_export():
    # Ten users with 10 distinct items each: one test user (round(0.1 * 10)) loses
    # its newest interaction, which is a new item, so exactly that user is evaluated.
    rows = "".join(f"u{user},i{(user + n) % 20},{1_700_000_000 + n}\n" for user in range(10) for n in range(10))
    model = LocalTrainer()(POPULARITY, "FULL", [("USER_ID,ITEM_ID,TIMESTAMP\n" + rows).encode()])
    assert model.summary == {
        "interactions": 100,
        "users": 10,
        "items": 19,  # i0 .. i18
        "training_interactions": 99,
        "test_users": 1,
        "evaluated_users": 1,
    }
    assert model.recipe_arn == POPULARITY


def test_a_holdout_with_no_new_item_to_predict_is_refused():
    # Every user cycles over the same 7 items, so the newest interaction of the test
    # user is always a repeat: no model could be scored.
    with pytest.raises(ValueError, match="only repeat items from their own history"):
        LocalTrainer()(POPULARITY, "FULL", SMALL_EXPORT)
