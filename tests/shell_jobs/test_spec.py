"""Export spec loading and validation (stdlib only: also runs under Python 3.9)."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys

import pytest
from export_fixtures import SPEC

from export_spec import SpecError, avro_schema, load_spec

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(REPO, "docs", "export-spec.md")


def _doc_example() -> str:
    text = open(DOC, encoding="utf-8").read()
    return re.search(r"## A complete example.*?```yaml\n(.*?)```", text, re.S).group(1)


def test_the_documented_example_loads():
    spec = load_spec(_doc_example())
    assert list(spec.datasets) == ["interactions", "items", "users"]
    assert spec.datasets["interactions"].field_names == ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "QUANTITY")
    assert spec.run.timestamp_floor == 1420070400
    assert spec.item_ids.fuzzy.max_distance == 2
    assert spec.sources["orders"].jdbc.password_env == "SHOP_DB_PASSWORD"
    assert spec.datasets["users"].field("AGE").source_column == "profile"


def test_json_text_yaml_file_and_dict_give_the_same_spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(_doc_example())
    from_file = load_spec(str(path))
    from_json = load_spec(json.dumps(from_file.to_dict()))
    assert from_json.datasets == from_file.datasets
    assert from_file.base_dir == str(tmp_path)


def test_source_columns_per_catalog_table_and_job():
    columns = load_spec(_doc_example()).source_columns()
    assert columns[("retail", "shop_public_orders")] == {
        "export_interactions": {"customer_id", "sku", "ordered_at", "status", "amount", "quantity", "product_title"}
    }
    assert columns[("retail", "products")]["export_items"] == {
        "sku", "categories", "brand", "price", "created_at", "description", "in_stock"}
    # the interactions job reads the catalog's ids and titles to reconcile item ids
    assert columns[("retail", "products")]["export_interactions"] == {"sku", "title"}
    assert columns[("retail", "customers")] == {
        "export_users": {"customer_id", "profile", "address", "interests", "signed_up"}}


def test_source_columns_include_the_watermark_and_the_columns_kept_on_rejected_rows():
    # The job reads them too: the schema-drift watcher must see them as read.
    spec = copy.deepcopy(load_spec(_doc_example()).raw)
    spec["datasets"]["interactions"]["rejected_row_columns"] = ["order_id", "line_no"]
    spec["datasets"]["interactions"]["watermark"] = {"column": "loaded_at"}
    loaded = load_spec(spec)
    columns = loaded.source_columns()[("retail", "shop_public_orders")]["export_interactions"]
    assert {"order_id", "line_no", "loaded_at", "customer_id", "sku"} <= columns
    assert loaded.rule_columns("interactions") == (
        "customer_id", "sku", "ordered_at", "status", "amount", "quantity", "loaded_at", "product_title")


def test_avro_schema_follows_field_order_and_flags():
    schema = avro_schema(load_spec(_doc_example()).datasets["items"])
    assert [f["name"] for f in schema["fields"]] == ["ITEM_ID", "CATEGORIES", "BRAND", "PRICE", "CREATION_TIMESTAMP", "DESCRIPTION", "IN_STOCK"]
    by_name = {f["name"]: f for f in schema["fields"]}
    assert by_name["BRAND"] == {"name": "BRAND", "type": ["null", "string"], "categorical": True}
    assert by_name["DESCRIPTION"]["textual"] is True
    assert by_name["CREATION_TIMESTAMP"]["type"] == "long"


def _broken(path, value):
    spec = copy.deepcopy(SPEC)
    target = spec
    keys = path.split(".")
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return spec


_DELETE = object()
_I = "datasets.interactions.fields"

CASES = [
    (_I + ".TIMESTAMP", {"from": "ts", "type": "string"}, _I + ".TIMESTAMP.type", 'must be "long" (Personalize requires epoch seconds)'),
    (_I + ".USER_ID", _DELETE, _I + ".USER_ID", "is required for the interactions dataset"),
    (_I + ".USER_ID", {"from": "u", "nullable": True}, _I + ".USER_ID.nullable", "must be false"),
    (_I + ".EVENT_VALUE", {"from": "v", "type": "string"}, _I + ".EVENT_VALUE.type", 'must be "float" for the reserved field'),
    (_I + ".event_type", {"from": "v"}, _I + ".event_type", "reserved name: write it as EVENT_TYPE"),
    (_I + ".NOTE", {"from": "note"}, _I + ".NOTE.categorical", "string metadata fields must be categorical"),
    (_I + ".NOTE", {"from": "note", "textual": True}, _I + ".NOTE.textual", "only the items dataset may have a textual field"),
    (_I + ".N", {"from": "n", "type": "int", "categorical": True}, _I + ".N.categorical", 'only allowed on "string" fields'),
    (_I + ".N", {"from": "n", "type": "decimal"}, _I + ".N.type", "must be one of string, int, long, float, double, boolean"),
    (_I + ".N", {"from": "n", "type": "int", "timestamp": True}, _I + ".N.timestamp", 'only allowed on "long" fields'),
    (_I + ".T", {"from": "t", "type": "long", "timestamp": {"formats": ["banana"]}}, _I + ".T.timestamp.formats[0]", "must be iso8601"),
    (_I + ".N", {"from": "a..b", "type": "int"}, _I + ".N.from", "dotted path"),
    (_I + ".N", {"from": "n", "type": "int", "colour": "red"}, _I + ".N.colour", "unknown key"),
    (_I + ".9X", {"from": "n", "type": "int"}, _I + ".9X", "Avro names"),
    ("datasets.items.fields.A", {"from": "a", "textual": True}, None, None),  # first textual field: fine
    ("datasets.interactions.source", "nowhere", "datasets.interactions.source", "names no source"),
    ("datasets.interactions", _DELETE, "datasets.interactions", "is required"),
    ("datasets.clicks", {"source": "orders", "fields": {}}, "datasets.clicks", "unknown dataset"),
    ("datasets.interactions.event_types.unmapped", "ignore", "datasets.interactions.event_types.unmapped", "must be one of keep, drop, reject"),
    ("datasets.interactions.event_types.drop", ["completed"], "datasets.interactions.event_types.drop", "both mapped and dropped"),
    ("datasets.items.event_types", {"map": {}}, "datasets.items.event_types", "only allowed on the interactions dataset"),
    ("datasets.interactions.rejected_row_columns", "order_id", "datasets.interactions.rejected_row_columns", "must be a list"),
    ("datasets.interactions.rejected_row_columns", ["order_id", " "], "datasets.interactions.rejected_row_columns[1]", "non-empty"),
    ("datasets.interactions.rejected_row_columns", ["order_id", 7], "datasets.interactions.rejected_row_columns[1]", "non-empty"),
    ("datasets.interactions.rejected_row_columns", ["order_id", "ORDER_ID"], "datasets.interactions.rejected_row_columns[1]",
     "repeats datasets.interactions.rejected_row_columns[0]"),
    ("datasets.interactions.rejected_row_columns", [], None, None),  # only the columns the rules read
    ("sources.orders.format", "xml", "sources.orders.format", "must be one of csv, jsonl, parquet, jdbc"),
    ("sources.orders.jdbc", {"url": "jdbc:postgresql://h/db", "table": "t"}, "sources.orders.jdbc", 'only allowed for format "jdbc"'),
    ("sources.db", {"format": "jdbc", "jdbc": {"url": "jdbc:x", "table": "t", "password": "hunter2"}}, "sources.db.jdbc.password", "plain passwords are not allowed"),
    ("sources.db", {"format": "jdbc", "jdbc": {"url": "jdbc:x"}}, "sources.db.jdbc", 'exactly one of "table" or "query"'),
    ("sources.db", {"format": "jdbc", "jdbc": {"url": "postgres://x", "table": "t"}}, "sources.db.jdbc.url", 'must start with "jdbc:"'),
    ("sources.f", {"format": "csv"}, "sources.f.path", "is required unless the source has a catalog table"),
    ("sources.f", {"format": "csv", "path": "x", "catalog": {"database": "d"}}, "sources.f.catalog.table", "is required"),
    ("item_ids.normalize", ["trim", "shout"], "item_ids.normalize[1]", "must be one of trim"),
    ("item_ids.normalize", [{"strip_prefix": None}], "item_ids.normalize[0].strip_prefix", "needs a value"),
    ("item_ids.fuzzy", {"interactions_key": "t", "items_key": "t", "max_distance": 9}, "item_ids.fuzzy.max_distance", "must be <= 5"),
    ("item_ids.fuzzy", {"interactions_key": "t"}, "item_ids.fuzzy.items_key", "is required"),
    ("run.max_rejected_share", 1.5, "run.max_rejected_share", "between 0 and 1"),
    ("run.keep_exports", 0, "run.keep_exports", "must be >= 1"),
    ("run.timestamp_floor", "last tuesday", "run.timestamp_floor", "ISO-8601"),
    ("run.readiness.min_users", "many", "run.readiness.min_users", "must be an integer"),
    ("version", 2, "version", "must be 1"),
]


@pytest.mark.parametrize("path,value,field,rule", CASES, ids=[c[0] + ":" + str(c[3]) for c in CASES])
def test_invalid_specs_name_the_field_and_the_rule(path, value, field, rule):
    spec = _broken(path, value)
    if field is None:
        load_spec(spec)
        return
    with pytest.raises(SpecError) as error:
        load_spec(spec)
    assert error.value.path == field
    assert rule in error.value.rule
    assert str(error.value).startswith(field + ": ")


def test_metadata_field_limits():
    spec = copy.deepcopy(SPEC)
    spec["datasets"]["interactions"]["fields"].update(
        {"M%d" % i: {"from": "m%d" % i, "type": "int"} for i in range(6)})
    with pytest.raises(SpecError, match=r"^datasets\.interactions\.fields: the interactions dataset allows at most 5 metadata fields \(got 6\)"):
        load_spec(spec)
    spec = copy.deepcopy(SPEC)
    spec["datasets"]["users"] = {"source": "orders", "fields": {"USER_ID": "customer_id"}}
    with pytest.raises(SpecError, match="the users dataset needs at least 1 metadata field"):
        load_spec(spec)
    spec["datasets"]["users"]["fields"].update({"M%d" % i: {"from": "m%d" % i, "type": "int"} for i in range(26)})
    with pytest.raises(SpecError, match="at most 25 metadata fields"):
        load_spec(spec)


def test_field_names_are_unique_regardless_of_case():
    spec = copy.deepcopy(SPEC)
    spec["datasets"]["interactions"]["fields"].update(
        {"Quantity": {"from": "q", "type": "int"}, "QUANTITY": {"from": "q2", "type": "int"}})
    with pytest.raises(SpecError) as error:
        load_spec(spec)
    assert error.value.path == "datasets.interactions.fields.QUANTITY"
    assert "duplicates the field Quantity" in error.value.rule


def test_at_most_one_textual_field():
    spec = copy.deepcopy(SPEC)
    spec["datasets"]["items"]["fields"].update({
        "DESCRIPTION": {"from": "d", "textual": True}, "SUMMARY": {"from": "s", "textual": True}})
    with pytest.raises(SpecError) as error:
        load_spec(spec)
    assert error.value.path == "datasets.items.fields.SUMMARY"
    assert "at most one textual field" in error.value.rule


def test_malformed_text_is_a_spec_error():
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec('{"sources": ')
    with pytest.raises(SpecError, match="cannot read spec file"):
        load_spec("/no/such/spec.yaml")


def test_spec_module_is_stdlib_only():
    """The drift Lambda and Python-shell jobs import it without Spark, awsglue or PyYAML."""
    code = (
        "import sys; sys.modules['yaml'] = None\n"
        "import export_spec as s, json\n"
        "s.load_spec(json.dumps(%r))\n"
        "bad = [m for m in ('pyspark', 'awsglue', 'boto3') if m in sys.modules]\n"
        "assert not bad, bad\n" % (SPEC,)
    )
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "glue"))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_python_shell_jobs_do_not_import_spark_or_awsglue_at_import_time():
    code = (
        "import sys, runpy\n"
        "for script in ('prepare', 'start_training'):\n"
        "    runpy.run_path('%s/glue/jobs/' + script + '.py', run_name='not_main')\n"
        "import personalize_export.finalize, personalize_export.glue_entry\n"
        "bad = [m for m in ('pyspark', 'awsglue') if m in sys.modules]\n"
        "assert not bad, bad\n" % REPO
    )
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "glue"))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
