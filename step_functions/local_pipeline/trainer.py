"""Local stand-in for Amazon Personalize training: real models on the imported data.

The local Personalize calls a ``LocalTrainer`` when a solution version trains.
It parses the interactions CSV files that the import jobs read (and the items
files, for coverage), keeps the interactions the solution's ``eventType`` and
``eventValueThreshold`` select, evaluates the recipe on Personalize's holdout
(see ``metrics``), then fits the model that the campaign serves on all the
selected interactions.

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
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Protocol, Sequence

from local_pipeline.metrics import (
    EVALUATION_LIST_LENGTH,
    HoldoutError,
    HoldoutSplit,
    Interaction,
    catalog_items,
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
# Evaluations other than Personalize's, kept under names of their own (``TrainedModel.views``).
EVALUATION_VIEWS = {
    "new_items_only": "lists leave out the test user's input items; only held-out items new to the user count",
}

REQUIRED_COLUMNS = ("USER_ID", "ITEM_ID", "TIMESTAMP")
EVENT_COLUMNS = ("EVENT_TYPE", "EVENT_VALUE")
MAX_ID_LENGTH = 256  # Personalize's limit for USER_ID and ITEM_ID
MAX_NUM_RESULTS = 500  # GetRecommendations' numResults upper bound
_EPOCH_SECONDS = re.compile(r"[0-9]+")


class UnsupportedRecipeError(ValueError):
    """The recipe has no local implementation."""


class InteractionsFormatError(ValueError):
    """An interactions (or items) CSV file breaks Personalize's format."""


class EventSelectionError(ValueError):
    """The solution's eventType or eventValueThreshold cannot be applied to the interactions."""


# --------------------------------------------------------------------------- input


def parse_interactions(interactions_csv: Sequence[bytes]) -> list[Interaction]:
    """Read Personalize interactions CSV files (each with its own header row).

    USER_ID, ITEM_ID and TIMESTAMP are required; EVENT_TYPE and EVENT_VALUE are
    read when the file has them (a solution's ``eventType`` and
    ``eventValueThreshold`` select on them); other columns are ignored. An empty
    EVENT_VALUE is None. Empty files are skipped. Errors name the file (1-based,
    in the order given), the line and the rule broken.
    """
    rows: list[Interaction] = []
    for file_number, text in _decoded_files("interactions", interactions_csv):
        rows.extend(_parse_file(file_number, text))
    if not rows:
        raise InteractionsFormatError(f"no interaction rows in the {len(interactions_csv)} interactions file(s)")
    return rows


def parse_item_ids(items_csv: Sequence[bytes]) -> set[str]:
    """The distinct ITEM_IDs of Personalize items CSV files (each with its own header row).

    Errors name the file (1-based, in the order given), the line and the rule broken.
    """
    item_ids: set[str] = set()
    for file_number, text in _decoded_files("items", items_csv):
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        where = f"items file {file_number}"
        if "ITEM_ID" not in header:
            raise InteractionsFormatError(f"{where}: header lacks required column ITEM_ID; header is {header}")
        item_col = header.index("ITEM_ID")
        for record in reader:
            if not record:
                continue  # blank line
            line = f"{where}, line {reader.line_num}"
            if len(record) != len(header):
                raise InteractionsFormatError(f"{line}: expected {len(header)} fields as in the header, found {len(record)}")
            _check_id(line, "ITEM_ID", record[item_col])
            item_ids.add(record[item_col])
    return item_ids


def _decoded_files(kind: str, blobs: Sequence[bytes]):
    """(1-based file number, text) of each non-empty file."""
    for file_number, blob in enumerate(blobs, start=1):
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise InteractionsFormatError(f"{kind} file {file_number}: expected bytes, got {type(blob).__name__}")
        try:
            text = bytes(blob).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InteractionsFormatError(f"{kind} file {file_number}: not valid UTF-8 (byte {exc.start})") from exc
        if text.strip():
            yield file_number, text


