"""The declarative export spec: load, validate, and describe what each job reads.

Stdlib only and Python 3.9 compatible: a package of its own so the schema-drift Lambda
bundles it without the export jobs' Spark code. The Python-shell jobs import it too.
PyYAML is imported lazily, only for YAML text (local runs); the jobs and the Lambda read
the JSON rendering that Terraform publishes.

Every validation error is a ``SpecError`` whose message starts with the dotted path
of the offending field and then states the rule, e.g.
``datasets.interactions.fields.TIMESTAMP.type: must be "long" (Personalize requires epoch seconds)``.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field as dc_field
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union

SPEC_VERSION = 1

DATASET_NAMES = ("interactions", "items", "users")
EXPORT_JOB_BY_DATASET = {
    "interactions": "export_interactions",
    "items": "export_items",
    "users": "export_users",
}
SOURCE_FORMATS = ("csv", "jsonl", "parquet", "jdbc")
FIELD_TYPES = ("string", "int", "long", "float", "double", "boolean")
TIMESTAMP_KEYWORDS = ("iso8601", "epoch_seconds", "epoch_millis")
NORMALIZE_RULES = ("trim", "lower", "upper", "strip_prefix", "strip_leading_zeros", "remove_chars", "collapse_whitespace")
UNMAPPED_EVENT_ACTIONS = ("keep", "drop", "reject")
UNMATCHED_ITEM_ACTIONS = ("keep", "reject")

# Personalize limits (developer guide, "Custom datasets and schemas").
MAX_ID_LENGTH = 256
MAX_CATEGORICAL_LENGTH = 1000
MAX_TEXTUAL_LENGTH = 20000
MAX_METADATA_FIELDS = {"users": 25, "items": 100, "interactions": 5}
MIN_METADATA_FIELDS = {"users": 1, "items": 1, "interactions": 0}
MAX_TEXTUAL_FIELDS = 1

# Required fields and reserved keywords with the types Personalize demands.
REQUIRED_FIELDS: Dict[str, Dict[str, str]] = {
    "interactions": {"USER_ID": "string", "ITEM_ID": "string", "TIMESTAMP": "long"},
    "items": {"ITEM_ID": "string"},
    "users": {"USER_ID": "string"},
}
RESERVED_FIELDS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "interactions": {
        "EVENT_TYPE": ("string",),
        "EVENT_VALUE": ("float",),
        "IMPRESSION": ("string",),
        "RECOMMENDATION_ID": ("string",),
        "EVENT_ATTRIBUTION_SOURCE": ("string",),
    },
    "items": {"CREATION_TIMESTAMP": ("long",)},
    "users": {},
}
ID_FIELD = {"interactions": None, "items": "ITEM_ID", "users": "USER_ID"}
ID_FIELDS = ("USER_ID", "ITEM_ID", "RECOMMENDATION_ID")

_AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SOURCE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

DEFAULT_MIN_INTERACTIONS = 1000
DEFAULT_MIN_USERS = 25
DEFAULT_MIN_INTERACTIONS_PER_USER = 2
# Personalize's quotas (https://docs.aws.amazon.com/personalize/latest/dg/limits.html, Users):
# besides 25 users with at least 2 interactions, at least 1% of all users must have them.
DEFAULT_MIN_USERS_SHARE = 0.01
DEFAULT_MAX_REJECTED_SHARE = 0.1
DEFAULT_KEEP_EXPORTS = 5
# Timestamps and the floor live in years 1..9999 (what ISO-8601 and Spark timestamps hold).
MIN_EPOCH_SECONDS = -62135596800  # 0001-01-01T00:00:00Z
MAX_EPOCH_SECONDS = 253402300799  # 9999-12-31T23:59:59Z
MAX_FUTURE_SKEW_SECONDS = 366 * 86400
# Bounds of the fuzzy title match's lengths (Spark substring positions are 32-bit).
MAX_TITLE_KEY_LENGTH = 1000

# What "trimmed" means for every text value (ids, statuses, categories, numbers as text):
# Unicode White_Space plus the invisible format characters (soft hyphen, zero-width
# spaces and joiners, bidirectional marks, word joiners, byte order mark) at either end.
TRIM_CHARACTERS = (
    "\t\n\x0b\x0c\r \x85\xa0\xad\u061c\u1680\u180e"
    + "".join(chr(c) for c in range(0x2000, 0x2010))
    + "".join(chr(c) for c in range(0x2028, 0x2030))
    + "".join(chr(c) for c in range(0x205F, 0x2065))
    + "".join(chr(c) for c in range(0x2066, 0x2070))
    + "\u3000\ufeff"
)


def trim_text(text: str) -> str:
    """``text`` without the ``TRIM_CHARACTERS`` at either end (as the export trims values)."""
    return text.strip(TRIM_CHARACTERS)


class SpecError(ValueError):
    """An export spec broke a rule. ``path`` is the dotted field path, ``rule`` the rule."""

    def __init__(self, path: str, rule: str):
        self.path = path
        self.rule = rule
        super().__init__("%s: %s" % (path or "<spec>", rule))


# --------------------------------------------------------------------------- model


def source_path_parts(path: str) -> Tuple[str, ...]:
    """A source path's parts: dots step into nested documents (``profile.age``); a part in
    backticks is one column name that may hold dots (`` `user.id` ``). ``ValueError`` when
    a part is empty or a backtick is unbalanced."""
    parts: List[str] = []
    current, quoted, index = "", False, 0
    while index < len(path):
        char = path[index]
        if char == "`" and not current and not quoted:
            end = path.find("`", index + 1)
            if end <= index + 1:
                raise ValueError("unbalanced or empty backticks in %r" % path)
            current, quoted, index = path[index + 1:end], True, end + 1
            if index < len(path) and path[index] != ".":
                raise ValueError("a backticked name must be a whole part in %r" % path)
            continue
        if char == ".":
            if not current:
                raise ValueError("empty part in %r" % path)
            parts.append(current)
            current, quoted = "", False
        elif quoted or char == "`":
            raise ValueError("a backtick inside a name in %r" % path)
        else:
            current += char
        index += 1
    if not current:
        raise ValueError("empty part in %r" % path)
    parts.append(current)
    return tuple(parts)


@dataclass(frozen=True)
class CatalogTable:
    database: str
    table: str


@dataclass(frozen=True)
class JdbcSettings:
    url: str
    table: Optional[str] = None
    query: Optional[str] = None
    user: Optional[str] = None
    password_env: Optional[str] = None
    secret_id: Optional[str] = None
    driver: Optional[str] = None


@dataclass(frozen=True)
class SourceSpec:
    name: str
    format: str
    path: Optional[str] = None
    jdbc: Optional[JdbcSettings] = None
    options: Mapping[str, str] = dc_field(default_factory=dict)
    catalog: Optional[CatalogTable] = None
    jdbc_read: Optional["JdbcRead"] = None

    @property
    def text_may_wrap_json(self) -> bool:
        """Text values may be extended JSON wrappers: JSON lines, or a catalog table of unknown format."""
        return self.format == "jsonl" or self.catalog is not None


@dataclass(frozen=True)
class TimestampFormat:
    """How a timestamp field is parsed; the output is always epoch seconds (long)."""

    formats: Tuple[str, ...] = ("iso8601", "epoch_seconds", "epoch_millis")
    timezone: str = "UTC"


@dataclass(frozen=True)
class NormalizeRule:
    kind: str
    values: Tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    name: str
    source: str
    type: str
    nullable: bool = False
    categorical: bool = False
    textual: bool = False
    delimiter: Optional[str] = None
    timestamp: Optional[TimestampFormat] = None
    normalize: Tuple[NormalizeRule, ...] = ()

    @property
    def source_column(self) -> str:
        """The top-level source column (``profile`` for ``profile.age``)."""
        return source_path_parts(self.source)[0]

    @property
    def is_id(self) -> bool:
        return self.name in ID_FIELDS


@dataclass(frozen=True)
class EventTypeRules:
    field: str = "EVENT_TYPE"
    mapping: Mapping[str, str] = dc_field(default_factory=dict)
    drop: Tuple[str, ...] = ()
    unmapped: str = "keep"
    case_sensitive: bool = False


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    source: str
    fields: Tuple[FieldSpec, ...]
    event_types: Optional[EventTypeRules] = None
    watermark: Optional["Watermark"] = None
    # Source columns kept on rejected rows besides those the rules read; None: all.
    rejected_row_columns: Optional[Tuple[str, ...]] = None

    @property
    def field_names(self) -> Tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Optional[FieldSpec]:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def metadata_fields(self) -> Tuple[FieldSpec, ...]:
        fixed = set(REQUIRED_FIELDS[self.name]) | set(RESERVED_FIELDS[self.name])
        return tuple(f for f in self.fields if f.name not in fixed)


@dataclass(frozen=True)
class FuzzyMatch:
    interactions_key: str
    items_key: str
    max_distance: int = 2
    block_prefix_length: int = 3
    min_key_length: int = 4


@dataclass(frozen=True)
class ItemIdReconciliation:
    normalize: Tuple[NormalizeRule, ...] = ()
    fuzzy: Optional[FuzzyMatch] = None
    unmatched: str = "keep"


@dataclass(frozen=True)
class Readiness:
    min_interactions: int = DEFAULT_MIN_INTERACTIONS
    min_users: int = DEFAULT_MIN_USERS
    min_interactions_per_user: int = DEFAULT_MIN_INTERACTIONS_PER_USER
    min_users_share: float = DEFAULT_MIN_USERS_SHARE


@dataclass(frozen=True)
class RunSettings:
    timestamp_floor: Optional[int] = None
    max_future_skew_seconds: int = 0
    max_rejected_share: float = DEFAULT_MAX_REJECTED_SHARE
    keep_exports: int = DEFAULT_KEEP_EXPORTS
    readiness: Readiness = dc_field(default_factory=Readiness)
    full_every: Optional["FullEvery"] = None


@dataclass(frozen=True)
class ExportSpec:
    sources: Mapping[str, SourceSpec]
    datasets: Mapping[str, DatasetSpec]
    item_ids: ItemIdReconciliation
    run: RunSettings
    raw: Mapping[str, Any]
    version: int = SPEC_VERSION
    # Relative source paths are read from here (the spec file's folder when loaded from a file).
    base_dir: Optional[str] = None
    # The Domain dataset group the export feeds (ECOMMERCE, VIDEO_ON_DEMAND), None for a custom one.
    domain: Optional[str] = None

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            raise KeyError("the export spec defines no %r dataset" % name)
        return self.datasets[name]

    def source_for(self, dataset_name: str) -> SourceSpec:
        return self.sources[self.dataset(dataset_name).source]

    def rule_columns(self, dataset_name: str) -> Tuple[str, ...]:
        """The top-level columns of a dataset's source that its rules read: the fields', the
        watermark's and, for interactions reconciled by title, the fuzzy match's key."""
        dataset = self.dataset(dataset_name)
        columns = [f.source_column for f in dataset.fields]
        if dataset.watermark is not None:
            columns.append(dataset.watermark.column)
        if dataset_name == "interactions" and "items" in self.datasets and self.item_ids.fuzzy is not None:
            columns.append(source_path_parts(self.item_ids.fuzzy.interactions_key)[0])
        return tuple(dict.fromkeys(columns))

    def to_dict(self) -> Dict[str, Any]:
        """The validated spec as plain JSON-compatible data (what Terraform publishes)."""
        return json.loads(json.dumps(self.raw))

    def source_columns(self) -> Dict[Tuple[str, str], Dict[str, Set[str]]]:
        """(catalog database, table) -> {export job name: top-level source columns it reads}.

        Sources without a ``catalog`` entry are left out (they are not in the Data Catalog).
        The interactions job also reads the items source when item-id reconciliation
        needs the catalog of item ids (and titles, for the fuzzy match).
        """
        result: Dict[Tuple[str, str], Dict[str, Set[str]]] = {}

        def add(source_name: str, job: str, columns: Set[str]) -> None:
            source = self.sources[source_name]
            if source.catalog is None:
                return
            key = (source.catalog.database, source.catalog.table)
            result.setdefault(key, {}).setdefault(job, set()).update(columns)

        for name, dataset in self.datasets.items():
            job = EXPORT_JOB_BY_DATASET[name]
            add(dataset.source, job, set(self.rule_columns(name)) | set(dataset.rejected_row_columns or ()))
        if "items" in self.datasets and "interactions" in self.datasets:
            items = self.datasets["items"]
            item_id = items.field("ITEM_ID")
            columns = {item_id.source_column} if item_id else set()
            fuzzy = self.item_ids.fuzzy
            if fuzzy is not None:
                columns.add(source_path_parts(fuzzy.items_key)[0])
            add(items.source, "export_interactions", columns)
        return result


# --------------------------------------------------------------------------- loading


def load_spec(source: Union[Mapping[str, Any], str, "os.PathLike[str]"]) -> ExportSpec:
    """Load and validate an export spec from a dict, JSON/YAML text, or a file path."""
    if isinstance(source, ExportSpec):
        return source
    if isinstance(source, Mapping):
        data = source
    elif isinstance(source, os.PathLike) or (isinstance(source, str) and _looks_like_path(source)):
        path = os.fspath(source)
        try:
            with open(path, "r", encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise SpecError("", "cannot read spec file %s: %s" % (path, exc.strerror or exc))
        spec = _validate(_parse_text(text, path))
        return _with_base_dir(spec, os.path.dirname(os.path.abspath(path)))
    elif isinstance(source, str):
        data = _parse_text(source, None)
    else:
        raise SpecError("", "expected a dict, JSON/YAML text or a file path, got %s" % type(source).__name__)
    return _validate(data)


def _with_base_dir(spec: ExportSpec, base_dir: str) -> ExportSpec:
    import dataclasses

    return dataclasses.replace(spec, base_dir=base_dir)


def _looks_like_path(text: str) -> bool:
    if "\n" in text or text.lstrip().startswith(("{", "[")):
        return False
    return text.endswith((".json", ".yaml", ".yml")) or os.path.exists(text)


class _DuplicateJsonKey(ValueError):
    pass


def _json_object_without_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    result: Dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateJsonKey(key)
        result[key] = value
    return result


def _parse_text(text: str, path: Optional[str]) -> Mapping[str, Any]:
    where = path or "<text>"
    stripped = text.lstrip()
    if stripped.startswith("{") or (path or "").endswith(".json"):
        try:
            data = json.loads(text, object_pairs_hook=_json_object_without_duplicates)
        except _DuplicateJsonKey as exc:
            raise SpecError("", "%s: the key %r appears twice in one object (the second would silently win)" % (where, exc.args[0]))
        except ValueError as exc:
            raise SpecError("", "%s is not valid JSON: %s" % (where, exc))
    else:
        try:
            import yaml  # optional: only YAML text needs it
        except ImportError:
            raise SpecError("", "%s is YAML but PyYAML is not installed (pip install pyyaml), or pass the spec as JSON" % where)
        try:
            _refuse_duplicate_yaml_keys(yaml.compose(text, Loader=yaml.SafeLoader), "", where)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError("", "%s is not valid YAML: %s" % (where, exc))
    if not isinstance(data, Mapping):
        raise SpecError("", "the spec must be a mapping at the top level")
    return data


def _refuse_duplicate_yaml_keys(node: Any, path: str, where: str) -> None:
    """Refuse a mapping that repeats a key: YAML loaders keep the last value silently."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: Dict[Tuple[str, str], Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in seen and key_node.value != "<<":
                    raise SpecError(_join(path, key_node.value), "%s repeats this key on line %d (first on line %d); a spec key may appear once" % (
                        where, key_node.start_mark.line + 1, seen[key].start_mark.line + 1))
                seen[key] = key_node
                _refuse_duplicate_yaml_keys(value_node, _join(path, key_node.value), where)
            else:
                _refuse_duplicate_yaml_keys(value_node, path, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _refuse_duplicate_yaml_keys(item, "%s[%d]" % (path, index), where)


# --------------------------------------------------------------------------- validation helpers


def _join(path: str, key: Any) -> str:
    return "%s.%s" % (path, key) if path else str(key)


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(path, "must be a mapping")
    return value


def _check_keys(value: Mapping[str, Any], path: str, allowed: Tuple[str, ...], required: Tuple[str, ...] = ()) -> None:
    for key in value:
        if key not in allowed:
            raise SpecError(_join(path, key), "unknown key (allowed: %s)" % ", ".join(allowed))
    for key in required:
        if key not in value or value[key] is None:
            raise SpecError(_join(path, key), "is required")


def _string(value: Any, path: str, allow_blank: bool = False) -> str:
    if not isinstance(value, str) or not value or (not allow_blank and not value.strip()):
        raise SpecError(path, "must be a non-empty string")
    return value


def _optional_string(value: Any, path: str) -> Optional[str]:
    return None if value is None else _string(value, path)


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, "must be true or false")
    return value


