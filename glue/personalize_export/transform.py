"""Pure DataFrame transforms: source rows -> Personalize rows, rejected rows, filtered rows.

Nothing here knows about Glue or where the data comes from. ``classify`` is the core: it
returns every source row once, with its original columns, the output values, a status
(``written`` | ``rejected`` | ``filtered``) and, for rejected rows, the reason. The export
job persists that one DataFrame and derives the CSV, the rejected rows and all the counts
from it, so the source is read and shuffled once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from typing import Dict, List, Optional, Sequence, Tuple

from pyspark.sql import Column, DataFrame, Window, functions as F, types as T

from export_spec import (
    ID_FIELD,
    MAX_CATEGORICAL_LENGTH,
    MAX_ID_LENGTH,
    MAX_TEXTUAL_LENGTH,
    TRIM_CHARACTERS,
    DatasetSpec,
    ExportSpec,
    FieldSpec,
    NormalizeRule,
    source_path_parts,
    status_key,
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

WRITTEN, REJECTED, FILTERED = "written", "rejected", "filtered"
DUPLICATE, DUPLICATE_ID = "duplicate", "duplicate_id"
MATCH_CLASSES = ("exact", "normalized", "fuzzy", "unmatched", "missing")

# Internal column names; the prefix keeps them apart from any source column.
_P = "__pe_"
STATUS = _P + "status"
REASON = _P + "reason"
REASON_FIELD = _P + "reason_field"
FILTER_KEY = _P + "filtered_status"
MATCH = _P + "match"
ORIGINAL = _P + "original"
SUSPECT = _P + "suspect"
ROW_ID = _P + "row"
KEY_HASH = _P + "key_hash"
_DUP, _DUP_FIELD = _P + "dup", _P + "dup_field"
CODE = _P + "code"  # reason priority * 1000 + field position; null when the row is fine
# Set by the source readers: the raw text of a record that could not be read (the row is
# rejected as ``malformed_record``), why, and the physical lines a record spans.
CORRUPT_RECORD = "_corrupt_record"
CORRUPT_REASON = "_corrupt_reason"
LINES = _P + "lines"
# A struct whose members are all named after types is a choice (Glue's DynamicFrame gives
# a field whose JSON type varies across records one member per type).
_CHOICE_MEMBERS = {"boolean", "byte", "short", "int", "long", "float", "double", "decimal", "string",
                   "date", "timestamp", "binary", "array", "struct", "map", "null"}

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
_EXTENDED_JSON_KEYS = ("$oid", "$date", "$numberLong", "$numberInt", "$numberDouble", "$numberDecimal")
# The innermost `"$key": value }` of extended JSON kept as text (Spark infers a string
# column when the same field holds a plain value in some documents and a wrapper in others).
_EMBEDDED_JSON_VALUE = r'"\$[A-Za-z]+"\s*:\s*"?([^"{}]*?)"?\s*\}'
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
# Java regular-expression classes: the trimmed characters, and white space only.
_TRIM_CLASS = "[%s]" % "".join("\\x{%x}" % ord(c) for c in TRIM_CHARACTERS)
_WHITESPACE_CLASS = r"[\s\p{Z}\x{85}]"
_WHOLE = 2**31 - 1  # a substring length meaning "to the end"
# Reason codes are priority * 1000 + field position; this position means "the whole row".
_NO_FIELD = 999


class SourceSchemaError(ValueError):
    """A spec field points at a source column or path that the source does not have."""


def out_col(field_name: str) -> str:
    return _P + "out_" + field_name


@dataclass(frozen=True)
class ClassifyOptions:
    now_epoch: int
    timestamp_floor: Optional[int] = None
    max_future_skew_seconds: int = 0
    # Whether text values may hold extended JSON wrappers (``'{"$oid": "..."}'``): Spark
    # reads JSON lines that mix plain values and wrappers in one field as text.
    text_may_wrap_json: bool = True


# --------------------------------------------------------------------------- source access


def is_choice(dtype: T.DataType) -> bool:
    return isinstance(dtype, T.StructType) and len(dtype.fields) > 1 and all(f.name in _CHOICE_MEMBERS for f in dtype.fields)


def _resolve(schema: T.StructType, path: str, where: str,
             mismatches: Optional[List[Column]] = None) -> Tuple[Column, T.DataType]:
    """A (possibly nested) source path -> column and type; case-insensitive like Spark SQL.

    A choice on the way steps into its ``struct`` member; ``mismatches`` collects, for each
    such step, the condition of a row that holds another type there.
    """
    parts = source_path_parts(path)
    current_type: T.DataType = schema
    column: Optional[Column] = None
    walked: List[str] = []
    for part in parts:
        if column is not None and is_choice(current_type) and "struct" in current_type.fieldNames():
            others = [column.getField(f.name) for f in current_type.fields if f.name != "struct"]
            if mismatches is not None:
                mismatches.append(_any([o.isNotNull() for o in others]))
            column, current_type = column.getField("struct"), current_type["struct"].dataType
        if not isinstance(current_type, T.StructType):
            raise SourceSchemaError(
                "%s: source path %r: %r is a %s, not a nested document" % (where, path, ".".join(walked), current_type.simpleString())
            )
        match = next((f for f in current_type.fields if f.name == part), None)
        if match is None:
            match = next((f for f in current_type.fields if f.name.lower() == part.lower()), None)
        if match is None:
            available = ", ".join(f.name for f in current_type.fields)
            raise SourceSchemaError(
                "%s: source path %r: no column %r%s (available: %s)"
                % (where, path, part, " in %r" % ".".join(walked) if walked else "", available)
            )
        column = F.col("`%s`" % match.name) if column is None else column.getField(match.name)
        current_type = match.dataType
        walked.append(match.name)
    assert column is not None
    return column, current_type


def _unwrap_extended_json(column: Column, dtype: T.DataType) -> Tuple[Column, T.DataType, bool]:
    """Strip document-store wrappers ({"$oid": ..}, {"$date": ..}, {"$numberLong": ..}).

    Returns the inner column, its type, and whether a ``$date`` wrapper was seen (a numeric
    ``$date`` is epoch milliseconds by definition).
    """
    saw_date = False
    while isinstance(dtype, T.StructType):
        if is_choice(dtype):
            # A wrapped value whose type varies (`{"$date": "..."}` and `{"$date": {"$numberLong": ..}}`).
            return _choice_as_text(column, dtype), T.StringType(), saw_date
        names = [f.name for f in dtype.fields]
        key = next((k for k in _EXTENDED_JSON_KEYS if k in names), None)
        if key is None:
            break
        saw_date = saw_date or key == "$date"
        column = column.getField(key)
        dtype = dtype[key].dataType
    return column, dtype, saw_date


def unicode_trim(text: Column) -> Column:
    """``text`` without ``TRIM_CHARACTERS`` (Unicode white space and invisible format
    characters) at either end. A value that starts and ends with printable ASCII, as
    almost all do, cannot start or end with one and skips the trim."""
    plain = F.ascii(text).between(33, 126) & F.ascii(F.substring(text, -1, 1)).between(33, 126)
    return F.when(plain, text).otherwise(F.call_function("btrim", text, F.lit(TRIM_CHARACTERS)))


def _trimmed_text(column: Column, dtype: T.DataType, parsed: bool = False) -> Column:
    """Any source value as trimmed text (complex values as JSON).

    Text that is ``parsed`` (numbers, booleans, timestamps) is trimmed of spaces only: any
    other white space left around it makes it unparseable, so it is rejected, never altered.
    That keeps the per-row code small (see ``_Texts``)."""
    trim = F.trim if parsed else unicode_trim
    if isinstance(dtype, (T.StructType, T.ArrayType, T.MapType)):
        return trim(F.to_json(column))
    return trim(column.cast("string"))


def _embedded_json_value(trimmed: Column) -> Column:
    """The value inside extended JSON kept as text (``{"$oid": "..."}``); null for other text."""
    # The regular expression sits inside the branch for text starting with "{": in a
    # condition, Spark's common-subexpression pass would run it on every row.
    return F.when(trimmed.startswith("{"), F.regexp_extract(trimmed, _EMBEDDED_JSON_VALUE, 1))


def _clean_text(trimmed: Column, embedded: Optional[Column]) -> Column:
    """Trimmed text, or the extended JSON value it wraps; null when blank."""
    if embedded is None:
        return _blank_to_null(trimmed)
    inner = unicode_trim(embedded)
    return (
        F.when(trimmed == "", F.lit(None).cast("string"))
        .when(embedded.isNull() | (embedded == ""), trimmed)
        .when(inner == "", F.lit(None).cast("string"))
        .otherwise(inner)
    )


def _may_wrap_json(dtype: T.DataType) -> bool:
    return not isinstance(dtype, (T.NumericType, T.BooleanType))


def _as_text(column: Column, dtype: T.DataType) -> Column:
    """Any source value as clean text (see ``_clean_text``), in one expression."""
    trimmed = _trimmed_text(column, dtype)
    return _clean_text(trimmed, _embedded_json_value(trimmed) if _may_wrap_json(dtype) else None)


class _Texts:
    """Source values as clean text (trimmed, extended JSON unwrapped, blank as null) and
    normalised ids, each computed once, one step per projection, ahead of the rules.

    Later expressions then refer to a column instead of repeating (and, through nested
    rules, multiplying) the text expression. That keeps the generated per-row method under
    the 8000 bytes of bytecode above which the JVM never compiles it: it would run
    interpreted, several times slower.
    """

    def __init__(self, text_may_wrap_json: bool = True) -> None:
        self._text_may_wrap_json = text_may_wrap_json
        self._names: Dict[str, str] = {}
        self._normalized: Dict[Tuple[str, Tuple[NormalizeRule, ...]], str] = {}
        # Projections in order: trimmed text, the extended JSON value it may wrap, clean
        # text, then one per normalisation step.
        self._layers: List[Dict[str, Column]] = [{}, {}, {}]

    def _layer(self, index: int) -> Dict[str, Column]:
        while len(self._layers) <= index:
            self._layers.append({})
        return self._layers[index]

    def _register(self, column: Column, dtype: T.DataType, parsed: bool = False) -> str:
        key = "%s %s %s" % (column._jc.toString(), dtype.simpleString(), parsed)
        if key not in self._names:
            name = "%stext%d" % (_P, len(self._names))
            self._names[key] = name
            self._layers[0][name + "_t"] = _trimmed_text(column, dtype, parsed)
            embedded = None
            if self.may_wrap_json(dtype):
                self._layers[1][name + "_e"] = _embedded_json_value(F.col(name + "_t"))
                embedded = F.col(name + "_e")
            self._layers[2][name] = _clean_text(F.col(name + "_t"), embedded)
        return self._names[key]

    def may_wrap_json(self, dtype: T.DataType) -> bool:
        return self._text_may_wrap_json and _may_wrap_json(dtype)

    def trimmed(self, column: Column, dtype: T.DataType, parsed: bool = False) -> Column:
        return F.col(self._register(column, dtype, parsed) + "_t")

    def clean(self, column: Column, dtype: T.DataType, parsed: bool = False) -> Column:
        """Clean text; ``parsed`` text is trimmed of spaces only (see ``_trimmed_text``)."""
        return F.col(self._register(column, dtype, parsed))

    def normalized(self, column: Column, dtype: T.DataType, rules: Sequence[NormalizeRule]) -> Column:
        """Clean text with ``rules`` applied in order (blank results as null)."""
        current = self._register(column, dtype)
        # Clean text is trimmed already: leading "trim" rules have nothing left to do.
        while rules and rules[0].kind == "trim":
            rules = rules[1:]
        key = (current, tuple(rules))
        if key not in self._normalized:
            prefix = "%s_n%d_" % (current, len(self._normalized))
            for step, rule in enumerate(rules):
                self._layer(3 + step)[prefix + str(step)] = apply_normalize(F.col(current), [rule])
                current = prefix + str(step)
            self._layer(3 + len(rules))[prefix + "id"] = _blank_to_null(F.col(current))
            self._normalized[key] = prefix + "id"
        return F.col(self._normalized[key])

    @property
    def columns(self) -> List[str]:
        return [name for layer in self._layers for name in layer]

    def add_to(self, frame: DataFrame) -> DataFrame:
        for layer in self._layers:
            if layer:
                frame = frame.select("*", *[expr.alias(name) for name, expr in layer.items()])
        return frame


def _lookup(key: Column, table: Dict) -> Column:
    """``table[key]`` as a CASE expression (null when absent); compiled, unlike a map literal lookup."""
    result = None
    for k, v in table.items():
        result = (F.when if result is None else result.when)(key == F.lit(k), F.lit(v))
    return result if result is not None else F.lit(None).cast("string")


def _longer_than(text: Column, characters: int) -> Column:
    """``length(text) > characters``, counting characters only when the UTF-8 byte length
    (known without a scan, and never below the character count) exceeds the limit."""
    return (F.octet_length(text) > characters) & (F.length(text) > characters)


def _any(conditions: Sequence[Column]) -> Column:
    result = conditions[0]
    for condition in conditions[1:]:
        result = result | condition
    return result


def _blank_to_null(text: Column) -> Column:
    return F.when(text == "", F.lit(None).cast("string")).otherwise(text)


# --------------------------------------------------------------------------- normalisation


def apply_normalize(text: Column, rules: Sequence[NormalizeRule]) -> Column:
    for rule in rules:
        if rule.kind == "trim":
            text = unicode_trim(text)
        elif rule.kind == "collapse_whitespace":
            text = F.regexp_replace(text, _WHITESPACE_CLASS + "+", " ")
        elif rule.kind == "lower":
            text = F.lower(text)
        elif rule.kind == "upper":
            text = F.upper(text)
        elif rule.kind == "strip_prefix":
            # The first listed prefix that matches is removed. String functions, not regular
            # expressions: they work on Spark's UTF-8 bytes without converting to Java strings.
            stripped = None
            for prefix in rule.values:
                cut = text.substr(len(prefix) + 1, _WHOLE)
                stripped = (F.when if stripped is None else stripped.when)(text.startswith(prefix), cut)
            text = stripped.otherwise(text) if stripped is not None else text
        elif rule.kind == "remove_chars":
            text = F.translate(text, rule.values[0], "")
        elif rule.kind == "strip_leading_zeros":
            # TRIM(LEADING '0' FROM text), keeping one "0" when the text is all zeros.
            trimmed = F.call_function("ltrim", F.lit("0"), text)
            text = F.when((trimmed == "") & (text != ""), F.lit("0")).otherwise(trimmed)
        else:  # the spec validator only lets known rules through
            raise ValueError("unknown normalize rule %r" % rule.kind)
    return text


def title_key(text: Column) -> Column:
    """The form clean (trimmed) titles are compared in for the fuzzy match."""
    return F.regexp_replace(F.lower(text), _WHITESPACE_CLASS + "+", " ")


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


def _b(name: str) -> str:
    return _P + "b_" + name


def _x(name: str) -> str:
    return _P + "x_" + name


def _p(name: str) -> str:
    return _P + "p_" + name


def _n(name: str) -> str:
    return _P + "n_" + name


def _missing_reason(field: FieldSpec) -> str:
    return "null_id" if field.is_id else "missing_value"


def _required(field: FieldSpec, present: Column) -> List[Tuple[Column, str]]:
    return [] if field.nullable else [(~present, _missing_reason(field))]


def _number(field: FieldSpec, column: Column, dtype: T.DataType, texts: _Texts) -> _FieldPlan:
    name, target = field.name, _SPARK_TYPES[field.type]
    integral = field.type in _INT_RANGE
    if isinstance(dtype, T.NumericType):
        base = column.cast("double") if not integral or isinstance(dtype, (T.FloatType, T.DoubleType)) else column.cast("decimal(38,0)")
        present = F.col(_b(name)).isNotNull()
        if integral:
            number = F.when(~F.isnan(F.col(_b(name)).cast("double")), F.col(_b(name)).cast("decimal(38,10)"))
        else:
            number = F.col(_b(name))
    else:
        base = texts.clean(column, dtype, parsed=True)
        present = F.col(_b(name)).isNotNull()
        text = F.col(_b(name))
        if integral:
            number = F.when(text.rlike(_INTEGER_TEXT), text.cast("decimal(38,0)"))
        else:
            number = F.when(text.rlike(_DECIMAL_TEXT), text.cast("double"))
    parsed = F.col(_p(name))
    if integral:
        low, high = _INT_RANGE[field.type]
        valid = parsed.isNotNull() & (parsed == F.floor(parsed)) & (parsed >= F.lit(low)) & (parsed <= F.lit(high))
    else:
        limit = _FLOAT_MAX if field.type == "float" else 1.7976931348623157e308
        valid = parsed.isNotNull() & ~F.isnan(parsed) & (F.abs(parsed) <= F.lit(limit))
    checks = _required(field, present) + [(present & ~valid, "invalid_number")]
    return _FieldPlan({_b(name): base}, {_p(name): number}, F.when(present & valid, parsed.cast(target)), checks)


def _boolean(field: FieldSpec, column: Column, dtype: T.DataType, texts: _Texts) -> _FieldPlan:
    name = field.name
    if isinstance(dtype, T.BooleanType):
        base, parsed = column, F.col(_b(name))
        present = F.col(_b(name)).isNotNull()
    else:
        base = F.lower(texts.clean(column, dtype, parsed=True))
        text = F.col(_b(name))
        parsed = F.when(text.isin(*_TRUE), F.lit(True)).when(text.isin(*_FALSE), F.lit(False))
        present = text.isNotNull()
    valid = F.col(_p(name)).isNotNull()
    checks = _required(field, present) + [(present & ~valid, "invalid_boolean")]
    return _FieldPlan({_b(name): base}, {_p(name): parsed}, F.col(_p(name)), checks)


def _join_values(text: Column, separator_pattern: str) -> Column:
    """Values separated by ``separator_pattern`` -> trimmed, empty ones dropped, joined with ``|``.

    ``text`` is trimmed already. Regular expressions instead of array lambdas: Spark
    compiles these, while higher-order functions run interpreted, row by row.
    """
    joined = F.regexp_replace(text, r"%s*(?:%s)%s*" % (_TRIM_CLASS, separator_pattern, _TRIM_CLASS), "|")
    joined = F.regexp_replace(joined, r"\|{2,}", "|")
    return F.regexp_replace(joined, r"^\||\|$", "")


def _categorical(field: FieldSpec, column: Column, dtype: T.DataType, texts: _Texts) -> _FieldPlan:
    name = field.name
    if is_choice(dtype):
        # Rows holding an array join its elements; rows holding text are read as text.
        array = column.getField("array")
        text = _choice_as_text(column, dtype, skip=("array",))
        split = _join_values(text, re.escape(field.delimiter) + r"|\|") if field.delimiter is not None else F.trim(text)
        base = F.when(array.isNotNull(), _join_values(F.array_join(array.cast("array<string>"), "|"), r"\|")).otherwise(split)
    elif isinstance(dtype, T.ArrayType):
        # array_join drops null elements; the separator is then cleaned like a delimited string.
        base = _join_values(unicode_trim(F.array_join(column.cast("array<string>"), "|")), r"\|")
    elif field.delimiter is not None:
        base = _join_values(texts.clean(column, dtype), re.escape(field.delimiter) + r"|\|")
    else:
        base = texts.clean(column, dtype)
    base = _blank_to_null(base)
    joined = F.col(_b(name))
    present = joined.isNotNull()
    too_long = present & _longer_than(joined, MAX_CATEGORICAL_LENGTH)
    checks = _required(field, present) + _character_checks(joined, _CONTROL_CHARACTERS) + [(too_long, "categorical_too_long")]
    return _FieldPlan({_b(name): base}, {}, F.when(~too_long, joined), checks)


_CHARACTER_REASONS = ("undecodable_value", "control_character")


def _character_checks(text: Column, forbidden: str) -> List[Tuple[Column, str]]:
    """A value the source's bytes could not be decoded into, or holding a forbidden character."""
    return [(text.contains(_REPLACEMENT_CHARACTER), "undecodable_value"), (text.rlike(forbidden), "control_character")]