def _check_id(line: str, column: str, value: str) -> None:
    if not value:
        raise InteractionsFormatError(f"{line}: {column} is empty")
    if len(value) > MAX_ID_LENGTH:
        raise InteractionsFormatError(f"{line}: {column} is longer than {MAX_ID_LENGTH} characters")


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
    type_col, value_col = (header.index(name) if name in header else None for name in EVENT_COLUMNS)
    rows = []
    for record in reader:
        if not record:
            continue  # blank line
        line = f"{where}, line {reader.line_num}"
        if len(record) != len(header):
            raise InteractionsFormatError(f"{line}: expected {len(header)} fields as in the header, found {len(record)}")
        user_id, item_id, timestamp = record[user_col], record[item_col], record[time_col]
        _check_id(line, "USER_ID", user_id)
        _check_id(line, "ITEM_ID", item_id)
        if not _EPOCH_SECONDS.fullmatch(timestamp):
            raise InteractionsFormatError(f"{line}: TIMESTAMP must be whole epoch seconds, got {timestamp!r}")
        event_type = record[type_col] if type_col is not None else None
        event_value = _event_value(line, record[value_col]) if value_col is not None else None
        rows.append(Interaction(user_id, item_id, int(timestamp), event_type, event_value))
    return rows


def _event_value(line: str, text: str) -> Optional[float]:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InteractionsFormatError(f"{line}: EVENT_VALUE must be a finite number, got {text!r}")
    return value


# --------------------------------------------------------------------------- solution settings


@dataclass(frozen=True)
class EventSelection:
    """The interactions a solution trains and is evaluated on, and what its settings left out.

    ``len(kept) + filtered_by_event_type + filtered_by_event_value`` is the
    number of interactions read.
    """

    kept: list[Interaction]
    filtered_by_event_type: int
    filtered_by_event_value: int


def select_solution_events(
    interactions: Sequence[Interaction],
    event_type: Optional[str] = None,
    event_value_threshold: Optional[str] = None,
) -> EventSelection:
    """Keep the interactions a solution's settings select, as Personalize does before training.

    * ``event_type`` (CreateSolution's ``eventType``): only interactions of that
      EVENT_TYPE; without it, every interaction with equal weight.
    * ``event_value_threshold`` (``solutionConfig.eventValueThreshold``, a
      string): only interactions whose EVENT_VALUE is at least the threshold;
      an empty EVENT_VALUE is below any threshold.

    https://docs.aws.amazon.com/personalize/latest/dg/event-values-types.html
    https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSolution.html (eventType)
    https://docs.aws.amazon.com/personalize/latest/dg/API_SolutionConfig.html (eventValueThreshold)

    The offline metrics are computed on the selected interactions only.
    """
    kept = list(interactions)
    by_type = 0
    if event_type is not None:
        if not event_type:
            raise EventSelectionError("eventType must not be empty")
        if all(row.event_type is None for row in kept):
            raise EventSelectionError(
                f"eventType {event_type!r} is set but the interactions have no EVENT_TYPE column"
            )
        selected = [row for row in kept if row.event_type == event_type]
        by_type = len(kept) - len(selected)
        kept = selected
    by_value = 0
    if event_value_threshold is not None:
        try:
            threshold = float(event_value_threshold)
        except (TypeError, ValueError):
            threshold = math.nan
        if not math.isfinite(threshold):
            raise EventSelectionError(
                f"eventValueThreshold must be a number written as a string, got {event_value_threshold!r}"
            )
        if interactions and all(row.event_value is None for row in interactions):
            raise EventSelectionError(
                f"eventValueThreshold {event_value_threshold!r} is set but the interactions have no EVENT_VALUE values"
            )
        selected = [row for row in kept if row.event_value is not None and row.event_value >= threshold]
        by_value = len(kept) - len(selected)
        kept = selected
    if not kept:
        settings = ", ".join(
            f"{name} {value!r}"
            for name, value in (("eventType", event_type), ("eventValueThreshold", event_value_threshold))
            if value is not None
        )
        raise EventSelectionError(
            f"no interaction is left to train on: {settings} removed all {len(interactions)} interactions "
            f"({by_type} by event type, {by_value} by event value)"
        )
    return EventSelection(kept=kept, filtered_by_event_type=by_type, filtered_by_event_value=by_value)


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

    def rank_from_history(self, history: Sequence[Interaction], num_results: int, exclude: frozenset[str]) -> list[str]: ...


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

    def rank_from_history(self, history: Sequence[Interaction], num_results: int, exclude: frozenset[str]) -> list[str]:
        """The same list whatever the user's history: popularity-count does not personalise."""
        return self.rank("", num_results, exclude)


