"""Reading sources with plain Spark readers (local runs; in AWS the job reads the catalog).

Nothing is mapped by position across files and nothing is dropped unseen:

* A folder is read file by file as far as its headers go: each CSV file by its own header
  (files may order their columns differently); a file that lacks a column the spec reads,
  or repeats one, is refused by name. Hidden files (``.x``, ``_x``: checksums, markers)
  are skipped and listed; data files in subfolders are refused rather than ignored.
* JSON lines are read one physical line at a time, the way a document-store export is
  written: a line that is not exactly one JSON object (broken JSON, two documents, a
  repeated key) is kept as a malformed record (``_corrupt_record`` holds the line) and
  rejected with a reason. A field whose JSON type differs between documents becomes a
  *choice*, a struct with one member per type, the shape Glue's DynamicFrame gives it;
  the transforms read each row by the type it holds.
* Physical lines are counted where that is possible (text files in an ASCII-compatible
  encoding), so the export can prove that every line is a header, a blank line or part
  of a record (``LineCount``).
"""
from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

from pyspark.sql import Column, DataFrame, SparkSession, functions as F, types as T

from export_spec import ExportSpec, JdbcRead, SourceSpec, Watermark, source_path_parts
from personalize_export.columns import CORRUPT_REASON, CORRUPT_RECORD, LINES
from personalize_export.json_lines import merge_shapes, rows_of_partition, shapes_of_partition, spark_type
from personalize_export.storage import Storage, is_s3
from personalize_export.text import SourceSchemaError, unwrap_extended_json

# Spark (and Hadoop) skip files whose name starts with one of these.
HIDDEN_PREFIXES = (".", "_")
# Encodings whose line breaks are the ASCII bytes Spark's text reader splits on.
_LINE_COUNTABLE_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "windows-1252", "cp1252"}
_HEADER_BYTES = 65536


class SourceReadError(RuntimeError):
    pass


@dataclass(frozen=True)
class LineCount:
    """The physical lines of a text source: every one is a header, blank, or inside a record."""

    physical: int
    headers: int
    blank: int

    def as_dict(self) -> Dict[str, int]:
        return {"physical": self.physical, "headers": self.headers, "blank": self.blank}


@dataclass
class SourceFrame:
    """A source's rows, plus what the reader knows of the files behind them."""

    frame: DataFrame
    lines: Optional[LineCount] = None
    files: Tuple[str, ...] = ()
    ignored_files: Tuple[str, ...] = field(default_factory=tuple)


def as_source_frame(value: Union[DataFrame, SourceFrame]) -> SourceFrame:
    return value if isinstance(value, SourceFrame) else SourceFrame(value)


def resolve_path(path: str, base_dir: Optional[str]) -> str:
    if is_s3(path) or os.path.isabs(path) or "://" in path or not base_dir:
        return path
    return os.path.join(base_dir, path)


def columns_read(spec: ExportSpec, source_name: str) -> Set[str]:
    """Top-level columns of ``source_name`` that any export job reads."""
    columns: Set[str] = set()
    for dataset in spec.datasets.values():
        if dataset.source == source_name:
            columns |= {source_path_parts(f.source)[0] for f in dataset.fields}
    if "items" in spec.datasets and "interactions" in spec.datasets:
        if spec.datasets["items"].source == source_name:
            item_id = spec.datasets["items"].field("ITEM_ID")
            if item_id is not None:
                columns.add(source_path_parts(item_id.source)[0])
        fuzzy = spec.item_ids.fuzzy
        if fuzzy is not None:
            if spec.datasets["interactions"].source == source_name:
                columns.add(source_path_parts(fuzzy.interactions_key)[0])
            if spec.datasets["items"].source == source_name:
                columns.add(source_path_parts(fuzzy.items_key)[0])
    return columns


def read_source(spark: SparkSession, source: SourceSpec, base_dir: Optional[str] = None,
                columns: Optional[Set[str]] = None) -> DataFrame:
    """A source as a DataFrame, read from its ``path`` or ``jdbc`` settings."""
    return read_source_counted(spark, source, base_dir, columns, count_lines=False).frame