def _string(field: FieldSpec, column: Column, dtype: T.DataType, texts: _Texts,
            extra_normalize: Sequence[NormalizeRule] = ()) -> _FieldPlan:
    name = field.name
    column, dtype, _ = _unwrap_extended_json(column, dtype)
    if field.is_id:
        # Trimmed and normalised; the id rules run on the final id (after reconciliation).
        base = texts.normalized(column, dtype, tuple(extra_normalize) + tuple(field.normalize))
        return _FieldPlan({_b(name): base}, {}, F.col(_b(name)), [])
    if not field.textual:
        # Trimmed, extended JSON unwrapped, normalised, blank as null: as ids and statuses.
        base = texts.normalized(column, dtype, field.normalize)
        value = F.col(_b(name))
        present = value.isNotNull()
        checks = _required(field, present) + _character_checks(value, _CONTROL_CHARACTERS)
        return _FieldPlan({_b(name): base}, {}, value, checks)
    # Textual values keep their own spacing; only a blank one counts as missing.
    if isinstance(dtype, (T.StructType, T.ArrayType, T.MapType)):
        text = F.to_json(column)
    else:
        text = column.cast("string")
    if field.normalize:
        text = apply_normalize(text, field.normalize)
    base = F.when(unicode_trim(text) == "", F.lit(None).cast("string")).otherwise(text)
    value = F.col(_b(name))
    present = value.isNotNull()
    checks = _required(field, present) + _character_checks(value, _TEXTUAL_CONTROL_CHARACTERS)
    too_long = present & _longer_than(value, MAX_TEXTUAL_LENGTH)
    checks.append((too_long, "textual_too_long"))
    return _FieldPlan({_b(name): base}, {}, F.when(~too_long, value), checks)


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


