"""The classify pass: source rows -> Personalize rows, rejected rows, filtered rows.

Nothing here knows about Glue or where the data comes from. ``classify`` returns every
source row once, with its original columns, the output values and the outcome (``written``
| ``rejected`` | ``filtered``, and for rejected rows the reason). The export job persists
that one DataFrame and derives the CSV, the rejected rows and all the counts from it, so
the source is read and shuffled once.

Source values become text in ``text``; this module holds the typed values and their
rules, the event-type plan, the outcome code and the views of a classified frame. Item-id
reconciliation is in ``reconcile``, the duplicate rules in ``duplicates``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from typing import Dict, List, Optional, Sequence, Tuple

from pyspark.sql import Column, DataFrame, functions as F, types as T

from export_spec import (
    MAX_CATEGORICAL_LENGTH,
    MAX_ID_LENGTH,
    MAX_TEXTUAL_LENGTH,
    DatasetSpec,
    EventTypeRules,
    ExportSpec,
    FieldSpec,
    NormalizeRule,
    status_key,
)
from personalize_export.columns import (
    CODE,
    CORRUPT_RECORD,
    FILTER_KEY,
    FILTERED,
    LINES,
    MATCH,
    ORIGINAL,
    PREFIX,
    REASON,
    REASON_FIELD,
    REJECTED,
    ROW_ID,
    STATUS,
    WRITTEN,
    out_col,
)
from personalize_export.duplicates import mark_duplicates
from personalize_export.reconcile import reconcile, reconciliation_inputs
from personalize_export.text import (
    TRIM_CLASS,
    SourceTexts,
    any_of,
    apply_normalize,
    blank_to_null,
    case_lookup,
    choice_as_text,
    is_choice,
    longer_than,
    resolve_column,
    unicode_trim,
    unwrap_extended_json,
)

# Rejection reasons, in priority order: a row gets the first one it breaks.
REASONS = (
    "malformed_record",
    "type_mismatch",
    "null_id",
    "undecodable_value",
    "control_character",
    "id_too_long",
    "missing_value",
    "invalid_number",
    "invalid_boolean",
    "ambiguous_epoch",
    "unparseable_timestamp",
    "future_timestamp",
    "timestamp_before_floor",
    "categorical_too_long",
    "textual_too_long",
    "unknown_event_type",
    "unmatched_item",
    "duplicate",
    "duplicate_id",
)
_REASON_CODE = {reason: index for index, reason in enumerate(REASONS)}
_SPARK_TYPES = {
    "string": T.StringType(),
    "int": T.IntegerType(),
    "long": T.LongType(),
    "float": T.FloatType(),
    "double": T.DoubleType(),
    "boolean": T.BooleanType(),
}
_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_FLOAT_MAX = 3.4028234663852886e38
_INTEGER_TEXT = r"^[+-]?[0-9]+$"
_DECIMAL_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
# With both epoch units allowed, the magnitude decides: below 10^11 seconds (up to the
# year 5138), from 10^12 milliseconds (from 2001-09-09). Between the two a value reads as
# a far-future second or as a millisecond of 1973..2001 (253402300799, the year 9999 in
# seconds, would be 1978): it is rejected as ambiguous_epoch; the spec can name the unit.
_SECONDS_BELOW = 10**11
_MILLIS_FROM = 10**12
# U+FFFD: what a reader puts where the source's bytes were not valid UTF-8. Two different
# broken ids would both become the same text.
_REPLACEMENT_CHARACTER = "\ufffd"
# Characters no id (or category) may hold: controls (NUL, tab, CR, LF...), invisible
# format characters (zero-width space, byte order mark, bidi marks) and line separators.
_CONTROL_CHARACTERS = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]"
# Textual values may keep tabs and line breaks.
_TEXTUAL_CONTROL_CHARACTERS = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}&&[^\t\n\r\x{2028}\x{2029}]]"
# Reason codes are priority * 1000 + field position; this position means "the whole row".
_NO_FIELD = 999


@dataclass(frozen=True)
class ClassifyOptions:
    now_epoch: int
    timestamp_floor: Optional[int] = None
    max_future_skew_seconds: int = 0
    # Whether text values may hold extended JSON wrappers (``'{"$oid": "..."}'``): Spark
    # reads JSON lines that mix plain values and wrappers in one field as text.
    text_may_wrap_json: bool = True


# --------------------------------------------------------------------------- typed values
#
# Each field is computed in three projections: (1) the source value as text (or its native
# type), (2) the parsed value, (3) the output value and the rule checks. Later steps refer to
# earlier ones by column name, so a big expression is evaluated once per row instead of
# being inlined into every check (which also keeps generated code under the JVM's 64 KB).


@dataclass
class _FieldPlan:
    base: Dict[str, Column]  # step 1, over source columns
    parsed: Dict[str, Column]  # step 2, over step-1 columns
    value: Column  # step 3: the output value (null when invalid or empty)
    checks: List[Tuple[Column, str]]  # step 3: (condition, reason) pairs
    mid: Dict[str, Column] = dc_field(default_factory=dict)  # between steps 1 and 2


def _source_value_column(name: str) -> str:
    """Step 1: the source value as text (or its native type)."""
    return PREFIX + "b_" + name


def _forced_millis_column(name: str) -> str:
    """Step 1, timestamps: whether the value is epoch milliseconds whatever the spec's formats (a ``$date`` wrapper)."""
    return PREFIX + "x_" + name


