"""Views of a ``classify`` result that the tests compare with their golden rows (the export
job itself works on the narrow persisted copy, see ``export_job``)."""
from __future__ import annotations

from typing import Optional, Tuple

from pyspark.sql import DataFrame, functions as F

from export_spec import DatasetSpec, ExportSpec
from personalize_export.columns import PREFIX, REASON, REASON_FIELD, REJECTED, STATUS
from personalize_export.transform import ClassifyOptions, classify, rejection_column_names, written_rows


def rejected_rows(classified: DataFrame) -> DataFrame:
    """Rejected rows: every original column, plus ``reason`` and ``rejected_field``."""
    original = [c for c in classified.columns if not c.startswith(PREFIX)]
    reason_name, field_name = rejection_column_names(original)
    return classified.where(F.col(STATUS) == REJECTED).select(
        *[F.col("`%s`" % c) for c in original],
        F.col(REASON).alias(reason_name),
        F.col(REASON_FIELD).alias(field_name),
    )


def transform(
    df: DataFrame,
    dataset: DatasetSpec,
    spec: ExportSpec,
    options: ClassifyOptions,
    catalog: Optional[DataFrame] = None,
) -> Tuple[DataFrame, DataFrame]:
    """(valid rows in Personalize shape, rejected rows with a reason)."""
    classified = classify(df, dataset, spec, options, catalog)
    return written_rows(classified, dataset), rejected_rows(classified)