def _timestamp_base(column: Column, dtype: T.DataType, timezone: str, texts: _Texts) -> Tuple[Column, Column, Optional[Column]]:
    """(text, forced-millis flag, native seconds or None) for a timestamp source value."""
    column, dtype, saw_date = _unwrap_extended_json(column, dtype)
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


def _timestamp(field: FieldSpec, column: Column, dtype: T.DataType, options: ClassifyOptions, texts: _Texts) -> _FieldPlan:
    assert field.timestamp is not None
    name = field.name
    text, forced, native = _timestamp_base(column, dtype, field.timestamp.timezone, texts)
    if native is not None:
        base = {_b(name): native.cast("string")}
        mid: Dict[str, Column] = {}
        parsed = {_p(name): native}
    else:
        base = {_b(name): text, _x(name): forced}
        mid = {_n(name): _number_from_text(F.col(_b(name)))}
        parsed = {_p(name): _epoch_from_text(F.col(_b(name)), F.col(_n(name)), F.col(_x(name)),
                                             field.timestamp.formats, field.timestamp.timezone)}
    seconds = F.col(_p(name))
    present = F.col(_b(name)).isNotNull()
    ok = seconds.isNotNull()
    future = ok & (seconds > F.lit(options.now_epoch + options.max_future_skew_seconds))
    checks = _required(field, present)
    formats = field.timestamp.formats
    if native is None and "epoch_seconds" in formats and "epoch_millis" in formats:
        magnitude = F.abs(F.col(_n(name)))
        ambiguous = ~ok & ~F.col(_x(name)) & (magnitude >= F.lit(float(_SECONDS_BELOW))) & (magnitude < F.lit(float(_MILLIS_FROM)))
        checks.append((ambiguous, "ambiguous_epoch"))
    checks += [(present & ~ok, "unparseable_timestamp"), (future, "future_timestamp")]
    ok = ok & ~future
    if options.timestamp_floor is not None:
        early = seconds < F.lit(options.timestamp_floor)
        checks.append((early, "timestamp_before_floor"))
        ok = ok & ~early
    return _FieldPlan(base, parsed, F.when(ok, seconds), checks, mid)