def _parsed_column(name: str) -> str:
    """Step 2: the parsed value (number, boolean, epoch seconds)."""
    return PREFIX + "p_" + name


def _numeric_text_column(name: str) -> str:
    """Between steps 1 and 2, timestamps: the text read as a number (null when it is not numeric)."""
    return PREFIX + "n_" + name


def _missing_reason(field: FieldSpec) -> str:
    return "null_id" if field.is_id else "missing_value"


def _required(field: FieldSpec, present: Column) -> List[Tuple[Column, str]]:
    return [] if field.nullable else [(~present, _missing_reason(field))]


def _number(field: FieldSpec, column: Column, dtype: T.DataType, texts: SourceTexts) -> _FieldPlan:
    name, target = field.name, _SPARK_TYPES[field.type]
    integral = field.type in _INT_RANGE
    if isinstance(dtype, T.NumericType):
        base = column.cast("double") if not integral or isinstance(dtype, (T.FloatType, T.DoubleType)) else column.cast("decimal(38,0)")
        present = F.col(_source_value_column(name)).isNotNull()
        if integral:
            number = F.when(~F.isnan(F.col(_source_value_column(name)).cast("double")), F.col(_source_value_column(name)).cast("decimal(38,10)"))
        else:
            number = F.col(_source_value_column(name))
    else:
        base = texts.clean(column, dtype, parsed=True)
        present = F.col(_source_value_column(name)).isNotNull()
        text = F.col(_source_value_column(name))
        if integral:
            number = F.when(text.rlike(_INTEGER_TEXT), text.cast("decimal(38,0)"))
        else:
            number = F.when(text.rlike(_DECIMAL_TEXT), text.cast("double"))
    parsed = F.col(_parsed_column(name))
    if integral:
        low, high = _INT_RANGE[field.type]
        valid = parsed.isNotNull() & (parsed == F.floor(parsed)) & (parsed >= F.lit(low)) & (parsed <= F.lit(high))
    else:
        limit = _FLOAT_MAX if field.type == "float" else 1.7976931348623157e308
        valid = parsed.isNotNull() & ~F.isnan(parsed) & (F.abs(parsed) <= F.lit(limit))
    checks = _required(field, present) + [(present & ~valid, "invalid_number")]
    return _FieldPlan({_source_value_column(name): base}, {_parsed_column(name): number}, F.when(present & valid, parsed.cast(target)), checks)


