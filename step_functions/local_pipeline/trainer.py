"""Local stand-in for Amazon Personalize training: real models on the exported interactions.

The local Personalize calls a ``LocalTrainer`` when a solution version trains.
It parses the interactions CSV files that the import job read, evaluates the
recipe on a Personalize-shaped holdout (see ``metrics``), then fits the model
that the campaign serves on all interactions.

Recipes:

* ``aws-popularity-count``: items ranked by their number of interactions.
* ``aws-user-personalization`` and ``aws-user-personalization-v2``: implicit-
  feedback matrix factorisation with Spark MLlib ALS. Repeated interactions of a
  user with an item are summed into one confidence count.

``training_mode`` UPDATE (and AUTOTRAIN) is a full refit here: ALS has no
incremental update, and the data is small enough to retrain in seconds.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Protocol, Sequence

from local_pipeline.metrics import (
    EVALUATION_LIST_LENGTH,
    HoldoutError,
    Interaction,
    personalize_holdout,
    personalize_metrics,
)

logger = logging.getLogger(__name__)

POPULARITY_COUNT_RECIPE = "arn:aws:personalize:::recipe/aws-popularity-count"
USER_PERSONALIZATION_RECIPES = (
    "arn:aws:personalize:::recipe/aws-user-personalization",
    "arn:aws:personalize:::recipe/aws-user-personalization-v2",
)
SUPPORTED_RECIPES = (POPULARITY_COUNT_RECIPE,) + USER_PERSONALIZATION_RECIPES
TRAINING_MODES = ("FULL", "UPDATE", "AUTOTRAIN")

REQUIRED_COLUMNS = ("USER_ID", "ITEM_ID", "TIMESTAMP")
MAX_ID_LENGTH = 256  # Personalize's limit for USER_ID and ITEM_ID
MAX_NUM_RESULTS = 500  # GetRecommendations' numResults upper bound
_EPOCH_SECONDS = re.compile(r"[0-9]+")


class UnsupportedRecipeError(ValueError):
    """The recipe has no local implementation."""


class InteractionsFormatError(ValueError):
    """An interactions CSV file breaks Personalize's format."""


# --------------------------------------------------------------------------- input


def parse_interactions(interactions_csv: Sequence[bytes]) -> list[Interaction]:
    """Read Personalize interactions CSV files (each with its own header row).

    Columns other than USER_ID, ITEM_ID and TIMESTAMP are ignored: every
    interaction counts, whatever its EVENT_TYPE or EVENT_VALUE. Empty files are
    skipped. Errors name the file (1-based, in the order given), the line and
    the rule broken.
    """
    rows: list[Interaction] = []
    for file_number, blob in enumerate(interactions_csv, start=1):
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise InteractionsFormatError(f"interactions file {file_number}: expected bytes, got {type(blob).__name__}")
        try:
            text = bytes(blob).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InteractionsFormatError(f"interactions file {file_number}: not valid UTF-8 (byte {exc.start})") from exc
        if not text.strip():
            continue
        rows.extend(_parse_file(file_number, text))
    if not rows:
        raise InteractionsFormatError(f"no interaction rows in the {len(interactions_csv)} interactions file(s)")
    return rows


def _parse_file(file_number: int, text: str) -> list[Interaction]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    where = f"interactions file {file_number}"
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicated:
        raise InteractionsFormatError(f"{where}: header repeats column(s) {duplicated}")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InteractionsFormatError(f"{where}: header lacks required column(s) {missing}; header is {header}")
    user_col, item_col, time_col = (header.index(name) for name in REQUIRED_COLUMNS)
    rows = []
    for record in reader:
        if not record:
            continue  # blank line
        line = f"{where}, line {reader.line_num}"
        if len(record) != len(header):
            raise InteractionsFormatError(f"{line}: expected {len(header)} fields as in the header, found {len(record)}")
        user_id, item_id, timestamp = record[user_col], record[item_col], record[time_col]
        for column, value in (("USER_ID", user_id), ("ITEM_ID", item_id)):
            if not value:
                raise InteractionsFormatError(f"{line}: {column} is empty")
            if len(value) > MAX_ID_LENGTH:
                raise InteractionsFormatError(f"{line}: {column} is longer than {MAX_ID_LENGTH} characters")
        if not _EPOCH_SECONDS.fullmatch(timestamp):
            raise InteractionsFormatError(f"{line}: TIMESTAMP must be whole epoch seconds, got {timestamp!r}")
        rows.append(Interaction(user_id, item_id, int(timestamp)))
    return rows


_RECIPE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:personalize:::recipe/([a-zA-Z0-9\-_.]+)$")