def _choice_as_text(column: Column, dtype: T.StructType, skip: Tuple[str, ...] = ()) -> Column:
    """A choice's value as text, read by the type each row holds (one member is set per row)."""
    texts = [_value_text(column.getField(m.name), m.dataType) for m in dtype.fields if m.name not in skip]
    return F.coalesce(*texts) if texts else F.lit(None).cast("string")


def _plain(column: Column, dtype: T.DataType) -> Tuple[Column, T.DataType]:
    """A choice as text; any other value as it is."""
    return (_choice_as_text(column, dtype), T.StringType()) if is_choice(dtype) else (column, dtype)


def _value_text(value: Column, dtype: T.DataType) -> Column:
    if is_choice(dtype):
        return _choice_as_text(value, dtype)
    if isinstance(dtype, (T.FloatType, T.DoubleType)):
        # Plain digits (not Spark's 1.6E9) so numeric and timestamp text rules read it.
        plain = F.abs(value) < F.lit(1e18)
        return (F.when(plain & (value == F.floor(value)), value.cast("decimal(38,0)").cast("string"))
                .when(plain, F.regexp_replace(value.cast("decimal(38,12)").cast("string"), r"0+$", ""))
                .otherwise(value.cast("string")))
    if isinstance(dtype, T.StructType) and len(dtype.fields) == 1 and dtype.fields[0].name in _EXTENDED_JSON_KEYS:
        # An extended JSON wrapper whose value itself varies in type: kept as wrapper text
        # (`{"$date":"..."}`), which the text rules unwrap like any wrapper held as text.
        key = dtype.fields[0].name
        return F.when(value.isNotNull(), F.concat(F.lit('{"%s":"' % key), _value_text(value.getField(key), dtype[key].dataType), F.lit('"}')))
    if isinstance(dtype, (T.StructType, T.ArrayType, T.MapType)):
        return F.to_json(value)
    return value.cast("string")