def _boolean(field: FieldSpec, column: Column, dtype: T.DataType, texts: SourceTexts) -> _FieldPlan:
    name = field.name
    if isinstance(dtype, T.BooleanType):
        base, parsed = column, F.col(_source_value_column(name))
        present = F.col(_source_value_column(name)).isNotNull()
    else:
        base = F.lower(texts.clean(column, dtype, parsed=True))
        text = F.col(_source_value_column(name))
        parsed = F.when(text.isin(*_TRUE), F.lit(True)).when(text.isin(*_FALSE), F.lit(False))
        present = text.isNotNull()
    valid = F.col(_parsed_column(name)).isNotNull()
    checks = _required(field, present) + [(present & ~valid, "invalid_boolean")]
    return _FieldPlan({_source_value_column(name): base}, {_parsed_column(name): parsed}, F.col(_parsed_column(name)), checks)


def _join_values(text: Column, separator_pattern: str) -> Column:
    """Values separated by ``separator_pattern`` -> trimmed, empty ones dropped, joined with ``|``.

    ``text`` is trimmed already. Regular expressions instead of array lambdas: Spark
    compiles these, while higher-order functions run interpreted, row by row.
    """
    joined = F.regexp_replace(text, r"%s*(?:%s)%s*" % (TRIM_CLASS, separator_pattern, TRIM_CLASS), "|")
    joined = F.regexp_replace(joined, r"\|{2,}", "|")
    return F.regexp_replace(joined, r"^\||\|$", "")


def _categorical(field: FieldSpec, column: Column, dtype: T.DataType, texts: SourceTexts) -> _FieldPlan:
    name = field.name
    if is_choice(dtype):
        # Rows holding an array join its elements; rows holding text are read as text.
        array = column.getField("array")
        text = choice_as_text(column, dtype, skip=("array",))
        split = _join_values(text, re.escape(field.delimiter) + r"|\|") if field.delimiter is not None else F.trim(text)
        base = F.when(array.isNotNull(), _join_values(F.array_join(array.cast("array<string>"), "|"), r"\|")).otherwise(split)
    elif isinstance(dtype, T.ArrayType):
        # array_join drops null elements; the separator is then cleaned like a delimited string.
        base = _join_values(unicode_trim(F.array_join(column.cast("array<string>"), "|")), r"\|")
    elif field.delimiter is not None:
        base = _join_values(texts.clean(column, dtype), re.escape(field.delimiter) + r"|\|")
    else:
        base = texts.clean(column, dtype)
    base = blank_to_null(base)
    joined = F.col(_source_value_column(name))
    present = joined.isNotNull()
    too_long = present & longer_than(joined, MAX_CATEGORICAL_LENGTH)
    checks = _required(field, present) + _character_checks(joined, _CONTROL_CHARACTERS) + [(too_long, "categorical_too_long")]
    return _FieldPlan({_source_value_column(name): base}, {}, F.when(~too_long, joined), checks)


_CHARACTER_REASONS = ("undecodable_value", "control_character")


def _character_checks(text: Column, forbidden: str) -> List[Tuple[Column, str]]:
    """A value the source's bytes could not be decoded into, or holding a forbidden character."""
    return [(text.contains(_REPLACEMENT_CHARACTER), "undecodable_value"), (text.rlike(forbidden), "control_character")]