def read_source_counted(spark: SparkSession, source: SourceSpec, base_dir: Optional[str] = None,
                        columns: Optional[Set[str]] = None, count_lines: bool = True,
                        storage: Optional[Storage] = None) -> SourceFrame:
    """A source's rows with its file list and, for text files, its physical line count.

    ``columns`` are the top-level columns the spec reads: every CSV file must have them.
    Without it every file must have the same columns (in any order).
    """
    options = dict(source.options)
    if source.format == "jdbc":
        return SourceFrame(_read_jdbc(spark, source, options))
    if not source.path:
        raise SourceReadError(
            "sources.%s: has no path; outside AWS a %s source needs one (the catalog table is only read by Glue)"
            % (source.name, source.format)
        )
    path = resolve_path(source.path, base_dir)
    if not is_s3(path) and not os.path.exists(path):
        raise SourceReadError("sources.%s.path: %s does not exist" % (source.name, path))
    storage = storage or Storage()
    files, ignored = _data_files(storage, path, source.name)
    if source.format == "csv":
        frame, headers = _read_csv(spark, storage, source, files, options, columns)
        lines = _count_lines(spark, files, headers) if count_lines and _countable(options) else None
        return SourceFrame(frame, lines, tuple(files), tuple(ignored))
    if source.format == "jsonl":
        frame, lines = _read_jsonl(spark, files, options, source.name)
        return SourceFrame(frame, lines if count_lines else None, tuple(files), tuple(ignored))
    if source.format == "parquet":
        return SourceFrame(spark.read.options(**options).parquet(*files), None, tuple(files), tuple(ignored))
    raise SourceReadError("sources.%s.format: unsupported format %r" % (source.name, source.format))


# --------------------------------------------------------------------------- files


def _is_hidden(relative_path: str) -> bool:
    return any(part.startswith(HIDDEN_PREFIXES) for part in relative_path.replace("\\", "/").split("/"))


def _data_files(storage: Storage, path: str, source_name: str) -> Tuple[List[str], List[str]]:
    """(data files, hidden files skipped) of a file or folder; files in subfolders are refused."""
    if not is_s3(path) and os.path.isfile(path):
        return [path], []
    found = storage.list_files(path)
    if is_s3(path) and found == [path]:
        return [path], []
    base = path.rstrip("/") + "/"
    data, hidden, nested = [], [], []
    for uri in found:
        relative = uri[len(base):] if uri.startswith(base) else os.path.relpath(uri, path)
        if _is_hidden(relative):
            hidden.append(relative)
        elif "/" in relative.replace("\\", "/"):
            nested.append(relative)
        else:
            data.append(uri)
    if nested:
        raise SourceReadError(
            "sources.%s.path: %s holds files in subfolders (%s%s); only the folder's own files are read: "
            "move them up or name each folder as its own source"
            % (source_name, path, ", ".join(nested[:5]), ", ..." if len(nested) > 5 else "")
        )
    if not data:
        raise SourceReadError("sources.%s.path: %s holds no data files%s" % (
            source_name, path, " (only hidden files: %s)" % ", ".join(hidden[:5]) if hidden else ""))
    return data, hidden


def _encoding(options: Dict[str, str]) -> str:
    return (options.get("encoding") or options.get("charset") or "utf-8").lower()


def _countable(options: Dict[str, str]) -> bool:
    return _encoding(options) in _LINE_COUNTABLE_ENCODINGS


def _count_lines(spark: SparkSession, files: Sequence[str], headers: int) -> LineCount:
    """Physical lines and blank lines of ``files``: one cheap pass that only splits lines."""
    text = spark.read.text(list(files))
    row = text.agg(F.count(F.lit(1)).alias("lines"), F.sum(F.when(F.trim("value") == "", 1).otherwise(0)).alias("blank")).first()
    return LineCount(int(row["lines"]), headers, int(row["blank"] or 0))


# --------------------------------------------------------------------------- CSV


def _option_true(options: Dict[str, str], key: str, default: bool) -> bool:
    value = next((v for k, v in options.items() if k.lower() == key.lower()), None)
    return default if value is None else str(value).strip().lower() == "true"