def _field_plan(field: FieldSpec, column: Column, dtype: T.DataType, options: ClassifyOptions, texts: _Texts,
                id_normalize: Sequence[NormalizeRule] = ()) -> _FieldPlan:
    if is_choice(dtype):
        if field.categorical and "array" in dtype.fieldNames():
            return _categorical(field, column, dtype, texts)
        column, dtype = _choice_as_text(column, dtype), T.StringType()
    if field.timestamp is not None:
        return _timestamp(field, column, dtype, options, texts)
    if field.type in ("int", "long", "float", "double"):
        column, dtype, _ = _unwrap_extended_json(column, dtype)
        return _number(field, column, dtype, texts)
    if field.type == "boolean":
        column, dtype, _ = _unwrap_extended_json(column, dtype)
        return _boolean(field, column, dtype, texts)
    if field.categorical:
        column, dtype, _ = _unwrap_extended_json(column, dtype)
        return _categorical(field, column, dtype, texts)
    return _string(field, column, dtype, texts, id_normalize)


# --------------------------------------------------------------------------- item catalog


def item_catalog(items_source: DataFrame, spec: ExportSpec, text_may_wrap_json: bool = True) -> DataFrame:
    """The items source reduced to (raw id, normalised id or null, title key) for reconciliation."""
    items = spec.dataset("items")
    item_field = items.field("ITEM_ID")
    assert item_field is not None
    column, dtype = _plain(*_resolve(items_source.schema, item_field.source, "datasets.items.fields.ITEM_ID"))
    texts = _Texts(text_may_wrap_json)
    raw = texts.clean(column, dtype)
    normalized = texts.normalized(column, dtype, tuple(spec.item_ids.normalize) + tuple(item_field.normalize))
    columns = [raw.alias("raw_id"), normalized.alias("item_id")]
    fuzzy = spec.item_ids.fuzzy
    if fuzzy is not None:
        tcol, ttype = _plain(*_resolve(items_source.schema, fuzzy.items_key, "item_ids.fuzzy.items_key"))
        columns.append(title_key(texts.clean(tcol, ttype)).alias("title_key"))
    # Rows without an id are kept (they match nothing): a filter here would be pushed
    # below the projections above and repeat the whole normalisation inside it.
    return texts.add_to(items_source).select(*columns)