def _string(field: FieldSpec, column: Column, dtype: T.DataType, texts: SourceTexts,
            extra_normalize: Sequence[NormalizeRule] = ()) -> _FieldPlan:
    name = field.name
    column, dtype, _ = unwrap_extended_json(column, dtype)
    if field.is_id:
        # Trimmed and normalised; the id rules run on the final id (after reconciliation).
        base = texts.normalized(column, dtype, tuple(extra_normalize) + tuple(field.normalize))
        return _FieldPlan({_source_value_column(name): base}, {}, F.col(_source_value_column(name)), [])
    if not field.textual:
        # Trimmed, extended JSON unwrapped, normalised, blank as null: as ids and statuses.
        base = texts.normalized(column, dtype, field.normalize)
        value = F.col(_source_value_column(name))
        present = value.isNotNull()
        checks = _required(field, present) + _character_checks(value, _CONTROL_CHARACTERS)
        return _FieldPlan({_source_value_column(name): base}, {}, value, checks)
    # Textual values keep their own spacing; only a blank one counts as missing.
    if isinstance(dtype, (T.StructType, T.ArrayType, T.MapType)):
        text = F.to_json(column)
    else:
        text = column.cast("string")
    if field.normalize:
        text = apply_normalize(text, field.normalize)
    base = F.when(unicode_trim(text) == "", F.lit(None).cast("string")).otherwise(text)
    value = F.col(_source_value_column(name))
    present = value.isNotNull()
    checks = _required(field, present) + _character_checks(value, _TEXTUAL_CONTROL_CHARACTERS)
    too_long = present & longer_than(value, MAX_TEXTUAL_LENGTH)
    checks.append((too_long, "textual_too_long"))
    return _FieldPlan({_source_value_column(name): base}, {}, F.when(~too_long, value), checks)


_ISO_TEXT = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,9})?)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)
_HAS_OFFSET = r"[T ][0-9]{2}:[0-9]{2}.*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_NUMERIC_TEXT = r"^[+-]?[0-9]+(\.[0-9]+)?$"


def _number_from_text(text: Column) -> Column:
    """Numeric text -> double (exact for epoch seconds and milliseconds), else null."""
    return F.when(text.rlike(_NUMERIC_TEXT), text.cast("double"))


def _epoch_from_text(text: Column, number: Column, forced_millis: Column, formats: Sequence[str], timezone: str) -> Column:
    """Text in one of ``formats`` -> epoch seconds (long), or null when none fits.

    ``number`` is the text already read as a number (null when it is not numeric).
    """
    candidates: List[Column] = [F.when(forced_millis, F.floor(number / 1000))]
    has_seconds, has_millis = "epoch_seconds" in formats, "epoch_millis" in formats
    utc = timezone.upper() == "UTC"
    epoch_added = False
    for fmt in formats:
        if fmt in ("epoch_seconds", "epoch_millis"):
            if epoch_added:  # both listed: one candidate decides by magnitude
                continue
            epoch_added = True
            if has_seconds and has_millis:
                magnitude = F.abs(number)
                candidates.append(F.when(magnitude < F.lit(float(_SECONDS_BELOW)), F.floor(number))
                                  .when(magnitude >= F.lit(float(_MILLIS_FROM)), F.floor(number / 1000)))
            elif fmt == "epoch_millis":
                candidates.append(F.floor(number / 1000))
            else:
                candidates.append(F.floor(number))
        elif fmt == "iso8601":
            # Spark's own string->timestamp cast reads ISO-8601 with or without an offset;
            # the pattern keeps it from accepting looser forms such as a bare year.
            # A decimal comma ("12:00:00,5") is rare: the copy is made only when there is one.
            parsed = F.to_timestamp(F.when(text.contains(","), F.translate(text, ",", ".")).otherwise(text))
            if not utc:
                parsed = F.when(text.rlike(_HAS_OFFSET), parsed).otherwise(F.to_utc_timestamp(parsed, timezone))
            # The 5th character test is a necessary condition of the pattern and spares
            # the regular expression on most other text.
            looks_iso = number.isNull() & (F.substring(text, 5, 1) == "-") & text.rlike(_ISO_TEXT)
            candidates.append(F.when(looks_iso, parsed.cast("long")))
        else:
            parsed = F.to_timestamp(text, fmt)
            candidates.append((parsed if utc else F.to_utc_timestamp(parsed, timezone)).cast("long"))
    return F.coalesce(*candidates).cast("long")