def _csv_header(storage: Storage, uri: str, options: Dict[str, str]) -> List[str]:
    """A CSV file's header cells, parsed with the reader's separator, quote and escape."""
    raw = storage.read_head(uri, _HEADER_BYTES)
    try:
        text = raw.decode(_encoding(options), errors="replace").lstrip("\ufeff")
    except LookupError:  # a Java charset name Python does not know: the names are ASCII anyway
        text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    sep = options.get("sep", options.get("delimiter", ","))
    quote = options.get("quote", '"') or '"'
    escape = options.get("escape", "\\")
    reader = csv.reader(
        io.StringIO(text), delimiter=sep[0] if sep else ",", quotechar=quote[0],
        escapechar=None if escape == quote else (escape[0] if escape else None), doublequote=escape == quote,
    )
    try:
        return next(reader)
    except StopIteration:
        return []


def _column_names(cells: List[str]) -> Tuple[List[str], Dict[str, List[int]]]:
    """Spark's names for header cells (trimmed; blank -> ``_c<i>``; repeats -> name + position),
    and the repeated names (case-insensitive) with their 1-based positions."""
    stripped = [c.strip() for c in cells]
    positions: Dict[str, List[int]] = {}
    for index, name in enumerate(stripped):
        if name:
            positions.setdefault(name.casefold(), []).append(index)
    repeated = {key: [i + 1 for i in where] for key, where in positions.items() if len(where) > 1}
    names = []
    for index, name in enumerate(stripped):
        if not name:
            names.append("_c%d" % index)
        elif name.casefold() in repeated:
            names.append("%s%d" % (name, index))
        else:
            names.append(name)
    return names, repeated


def _short(uri: str) -> str:
    return uri.rsplit("/", 1)[-1] if "/" in uri else os.path.basename(uri)


def _read_csv(spark: SparkSession, storage: Storage, source: SourceSpec, files: List[str],
              options: Dict[str, str], columns: Optional[Set[str]]) -> Tuple[DataFrame, int]:
    """The CSV files read each by its own header, joined by column name; (frame, header lines)."""
    if not _option_true(options, "header", True):
        return spark.read.options(**options).csv(files), 0
    options = dict(options, header="true")
    infer = _option_true(options, "inferSchema", False)
    multi_line = _option_true(options, "multiLine", False)
    where = "sources.%s" % source.name
    wanted = {c.casefold() for c in columns} if columns is not None else None
    groups: Dict[Tuple[str, ...], List[str]] = {}
    spelling: Dict[str, str] = {}  # case-folded name -> the first spelling seen, used for every file
    first_set: Optional[Set[str]] = None
    empty: List[str] = []
    for uri in files:
        cells = _csv_header(storage, uri, options)
        if not cells:
            empty.append(uri)  # no header and no rows: nothing to read
            continue
        names, repeated = _column_names(cells)
        read_repeats = {k: v for k, v in repeated.items() if wanted is None or k in wanted}
        if read_repeats:
            key, where_at = sorted(read_repeats.items())[0]
            raise SourceReadError(
                "%s: %s: the header repeats column %r (columns %s); each column must be named once"
                % (where, _short(uri), key, " and ".join(str(p) for p in where_at))
            )
        folded = {n.casefold() for n in names}
        if wanted is not None:
            missing = sorted(wanted - folded)
        else:
            first_set = folded if first_set is None else first_set
            missing = sorted(first_set - folded)
        if missing or (wanted is None and folded - first_set):
            extra = sorted(folded - first_set) if wanted is None and first_set is not None else []
            raise SourceReadError(
                "%s: %s: the header %s%s%s (a file without a header row would read its first row as the header)"
                % (where, _short(uri), ",".join(names),
                   "; lacks the column(s) " + ", ".join(missing) if missing else "",
                   "; has column(s) the other files lack: " + ", ".join(extra) if extra else "")
            )
        canonical = tuple(spelling.setdefault(n.casefold(), n) for n in names)
        groups.setdefault(canonical, []).append(uri)
    if not groups:
        raise SourceReadError("%s.path: every file is empty (%s)" % (where, ", ".join(_short(u) for u in empty[:5])))
    frames = []
    for names, group in groups.items():
        reader = spark.read.options(**options)
        if not infer:
            # Every value as text, as Spark reads a header CSV by default, plus the raw record
            # of any line whose number of values differs from the header's.
            schema = T.StructType([T.StructField(n, T.StringType()) for n in names] + [T.StructField(CORRUPT_RECORD, T.StringType())])
            frame = reader.schema(schema).option("columnNameOfCorruptRecord", CORRUPT_RECORD).csv(group)
        else:
            frame = reader.csv(group)
            if len(frame.columns) != len(names):
                raise SourceReadError("%s: %s: Spark read %d columns from a header of %d" % (
                    where, _short(group[0]), len(frame.columns), len(names)))
            frame = frame.toDF(*names)
        frames.append(frame)
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame, allowMissingColumns=True)
    if multi_line:
        result = result.withColumn(LINES, _lines_spanned([c for c, t in result.dtypes if t == "string" and c != CORRUPT_RECORD]))
    return result, len(files) - len(empty)