def _fuzzy_title_matches(titles: DataFrame, catalog: DataFrame, max_distance: int, block: int, min_length: int) -> DataFrame:
    """Distinct unmatched title keys -> the single closest catalog item within max_distance.

    Candidates are blocked on the first or last ``block`` characters, so only titles that
    share a prefix or a suffix are compared: no full cross join.
    """
    cat = (
        catalog.where(F.col("title_key").isNotNull() & (F.length("title_key") >= min_length))
        .select(F.col("title_key").alias("cat_title"), F.col("item_id").alias("cat_item"))
        .distinct()
        .withColumn("cat_head", F.substring("cat_title", 1, block))
        .withColumn("cat_tail", F.expr("substring(cat_title, -%d, %d)" % (block, block)))
    )
    keys = (
        titles.where(F.length("title_key") >= min_length)
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
        .select(F.col("title_key").alias(_P + "fuzzy_title"), F.col("fuzzy_item").alias(_P + "fuzzy_item"))
    )
    return winners


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
    texts = _Texts(options.text_may_wrap_json)
    row_checks: List[Tuple[Column, str, Optional[str]]] = []
    malformed: List[Column] = []
    if CORRUPT_RECORD in df.columns:
        malformed.append(F.col(CORRUPT_RECORD).isNotNull())
        row_checks.append((malformed[-1], "malformed_record", None))
    for field in dataset.fields:
        mismatches: List[Column] = []
        column, dtype = _resolve(schema, field.source, "%s.%s" % (where, field.name), mismatches)
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

    # Event types: filtered rows are decided on the source status, before any rule.
    filter_key: Column = F.lit(None).cast("string")
    rules = dataset.event_types
    if rules is not None:
        field = dataset.field(rules.field)
        assert field is not None
        column, dtype = _resolve(schema, field.source, "%s.%s" % (where, field.name))
        column, dtype, _ = _unwrap_extended_json(column, dtype)
        base[_P + "event_status"] = texts.clean(column, dtype)
        status_text = F.col(_P + "event_status")
        key = status_text if rules.case_sensitive else F.lower(status_text)
        def normalise(status: str) -> str:
            return status_key(status, rules.case_sensitive)

        mapping = {normalise(k): v for k, v in rules.mapping.items()}
        if mapping:
            mapped = _lookup(key, mapping)
        else:
            mapped = F.lit(None).cast("string")
        dropped = key.isin(*[normalise(s) for s in rules.drop]) if rules.drop else F.lit(False)
        unmapped = key.isNotNull() & mapped.isNull() & ~dropped
        if rules.unmapped == "drop":
            dropped = dropped | unmapped
        filter_key = F.when(F.coalesce(dropped, F.lit(False)), key)
        if rules.unmapped == "reject":
            row_checks.append((unmapped, "unknown_event_type", field.name))
        old = plans[field.name]
        checks = old.checks
        if rules.unmapped != "keep":  # every written event type is then a value of the spec's map
            checks = [check for check in checks if check[1] not in _CHARACTER_REASONS]
        plans[field.name] = _FieldPlan(old.base, old.parsed, F.coalesce(mapped, status_text), checks, old.mid)

    if malformed:
        # A record that could not be read is rejected, whatever status it seems to hold.
        filter_key = F.when(~_any(malformed), filter_key)
    reconcile = dataset.name == "interactions" and catalog is not None
    if reconcile:
        # The source id as written (for "exact" matches) and the title key for the fuzzy match.
        item_field = dataset.field("ITEM_ID")
        column, dtype = _resolve(schema, item_field.source, "%s.ITEM_ID" % where)
        column, dtype, _ = _unwrap_extended_json(column, dtype)
        base[_P + "item_raw"] = texts.clean(column, dtype)
        if spec.item_ids.fuzzy is not None:
            tcol, ttype = _plain(*_resolve(schema, spec.item_ids.fuzzy.interactions_key, "item_ids.fuzzy.interactions_key"))
            base[_P + "item_title"] = title_key(texts.clean(tcol, ttype))

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
    if reconcile:
        frame = _reconcile(frame, df, dataset, spec, catalog)
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
                      + [(_longer_than(final, MAX_ID_LENGTH), "id_too_long")])
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
        _lookup((F.col(CODE) / 1000).cast("int"), reason_names).alias(REASON),
        _lookup((F.col(CODE) % 1000).cast("int"), field_names).alias(REASON_FIELD),
    )