def _timestamp_base(column: Column, dtype: T.DataType, timezone: str, texts: SourceTexts) -> Tuple[Column, Column, Optional[Column]]:
    """(text, forced-millis flag, native seconds or None) for a timestamp source value."""
    column, dtype, saw_date = unwrap_extended_json(column, dtype)
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        return F.lit(None).cast("string"), F.lit(False), column.cast("long")
    if isinstance(dtype, T.DateType):
        return F.lit(None).cast("string"), F.lit(False), F.unix_timestamp(F.to_utc_timestamp(column.cast("timestamp"), timezone))
    forced = F.lit(saw_date)
    if texts.may_wrap_json(dtype):
        # {"$date": {"$numberLong": "..."}} held as text: the number is epoch milliseconds.
        raw = texts.trimmed(column, dtype, parsed=True)
        forced = forced | (raw.startswith("{") & raw.contains("$date"))
    return texts.clean(column, dtype, parsed=True), forced, None


def _timestamp(field: FieldSpec, column: Column, dtype: T.DataType, options: ClassifyOptions, texts: SourceTexts) -> _FieldPlan:
    assert field.timestamp is not None
    name = field.name
    text, forced, native = _timestamp_base(column, dtype, field.timestamp.timezone, texts)
    if native is not None:
        base = {_source_value_column(name): native.cast("string")}
        mid: Dict[str, Column] = {}
        parsed = {_parsed_column(name): native}
    else:
        base = {_source_value_column(name): text, _forced_millis_column(name): forced}
        mid = {_numeric_text_column(name): _number_from_text(F.col(_source_value_column(name)))}
        parsed = {_parsed_column(name): _epoch_from_text(F.col(_source_value_column(name)), F.col(_numeric_text_column(name)), F.col(_forced_millis_column(name)),
                                             field.timestamp.formats, field.timestamp.timezone)}
    seconds = F.col(_parsed_column(name))
    present = F.col(_source_value_column(name)).isNotNull()
    ok = seconds.isNotNull()
    future = ok & (seconds > F.lit(options.now_epoch + options.max_future_skew_seconds))
    checks = _required(field, present)
    formats = field.timestamp.formats
    if native is None and "epoch_seconds" in formats and "epoch_millis" in formats:
        magnitude = F.abs(F.col(_numeric_text_column(name)))
        ambiguous = ~ok & ~F.col(_forced_millis_column(name)) & (magnitude >= F.lit(float(_SECONDS_BELOW))) & (magnitude < F.lit(float(_MILLIS_FROM)))
        checks.append((ambiguous, "ambiguous_epoch"))
    checks += [(present & ~ok, "unparseable_timestamp"), (future, "future_timestamp")]
    ok = ok & ~future
    if options.timestamp_floor is not None:
        early = seconds < F.lit(options.timestamp_floor)
        checks.append((early, "timestamp_before_floor"))
        ok = ok & ~early
    return _FieldPlan(base, parsed, F.when(ok, seconds), checks, mid)


def _field_plan(field: FieldSpec, column: Column, dtype: T.DataType, options: ClassifyOptions, texts: SourceTexts,
                id_normalize: Sequence[NormalizeRule] = ()) -> _FieldPlan:
    if is_choice(dtype):
        if field.categorical and "array" in dtype.fieldNames():
            return _categorical(field, column, dtype, texts)
        column, dtype = choice_as_text(column, dtype), T.StringType()
    if field.timestamp is not None:
        return _timestamp(field, column, dtype, options, texts)
    if field.type in ("int", "long", "float", "double"):
        column, dtype, _ = unwrap_extended_json(column, dtype)
        return _number(field, column, dtype, texts)
    if field.type == "boolean":
        column, dtype, _ = unwrap_extended_json(column, dtype)
        return _boolean(field, column, dtype, texts)
    if field.categorical:
        column, dtype, _ = unwrap_extended_json(column, dtype)
        return _categorical(field, column, dtype, texts)
    return _string(field, column, dtype, texts, id_normalize)


# --------------------------------------------------------------------------- event types