def recipe_kind(recipe_arn: str) -> str:
    """``"popularity"`` or ``"als"`` for a supported recipe ARN of any partition
    (``arn:aws-cn:...`` names the same recipe in China); a clear error otherwise."""
    match = _RECIPE_ARN.match(recipe_arn)
    name = match.group(1) if match else None
    if name == POPULARITY_COUNT_RECIPE.rsplit("/", 1)[1]:
        return "popularity"
    if name in {arn.rsplit("/", 1)[1] for arn in USER_PERSONALIZATION_RECIPES}:
        return "als"
    raise UnsupportedRecipeError(
        f"recipe {recipe_arn!r} has no local implementation; supported recipes: {', '.join(SUPPORTED_RECIPES)}"
    )


# --------------------------------------------------------------------------- models


class Ranker(Protocol):
    def rank(self, user_id: str, num_results: int, exclude: frozenset[str]) -> list[str]: ...


@dataclass(frozen=True)
class PopularityRanker:
    """Items by descending interaction count (ties by item id); the same list for everyone."""

    ranked_items: tuple[str, ...]

    @classmethod
    def fit(cls, interactions: Sequence[Interaction]) -> "PopularityRanker":
        counts = Counter(row.item_id for row in interactions)
        return cls(tuple(sorted(counts, key=lambda item: (-counts[item], item))))

    def rank(self, user_id: str, num_results: int, exclude: frozenset[str]) -> list[str]:
        ranked: list[str] = []
        for item in self.ranked_items:
            if item not in exclude:
                ranked.append(item)
                if len(ranked) == num_results:
                    break
        return ranked


@dataclass(frozen=True)
class FactorRanker:
    """Scores items by the dot product of ALS user and item factors.

    Users without factors (not in the training data) get the popularity list,
    as Personalize serves popular items to cold users.
    """

    user_factors: dict[str, tuple[float, ...]]
    item_factors: tuple[tuple[str, tuple[float, ...]], ...]
    fallback: PopularityRanker

    def rank(self, user_id: str, num_results: int, exclude: frozenset[str]) -> list[str]:
        user_vector = self.user_factors.get(user_id)
        if user_vector is None:
            return self.fallback.rank(user_id, num_results, exclude)
        scored = [
            (sum(u * v for u, v in zip(user_vector, item_vector)), item)
            for item, item_vector in self.item_factors
            if item not in exclude
        ]
        # Highest score first; the item id breaks ties so results are reproducible.
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [item for _, item in scored[:num_results]]