def _reconcile(frame: DataFrame, source: DataFrame, dataset: DatasetSpec, spec: ExportSpec, catalog: DataFrame) -> DataFrame:
    """Classify each interaction's item against the catalog; fill missing ids by fuzzy title match."""
    item_field = dataset.field("ITEM_ID")
    assert item_field is not None
    # One small broadcast table: normalised id -> every spelling the catalog uses for it.
    # Keyed on a never-null column: for a nullable key Spark infers an `isnotnull` filter
    # and pushes it below the catalog's projections, repeating the whole normalisation in it.
    ids = catalog.groupBy(F.coalesce(F.col("item_id"), F.lit("")).alias(_P + "cat_norm")).agg(F.collect_set("raw_id").alias(_P + "cat_raws"))
    frame = frame.join(F.broadcast(ids), F.col(out_col("ITEM_ID")) == F.col(_P + "cat_norm"), "left")
    exact = F.coalesce(F.array_contains(F.col(_P + "cat_raws"), F.col(_P + "item_raw")), F.lit(False))
    normalized = F.col(_P + "cat_norm").isNotNull()
    present = F.col(out_col("ITEM_ID")).isNotNull()
    fuzzy = spec.item_ids.fuzzy
    fuzzy_item: Column = F.lit(None).cast("string")
    if fuzzy is not None:
        # Distinct titles straight from the source (a small aggregate), matched once each.
        tcol, ttype = _plain(*_resolve(source.schema, fuzzy.interactions_key, "item_ids.fuzzy.interactions_key"))
        titles = source.select(title_key(_as_text(tcol, ttype)).alias("title_key")).where(F.col("title_key").isNotNull()).distinct()
        matches = _fuzzy_title_matches(titles, catalog, fuzzy.max_distance, fuzzy.block_prefix_length, fuzzy.min_key_length)
        frame = frame.join(F.broadcast(matches), F.col(_P + "item_title") == F.col(_P + "fuzzy_title"), "left")
        fuzzy_item = F.when(~normalized, F.col(_P + "fuzzy_item"))
    match = (
        F.when(exact, F.lit("exact"))
        .when(normalized, F.lit("normalized"))
        .when(fuzzy_item.isNotNull(), F.lit("fuzzy"))
        .when(present, F.lit("unmatched"))
        .otherwise(F.lit("missing"))
    )
    internal = {_P + "item_raw", _P + "cat_raws", _P + "cat_norm", _P + "item_title", _P + "fuzzy_title", _P + "fuzzy_item"}
    keep = [F.col("`%s`" % c) for c in frame.columns if c not in internal and c != out_col("ITEM_ID")]
    return frame.select(*keep, F.coalesce(fuzzy_item, F.col(out_col("ITEM_ID"))).alias(out_col("ITEM_ID")), match.alias(MATCH))