@dataclass
class _EventTypePlan:
    """How the event-type field is read: the status text, the filter and the output value."""

    columns: Dict[str, Column]  # the source status as clean text, in the first projection
    filter_key: Column  # the status (as compared) of a row the spec filters out; null otherwise
    value: Column  # the EVENT_TYPE written: the mapped type, else the status as it is
    unknown: Optional[Column]  # the condition of an unmapped status when unmapped ones are rejected


def _event_type_plan(rules: EventTypeRules, field: FieldSpec, schema: T.StructType, where: str, texts: SourceTexts) -> _EventTypePlan:
    """Filtered rows are decided on the source status, before any rule."""
    column, dtype = resolve_column(schema, field.source, "%s.%s" % (where, field.name))
    column, dtype, _ = unwrap_extended_json(column, dtype)
    status_name = PREFIX + "event_status"
    status_text = F.col(status_name)
    key = status_text if rules.case_sensitive else F.lower(status_text)

    def normalise(status: str) -> str:
        return status_key(status, rules.case_sensitive)

    mapping = {normalise(k): v for k, v in rules.mapping.items()}
    mapped = case_lookup(key, mapping) if mapping else F.lit(None).cast("string")
    dropped = key.isin(*[normalise(s) for s in rules.drop]) if rules.drop else F.lit(False)
    unmapped = key.isNotNull() & mapped.isNull() & ~dropped
    if rules.unmapped == "drop":
        dropped = dropped | unmapped
    return _EventTypePlan(
        columns={status_name: texts.clean(column, dtype)},
        filter_key=F.when(F.coalesce(dropped, F.lit(False)), key),
        value=F.coalesce(mapped, status_text),
        unknown=unmapped if rules.unmapped == "reject" else None,
    )


# --------------------------------------------------------------------------- classify