@dataclass(frozen=True)
class FactorRanker:
    """Scores items by the dot product of ALS user and item factors.

    Users without factors (not in the training data) get the popularity list,
    as Personalize serves popular items to cold users. ``fold_in`` gives a user
    who was not trained on a factor computed from their history, which is how
    the evaluation feeds a test user's input to the model.
    """

    user_factors: dict[str, tuple[float, ...]]
    item_factors: tuple[tuple[str, tuple[float, ...]], ...]
    fallback: PopularityRanker
    settings: "AlsSettings"

    def rank(self, user_id: str, num_results: int, exclude: frozenset[str]) -> list[str]:
        user_vector = self.user_factors.get(user_id)
        if user_vector is None:
            return self.fallback.rank(user_id, num_results, exclude)
        return self._rank_vector(user_vector, num_results, exclude)

    def rank_from_history(self, history: Sequence[Interaction], num_results: int, exclude: frozenset[str]) -> list[str]:
        """Recommendations for a user the model was not trained on, from that user's interactions."""
        user_vector = self.fold_in(history)
        if user_vector is None:
            return self.fallback.rank("", num_results, exclude)
        return self._rank_vector(user_vector, num_results, exclude)

    def fold_in(self, history: Sequence[Interaction]) -> Optional[tuple[float, ...]]:
        """The user factor ALS computes for this history with the item factors held fixed.

        Spark's implicit ALS solves, per user, ``(YᵀY + Σ c1·y·yᵀ + λ·n·I) x = Σ (1 + c1)·y``
        over the user's items ``y`` (``c1 = alpha × interaction count``, ``n`` the
        number of distinct items, ``λ = regParam``); this is the same step, so a
        trained user's history gives back (to float precision) that user's
        factor. None when no item of the history is known to the model.
        """
        import numpy as np

        index = {item: position for position, (item, _) in enumerate(self.item_factors)}
        counts = Counter(row.item_id for row in history if row.item_id in index)
        if not counts:
            return None
        factors = np.array([vector for _, vector in self.item_factors], dtype=np.float64)
        lhs = factors.T @ factors
        rhs = np.zeros(factors.shape[1])
        for item, count in counts.items():
            vector = factors[index[item]]
            extra_confidence = self.settings.alpha * count
            lhs += extra_confidence * np.outer(vector, vector)
            rhs += (1.0 + extra_confidence) * vector
        lhs += self.settings.reg_param * len(counts) * np.eye(factors.shape[1])
        return tuple(float(value) for value in np.linalg.solve(lhs, rhs))

    def _rank_vector(self, user_vector: Sequence[float], num_results: int, exclude: frozenset[str]) -> list[str]:
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
    return FactorRanker(user_factors, item_factors, PopularityRanker.fit(interactions), settings)