def _int(value: Any, path: str, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(path, "must be an integer")
    if minimum is not None and value < minimum:
        raise SpecError(path, "must be >= %d" % minimum)
    if maximum is not None and value > maximum:
        raise SpecError(path, "must be <= %d" % maximum)
    return value


def _share(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise SpecError(path, "must be a number between 0 and 1")
    return float(value)


def _choice(value: Any, path: str, choices: Tuple[str, ...]) -> str:
    if value not in choices:
        raise SpecError(path, "must be one of %s (got %r)" % (", ".join(choices), value))
    return value


def _string_list(value: Any, path: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise SpecError(path, "must be a string or a list of strings")
    return tuple(_string(v, "%s[%d]" % (path, i), allow_blank=True) for i, v in enumerate(value))


# --------------------------------------------------------------------------- validation


def _validate(data: Mapping[str, Any]) -> ExportSpec:
    _check_keys(data, "", ("version", "domain", "sources", "datasets", "item_ids", "run"), ("sources", "datasets"))
    version = data.get("version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise SpecError("version", "must be %d (got %r)" % (SPEC_VERSION, version))
    sources = _validate_sources(data["sources"])
    datasets_raw = _mapping(data["datasets"], "datasets")
    for name in datasets_raw:
        if name not in DATASET_NAMES:
            raise SpecError(_join("datasets", name), "unknown dataset (allowed: %s)" % ", ".join(DATASET_NAMES))
    if "interactions" not in datasets_raw:
        raise SpecError("datasets.interactions", "is required (Personalize needs an interactions dataset)")
    item_ids = _validate_item_ids(data.get("item_ids") or {}, "item_ids")
    datasets = {}
    for name in DATASET_NAMES:
        if name in datasets_raw:
            datasets[name] = _validate_dataset(name, datasets_raw[name], sources, _join("datasets", name))
    if item_ids.fuzzy is not None and "items" not in datasets:
        raise SpecError("item_ids.fuzzy", "needs an items dataset to match against")
    run = _validate_run(data.get("run") or {}, "run")
    domain = _validate_domain(data.get("domain"), datasets)
    raw = json.loads(json.dumps(data, default=_json_default))
    return ExportSpec(sources=sources, datasets=datasets, item_ids=item_ids, run=run, raw=raw, version=version, domain=domain)


# ------------------------------------------------------------------ domains
# What a Domain dataset group's schemas must hold beyond every schema's own
# requirements: {domain: {dataset: {field: (type, categorical)}}}.
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-datasets-and-schemas.html
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-interactions-dataset.html
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-items-dataset.html
# https://docs.aws.amazon.com/personalize/latest/dg/VIDEO-ON-DEMAND-datasets-and-schemas.html
# https://docs.aws.amazon.com/personalize/latest/dg/VIDEO-ON-DEMAND-items-dataset.html
DOMAINS = ("ECOMMERCE", "VIDEO_ON_DEMAND")
DOMAIN_REQUIRED_FIELDS: Dict[str, Dict[str, Dict[str, Tuple[str, bool]]]] = {
    "ECOMMERCE": {
        "interactions": {"EVENT_TYPE": ("string", False)},
        "items": {"PRICE": ("float", False), "CATEGORY_L1": ("string", True)},
        "users": {},
    },
    "VIDEO_ON_DEMAND": {
        "interactions": {"EVENT_TYPE": ("string", False)},
        "items": {"GENRES": ("string", True), "CREATION_TIMESTAMP": ("long", False)},
        "users": {},
    },
}


def _validate_domain(value: Any, datasets: Mapping[str, DatasetSpec]) -> Optional[str]:
    """The export feeds a Domain dataset group: each dataset it exports holds
    the fields the domain's schema requires, with their types."""
    if value is None:
        return None
    domain = _choice(value, "domain", DOMAINS)
    for name, dataset in datasets.items():
        path = _join(_join("datasets", name), "fields")
        for field_name, (ftype, categorical) in DOMAIN_REQUIRED_FIELDS[domain][name].items():
            found = dataset.field(field_name)
            kind = "%s%s" % ("categorical " if categorical else "", ftype)
            if found is None:
                raise SpecError(_join(path, field_name), "is required by the %s domain (a %s field)" % (domain, kind))
            if found.type != ftype:
                raise SpecError(_join(_join(path, field_name), "type"), 'must be "%s" in the %s domain' % (ftype, domain))
            if categorical and not found.categorical:
                raise SpecError(_join(_join(path, field_name), "categorical"), "must be true in the %s domain" % domain)
            if found.nullable:
                raise SpecError(_join(_join(path, field_name), "nullable"), "must be false: %s is a required field of the %s domain" % (field_name, domain))
    return domain


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    raise TypeError("not JSON serialisable: %r" % (value,))


def _validate_sources(value: Any) -> Dict[str, SourceSpec]:
    raw = _mapping(value, "sources")
    if not raw:
        raise SpecError("sources", "must define at least one source")
    result = {}
    for name, body in raw.items():
        path = _join("sources", name)
        if not isinstance(name, str) or not _SOURCE_NAME.match(name):
            raise SpecError(path, "source names must match [A-Za-z_][A-Za-z0-9_-]*")
        body = _mapping(body, path)
        _check_keys(body, path, ("format", "path", "jdbc", "options", "catalog", "jdbc_read"), ("format",))
        fmt = _choice(body["format"], _join(path, "format"), SOURCE_FORMATS)
        jdbc = None
        local_path = None
        if fmt == "jdbc":
            if body.get("path") is not None:
                raise SpecError(_join(path, "path"), 'must not be set for format "jdbc" (use jdbc.url)')
            if body.get("jdbc") is None and body.get("catalog") is None:
                raise SpecError(_join(path, "jdbc"), 'is required for format "jdbc" unless the source has a catalog table')
            if body.get("jdbc") is not None:
                jdbc = _validate_jdbc(body["jdbc"], _join(path, "jdbc"))
        else:
            if body.get("jdbc") is not None:
                raise SpecError(_join(path, "jdbc"), 'is only allowed for format "jdbc"')
            if body.get("path") is None and body.get("catalog") is None:
                raise SpecError(_join(path, "path"), "is required unless the source has a catalog table")
            local_path = _optional_string(body.get("path"), _join(path, "path"))
        options = {}
        for key, option in _mapping(body.get("options") or {}, _join(path, "options")).items():
            if isinstance(option, (Mapping, list)) or option is None:
                raise SpecError(_join(_join(path, "options"), key), "reader options must be scalars")
            options[str(key)] = str(option).lower() if isinstance(option, bool) else str(option)
        catalog = None
        if body.get("catalog") is not None:
            cat = _mapping(body["catalog"], _join(path, "catalog"))
            _check_keys(cat, _join(path, "catalog"), ("database", "table"), ("database", "table"))
            catalog = CatalogTable(
                database=_string(cat["database"], _join(path, "catalog.database")),
                table=_string(cat["table"], _join(path, "catalog.table")),
            )
        jdbc_read = _validate_jdbc_read_of_source(body, fmt, options, path)
        result[name] = SourceSpec(name=name, format=fmt, path=local_path, jdbc=jdbc, options=options, catalog=catalog,
                                  jdbc_read=jdbc_read)
    return result


def _validate_jdbc(value: Any, path: str) -> JdbcSettings:
    body = _mapping(value, path)
    # "password" is listed only to answer it with a clear refusal below.
    _check_keys(body, path, ("url", "table", "query", "user", "password", "password_env", "secret_id", "driver"), ("url",))
    url = _string(body["url"], _join(path, "url"))
    if not url.startswith("jdbc:"):
        raise SpecError(_join(path, "url"), 'must start with "jdbc:"')
    table = _optional_string(body.get("table"), _join(path, "table"))
    query = _optional_string(body.get("query"), _join(path, "query"))
    if (table is None) == (query is None):
        raise SpecError(path, 'needs exactly one of "table" or "query"')
    if body.get("password") is not None:
        raise SpecError(_join(path, "password"), "plain passwords are not allowed: use password_env or secret_id")
    return JdbcSettings(
        url=url,
        table=table,
        query=query,
        user=_optional_string(body.get("user"), _join(path, "user")),
        password_env=_optional_string(body.get("password_env"), _join(path, "password_env")),
        secret_id=_optional_string(body.get("secret_id"), _join(path, "secret_id")),
        driver=_optional_string(body.get("driver"), _join(path, "driver")),
    )


# --------------------------------------------------------------------------- JDBC: parallel read and fetch size
#
# One JDBC query reads a whole table over one connection into one partition. ``jdbc_read``
# splits the read into ranges (Spark's JDBC reader: partitionColumn, lowerBound,
# upperBound, numPartitions) or hash buckets (Glue's from_catalog: hashfield or
# hashexpression, hashpartitions; https://docs.aws.amazon.com/glue/latest/dg/run-jdbc-parallel-read-job.html),
# and sets how many rows each round trip fetches.

# Parallel queries when the spec names none: two per core of the default job's executor
# (two G.1X workers: one driver, one 4-vCPU executor), so 8 connections to the database.
DEFAULT_JDBC_PARTITIONS = 8
# Each partition holds a database connection open for its whole read.
MAX_JDBC_PARTITIONS = 256
# Rows per round trip. Without it PostgreSQL's driver buffers the whole result in memory.
DEFAULT_JDBC_FETCH_SIZE = 10000
MAX_JDBC_FETCH_SIZE = 1000000
# Reader options that jdbc_read owns: set in ``options`` they would be overridden unseen.
JDBC_READ_OPTIONS = {
    "partitioncolumn": "column", "lowerbound": "lower_bound", "upperbound": "upper_bound",
    "numpartitions": "partitions", "hashfield": "column", "hashexpression": "hash_expression",
    "hashpartitions": "partitions", "fetchsize": "fetch_size", "predicates": "column",
}
_BOUND_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BOUND_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


@dataclass(frozen=True)
class JdbcRead:
    """How a JDBC source is read: split into ``partitions`` parallel queries on ``column``.

    ``column`` None: the table's primary key when it is one numeric, date or timestamp
    column. Bounds None: MIN and MAX of the column, read with one query before the split.
    ``hash_expression`` replaces the column in Glue (``hashexpression``).
    """

    partitions: int = DEFAULT_JDBC_PARTITIONS
    column: Optional[str] = None
    lower_bound: Optional[Union[int, str]] = None
    upper_bound: Optional[Union[int, str]] = None
    hash_expression: Optional[str] = None
    fetch_size: int = DEFAULT_JDBC_FETCH_SIZE


def _validate_jdbc_read_of_source(body: Mapping[str, Any], fmt: str, options: Mapping[str, str], path: str) -> Optional[JdbcRead]:
    """A JDBC source's read settings (defaults when absent); None for other formats."""
    read_path = _join(path, "jdbc_read")
    if fmt != "jdbc":
        if body.get("jdbc_read") is not None:
            raise SpecError(read_path, 'is only allowed for format "jdbc"')
        return None
    for key in options:
        if key.lower() in JDBC_READ_OPTIONS:
            raise SpecError(_join(_join(path, "options"), key), "is set by jdbc_read.%s (set it there, where both the local "
                            "reader and Glue's read it)" % JDBC_READ_OPTIONS[key.lower()])
    return _validate_jdbc_read(body.get("jdbc_read") or {}, read_path)


def _validate_jdbc_read(value: Any, path: str) -> JdbcRead:
    body = _mapping(value, path)
    _check_keys(body, path, ("partitions", "column", "lower_bound", "upper_bound", "hash_expression", "fetch_size"))
    partitions = _int(body.get("partitions", DEFAULT_JDBC_PARTITIONS), _join(path, "partitions"), 1, MAX_JDBC_PARTITIONS)
    column = _optional_string(body.get("column"), _join(path, "column"))
    if column is not None and column != column.strip():
        raise SpecError(_join(path, "column"), "must be a column name without surrounding spaces")
    lower = _jdbc_bound(body.get("lower_bound"), _join(path, "lower_bound"))
    upper = _jdbc_bound(body.get("upper_bound"), _join(path, "upper_bound"))
    if (lower is None) != (upper is None):
        missing = "upper_bound" if upper is None else "lower_bound"
        raise SpecError(_join(path, missing), "is required when %s is set (give both bounds, or neither to read "
                        "MIN and MAX of the column)" % ("lower_bound" if upper is None else "upper_bound"))
    if lower is not None:
        if column is None:
            raise SpecError(_join(path, "column"), "is required with lower_bound and upper_bound (bounds belong to a column)")
        if _bound_kind(lower) != _bound_kind(upper):
            raise SpecError(_join(path, "upper_bound"), "must be of the same kind as lower_bound (two integers, two dates "
                            "or two timestamps; got %r and %r)" % (lower, upper))
        if not _bound_order(lower) < _bound_order(upper):
            raise SpecError(_join(path, "upper_bound"), "must be greater than lower_bound (got %r and %r)" % (lower, upper))
    return JdbcRead(
        partitions=partitions,
        column=column,
        lower_bound=lower,
        upper_bound=upper,
        hash_expression=_optional_string(body.get("hash_expression"), _join(path, "hash_expression")),
        fetch_size=_int(body.get("fetch_size", DEFAULT_JDBC_FETCH_SIZE), _join(path, "fetch_size"), 1, MAX_JDBC_FETCH_SIZE),
    )


def _jdbc_bound(value: Any, path: str) -> Optional[Union[int, str]]:
    """An integer, a date ``YYYY-MM-DD`` or a timestamp ``YYYY-MM-DD HH:MM:SS[.ffffff]``
    (the forms Spark's JDBC reader takes for a numeric, date or timestamp column)."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise SpecError(path, "must be an integer, a date YYYY-MM-DD or a timestamp YYYY-MM-DD HH:MM:SS (got %r)" % (value,))
    if isinstance(value, int):
        return value
    if isinstance(value, _dt.datetime):  # YAML reads an unquoted timestamp as a datetime
        if value.tzinfo is not None:
            raise SpecError(path, "must be a timestamp without a time zone, in the column's own time (got %s)" % value.isoformat())
        value = value.isoformat(sep=" ")
    elif isinstance(value, _dt.date):
        value = value.isoformat()
    if not isinstance(value, str) or not (_BOUND_DATE.match(value) or _BOUND_TIMESTAMP.match(value)):
        raise SpecError(path, "must be an integer, a date YYYY-MM-DD or a timestamp YYYY-MM-DD HH:MM:SS (got %r)" % (value,))
    text = value.replace("T", " ")
    try:
        _bound_order(text)
    except ValueError:
        raise SpecError(path, "is not a real date or time (got %r)" % (value,)) from None
    return text


def _bound_kind(bound: Union[int, str]) -> str:
    if isinstance(bound, int):
        return "integer"
    return "date" if _BOUND_DATE.match(bound) else "timestamp"


def _bound_order(bound: Union[int, str]) -> Any:
    if isinstance(bound, int):
        return bound
    if _BOUND_DATE.match(bound):
        return _dt.datetime.strptime(bound, "%Y-%m-%d")
    return _dt.datetime.strptime(bound, "%Y-%m-%d %H:%M:%S.%f" if "." in bound else "%Y-%m-%d %H:%M:%S")


def _validate_normalize(value: Any, path: str) -> Tuple[NormalizeRule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SpecError(path, "must be a list of rules")
    rules = []
    for index, item in enumerate(value):
        item_path = "%s[%d]" % (path, index)
        if isinstance(item, str):
            kind, arg = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            kind, arg = next(iter(item.items()))
        else:
            raise SpecError(item_path, "must be a rule name or a one-key mapping like {strip_prefix: [\"SKU-\"]}")
        _choice(kind, item_path, NORMALIZE_RULES)
        if kind in ("strip_prefix", "remove_chars"):
            if arg is None:
                raise SpecError(_join(item_path, kind), "needs a value (a string or a list of strings)")
            values = _string_list(arg, _join(item_path, kind))
            if kind == "remove_chars":
                values = ("".join(values),)
        else:
            if arg is not None:
                raise SpecError(_join(item_path, kind), "takes no value")
            values = ()
        rules.append(NormalizeRule(kind=kind, values=values))
    return tuple(rules)


def _validate_timestamp(value: Any, path: str) -> TimestampFormat:
    if value is True or value is None:
        return TimestampFormat()
    body = _mapping(value, path)
    _check_keys(body, path, ("formats", "timezone"))
    formats = _string_list(body.get("formats", list(TimestampFormat.formats)), _join(path, "formats"))
    if not formats:
        raise SpecError(_join(path, "formats"), "must list at least one format")
    for index, fmt in enumerate(formats):
        if fmt not in TIMESTAMP_KEYWORDS:
            _check_datetime_pattern(fmt, "%s.formats[%d]" % (path, index))
    timezone = _string(body.get("timezone", "UTC"), _join(path, "timezone"))
    _check_timezone(timezone, _join(path, "timezone"))
    return TimestampFormat(formats=formats, timezone=timezone)


# Spark 3.5 datetime pattern letters it parses with, and the letter counts it accepts
# (https://spark.apache.org/docs/3.5.0/sql-ref-datetime-pattern.html; counts as Spark 3.5
# refuses them, checked against Spark by tests/export/test_spec_on_spark.py).
_PATTERN_LETTER_COUNTS: Dict[str, Tuple[int, ...]] = {
    "G": (1, 2, 3, 4), "y": (1, 2, 3, 4, 5, 6), "D": (1, 2, 3), "M": (1, 2, 3, 4), "L": (1, 2, 3, 4),
    "d": (1, 2), "a": (1,), "h": (1, 2), "K": (1, 2), "k": (1, 2), "H": (1, 2), "m": (1, 2), "s": (1, 2),
    "S": tuple(range(1, 10)), "V": (2,), "v": (1, 4), "z": (1, 2, 3, 4), "O": (1, 4),
    "X": (1, 2, 3, 4, 5), "x": (1, 2, 3, 4, 5), "Z": (1, 2, 3, 4, 5),
}
_WEEK_BASED_LETTERS = "YwWuec"
_NOT_FOR_PARSING_LETTERS = "EFQqABnNp"
_DATE_TIME_LETTERS = "yMLdDHhKkmsS"


def _check_datetime_pattern(pattern: str, path: str) -> None:
    """Refuse what Spark 3.5 would refuse when the first row is parsed with ``pattern``."""
    def refuse(rule: str) -> None:
        raise SpecError(path, "must be iso8601, epoch_seconds, epoch_millis or a Spark datetime pattern like "
                              "\"dd/MM/yyyy HH:mm\": %s (got %r)" % (rule, pattern))

    letters = []
    index, depth = 0, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            end = index + 1
            while True:  # a literal runs to the next lone quote; '' is a quote
                end = pattern.find("'", end)
                if end < 0:
                    refuse("a quoted literal is not closed")
                if pattern[end + 1:end + 2] == "'":
                    end += 2
                    continue
                break
            index = end + 1
            continue
        if char.isascii() and char.isalpha():
            run = len(pattern[index:]) - len(pattern[index:].lstrip(char))
            if char in _WEEK_BASED_LETTERS:
                refuse("week-based pattern letter %r: Spark 3 does not parse week-based dates (use y for the year, d for the day)" % char)
            if char in _NOT_FOR_PARSING_LETTERS:
                refuse("pattern letter %r cannot be used to parse dates in Spark 3" % char)
            if char == "g":
                letters.append(char)
            elif char not in _PATTERN_LETTER_COUNTS:
                refuse("unknown pattern letter %r (quote literal text: 'T')" % char)
            elif run not in _PATTERN_LETTER_COUNTS[char]:
                refuse("pattern letter %r may repeat %s times, not %d" % (
                    char, " or ".join(str(n) for n in _PATTERN_LETTER_COUNTS[char]), run))
            letters.append(char)
            index += run
            continue
        if char in "#{}":
            refuse("%r is reserved in datetime patterns (quote it: '%s')" % (char, char))
        if char == "[":
            depth += 1
        elif char == "]":
            if depth == 0:
                refuse("']' closes no optional section")
            depth -= 1
        index += 1
    if not any(letter in _DATE_TIME_LETTERS for letter in letters):
        refuse("a datetime pattern needs at least one date or time letter")


# Java's three-letter zone aliases that Spark accepts (java.time.ZoneId.SHORT_IDS).
_SHORT_ZONE_IDS = frozenset(
    "ACT AET AGT ART AST BET BST CAT CNT CST CTT EAT ECT IET IST JST MIT NET NST PLT PNT PRT PST SST VST EST MST HST".split()
)
# java.time.ZoneOffset.of: +h, +hh, +hh:mm, +hhmm, +hh:mm:ss, +hhmmss (optionally after UTC/GMT/UT).
_ZONE_OFFSET = re.compile(r"^(?:UTC|GMT|UT)?[+-](?:([0-9])|([0-9]{2})(?:(?::([0-9]{2})(?::([0-9]{2}))?)|(?:([0-9]{2})([0-9]{2})?))?)$")
_ZONE_REGION = re.compile(r"^[A-Za-z][A-Za-z0-9~/._+-]+$")
_known_regions: Optional[Set[str]] = None


def _check_timezone(timezone: str, path: str) -> None:
    """Refuse a zone Spark's ``to_utc_timestamp`` would fail on: region ids of the tz
    database (case-sensitive), Z/UTC/GMT/UT, Java's short ids, offsets up to +-18:00."""
    global _known_regions
    if timezone in ("Z", "UTC", "GMT", "UT") or timezone in _SHORT_ZONE_IDS:
        return
    # Spark pads one-digit hours and minutes ("+5:30" -> "+05:30") before asking Java.
    padded = re.sub(r"([+-])([0-9]):", r"\g<1>0\2:", timezone, count=1)
    padded = re.sub(r"([+-][0-9]{2}):([0-9])$", r"\1:0\2", padded, count=1)
    offset = _ZONE_OFFSET.match(padded)
    if offset:
        one_digit, hours, minutes, seconds, bare_minutes, bare_seconds = (int(part or 0) for part in offset.groups())
        hours, minutes, seconds = one_digit or hours, minutes or bare_minutes, seconds or bare_seconds
        if minutes > 59 or seconds > 59 or hours * 3600 + minutes * 60 + seconds > 18 * 3600:
            raise SpecError(path, "offset %r is out of range: offsets go from -18:00 to +18:00" % timezone)
        return
    if not _ZONE_REGION.match(timezone):
        raise SpecError(path, "must be a tz database zone like Europe/Berlin, UTC or an offset like +05:30 (got %r)" % timezone)
    if _known_regions is None:
        try:
            import zoneinfo

            _known_regions = set(zoneinfo.available_timezones())
        except ImportError:  # no zoneinfo: the region is checked by Spark only
            _known_regions = set()
    if _known_regions and timezone not in _known_regions:
        raise SpecError(path, "unknown time zone %r: use a tz database zone like Europe/Berlin (names are case-sensitive), UTC "
                              "or an offset like +05:30" % timezone)


def _validate_field(dataset: str, name: Any, value: Any, path: str) -> FieldSpec:
    if not isinstance(name, str) or not _AVRO_NAME.match(name):
        raise SpecError(path, "field names must be Avro names ([A-Za-z_][A-Za-z0-9_]*)")
    fixed = set(REQUIRED_FIELDS[dataset]) | set(RESERVED_FIELDS[dataset])
    if name.upper() in fixed and name != name.upper():
        raise SpecError(path, "reserved name: write it as %s" % name.upper())
    if isinstance(value, str):
        value = {"from": value}
    body = _mapping(value, path)
    _check_keys(
        body, path,
        ("from", "type", "nullable", "categorical", "textual", "delimiter", "timestamp", "normalize"),
        ("from",),
    )
    source = _string(body["from"], _join(path, "from"))
    try:
        source_path_parts(source)
    except ValueError:
        raise SpecError(_join(path, "from"), "must be a column name or a dotted path like profile.age "
                        "(a column whose name holds dots in backticks: `user.id`)")
    required = REQUIRED_FIELDS[dataset]
    reserved = RESERVED_FIELDS[dataset]
    default_type = required.get(name) or (reserved[name][0] if name in reserved else "string")
    ftype = _choice(body.get("type", default_type), _join(path, "type"), FIELD_TYPES)
    if name in required and ftype != required[name]:
        why = " (Personalize requires epoch seconds)" if required[name] == "long" else ""
        raise SpecError(_join(path, "type"), 'must be "%s"%s' % (required[name], why))
    if name in reserved and ftype not in reserved[name]:
        why = " (Personalize requires epoch seconds)" if reserved[name] == ("long",) else ""
        raise SpecError(_join(path, "type"), 'must be "%s" for the reserved field %s%s' % (reserved[name][0], name, why))
    nullable = _bool(body.get("nullable", False), _join(path, "nullable"))
    if nullable and name in required:
        raise SpecError(_join(path, "nullable"), "must be false: %s is a required %s field" % (name, dataset))
    categorical = _bool(body.get("categorical", False), _join(path, "categorical"))
    textual = _bool(body.get("textual", False), _join(path, "textual"))
    if (categorical or textual) and ftype != "string":
        raise SpecError(_join(path, "categorical" if categorical else "textual"), 'is only allowed on "string" fields')
    if categorical and textual:
        raise SpecError(_join(path, "textual"), "a field cannot be both categorical and textual")
    if textual and dataset != "items":
        raise SpecError(_join(path, "textual"), "only the items dataset may have a textual field")
    if (categorical or textual) and (name in required or name in reserved):
        raise SpecError(_join(path, "categorical" if categorical else "textual"), "is not allowed on the reserved field %s" % name)
    is_metadata = name not in required and name not in reserved
    if is_metadata and ftype == "string" and not (categorical or textual):
        raise SpecError(
            _join(path, "categorical"),
            "string metadata fields must be categorical: true%s (Personalize rejects plain string metadata)"
            % (" or textual: true" if dataset == "items" else ""),
        )
    delimiter = body.get("delimiter")
    if delimiter is not None:
        delimiter = _string(delimiter, _join(path, "delimiter"), allow_blank=True)
        if not categorical:
            raise SpecError(_join(path, "delimiter"), "is only allowed on categorical fields")
    timestamp = None
    if body.get("timestamp") not in (None, False):
        if ftype != "long":
            raise SpecError(_join(path, "timestamp"), 'is only allowed on "long" fields (epoch seconds)')
        timestamp = _validate_timestamp(body["timestamp"], _join(path, "timestamp"))
    elif name in ("TIMESTAMP", "CREATION_TIMESTAMP"):
        timestamp = TimestampFormat()
    normalize = _validate_normalize(body.get("normalize"), _join(path, "normalize"))
    if normalize and ftype != "string":
        raise SpecError(_join(path, "normalize"), 'is only allowed on "string" fields')
    return FieldSpec(
        name=name, source=source, type=ftype, nullable=nullable, categorical=categorical, textual=textual,
        delimiter=delimiter, timestamp=timestamp, normalize=normalize,
    )


def _validate_dataset(name: str, value: Any, sources: Mapping[str, SourceSpec], path: str) -> DatasetSpec:
    body = _mapping(value, path)
    _check_keys(body, path, ("source", "fields", "event_types", "watermark", "rejected_row_columns"), ("source", "fields"))
    source = _string(body["source"], _join(path, "source"))
    if source not in sources:
        raise SpecError(_join(path, "source"), "names no source in sources (known: %s)" % ", ".join(sorted(sources)))
    fields_raw = _mapping(body["fields"], _join(path, "fields"))
    fields = tuple(
        _validate_field(name, fname, fbody, _join(_join(path, "fields"), fname)) for fname, fbody in fields_raw.items()
    )
    seen: Dict[str, str] = {}
    for f in fields:
        lowered = f.name.lower()
        if lowered in seen:
            raise SpecError(_join(_join(path, "fields"), f.name), "duplicates the field %s (names are case-insensitive)" % seen[lowered])
        seen[lowered] = f.name
    names = {f.name for f in fields}
    for required in REQUIRED_FIELDS[name]:
        if required not in names:
            raise SpecError(_join(_join(path, "fields"), required), "is required for the %s dataset" % name)
    dataset = DatasetSpec(name=name, source=source, fields=fields)
    metadata = dataset.metadata_fields
    if len(metadata) < MIN_METADATA_FIELDS[name]:
        raise SpecError(_join(path, "fields"), "the %s dataset needs at least %d metadata field" % (name, MIN_METADATA_FIELDS[name]))
    if len(metadata) > MAX_METADATA_FIELDS[name]:
        raise SpecError(
            _join(path, "fields"),
            "the %s dataset allows at most %d metadata fields (got %d)" % (name, MAX_METADATA_FIELDS[name], len(metadata)),
        )
    textual = [f.name for f in fields if f.textual]
    if len(textual) > MAX_TEXTUAL_FIELDS:
        raise SpecError(_join(_join(path, "fields"), textual[1]), "at most one textual field is allowed (already: %s)" % textual[0])
    event_types = None
    if body.get("event_types") is not None:
        event_types = _validate_event_types(name, body["event_types"], names, _join(path, "event_types"))
    watermark = None
    if body.get("watermark") is not None:
        watermark = _validate_watermark(body["watermark"], sources[source], _join(path, "watermark"))
    rejected_row_columns = None
    if body.get("rejected_row_columns") is not None:
        rejected_row_columns = _validate_column_names(body["rejected_row_columns"], _join(path, "rejected_row_columns"))
    return DatasetSpec(name=name, source=source, fields=fields, event_types=event_types, watermark=watermark,
                       rejected_row_columns=rejected_row_columns)


def _validate_column_names(value: Any, path: str) -> Tuple[str, ...]:
    """A list of distinct top-level source column names (compared case-insensitively, as Spark does)."""
    if not isinstance(value, list):
        raise SpecError(path, "must be a list of source column names")
    seen: Dict[str, int] = {}
    for index, name in enumerate(value):
        where = "%s[%d]" % (path, index)
        if not isinstance(name, str) or not name.strip():
            raise SpecError(where, "must be a non-empty source column name")
        if name.lower() in seen:
            raise SpecError(where, "repeats %s[%d] (%r; names are case-insensitive)" % (path, seen[name.lower()], value[seen[name.lower()]]))
        seen[name.lower()] = index
    return tuple(value)


def _validate_event_types(dataset: str, value: Any, names: Set[str], path: str) -> EventTypeRules:
    if dataset != "interactions":
        raise SpecError(path, "is only allowed on the interactions dataset")
    body = _mapping(value, path)
    _check_keys(body, path, ("field", "map", "drop", "unmapped", "case_sensitive"))
    target = _string(body.get("field", "EVENT_TYPE"), _join(path, "field"))
    if target not in names:
        raise SpecError(_join(path, "field"), "names no field of the dataset (map the source status to %s first)" % target)
    case_sensitive = _bool(body.get("case_sensitive", False), _join(path, "case_sensitive"))
    mapping = {}
    matched_as: Dict[str, str] = {}
    for source_value, event in _mapping(body.get("map") or {}, _join(path, "map")).items():
        status = str(source_value)
        key = status_key(status, case_sensitive)
        if key in matched_as:
            # Both would match the same source values: one mapping would silently win.
            raise SpecError(_join(_join(path, "map"), status), "collides with %r: statuses are matched %s, so both match the same values" % (
                matched_as[key], "after trimming" if case_sensitive else "after trimming and ignoring case"))
        matched_as[key] = status
        event = _string(event, _join(_join(path, "map"), source_value))
        if trim_text(event) != event or any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in event):
            raise SpecError(_join(_join(path, "map"), source_value),
                            "the event type %r is written to the CSV as is: no white space around it, no control characters" % event)
        mapping[status] = event
    drop = _string_list(body.get("drop") or [], _join(path, "drop"))
    for status in drop:
        if status_key(status, case_sensitive) in matched_as:
            raise SpecError(_join(path, "drop"), "%r is both mapped and dropped (mapped as %r)" % (
                status, matched_as[status_key(status, case_sensitive)]))
    unmapped = _choice(body.get("unmapped", "keep"), _join(path, "unmapped"), UNMAPPED_EVENT_ACTIONS)
    return EventTypeRules(field=target, mapping=mapping, drop=drop, unmapped=unmapped, case_sensitive=case_sensitive)


def status_key(status: str, case_sensitive: bool) -> str:
    """The form a status is matched in: trimmed, and lower-cased unless matching is case-sensitive."""
    trimmed = trim_text(status)
    return trimmed if case_sensitive else trimmed.lower()


def _validate_item_ids(value: Any, path: str) -> ItemIdReconciliation:
    body = _mapping(value, path)
    _check_keys(body, path, ("normalize", "fuzzy", "unmatched"))
    normalize = _validate_normalize(body.get("normalize"), _join(path, "normalize"))
    fuzzy = None
    if body.get("fuzzy") is not None:
        fpath = _join(path, "fuzzy")
        fb = _mapping(body["fuzzy"], fpath)
        _check_keys(fb, fpath, ("interactions_key", "items_key", "max_distance", "block_prefix_length", "min_key_length"),
                    ("interactions_key", "items_key"))
        max_distance = _int(fb.get("max_distance", 2), _join(fpath, "max_distance"), minimum=1)
        if max_distance > 5:
            raise SpecError(_join(fpath, "max_distance"), "must be <= 5 (larger distances match unrelated titles)")
        fuzzy = FuzzyMatch(
            interactions_key=_string(fb["interactions_key"], _join(fpath, "interactions_key")),
            items_key=_string(fb["items_key"], _join(fpath, "items_key")),
            max_distance=max_distance,
            block_prefix_length=_int(fb.get("block_prefix_length", 3), _join(fpath, "block_prefix_length"), 1, MAX_TITLE_KEY_LENGTH),
            min_key_length=_int(fb.get("min_key_length", 4), _join(fpath, "min_key_length"), 1, MAX_TITLE_KEY_LENGTH),
        )
    unmatched = _choice(body.get("unmatched", "keep"), _join(path, "unmatched"), UNMATCHED_ITEM_ACTIONS)
    return ItemIdReconciliation(normalize=normalize, fuzzy=fuzzy, unmatched=unmatched)


def _epoch_in_range(seconds: Any, path: str) -> int:
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise SpecError(path, "must be a finite number of epoch seconds (got %r)" % seconds)
    if not MIN_EPOCH_SECONDS <= seconds <= MAX_EPOCH_SECONDS:
        raise SpecError(path, "must lie between 0001-01-01 and 9999-12-31 (epoch seconds %d..%d, got %r)" % (
            MIN_EPOCH_SECONDS, MAX_EPOCH_SECONDS, seconds))
    return int(seconds)


def parse_instant(value: Any, path: str) -> int:
    """An ISO-8601 date/time (offset or UTC) or epoch seconds -> epoch seconds (years 1..9999)."""
    if isinstance(value, bool):
        raise SpecError(path, "must be an ISO-8601 date/time or epoch seconds")
    if isinstance(value, (int, float)):
        return _epoch_in_range(value, path)
    if isinstance(value, _dt.datetime):
        moment = value
    elif isinstance(value, _dt.date):
        moment = _dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            moment = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise SpecError(path, "must be an ISO-8601 date/time like 2015-01-01T00:00:00Z or epoch seconds (got %r)" % value)
    else:
        raise SpecError(path, "must be an ISO-8601 date/time or epoch seconds")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    try:
        return _epoch_in_range(int(moment.timestamp()), path)
    except (OverflowError, ValueError):  # an offset pushing 0001-01-01 or 9999-12-31 past the calendar
        raise SpecError(path, "must lie between 0001-01-01 and 9999-12-31 (got %r)" % (value,))


def _validate_run(value: Any, path: str) -> RunSettings:
    body = _mapping(value, path)
    _check_keys(body, path, ("timestamp_floor", "max_future_skew_seconds", "max_rejected_share", "keep_exports", "readiness",
                             "full_every"))
    floor = None
    if body.get("timestamp_floor") is not None:
        floor = parse_instant(body["timestamp_floor"], _join(path, "timestamp_floor"))
    share = _share(body.get("max_rejected_share", DEFAULT_MAX_REJECTED_SHARE), _join(path, "max_rejected_share"))
    readiness_raw = _mapping(body.get("readiness") or {}, _join(path, "readiness"))
    rpath = _join(path, "readiness")
    _check_keys(readiness_raw, rpath, ("min_interactions", "min_users", "min_interactions_per_user", "min_users_share"))
    readiness = Readiness(
        min_interactions=_int(readiness_raw.get("min_interactions", DEFAULT_MIN_INTERACTIONS), _join(rpath, "min_interactions"), 0),
        min_users=_int(readiness_raw.get("min_users", DEFAULT_MIN_USERS), _join(rpath, "min_users"), 0),
        min_interactions_per_user=_int(
            readiness_raw.get("min_interactions_per_user", DEFAULT_MIN_INTERACTIONS_PER_USER), _join(rpath, "min_interactions_per_user"), 1
        ),
        min_users_share=_share(readiness_raw.get("min_users_share", DEFAULT_MIN_USERS_SHARE), _join(rpath, "min_users_share")),
    )
    return RunSettings(
        timestamp_floor=floor,
        max_future_skew_seconds=_int(body.get("max_future_skew_seconds", 0), _join(path, "max_future_skew_seconds"), 0, MAX_FUTURE_SKEW_SECONDS),
        max_rejected_share=share,
        keep_exports=_int(body.get("keep_exports", DEFAULT_KEEP_EXPORTS), _join(path, "keep_exports"), 1),
        readiness=readiness,
        full_every=_validate_full_every(body.get("full_every"), _join(path, "full_every")),
    )


# --------------------------------------------------------------------------- incremental exports
#
# A dataset may name a change column: an incremental export then reads only the rows whose
# change column is at or past the previous export's high-water mark minus an allowance for
# rows that arrive late. ``run.full_every`` bounds how long a chain of deltas may grow.

WATERMARK_TYPES = ("timestamp", "epoch_seconds", "epoch_millis")
# A ``timestamp`` change column is compared in the database with a standard SQL literal,
# TIMESTAMP WITH TIME ZONE '...', which these engines parse (MySQL, SQL Server and Oracle
# do not); epoch columns are compared with a number, which every engine parses.
TIMESTAMP_LITERAL_JDBC_URLS = ("jdbc:postgresql:", "jdbc:redshift:")
# A late row older than this is a backfill: run a FULL export for it.
MAX_WATERMARK_ALLOWANCE_SECONDS = 31 * 86400
# Column names that go into SQL and Glue predicates as they are: plain identifiers only.
_PLAIN_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Watermark:
    """The change column of a dataset's source, and how late a row may arrive."""

    column: str
    type: str = "timestamp"
    allowance_seconds: int = 0
    # Catalog tables on S3 partitioned by day (Hive style, values yyyy-MM-dd): the partitions
    # before the day of the first row read are pruned before any file is listed.
    partition_column: Optional[str] = None


@dataclass(frozen=True)
class FullEvery:
    """A FULL export after this many runs (a FULL base counts as the first) or days since the base."""

    runs: Optional[int] = None
    days: Optional[int] = None


def _validate_watermark(value: Any, source: SourceSpec, path: str) -> Watermark:
    body = _mapping(value, path)
    _check_keys(body, path, ("column", "type", "allowance_seconds", "partition_column"), ("column",))
    column = _string(body["column"], _join(path, "column"))
    if not _PLAIN_COLUMN.match(column):
        raise SpecError(_join(path, "column"), "must be a top-level column name ([A-Za-z_][A-Za-z0-9_]*): it goes into the "
                                               "database query as it is (got %r)" % column)
    partition_column = _optional_string(body.get("partition_column"), _join(path, "partition_column"))
    if partition_column is not None:
        if not _PLAIN_COLUMN.match(partition_column):
            raise SpecError(_join(path, "partition_column"), "must be a column name ([A-Za-z_][A-Za-z0-9_]*) (got %r)" % partition_column)
        if source.catalog is None or source.format == "jdbc":
            raise SpecError(_join(path, "partition_column"), "only applies to a Data Catalog table on S3 (sources.%s has %s)" % (
                source.name, "no catalog table" if source.catalog is None else 'format "jdbc"'))
    change_type = _choice(body.get("type", "timestamp"), _join(path, "type"), WATERMARK_TYPES)
    url = source.jdbc.url if source.format == "jdbc" and source.jdbc is not None else None
    if change_type == "timestamp" and url and not url.lower().startswith(TIMESTAMP_LITERAL_JDBC_URLS):
        engine = ":".join(url.split(":")[:2])  # jdbc:mysql, never the rest: a url may hold a password
        raise SpecError(_join(path, "type"), "'timestamp' is compared in the database as TIMESTAMP WITH TIME ZONE '...', "
                                             "which PostgreSQL and Redshift parse, not the database of sources.%s.jdbc.url "
                                             "(%s): give the source a numeric change column and use epoch_seconds or "
                                             "epoch_millis" % (source.name, engine))
    return Watermark(
        column=column,
        type=change_type,
        allowance_seconds=_int(body.get("allowance_seconds", 0), _join(path, "allowance_seconds"), 0,
                               MAX_WATERMARK_ALLOWANCE_SECONDS),
        partition_column=partition_column,
    )


def _validate_full_every(value: Any, path: str) -> Optional[FullEvery]:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = {"runs": value}
    body = _mapping(value, path)
    _check_keys(body, path, ("runs", "days"))
    if body.get("runs") is None and body.get("days") is None:
        raise SpecError(path, "needs runs, days or both (or an integer: runs)")
    runs = None if body.get("runs") is None else _int(body["runs"], _join(path, "runs"), 1)
    days = None if body.get("days") is None else _int(body["days"], _join(path, "days"), 1)
    return FullEvery(runs=runs, days=days)


def avro_schema(dataset: DatasetSpec) -> Dict[str, Any]:
    """The Personalize (Avro) schema for a dataset: field order = CSV header order."""
    avro_fields: List[Dict[str, Any]] = []
    for f in dataset.fields:
        entry: Dict[str, Any] = {"name": f.name, "type": ["null", f.type] if f.nullable else f.type}
        if f.categorical:
            entry["categorical"] = True
        if f.textual:
            entry["textual"] = True
        avro_fields.append(entry)
    return {
        "type": "record",
        "name": dataset.name.capitalize(),
        "namespace": "com.amazonaws.personalize.schema",
        "fields": avro_fields,
        "version": "1.0",
    }