def _lines_spanned(string_columns: List[str]) -> Column:
    """Physical lines a (multi-line) CSV record spans: 1 + the line breaks inside its values."""
    breaks = [F.coalesce(F.regexp_count(F.col("`%s`" % c), F.lit("\r\n|\r|\n")), F.lit(0)) for c in string_columns]
    total: Column = F.lit(1)
    for count in breaks:
        total = total + count
    return total.cast("long")


def _read_jsonl(spark: SparkSession, files: List[str], options: Dict[str, str], source_name: str) -> Tuple[DataFrame, LineCount]:
    """JSON lines: one pass learns every field's types, a second builds the typed rows."""
    unsupported = sorted(k for k in options if k.lower() not in ("encoding", "charset"))
    if unsupported:
        raise SourceReadError("sources.%s.options.%s: JSON lines are read one document a line, as UTF-8; "
                              "reader options other than encoding do not apply" % (source_name, unsupported[0]))
    if _encoding(options) not in ("utf-8", "utf8"):
        raise SourceReadError("sources.%s.options.encoding: JSON lines are read as UTF-8" % source_name)
    lines = spark.read.text(files).rdd
    shape: Dict[str, Any] = {}
    total = blank = 0
    for part_shape, part_total, part_blank in lines.mapPartitions(shapes_of_partition).collect():
        shape = merge_shapes(shape, part_shape)
        total += part_total
        blank += part_blank
    fields = dict(shape.get("struct", {}))
    for reserved in (CORRUPT_RECORD, CORRUPT_REASON):
        fields.pop(reserved, None)
    schema = T.StructType(
        [T.StructField(key, spark_type(child)) for key, child in fields.items()]
        + [T.StructField(CORRUPT_RECORD, T.StringType()), T.StructField(CORRUPT_REASON, T.StringType())]
    )
    rows = lines.mapPartitions(lambda part: rows_of_partition(part, fields))
    frame = spark.createDataFrame(rows, schema, verifySchema=False)
    return frame, LineCount(total, 0, blank)


# --------------------------------------------------------------------------- JDBC


@dataclass(frozen=True)
class JdbcSplit:
    """How one JDBC read is split: ``partitions`` range queries on ``column`` between the
    bounds (Spark's partitionColumn, lowerBound, upperBound, numPartitions), or one query."""

    partitions: int
    column: Optional[str] = None
    lower_bound: Optional[str] = None
    upper_bound: Optional[str] = None
    reason: str = ""

    def spark_options(self) -> Dict[str, str]:
        if self.partitions <= 1 or self.column is None:
            return {}
        return {"partitionColumn": self.column, "lowerBound": str(self.lower_bound),
                "upperBound": str(self.upper_bound), "numPartitions": str(self.partitions)}

    def describe(self) -> str:
        if self.partitions <= 1 or self.column is None:
            return "one query (%s)" % self.reason
        return "%d parallel range queries on %s from %s to %s (%s)" % (
            self.partitions, self.column, self.lower_bound, self.upper_bound, self.reason)


def _jdbc_connection_options(source: SourceSpec) -> Dict[str, str]:
    jdbc = source.jdbc
    if jdbc is None:
        raise SourceReadError("sources.%s.jdbc: outside AWS a jdbc source needs its url and table or query" % source.name)
    connection = {"url": jdbc.url}
    if jdbc.user:
        connection["user"] = jdbc.user
    if jdbc.password_env:
        password = os.environ.get(jdbc.password_env)
        if password is None:
            raise SourceReadError(
                "sources.%s.jdbc.password_env: environment variable %s is not set" % (source.name, jdbc.password_env)
            )
        connection["password"] = password
    if jdbc.driver:
        connection["driver"] = jdbc.driver
    return connection