def _dedupe_key(dataset: DatasetSpec) -> Tuple[List[Column], Optional[str]]:
    """The columns that make two written rows duplicates, and the id field (items/users)."""
    id_name = ID_FIELD[dataset.name]
    if id_name is None:
        return [F.col(out_col(f.name)) for f in dataset.fields], None
    return [F.col(out_col(id_name))], id_name


def with_key_hash(frame: DataFrame, dataset: DatasetSpec) -> DataFrame:
    """``frame`` plus ``KEY_HASH``, the 64-bit hash of its duplicate key, computed once."""
    key, _ = _dedupe_key(dataset)
    return frame.withColumn(KEY_HASH, F.xxhash64(*key))


def key_hash(frame: DataFrame, dataset: DatasetSpec) -> Column:
    """The 64-bit hash of the duplicate key: ``KEY_HASH`` when the frame carries it."""
    if KEY_HASH in frame.columns:
        return F.col(KEY_HASH)
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
    window = Window.partitionBy(key_hash(frame, dataset), F.col(STATUS), *key).orderBy(*[o.asc_nulls_first() for o in outs])
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
        .groupBy(key_hash(frame, dataset).alias(_P + "hash"))
        .count()
        .where(F.col("count") > 1)
        .select(_P + "hash")
    )


def flag_suspects(frame: DataFrame, dataset: DatasetSpec, suspects: DataFrame) -> DataFrame:
    """``frame`` plus a boolean ``SUSPECT`` column: its duplicate-key hash is among ``suspects`` (broadcast)."""
    flagged = frame.join(F.broadcast(suspects), key_hash(frame, dataset) == F.col(_P + "hash"), "left")
    return flagged.select(*[F.col("`%s`" % c) for c in frame.columns], F.col(_P + "hash").isNotNull().alias(SUSPECT))


def narrow(classified: DataFrame, keep_original: Column) -> DataFrame:
    """A classified frame without the source columns, except as one ``ORIGINAL`` struct on
    the rows where ``keep_original`` holds (those that may be rejected): the rows to persist
    stay small. ``ROW_ID`` numbers the rows; it is stable once the frame is persisted."""
    original = [c for c in classified.columns if not c.startswith(_P)]
    internal = [F.col("`%s`" % c) for c in classified.columns if c.startswith(_P)]
    struct = F.struct(*[F.col("`%s`" % c) for c in original])
    return classified.select(*internal, F.when(keep_original, struct).alias(ORIGINAL), F.monotonically_increasing_id().alias(ROW_ID))


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


# --------------------------------------------------------------------------- views of a classified frame


def written_rows(classified: DataFrame, dataset: DatasetSpec) -> DataFrame:
    """The Personalize rows, columns named and ordered as the schema."""
    return classified.where(F.col(STATUS) == WRITTEN).select(
        *[F.col(out_col(f.name)).alias(f.name) for f in dataset.fields]
    )


def _rejection_column_names(original: Sequence[str]) -> Tuple[str, str]:
    return ("reason" if "reason" not in original else "rejection_reason",
            "rejected_field" if "rejected_field" not in original else "rejection_field")


def narrow_rejected_rows(frame: DataFrame) -> DataFrame:
    """``rejected_rows`` of a ``narrow`` frame: the source columns come out of ``ORIGINAL``."""
    original = frame.schema[ORIGINAL].dataType.fieldNames()
    reason_name, field_name = _rejection_column_names(original)
    return frame.where(F.col(STATUS) == REJECTED).select(
        *[F.col(ORIGINAL).getField(c).alias(c) for c in original],
        F.col(REASON).alias(reason_name),
        F.col(REASON_FIELD).alias(field_name),
    )


def rejected_rows(classified: DataFrame) -> DataFrame:
    """Rejected rows: every original column, plus ``reason`` and ``rejected_field``."""
    original = [c for c in classified.columns if not c.startswith(_P)]
    reason_name, field_name = _rejection_column_names(original)
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