def classify(
    df: DataFrame,
    dataset: DatasetSpec,
    spec: ExportSpec,
    options: ClassifyOptions,
    catalog: Optional[DataFrame] = None,
    dedupe: bool = True,
    labels: bool = True,
) -> DataFrame:
    """Every source row, once: original columns + output values + status/reason columns.

    ``dedupe=False`` leaves out the duplicate rules, for callers that run them on a
    persisted result instead. ``labels=False`` (implies no duplicate rules) returns the
    outcome as the int ``CODE`` column only, and ``label_outcomes`` names it later: the
    per-row pass then stays small enough for Spark to compile into one fast loop.
    """
    # Unparseable custom-pattern timestamps must become null, not an upgrade exception.
    df.sparkSession.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    # HotSpot never JIT-compiles a method over 8000 bytes of bytecode; Spark's default
    # limit (64 KB) would let this many rules generate one and run it interpreted, several
    # times slower. At 8000 Spark splits such a stage instead.
    df.sparkSession.conf.set("spark.sql.codegen.hugeMethodLimit", "8000")
    schema = df.schema
    original = [F.col("`%s`" % name) for name in df.columns]
    where = "datasets.%s.fields" % dataset.name
    plans: Dict[str, _FieldPlan] = {}
    texts = SourceTexts(options.text_may_wrap_json)
    row_checks: List[Tuple[Column, str, Optional[str]]] = []
    malformed: List[Column] = []
    if CORRUPT_RECORD in df.columns:
        malformed.append(F.col(CORRUPT_RECORD).isNotNull())
        row_checks.append((malformed[-1], "malformed_record", None))
    for field in dataset.fields:
        mismatches: List[Column] = []
        column, dtype = resolve_column(schema, field.source, "%s.%s" % (where, field.name), mismatches)
        row_checks.extend((mismatch, "type_mismatch", field.name) for mismatch in mismatches)
        if LINES in df.columns and isinstance(dtype, T.StringType) and not field.textual:
            # A line break in a record that spans lines, outside free text: an unbalanced
            # quote merged the following lines into this record.
            malformed.append((F.col(LINES) > 1) & F.coalesce(column.rlike("[\r\n]"), F.lit(False)))
            row_checks.append((malformed[-1], "malformed_record", field.name))
        rules = tuple(spec.item_ids.normalize) if field.name == "ITEM_ID" else ()
        plans[field.name] = _field_plan(field, column, dtype, options, texts, rules)
    positions = {f.name: i for i, f in enumerate(dataset.fields)}
    base: Dict[str, Column] = {}
    for plan in plans.values():
        base.update(plan.base)

    filter_key: Column = F.lit(None).cast("string")
    rules = dataset.event_types
    if rules is not None:
        field = dataset.field(rules.field)
        assert field is not None
        event_types = _event_type_plan(rules, field, schema, where, texts)
        base.update(event_types.columns)
        filter_key = event_types.filter_key
        if event_types.unknown is not None:
            row_checks.append((event_types.unknown, "unknown_event_type", field.name))
        old = plans[field.name]
        checks = old.checks
        if rules.unmapped != "keep":  # every written event type is then a value of the spec's map
            checks = [check for check in checks if check[1] not in _CHARACTER_REASONS]
        plans[field.name] = _FieldPlan(old.base, old.parsed, event_types.value, checks, old.mid)

    if malformed:
        # A record that could not be read is rejected, whatever status it seems to hold.
        filter_key = F.when(~any_of(malformed), filter_key)
    reconciled = dataset.name == "interactions" and catalog is not None
    if reconciled:
        base.update(reconciliation_inputs(df, dataset, spec, texts))

    frame = texts.add_to(df.select(*original)).select("*", *[expr.alias(name) for name, expr in base.items()])
    mid = {name: expr for plan in plans.values() for name, expr in plan.mid.items()}
    if mid:
        frame = frame.select("*", *[expr.alias(name) for name, expr in mid.items()])
    parsed = {name: expr for plan in plans.values() for name, expr in plan.parsed.items()}
    if parsed:
        frame = frame.select("*", *[expr.alias(name) for name, expr in parsed.items()])
    frame = frame.select(
        "*",
        *[plans[f.name].value.alias(out_col(f.name)) for f in dataset.fields],
        filter_key.alias(FILTER_KEY),
    )

    # Item-id reconciliation against the catalog of the items dataset.
    if reconciled:
        frame = reconcile(frame, df, dataset, spec, catalog)
        if spec.item_ids.unmatched == "reject":
            row_checks.append((F.col(MATCH) == "unmatched", "unmatched_item", "ITEM_ID"))
    else:
        frame = frame.withColumn(MATCH, F.lit(None).cast("string"))

    # One reason per row: the lowest (reason priority, field position) among all checks.
    # The checks are tested in that order and the first that holds decides, so a row
    # stops at its first broken rule.
    codes: List[Tuple[int, Column]] = []
    for field in dataset.fields:
        checks = list(plans[field.name].checks)
        if field.is_id:
            final = F.col(out_col(field.name))
            checks = (([] if field.nullable else [(final.isNull(), "null_id")]) + _character_checks(final, _CONTROL_CHARACTERS)
                      + [(longer_than(final, MAX_ID_LENGTH), "id_too_long")])
        for condition, reason in checks:
            codes.append((_REASON_CODE[reason] * 1000 + positions[field.name], condition))
    for condition, reason, field_name in row_checks:
        codes.append((_REASON_CODE[reason] * 1000 + (positions[field_name] if field_name else _NO_FIELD), condition))
    code: Column = F.lit(None).cast("int")
    if codes:
        ordered = sorted(codes, key=lambda pair: pair[0])
        code = F.when(ordered[0][1], F.lit(ordered[0][0]))
        for value, condition in ordered[1:]:
            code = code.when(condition, F.lit(value))
    filtered = F.col(FILTER_KEY).isNotNull()
    internal = set(base) | set(mid) | set(parsed) | set(texts.columns)
    frame = frame.select(*[F.col("`%s`" % c) for c in frame.columns if c not in internal], F.when(~filtered, code).alias(CODE))
    if not labels:
        return frame
    frame = label_outcomes(frame, dataset)
    return mark_duplicates(frame, dataset) if dedupe else frame


