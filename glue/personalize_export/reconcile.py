"""Item-id reconciliation: each interaction's item id against the items dataset's catalog.

An id is matched as written (``exact``), after the id normalisation (``normalized``), or,
when it is missing, by a fuzzy match of the product title (``fuzzy``); otherwise it is
``unmatched`` or ``missing``.
"""
from __future__ import annotations

from typing import Dict

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, functions as F, types as T

from export_spec import DatasetSpec, ExportSpec
from personalize_export.columns import MATCH, PREFIX, out_col
from personalize_export.text import (
    SourceTexts,
    as_clean_text,
    choice_or_value,
    resolve_column,
    title_key,
    unwrap_extended_json,
)

_ITEM_RAW, _ITEM_TITLE = PREFIX + "item_raw", PREFIX + "item_title"
_FUZZY_TITLE, _FUZZY_ITEM = PREFIX + "fuzzy_title", PREFIX + "fuzzy_item"


def item_catalog(items_source: DataFrame, spec: ExportSpec, text_may_wrap_json: bool = True) -> DataFrame:
    """The items source reduced to (raw id, normalised id or null, title key) for reconciliation."""
    items = spec.dataset("items")
    item_field = items.field("ITEM_ID")
    assert item_field is not None
    column, dtype = choice_or_value(*resolve_column(items_source.schema, item_field.source, "datasets.items.fields.ITEM_ID"))
    texts = SourceTexts(text_may_wrap_json)
    raw = texts.clean(column, dtype)
    normalized = texts.normalized(column, dtype, tuple(spec.item_ids.normalize) + tuple(item_field.normalize))
    columns = [raw.alias("raw_id"), normalized.alias("item_id")]
    fuzzy = spec.item_ids.fuzzy
    if fuzzy is not None:
        tcol, ttype = choice_or_value(*resolve_column(items_source.schema, fuzzy.items_key, "item_ids.fuzzy.items_key"))
        columns.append(title_key(texts.clean(tcol, ttype)).alias("title_key"))
    # Rows without an id are kept (they match nothing): a filter here would be pushed
    # below the projections above and repeat the whole normalisation inside it.
    return texts.add_to(items_source).select(*columns)