@dataclass
class TrainedModel:
    """A trained solution version: its offline metrics and a way to get recommendations.

    ``metrics`` are Personalize's (``local_pipeline.metrics``), what
    GetSolutionMetrics returns. ``views`` holds other evaluations under names
    of their own, never Personalize's: ``"new_items_only"`` scores lists that
    leave out the test user's input items against the held-out items the user
    had not had before (absent when no test user has such an item).

    ``summary`` counts what was read, selected, trained and evaluated:
    ``interactions`` (read) = ``selected_interactions`` +
    ``filtered_by_event_type`` + ``filtered_by_event_value``;
    ``selected_interactions`` = ``training_interactions`` +
    ``input_interactions`` + ``held_out_interactions``; ``users`` and
    ``items_in_interactions`` are those of the selected interactions; ``items``
    is coverage's denominator (Items dataset ∪ interactions); ``test_users``
    and ``evaluated_users`` (equal: every test user has testing data).
    """

    recipe_arn: str
    training_mode: str
    metrics: dict[str, float]
    summary: dict[str, int]
    ranker: Ranker = field(repr=False)
    seen_items: dict[str, frozenset[str]] = field(repr=False)
    views: dict[str, dict[str, float]] = field(default_factory=dict)

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


def _evaluation_lists(ranker: Ranker, split: HoldoutSplit, users: Sequence[str], exclude_history: bool) -> dict[str, list[str]]:
    """Each test user's top 25, from the model given that user's input history (one query per user)."""
    lists = {}
    for user in users:
        history = split.history[user]
        exclude = frozenset(row.item_id for row in history) if exclude_history else frozenset()
        lists[user] = ranker.rank_from_history(history, EVALUATION_LIST_LENGTH, exclude)
    return lists


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

    def __call__(
        self,
        recipe_arn: str,
        training_mode: str,
        interactions_csv: list[bytes],
        *,
        items_csv: Optional[list[bytes]] = None,
        event_type: Optional[str] = None,
        event_value_threshold: Optional[str] = None,
    ) -> TrainedModel:
        """Train and evaluate one solution version.

        ``items_csv`` is the Items dataset's imported files (coverage's
        denominator includes its items); ``event_type`` and
        ``event_value_threshold`` are the solution's ``eventType`` and
        ``solutionConfig.eventValueThreshold``.
        """
        kind = recipe_kind(recipe_arn)
        if training_mode not in TRAINING_MODES:
            raise ValueError(f"training_mode must be one of {', '.join(TRAINING_MODES)}, got {training_mode!r}")
        read = parse_interactions(interactions_csv)
        selection = select_solution_events(read, event_type, event_value_threshold)
        interactions = selection.kept
        catalog = catalog_items(read, parse_item_ids(items_csv) if items_csv else None)
        split = personalize_holdout(
            interactions,
            user_fraction=self.holdout_user_fraction,
            latest_fraction=self.holdout_latest_fraction,
            seed=self.seed,
        )
        if not split.train:
            raise HoldoutError(
                f"all {len(split.held_out)} users with 2 or more interactions are test users and no other user "
                "has interactions: nothing is left to train on"
            )
        relevant = split.relevant_items()
        new_items = split.new_items_only()
        with self._lock:
            evaluation_ranker = self._fit(kind, split.train)
            metrics = personalize_metrics(
                _evaluation_lists(evaluation_ranker, split, sorted(relevant), exclude_history=False), relevant, catalog
            )
            views = {}
            if new_items:
                views["new_items_only"] = personalize_metrics(
                    _evaluation_lists(evaluation_ranker, split, sorted(new_items), exclude_history=True),
                    new_items,
                    catalog,
                )
            serving_ranker = self._fit(kind, interactions)
        summary = {
            "interactions": len(read),
            "filtered_by_event_type": selection.filtered_by_event_type,
            "filtered_by_event_value": selection.filtered_by_event_value,
            "selected_interactions": len(interactions),
            "users": len({row.user_id for row in interactions}),
            "items_in_interactions": len({row.item_id for row in interactions}),
            "items": len(catalog),
            "training_interactions": len(split.train),
            "input_interactions": sum(len(rows) for rows in split.history.values()),
            "held_out_interactions": sum(len(rows) for rows in split.held_out.values()),
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
            seen_items=_seen_by_user(read),
            views=views,
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