def label_outcomes(frame: DataFrame, dataset: DatasetSpec) -> DataFrame:
    """A ``classify(labels=False)`` frame with ``CODE`` replaced by status, reason and field names."""
    filtered = F.col(FILTER_KEY).isNotNull()
    status = F.when(filtered, F.lit(FILTERED)).when(F.col(CODE).isNotNull(), F.lit(REJECTED)).otherwise(F.lit(WRITTEN))
    reason_names = dict(enumerate(REASONS))
    field_names = {i: f.name for i, f in enumerate(dataset.fields)}
    # Rejected rows keep the value that broke the rule in their original columns.
    return frame.select(
        *[F.col("`%s`" % c) for c in frame.columns if c != CODE],
        status.alias(STATUS),
        case_lookup((F.col(CODE) / 1000).cast("int"), reason_names).alias(REASON),
        case_lookup((F.col(CODE) % 1000).cast("int"), field_names).alias(REASON_FIELD),
    )


def narrow(classified: DataFrame, keep_original: Column) -> DataFrame:
    """A classified frame without the source columns, except as one ``ORIGINAL`` struct on
    the rows where ``keep_original`` holds (those that may be rejected): the rows to persist
    stay small. ``ROW_ID`` numbers the rows; it is stable once the frame is persisted."""
    original = [c for c in classified.columns if not c.startswith(PREFIX)]
    internal = [F.col("`%s`" % c) for c in classified.columns if c.startswith(PREFIX)]
    struct = F.struct(*[F.col("`%s`" % c) for c in original])
    return classified.select(*internal, F.when(keep_original, struct).alias(ORIGINAL), F.monotonically_increasing_id().alias(ROW_ID))


# --------------------------------------------------------------------------- views of a classified frame


def written_rows(classified: DataFrame, dataset: DatasetSpec) -> DataFrame:
    """The Personalize rows, columns named and ordered as the schema."""
    return classified.where(F.col(STATUS) == WRITTEN).select(
        *[F.col(out_col(f.name)).alias(f.name) for f in dataset.fields]
    )


def distinct_written_rows(classified: DataFrame, dataset: DatasetSpec) -> DataFrame:
    """The distinct Personalize rows of a ``classify(labels=False)`` frame.

    Grouped first and filtered on an aggregate after: a filter on the outcome would be
    pushed below the per-row projections and inline every source value's text expression
    into each rule it takes part in. That one expression grows beyond what Janino compiles
    (64 KB), and Spark then runs the stage interpreted.
    """
    written = (F.col(CODE).isNull() & F.col(FILTER_KEY).isNull()).cast("int")
    names = [f.name for f in dataset.fields]
    seen_written = PREFIX + "seen_written"
    return (
        classified.groupBy(*[F.col(out_col(name)).alias(name) for name in names])
        .agg(F.max(written).alias(seen_written))
        .where(F.col(seen_written) == 1)
        .select(*names)
    )


def rejection_column_names(original: Sequence[str]) -> Tuple[str, str]:
    return ("reason" if "reason" not in original else "rejection_reason",
            "rejected_field" if "rejected_field" not in original else "rejection_field")


def narrow_rejected_rows(frame: DataFrame) -> DataFrame:
    """``rejected_rows`` of a ``narrow`` frame: the source columns come out of ``ORIGINAL``."""
    original = frame.schema[ORIGINAL].dataType.fieldNames()
    reason_name, field_name = rejection_column_names(original)
    return frame.where(F.col(STATUS) == REJECTED).select(
        *[F.col(ORIGINAL).getField(c).alias(c) for c in original],
        F.col(REASON).alias(reason_name),
        F.col(REASON_FIELD).alias(field_name),
    )