def _jdbc_relation(source: SourceSpec) -> str:
    """What the reader's ``dbtable`` names: the table, or the query as a derived table
    (Spark refuses ``query`` together with ``partitionColumn``)."""
    jdbc = source.jdbc
    assert jdbc is not None
    return jdbc.table if jdbc.table else "(%s) jdbc_source" % jdbc.query


def _read_jdbc(spark: SparkSession, source: SourceSpec, options: dict) -> DataFrame:
    connection = _jdbc_connection_options(source)
    read = source.jdbc_read or JdbcRead()
    split = plan_jdbc_split(spark, source, connection)
    print("sources.%s: JDBC read in %s, fetch size %d" % (source.name, split.describe(), read.fetch_size))
    reader = spark.read.format("jdbc").options(**connection)
    if split.spark_options():
        reader = reader.option("dbtable", _jdbc_relation(source)).options(**split.spark_options())
    elif source.jdbc.table:
        reader = reader.option("dbtable", source.jdbc.table)
    else:
        reader = reader.option("query", source.jdbc.query)
    # Rows per round trip: without it PostgreSQL's driver holds a partition's whole result
    # in memory (Spark turns autocommit off for it, so the driver can use a cursor).
    reader = reader.option("fetchsize", str(read.fetch_size))
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load()


# Spark's JDBC reader splits on these column types (partitionColumn).
def _splittable(data_type: T.DataType) -> bool:
    return isinstance(data_type, (T.NumericType, T.DateType, T.TimestampType, T.TimestampNTZType))


def plan_jdbc_split(spark: SparkSession, source: SourceSpec, connection: Optional[Dict[str, str]] = None) -> JdbcSplit:
    """The split of a JDBC source's read, from its ``jdbc_read`` settings and the database.

    The column is the spec's, or else the table's primary key when that is one numeric,
    date or timestamp column (DatabaseMetaData.getPrimaryKeys). Bounds are the spec's, or
    else MIN and MAX of the column in one query. Bounds only spread the rows: Spark's first
    range query also takes everything below the lower bound and the NULLs, its last one
    everything above the upper bound, so no row is left out.
    """
    read = source.jdbc_read or JdbcRead()
    where = "sources.%s.jdbc_read" % source.name
    if read.partitions <= 1:
        return JdbcSplit(1, reason="%s.partitions is 1" % where)
    connection = connection or _jdbc_connection_options(source)
    column = read.column
    chosen = "%s.column" % where
    if column is None:
        if source.jdbc is None or not source.jdbc.table:
            return JdbcSplit(1, reason="a query has no primary key: name %s.column to split it" % where)
        if source.jdbc.table.lstrip().startswith("("):  # a derived table, e.g. an incremental read's delta
            return JdbcSplit(1, reason="a derived table has no primary key: name %s.column to split it" % where)
        column = primary_key_column(spark, connection, source.jdbc.table)
        if column is None:
            return JdbcSplit(1, reason="%s has no single-column primary key: name %s.column to split it" % (source.jdbc.table, where))
        chosen = "the primary key"
    relation = _jdbc_relation(source)
    schema = spark.read.format("jdbc").options(**connection).option("dbtable", relation).load().schema
    found = [f for f in schema.fields if f.name.casefold() == column.casefold()]
    if not found:
        if read.column is not None:
            raise SourceReadError("%s.column: %s has no column %r (columns: %s)" % (
                where, relation, column, ", ".join(f.name for f in schema.fields)))
        return JdbcSplit(1, reason="the primary key %s is not among the columns read" % column)
    field_ = found[0]
    if not _splittable(field_.dataType):
        if read.column is not None:
            raise SourceReadError(
                "%s.column: %s is %s; Spark's JDBC reader splits only on a numeric, date or timestamp column "
                "(Glue's hashfield takes any type): name such a column, or set %s.partitions to 1"
                % (where, field_.name, field_.dataType.simpleString(), where))
        return JdbcSplit(1, reason="the primary key %s is %s, not numeric, date or timestamp: name %s.column to split"
                         % (field_.name, field_.dataType.simpleString(), where))
    lower, upper = read.lower_bound, read.upper_bound
    bounds = "%s.lower_bound and upper_bound" % where
    if lower is None:
        lower, upper = _column_bounds(spark, connection, relation, field_)
        bounds = "MIN and MAX"
        if lower is None:
            return JdbcSplit(1, reason="%s holds no %s values" % (relation, field_.name))
    if str(lower) == str(upper):
        return JdbcSplit(1, reason="every %s value is %s" % (field_.name, lower))
    return JdbcSplit(read.partitions, field_.name, str(lower), str(upper), "column from %s, bounds from %s" % (chosen, bounds))