@dataclass(frozen=True)
class AlsSettings:
    """ALS hyperparameters sized for a 2-core machine and tens of thousands of interactions."""

    rank: int = 16
    max_iter: int = 10
    reg_param: float = 0.1
    alpha: float = 1.0
    blocks: int = 2

    def __post_init__(self) -> None:
        for name in ("rank", "max_iter", "blocks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ALS {name} must be a positive integer, got {value!r}")
        for name in ("reg_param", "alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"ALS {name} must be a number >= 0, got {value!r}")


def fit_als(spark, interactions: Sequence[Interaction], settings: AlsSettings, seed: int) -> FactorRanker:
    """Fit implicit-feedback ALS (Spark MLlib) and return its factors as a ranker.

    String ids are indexed to ints (sorted, so the index is reproducible) and
    repeated (user, item) interactions are summed into a confidence count.
    Only the factors come back to the driver: users x rank and items x rank.
    """
    from pyspark.ml.recommendation import ALS
    from pyspark.sql.types import FloatType, IntegerType, StructField, StructType

    users = sorted({row.user_id for row in interactions})
    items = sorted({row.item_id for row in interactions})
    user_index = {user: index for index, user in enumerate(users)}
    item_index = {item: index for index, item in enumerate(items)}
    confidence = Counter((user_index[row.user_id], item_index[row.item_id]) for row in interactions)
    schema = StructType(
        [
            StructField("user", IntegerType(), False),
            StructField("item", IntegerType(), False),
            StructField("confidence", FloatType(), False),
        ]
    )
    ratings = spark.createDataFrame(
        [(user, item, float(count)) for (user, item), count in sorted(confidence.items())], schema
    )
    estimator = ALS(
        implicitPrefs=True,
        rank=settings.rank,
        maxIter=settings.max_iter,
        regParam=settings.reg_param,
        alpha=settings.alpha,
        numUserBlocks=settings.blocks,
        numItemBlocks=settings.blocks,
        seed=seed,
        userCol="user",
        itemCol="item",
        ratingCol="confidence",
    )
    model = estimator.fit(ratings)
    user_factors = {users[row["id"]]: tuple(row["features"]) for row in model.userFactors.collect()}
    item_factors = tuple(sorted((items[row["id"]], tuple(row["features"])) for row in model.itemFactors.collect()))
    return FactorRanker(user_factors, item_factors, PopularityRanker.fit(interactions))


@dataclass
class TrainedModel:
    """A trained solution version: its offline metrics and a way to get recommendations.

    ``summary`` counts what was trained and evaluated: ``interactions``,
    ``users``, ``items``, ``training_interactions`` (after the holdout),
    ``test_users`` and ``evaluated_users``.
    """

    recipe_arn: str
    training_mode: str
    metrics: dict[str, float]
    summary: dict[str, int]
    ranker: Ranker = field(repr=False)
    seen_items: dict[str, frozenset[str]] = field(repr=False)

    def recommend(self, user_id: str, num_results: int = 25) -> list[str]:
        """Top ``num_results`` items for the user, never one the user already interacted with.

        Unknown (cold) users get the most popular items.
        """
        if not isinstance(user_id, str) or not user_id:
            raise ValueError(f"user_id must be a non-empty string, got {user_id!r}")
        if isinstance(num_results, bool) or not isinstance(num_results, int) or not 1 <= num_results <= MAX_NUM_RESULTS:
            raise ValueError(f"num_results must be an integer from 1 to {MAX_NUM_RESULTS}, got {num_results!r}")
        return self.ranker.rank(user_id, num_results, self.seen_items.get(user_id, frozenset()))


def _seen_by_user(interactions: Sequence[Interaction]) -> dict[str, frozenset[str]]:
    seen: dict[str, set[str]] = {}
    for row in interactions:
        seen.setdefault(row.user_id, set()).add(row.item_id)
    return {user: frozenset(items) for user, items in seen.items()}


class LocalTrainer:
    """Trains a solution version locally; the local Personalize calls it.

    ``spark`` is the SparkSession for ALS (the active one, or a new local one,
    when omitted; popularity needs none). ``seed`` fixes both the holdout draw
    and the ALS initialisation, so equal inputs give equal models and metrics.
    """

    def __init__(
        self,
        spark=None,
        seed: int = 42,
        holdout_user_fraction: float = 0.1,
        holdout_latest_fraction: float = 0.1,
        als: Optional[AlsSettings] = None,
    ):
        if not 0 < holdout_user_fraction <= 1:
            raise ValueError(f"holdout_user_fraction must be in (0, 1], got {holdout_user_fraction!r}")
        if not 0 < holdout_latest_fraction < 1:
            raise ValueError(f"holdout_latest_fraction must be in (0, 1), got {holdout_latest_fraction!r}")
        self._spark = spark
        self.seed = seed
        self.holdout_user_fraction = holdout_user_fraction
        self.holdout_latest_fraction = holdout_latest_fraction
        self.als = als or AlsSettings()
        # Solution versions may train concurrently; one fit at a time suits 2 cores.
        self._lock = threading.Lock()

    def __call__(self, recipe_arn: str, training_mode: str, interactions_csv: list[bytes]) -> TrainedModel:
        kind = recipe_kind(recipe_arn)
        if training_mode not in TRAINING_MODES:
            raise ValueError(f"training_mode must be one of {', '.join(TRAINING_MODES)}, got {training_mode!r}")
        interactions = parse_interactions(interactions_csv)
        split = personalize_holdout(
            interactions,
            user_fraction=self.holdout_user_fraction,
            latest_fraction=self.holdout_latest_fraction,
            seed=self.seed,
        )
        relevant = split.relevant_items()
        if not relevant:
            raise HoldoutError(
                f"all {len(split.held_out)} test users only repeat items from their own history in their newest "
                "interactions: no new item is left to evaluate"
            )
        with self._lock:
            evaluation_ranker = self._fit(kind, split.train)
            recommendations = {
                user: evaluation_ranker.rank(
                    user, EVALUATION_LIST_LENGTH, frozenset(row.item_id for row in split.history[user])
                )
                for user in relevant
            }
            catalog = {row.item_id for row in interactions}
            metrics = personalize_metrics(recommendations, relevant, catalog)
            serving_ranker = self._fit(kind, interactions)
        summary = {
            "interactions": len(interactions),
            "users": len({row.user_id for row in interactions}),
            "items": len(catalog),
            "training_interactions": len(split.train),
            "test_users": len(split.held_out),
            "evaluated_users": len(relevant),
        }
        logger.info("trained %s (%s): %s", recipe_arn, training_mode, {**summary, **metrics})
        return TrainedModel(
            recipe_arn=recipe_arn,
            training_mode=training_mode,
            metrics=metrics,
            summary=summary,
            ranker=serving_ranker,
            seen_items=_seen_by_user(interactions),
        )

    def _fit(self, kind: str, interactions: Sequence[Interaction]) -> Ranker:
        if kind == "popularity":
            return PopularityRanker.fit(interactions)
        return fit_als(self._session(), interactions, self.als, self.seed)

    def _session(self):
        if self._spark is None:
            from pyspark.sql import SparkSession

            self._spark = SparkSession.getActiveSession()
            if self._spark is None:
                from personalize_export.sparkutil import local_spark_session

                self._spark = local_spark_session(app_name="local-personalize")
        return self._spark
