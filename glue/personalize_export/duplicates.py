"""Duplicate rules of a classified frame.

Written rows equal to an earlier one are rejected as ``duplicate``; items and users that
share an id with a different row as ``duplicate_id``. One copy stays written.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from pyspark.sql import Column, DataFrame, Window, functions as F

from export_spec import ID_FIELD, DatasetSpec
from personalize_export.columns import (
    DUPLICATE,
    DUPLICATE_ID,
    PREFIX,
    REASON,
    REASON_FIELD,
    REJECTED,
    ROW_ID,
    STATUS,
    SUSPECT,
    WRITTEN,
    out_col,
)

# The verdict of the duplicate window: its reason and the field it names.
_DUP, _DUP_FIELD = PREFIX + "dup", PREFIX + "dup_field"


def _dedupe_key(dataset: DatasetSpec) -> Tuple[List[Column], Optional[str]]:
    """The columns that make two written rows duplicates, and the id field (items/users)."""
    id_name = ID_FIELD[dataset.name]
    if id_name is None:
        return [F.col(out_col(f.name)) for f in dataset.fields], None
    return [F.col(out_col(id_name))], id_name


def key_hash(dataset: DatasetSpec) -> Column:
    """The 64-bit hash of the duplicate key."""
    key, _ = _dedupe_key(dataset)
    return F.xxhash64(*key)


def mark_duplicates(frame: DataFrame, dataset: DatasetSpec) -> DataFrame:
    """Written rows equal to an earlier one -> ``duplicate``; items/users sharing an id -> ``duplicate_id``.

    One copy stays written: for items and users the row that sorts first on the output
    values, so the choice does not depend on the input order.
    """
    outs = [F.col(out_col(f.name)) for f in dataset.fields]
    key, id_name = _dedupe_key(dataset)
    written = F.col(STATUS) == WRITTEN
    # The 64-bit hash leads the sort key: rows compare on a long before any string.
    window = Window.partitionBy(key_hash(dataset), F.col(STATUS), *key).orderBy(*[o.asc_nulls_first() for o in outs])
    rank = F.row_number().over(window)
    if id_name is None:
        reason = F.when(written & (rank > 1), F.lit(DUPLICATE))
        field = F.lit(None).cast("string")
    else:
        same = F.struct(*outs).eqNullSafe(F.first(F.struct(*outs)).over(window))
        reason = F.when(written & (rank > 1), F.when(same, F.lit(DUPLICATE)).otherwise(F.lit(DUPLICATE_ID)))
        field = F.when(~same, F.lit(id_name))
    return _apply_duplicate_verdicts(frame.select("*", reason.alias(_DUP), field.alias(_DUP_FIELD)))


def _apply_duplicate_verdicts(frame: DataFrame) -> DataFrame:
    """Rows with a ``_DUP`` reason become rejected with it; the verdict columns go."""
    dup = F.col(_DUP).isNotNull()
    others = [F.col("`%s`" % c) for c in frame.columns if c not in (STATUS, REASON, REASON_FIELD, _DUP, _DUP_FIELD)]
    return frame.select(
        *others,
        F.when(dup, F.lit(REJECTED)).otherwise(F.col(STATUS)).alias(STATUS),
        F.when(dup, F.col(_DUP)).otherwise(F.col(REASON)).alias(REASON),
        F.when(dup, F.col(_DUP_FIELD)).otherwise(F.col(REASON_FIELD)).alias(REASON_FIELD),
    )


def duplicate_suspects(frame: DataFrame, dataset: DatasetSpec) -> DataFrame:
    """64-bit hashes of the duplicate key that occur more than once among written rows.

    A cheap aggregate of longs: every exact duplicate has a suspect hash, and only rows
    with such a hash need the (exact) window of ``mark_duplicates``.
    """
    return (
        frame.where(F.col(STATUS) == WRITTEN)
        .groupBy(key_hash(dataset).alias(PREFIX + "hash"))
        .count()
        .where(F.col("count") > 1)
        .select(PREFIX + "hash")
    )


def flag_suspects(frame: DataFrame, dataset: DatasetSpec, suspects: DataFrame) -> DataFrame:
    """``frame`` plus a boolean ``SUSPECT`` column: its duplicate-key hash is among ``suspects`` (broadcast)."""
    flagged = frame.join(F.broadcast(suspects), key_hash(dataset) == F.col(PREFIX + "hash"), "left")
    return flagged.select(*[F.col("`%s`" % c) for c in frame.columns], F.col(PREFIX + "hash").isNotNull().alias(SUSPECT))


def mark_duplicates_sparse(frame: DataFrame, dataset: DatasetSpec, max_suspects: int = 2_000_000) -> Tuple[DataFrame, List[DataFrame]]:
    """``mark_duplicates`` for a persisted, labelled ``narrow`` frame, without shuffling every row.

    A cheap aggregate of 64-bit hashes finds the keys that occur more than once among
    written rows. Only rows with such a hash go through the exact window, once; its
    verdicts (row id -> duplicate reason) are kept and joined back by ``ROW_ID``, so each
    later output reads the persisted rows plus a small table. With more suspect keys than
    ``max_suspects`` it falls back to the full window. Returns the result and the helper
    tables it persisted, for the caller to unpersist when done.
    """
    suspects = duplicate_suspects(frame, dataset).persist()
    suspect_count = suspects.count()
    if suspect_count == 0:
        return frame, [suspects]
    if suspect_count > max_suspects:
        return mark_duplicates(frame, dataset), [suspects]
    checked = mark_duplicates(flag_suspects(frame, dataset, suspects).where(F.col(SUSPECT)), dataset)
    verdicts = checked.where(F.col(REASON).isin(DUPLICATE, DUPLICATE_ID)).select(
        ROW_ID, F.col(REASON).alias(_DUP), F.col(REASON_FIELD).alias(_DUP_FIELD)
    ).persist()
    verdicts.count()  # materialised first, so the join below is planned on its real (small) size
    return _apply_duplicate_verdicts(frame.join(verdicts, ROW_ID, "left")), [suspects, verdicts]