def _column_bounds(spark: SparkSession, connection: Dict[str, str], relation: str, column: T.StructField) -> Tuple[Optional[str], Optional[str]]:
    """MIN and MAX of ``column`` in one query, as text Spark's JDBC reader parses back
    (integers for numbers, dates and timestamps in the session's time zone)."""
    quoted = spark.sparkContext._jvm.org.apache.spark.sql.jdbc.JdbcDialects.get(connection["url"]).quoteIdentifier(column.name)
    frame = (spark.read.format("jdbc").options(**connection)
             .option("query", "SELECT MIN(%s) AS lo, MAX(%s) AS hi FROM %s" % (quoted, quoted, relation)).load())
    if isinstance(column.dataType, T.NumericType):
        frame = frame.select(F.floor("lo").cast("long").cast("string").alias("lo"), F.ceil("hi").cast("long").cast("string").alias("hi"))
    else:
        frame = frame.select(F.col("lo").cast("string").alias("lo"), F.col("hi").cast("string").alias("hi"))
    row = frame.first()
    return (row["lo"], row["hi"]) if row is not None else (None, None)


def primary_key_column(spark: SparkSession, connection: Dict[str, str], table: str) -> Optional[str]:
    """The table's primary key column when the key is one column, from the driver's
    DatabaseMetaData; None for no key, a key of several columns, or a name found in
    several schemas."""
    jvm = spark.sparkContext._jvm
    if connection.get("driver"):
        # Registers the driver loaded through spark.jars with java.sql.DriverManager.
        jvm.org.apache.spark.sql.execution.datasources.jdbc.DriverRegistry.register(connection["driver"])
    properties = jvm.java.util.Properties()
    for key in ("user", "password"):
        if connection.get(key):
            properties.setProperty(key, connection[key])
    database = jvm.java.sql.DriverManager.getConnection(connection["url"], properties)
    try:
        metadata = database.getMetaData()
        parts = [_stored_identifier(part, metadata) for part in _identifier_parts(table)]
        catalog = parts[-3] if len(parts) >= 3 else None
        schema = parts[-2] if len(parts) >= 2 else None
        keys = metadata.getPrimaryKeys(catalog, schema, parts[-1])
        found: Dict[str, List[str]] = {}
        try:
            while keys.next():
                found.setdefault(str(keys.getString("TABLE_SCHEM")), []).append(keys.getString("COLUMN_NAME"))
        finally:
            keys.close()
    finally:
        database.close()
    if len(found) != 1:
        return None
    columns = next(iter(found.values()))
    return columns[0] if len(columns) == 1 else None


def _identifier_parts(name: str) -> List[str]:
    """``schema.table`` split at dots outside double quotes; quotes kept."""
    parts, current, quoted = [], "", False
    for char in name.strip():
        if char == '"':
            quoted = not quoted
        if char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts]


def _stored_identifier(part: str, metadata: Any) -> str:
    """A name as the database stores it: quoted names as written, others folded the way
    the database folds unquoted names (PostgreSQL: lower case; Oracle: upper case)."""
    if len(part) >= 2 and part[0] == part[-1] == '"':
        return part[1:-1].replace('""', '"')
    if metadata.storesLowerCaseIdentifiers():
        return part.lower()
    if metadata.storesUpperCaseIdentifiers():
        return part.upper()
    return part


# --------------------------------------------------------------------------- incremental reads


def watermark_columns(spec: ExportSpec, source_name: str) -> Set[str]:
    """The change columns the export reads from ``source_name`` (beside ``columns_read``)."""
    return {d.watermark.column for d in spec.datasets.values() if d.source == source_name and d.watermark is not None}


# What a change column may hold once extended JSON and choices are unwrapped; a column
# Spark typed from all-null values (NullType) has no change value on any row.
_CHANGE_TYPES = (T.TimestampType, getattr(T, "TimestampNTZType", T.TimestampType), T.DateType, T.NumericType,
                 T.StringType, T.NullType)


