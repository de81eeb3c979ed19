"""Source values as clean text: source paths, choices and extended JSON, Unicode trimming,
normalisation rules, and the per-column text projections the classify pass builds on.

Nothing here decides an outcome: the rules in ``transform`` read these columns.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from pyspark.sql import Column, DataFrame, functions as F, types as T

from export_spec import TRIM_CHARACTERS, NormalizeRule, source_path_parts
from personalize_export.columns import PREFIX

# A struct whose members are all named after types is a choice (Glue's DynamicFrame gives
# a field whose JSON type varies across records one member per type).
_CHOICE_MEMBERS = {"boolean", "byte", "short", "int", "long", "float", "double", "decimal", "string",
                   "date", "timestamp", "binary", "array", "struct", "map", "null"}
_EXTENDED_JSON_KEYS = ("$oid", "$date", "$numberLong", "$numberInt", "$numberDouble", "$numberDecimal")
# The innermost `"$key": value }` of extended JSON kept as text (Spark infers a string
# column when the same field holds a plain value in some documents and a wrapper in others).
_EMBEDDED_JSON_VALUE = r'"\$[A-Za-z]+"\s*:\s*"?([^"{}]*?)"?\s*\}'
# Java regular-expression classes: the trimmed characters, and white space only.
TRIM_CLASS = "[%s]" % "".join("\\x{%x}" % ord(c) for c in TRIM_CHARACTERS)
_WHITESPACE_CLASS = r"[\s\p{Z}\x{85}]"
_WHOLE = 2**31 - 1  # a substring length meaning "to the end"


class SourceSchemaError(ValueError):
    """A spec field points at a source column or path that the source does not have."""


# --------------------------------------------------------------------------- source access


def is_choice(dtype: T.DataType) -> bool:
    return isinstance(dtype, T.StructType) and len(dtype.fields) > 1 and all(f.name in _CHOICE_MEMBERS for f in dtype.fields)


def resolve_column(schema: T.StructType, path: str, where: str,
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
                mismatches.append(any_of([o.isNotNull() for o in others]))
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


def unwrap_extended_json(column: Column, dtype: T.DataType) -> Tuple[Column, T.DataType, bool]:
    """Strip document-store wrappers ({"$oid": ..}, {"$date": ..}, {"$numberLong": ..}).

    Returns the inner column, its type, and whether a ``$date`` wrapper was seen (a numeric
    ``$date`` is epoch milliseconds by definition).
    """
    saw_date = False
    while isinstance(dtype, T.StructType):
        if is_choice(dtype):
            # A wrapped value whose type varies (`{"$date": "..."}` and `{"$date": {"$numberLong": ..}}`).
            return choice_as_text(column, dtype), T.StringType(), saw_date
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
    That keeps the per-row code small (see ``SourceTexts``)."""
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
        return blank_to_null(trimmed)
    inner = unicode_trim(embedded)
    return (
        F.when(trimmed == "", F.lit(None).cast("string"))
        .when(embedded.isNull() | (embedded == ""), trimmed)
        .when(inner == "", F.lit(None).cast("string"))
        .otherwise(inner)
    )


def _may_wrap_json(dtype: T.DataType) -> bool:
    return not isinstance(dtype, (T.NumericType, T.BooleanType))


def as_clean_text(column: Column, dtype: T.DataType) -> Column:
    """Any source value as clean text (see ``_clean_text``), in one expression."""
    trimmed = _trimmed_text(column, dtype)
    return _clean_text(trimmed, _embedded_json_value(trimmed) if _may_wrap_json(dtype) else None)


class SourceTexts:
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
            name = "%stext%d" % (PREFIX, len(self._names))
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
            self._layer(3 + len(rules))[prefix + "id"] = blank_to_null(F.col(current))
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


def case_lookup(key: Column, table: Dict) -> Column:
    """``table[key]`` as a CASE expression (null when absent); compiled, unlike a map literal lookup."""
    result = None
    for k, v in table.items():
        result = (F.when if result is None else result.when)(key == F.lit(k), F.lit(v))
    return result if result is not None else F.lit(None).cast("string")


def longer_than(text: Column, characters: int) -> Column:
    """``length(text) > characters``, counting characters only when the UTF-8 byte length
    (known without a scan, and never below the character count) exceeds the limit."""
    return (F.octet_length(text) > characters) & (F.length(text) > characters)


def any_of(conditions: Sequence[Column]) -> Column:
    result = conditions[0]
    for condition in conditions[1:]:
        result = result | condition
    return result


def blank_to_null(text: Column) -> Column:
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


# --------------------------------------------------------------------------- choices


def choice_as_text(column: Column, dtype: T.StructType, skip: Tuple[str, ...] = ()) -> Column:
    """A choice's value as text, read by the type each row holds (one member is set per row)."""
    texts = [_value_text(column.getField(m.name), m.dataType) for m in dtype.fields if m.name not in skip]
    return F.coalesce(*texts) if texts else F.lit(None).cast("string")


def choice_or_value(column: Column, dtype: T.DataType) -> Tuple[Column, T.DataType]:
    """A choice as text; any other value as it is."""
    return (choice_as_text(column, dtype), T.StringType()) if is_choice(dtype) else (column, dtype)


def _value_text(value: Column, dtype: T.DataType) -> Column:
    if is_choice(dtype):
        return choice_as_text(value, dtype)
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