def fuzzy_title_matches(titles: DataFrame, catalog: DataFrame, max_distance: int, block: int, min_length: int) -> DataFrame:
    """Title keys -> the single closest catalog item within max_distance, for each distinct key.

    Candidates are blocked on the first or last ``block`` characters, so only titles that
    share a prefix or a suffix are compared: no full cross join.

    Both sides are first reduced to their distinct titles and kept while the match runs.
    Every filter below (and the not-null filters Spark infers for the joins) then reads a
    stored column. On the projections that compute the titles, Spark would push each
    filter down and repeat the whole text expression (Unicode trim, extended JSON, blank
    to null) inside it, once per condition: one generated method beyond the 64 KB that
    Java allows, and the stage would run interpreted. The winners are few (at most one
    per distinct title) and are returned as a local table, so nothing stays cached.
    """
    source_titles = titles.select("title_key").distinct().persist(StorageLevel.MEMORY_AND_DISK)
    catalog_titles = (
        catalog.select(F.col("title_key").alias("cat_title"), F.col("item_id").alias("cat_item")).distinct().persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        cat = (
            catalog_titles.where(F.col("cat_title").isNotNull() & (F.length("cat_title") >= min_length))
            .withColumn("cat_head", F.substring("cat_title", 1, block))
            .withColumn("cat_tail", F.expr("substring(cat_title, -%d, %d)" % (block, block)))
        )
        keys = (
            source_titles.where(F.col("title_key").isNotNull() & (F.length("title_key") >= min_length))
            .withColumn("head", F.substring("title_key", 1, block))
            .withColumn("tail", F.expr("substring(title_key, -%d, %d)" % (block, block)))
        )
        by_head = keys.join(F.broadcast(cat), keys["head"] == cat["cat_head"])
        by_tail = keys.join(F.broadcast(cat), keys["tail"] == cat["cat_tail"])
        pairs = by_head.unionByName(by_tail).select("title_key", "cat_title", "cat_item")
        # levenshtein's threshold argument gives up early on distant pairs (returns -1).
        scored = pairs.withColumn("distance", F.levenshtein("title_key", "cat_title", max_distance)).where(
            (F.col("distance") >= 0) & (F.col("distance") <= max_distance)
        )
        best = scored.groupBy("title_key").agg(F.min("distance").alias("best"))
        winners = (
            scored.join(best, "title_key")
            .where(F.col("distance") == F.col("best"))
            .groupBy("title_key")
            .agg(F.countDistinct("cat_item").alias("candidates"), F.min("cat_item").alias("fuzzy_item"))
            .where(F.col("candidates") == 1)
            .select("title_key", "fuzzy_item")
            .collect()
        )
    finally:
        source_titles.unpersist()
        catalog_titles.unpersist()
    schema = T.StructType([T.StructField(_FUZZY_TITLE, T.StringType()), T.StructField(_FUZZY_ITEM, T.StringType())])
    return titles.sparkSession.createDataFrame([tuple(row) for row in winners], schema)


def reconciliation_inputs(source: DataFrame, dataset: DatasetSpec, spec: ExportSpec, texts: SourceTexts) -> Dict[str, Column]:
    """The columns ``reconcile`` reads, computed in the classify pass's first projection:
    the source item id as written (for "exact" matches) and the title key for the fuzzy match."""
    item_field = dataset.field("ITEM_ID")
    assert item_field is not None
    column, dtype = resolve_column(source.schema, item_field.source, "datasets.%s.fields.ITEM_ID" % dataset.name)
    column, dtype, _ = unwrap_extended_json(column, dtype)
    inputs = {_ITEM_RAW: texts.clean(column, dtype)}
    if spec.item_ids.fuzzy is not None:
        tcol, ttype = choice_or_value(*resolve_column(source.schema, spec.item_ids.fuzzy.interactions_key, "item_ids.fuzzy.interactions_key"))
        inputs[_ITEM_TITLE] = title_key(texts.clean(tcol, ttype))
    return inputs


def reconcile(frame: DataFrame, source: DataFrame, dataset: DatasetSpec, spec: ExportSpec, catalog: DataFrame) -> DataFrame:
    """Classify each interaction's item against the catalog; fill missing ids by fuzzy title match."""
    item_field = dataset.field("ITEM_ID")
    assert item_field is not None
    # One small broadcast table: normalised id -> every spelling the catalog uses for it.
    # Keyed on a never-null column: for a nullable key Spark infers an `isnotnull` filter
    # and pushes it below the catalog's projections, repeating the whole normalisation in it.
    ids = catalog.groupBy(F.coalesce(F.col("item_id"), F.lit("")).alias(PREFIX + "cat_norm")).agg(F.collect_set("raw_id").alias(PREFIX + "cat_raws"))
    frame = frame.join(F.broadcast(ids), F.col(out_col("ITEM_ID")) == F.col(PREFIX + "cat_norm"), "left")
    exact = F.coalesce(F.array_contains(F.col(PREFIX + "cat_raws"), F.col(_ITEM_RAW)), F.lit(False))
    normalized = F.col(PREFIX + "cat_norm").isNotNull()
    present = F.col(out_col("ITEM_ID")).isNotNull()
    fuzzy = spec.item_ids.fuzzy
    fuzzy_item: Column = F.lit(None).cast("string")
    if fuzzy is not None:
        # Distinct titles straight from the source (a small aggregate), matched once each.
        tcol, ttype = choice_or_value(*resolve_column(source.schema, fuzzy.interactions_key, "item_ids.fuzzy.interactions_key"))
        titles = source.select(title_key(as_clean_text(tcol, ttype)).alias("title_key"))
        matches = fuzzy_title_matches(titles, catalog, fuzzy.max_distance, fuzzy.block_prefix_length, fuzzy.min_key_length)
        frame = frame.join(F.broadcast(matches), F.col(_ITEM_TITLE) == F.col(_FUZZY_TITLE), "left")
        fuzzy_item = F.when(~normalized, F.col(_FUZZY_ITEM))
    match = (
        F.when(exact, F.lit("exact"))
        .when(normalized, F.lit("normalized"))
        .when(fuzzy_item.isNotNull(), F.lit("fuzzy"))
        .when(present, F.lit("unmatched"))
        .otherwise(F.lit("missing"))
    )
    internal = {_ITEM_RAW, PREFIX + "cat_raws", PREFIX + "cat_norm", _ITEM_TITLE, _FUZZY_TITLE, _FUZZY_ITEM}
    keep = [F.col("`%s`" % c) for c in frame.columns if c not in internal and c != out_col("ITEM_ID")]
    return frame.select(*keep, F.coalesce(fuzzy_item, F.col(out_col("ITEM_ID"))).alias(out_col("ITEM_ID")), match.alias(MATCH))