def _watermark_path(dataset: Optional[str]) -> str:
    return "datasets.%s.watermark" % (dataset or "<name>")


def source_column(columns: Sequence[str], name: str) -> Optional[str]:
    """The source column ``name`` names: the exact name, else one that differs in case only
    (Spark resolves names case-insensitively); None when there is none."""
    exact = [c for c in columns if c == name]
    return (exact or [c for c in columns if c.lower() == name.lower()] or [None])[0]


def change_value(frame: DataFrame, watermark: Watermark, dataset: Optional[str] = None,
                 column: Optional[str] = None) -> Column:
    """The change column of ``frame`` (``column``: the same value under another name) as
    ``change_seconds`` reads it.

    Extended JSON (``{"$date": ...}``) and choices (a JSON field whose type varies) are
    unwrapped the way the field rules unwrap them (``text.unwrap_extended_json``); any other
    nested or non-time type is refused by name here, rather than by Spark's cast."""
    name = column or watermark.column
    fields = frame.schema.fields
    found_name = source_column([f.name for f in fields], name)
    found = next((f for f in fields if f.name == found_name), None)
    if found is None:
        raise SourceSchemaError("%s.column: no column %r in the rows read (available: %s)" % (
            _watermark_path(dataset), name, ", ".join(f.name for f in fields)))
    value, dtype, _ = unwrap_extended_json(F.col("`%s`" % found.name), found.dataType)
    if not isinstance(dtype, _CHANGE_TYPES):
        raise SourceSchemaError(
            "%s.column: %r is %s; a change column must be a timestamp, date, number or text (extended JSON "
            "{\"$date\": ...} and a JSON field of mixed types are read through)" % (
                _watermark_path(dataset), watermark.column, found.dataType.simpleString()))
    return value


def frame_change_seconds(frame: DataFrame, watermark: Watermark, dataset: Optional[str] = None,
                         column: Optional[str] = None) -> Column:
    """``change_seconds`` of ``frame``'s change column (``change_value``)."""
    return change_seconds(change_value(frame, watermark, dataset, column), watermark)


def unparsed_change_value(value: Column, seconds: Column) -> Column:
    """An aggregate: one change value that is there but is no time under the watermark's
    type (null when every value parses or is empty)."""
    there = value.isNotNull() & (F.trim(value.cast("string")) != F.lit(""))
    return F.max(F.when(there & seconds.isNull(), value.cast("string")))


def check_change_type(high: Optional[int], sample: Optional[str], watermark: Watermark, dataset: Optional[str] = None) -> None:
    """Refuse a watermark type that matches no value read: the high-water mark would stay
    empty, and every later delta would read the whole source. Only when no value parses
    (``high`` is None) and some value is there (``sample``): empty values are unstamped rows."""
    if high is not None or sample is None:
        return
    raise SourceSchemaError(
        "%s.type: no value of column %r read is a time under type %r (e.g. %r): timestamp reads timestamps, "
        "dates and ISO-8601 text; epoch_seconds and epoch_millis read numbers (a numeric {\"$date\": ...} is "
        "epoch_millis)" % (_watermark_path(dataset), watermark.column, watermark.type, sample[:100]))


def change_seconds(column: Column, watermark: Watermark) -> Column:
    """The change column as epoch seconds (floored: a bound taken from it never skips a row)."""
    if watermark.type == "epoch_seconds":
        return F.floor(column.cast("double")).cast("long")
    if watermark.type == "epoch_millis":
        return F.floor(column.cast("double") / 1000).cast("long")
    return F.floor(column.cast("timestamp").cast("double")).cast("long")


def in_window(seconds: Column, read_from: int) -> Column:
    """Whether a row belongs to an incremental window, given its change value in epoch
    seconds: at or past ``read_from``, or without a change value. A row with none (NULL, or
    text that is no time) cannot be placed before or after any watermark, so every delta
    reads it again rather than never: nothing inserted without a stamp is lost."""
    return (seconds >= F.lit(int(read_from))) | seconds.isNull()


def changed_rows_sql(watermark: Watermark, read_from: int) -> str:
    """The database-side condition of ``in_window``: rows at or past ``read_from`` (epoch
    seconds), or whose change column is NULL.

    A standard SQL literal with an explicit UTC offset, so the comparison does not depend
    on the session's time zone (the change column should be ``timestamptz``). Parenthesised:
    Glue appends its partition condition after it with AND.
    """
    if watermark.type == "epoch_seconds":
        bound = "%d" % int(read_from)
    elif watermark.type == "epoch_millis":
        bound = "%d" % (int(read_from) * 1000)
    else:
        moment = datetime.datetime.fromtimestamp(int(read_from), tz=datetime.timezone.utc)
        bound = "TIMESTAMP WITH TIME ZONE '%s'" % moment.strftime("%Y-%m-%d %H:%M:%S+00:00")
    return "(%s >= %s OR %s IS NULL)" % (watermark.column, bound, watermark.column)


def read_changed_rows(spark: SparkSession, source: SourceSpec, watermark: Watermark, read_from: Optional[int],
                      base_dir: Optional[str] = None, columns: Optional[Set[str]] = None,
                      dataset: Optional[str] = None) -> SourceFrame:
    """The rows of ``source`` in the window from ``read_from`` (``in_window``; all rows when None).

    JDBC: the condition goes into the SELECT the database runs (a derived table as Spark's
    ``dbtable``), so the database reads only the delta, through an index on the change
    column where there is one. Files: Spark filters while it reads (Parquet skips row groups
    by their statistics); physical lines are not reconciled for a part of a file.
    """
    if read_from is None:
        return read_source_counted(spark, source, base_dir, columns)
    if source.format == "jdbc":
        if source.jdbc is None:
            raise SourceReadError("sources.%s.jdbc: outside AWS a jdbc source needs its url and table or query" % source.name)
        derived = "(SELECT * FROM %s WHERE %s) AS changed_rows" % (_jdbc_relation(source), changed_rows_sql(watermark, read_from))
        narrowed = dataclasses.replace(source, jdbc=dataclasses.replace(source.jdbc, table=derived, query=None))
        return read_source_counted(spark, narrowed, base_dir, columns)
    whole = read_source_counted(spark, source, base_dir, columns, count_lines=False)
    frame = whole.frame.where(in_window(frame_change_seconds(whole.frame, watermark, dataset), read_from))
    return SourceFrame(frame, None, whole.files, whole.ignored_files)


def high_water_mark_sql(watermark: Watermark, relation: str) -> str:
    """The one-row query for a JDBC table's largest change value (column ``high``)."""
    return "SELECT max(%s) AS high FROM %s" % (watermark.column, relation)


def frame_high_water_mark(frame: DataFrame, watermark: Watermark, column: Optional[str] = None,
                          dataset: Optional[str] = None) -> Optional[int]:
    """The largest change value of ``frame`` (epoch seconds), from ``column`` (default: the
    change column). The same aggregate looks for a value the watermark's type does not read
    (``check_change_type``)."""
    value = change_value(frame, watermark, dataset, column)
    seconds = change_seconds(value, watermark)
    row = frame.agg(F.max(seconds).alias("high"), unparsed_change_value(value, seconds).alias("sample")).first()
    high = None if row is None or row["high"] is None else int(row["high"])
    check_change_type(high, None if row is None else row["sample"], watermark, dataset)
    return high


def source_high_water_mark(spark: SparkSession, source: SourceSpec, watermark: Watermark, frame: DataFrame,
                           dataset: Optional[str] = None) -> Optional[int]:
    """The largest change value of the whole source (epoch seconds), for a FULL read outside AWS.

    JDBC asks the database for ``max(column)`` over Spark's JDBC reader (one index probe
    where the column is indexed) before the rows are read: a row committed in between is
    read now and again next time, which is harmless; never skipped. Other sources
    aggregate ``frame``. (In AWS the Glue job asks through the catalog's connection.)
    """
    if source.format != "jdbc" or source.jdbc is None:
        return frame_high_water_mark(frame, watermark, dataset=dataset)
    query = high_water_mark_sql(watermark, _jdbc_relation(source))
    # One row: one query, never split.
    probe = dataclasses.replace(source, options={}, jdbc=dataclasses.replace(source.jdbc, table=None, query=query),
                                jdbc_read=JdbcRead(partitions=1))
    return frame_high_water_mark(_read_jdbc(spark, probe, {}), watermark, column="high", dataset=dataset)
