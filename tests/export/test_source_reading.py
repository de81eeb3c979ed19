"""Reading sources: nothing mapped by position, merged or dropped unseen.

CSV files of one folder are read each by its own header; JSON lines are read one
document a line, each value by the JSON type it holds; records that cannot be read are
rejected as ``malformed_record`` and every physical line is accounted for.
"""
from __future__ import annotations

import json
import os

import pytest
from classified import transform
from pyspark.sql import types as T

from export_spec import load_spec
from personalize_export.export_job import run_export
from personalize_export.finalize import build_manifest
from personalize_export.sources import SourceReadError, columns_read, read_source, read_source_counted
from personalize_export.text import is_choice
from personalize_export.transform import ClassifyOptions

pytestmark = pytest.mark.spark
NOW = 1700000000
RUN = "20240101T000000Z-5eadc0"


def _spec(source, fields=None, datasets=None, share=0.1):
    return load_spec({
        "sources": {"events": source},
        "datasets": datasets or {"interactions": {"source": "events", "fields": fields or {
            "USER_ID": "user_id", "ITEM_ID": "item_id", "TIMESTAMP": "ts", "EVENT_TYPE": "event",
            "EVENT_VALUE": {"from": "amount", "type": "float", "nullable": True},
        }}},
        "run": {"max_rejected_share": share, "readiness": {"min_interactions": 1, "min_users": 1}},
    })


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _rows(valid):
    return sorted(tuple(r) for r in valid.collect())


def _classified(spark, spec, folder, dataset="interactions"):
    source = spec.sources[spec.datasets[dataset].source]
    frame = read_source(spark, source, folder, columns_read(spec, source.name))
    valid, rejected = transform(frame, spec.datasets[dataset], spec, ClassifyOptions(now_epoch=NOW))
    return _rows(valid), rejected.collect()


# --------------------------------------------------------------------------- CSV folders


def test_files_with_columns_in_other_orders_are_read_by_their_own_headers(spark, tmp_path):
    folder = str(tmp_path)
    _write(folder + "/events/a.csv", "user_id,item_id,ts,event,amount\nU1,I1,1600000000,buy,1.5\n")
    _write(folder + "/events/b.csv", "item_id,user_id,ts,event,amount\nI2,U2,1600000001,buy,2.5\n")
    # Other case and padding in the header name the same columns; an extra column is kept.
    _write(folder + "/events/c.csv", " Event ,AMOUNT,TS,Item_Id, user_id ,note\nbuy,3.5,1600000002,I3,U3,hello\n")
    spec = _spec({"format": "csv", "path": "events"})
    valid, rejected = _classified(spark, spec, folder)
    assert valid == [("U1", "I1", 1600000000, "buy", 1.5), ("U2", "I2", 1600000001, "buy", 2.5),
                     ("U3", "I3", 1600000002, "buy", 3.5)]
    assert rejected == []
    frame = read_source(spark, spec.sources["events"], folder, columns_read(spec, "events"))
    notes = {r["user_id"]: r["note"] for r in frame.collect()}
    assert notes == {"U1": None, "U2": None, "U3": "hello"}


def test_a_file_lacking_a_column_the_spec_reads_is_refused_by_name(spark, tmp_path):
    folder = str(tmp_path)
    _write(folder + "/events/a.csv", "user_id,item_id,ts,event,amount\nU1,I1,1600000000,buy,1.5\n")
    _write(folder + "/events/b.csv", "user_id,item_id,ts,amount\nU2,I2,1600000001,2.5\n")
    spec = _spec({"format": "csv", "path": "events"})
    with pytest.raises(SourceReadError, match=r"sources\.events: b\.csv: .*lacks the column\(s\) event"):
        read_source(spark, spec.sources["events"], folder)


def test_a_file_without_a_header_row_is_refused_not_read_by_position(spark, tmp_path):
    folder = str(tmp_path)
    _write(folder + "/events/a.csv", "user_id,item_id,ts,event,amount\nU1,I1,1600000000,buy,1.5\n")
    _write(folder + "/events/b.csv", "U2,I2,1600000001,buy,2.5\nU3,I3,1600000002,buy,3.5\n")
    spec = _spec({"format": "csv", "path": "events"})
    with pytest.raises(SourceReadError, match=r"b\.csv: the header U2,I2,.*without a header row"):
        read_source(spark, spec.sources["events"], folder, columns={"user_id", "item_id", "ts", "event", "amount"})


def test_a_header_that_repeats_a_column_says_so(spark, tmp_path):
    folder = str(tmp_path)
    _write(folder + "/one.csv", "user_id,item_id,user_id,ts,event,amount\nU1,I1,U9,1600000000,buy,1.5\n")
    spec = _spec({"format": "csv", "path": "one.csv"})
    with pytest.raises(SourceReadError, match=r"one\.csv: the header repeats column 'user_id' \(columns 1 and 3\)"):
        read_source(spark, spec.sources["events"], folder)
    # Case-insensitively, as the spec's column names are matched.
    _write(folder + "/two.csv", "ITEM_ID,user_id,item_id,ts,event,amount\nI1,U1,I2,1600000000,buy,1.5\n")
    spec = _spec({"format": "csv", "path": "two.csv"})
    with pytest.raises(SourceReadError, match=r"repeats column 'item_id' \(columns 1 and 3\)"):
        read_source(spark, spec.sources["events"], folder)


def test_files_in_subfolders_are_refused_and_hidden_files_are_listed(spark, tmp_path):
    folder = str(tmp_path)
    _write(folder + "/events/a.csv", "user_id,item_id,ts,event,amount\nU1,I1,1600000000,buy,1.5\n")
    _write(folder + "/events/.a.csv.crc", "checksum")
    _write(folder + "/events/_SUCCESS", "")
    _write(folder + "/events/empty.csv", "")  # no header, no rows: nothing to read, nothing lost
    spec = _spec({"format": "csv", "path": "events"})
    read = read_source_counted(spark, spec.sources["events"], folder)
    assert sorted(read.ignored_files) == [".a.csv.crc", "_SUCCESS"] and len(read.files) == 2
    assert read.frame.count() == 1 and read.lines.as_dict() == {"physical": 2, "headers": 1, "blank": 0}
    _write(folder + "/events/2024/b.csv", "user_id,item_id,ts,event,amount\nU2,I2,1600000001,buy,2.5\n")
    with pytest.raises(SourceReadError, match=r"sources\.events\.path: .* holds files in subfolders \(2024/b\.csv\)"):
        read_source(spark, spec.sources["events"], folder)


def test_a_column_whose_name_holds_a_dot_is_named_in_backticks(spark, tmp_path):
    folder = str(tmp_path)
    _write(folder + "/e.csv", "user.id,item_id,ts,event,amount\nU1,I1,1600000000,buy,1.5\n")
    spec = _spec({"format": "csv", "path": "e.csv"}, fields={
        "USER_ID": "`user.id`", "ITEM_ID": "item_id", "TIMESTAMP": "ts"})
    valid, _ = _classified(spark, spec, folder)
    assert valid == [("U1", "I1", 1600000000)]


# --------------------------------------------------------------------------- multi-line CSV


def _export_with_lines(spark, spec, folder, root):
    source = spec.sources["events"]
    report = run_export(spark, spec, "interactions", root, RUN,
                        lambda s: read_source_counted(spark, s, folder, columns_read(spec, s.name)), now_epoch=NOW)
    checks = {c["rule"]: c for c in build_manifest(spec, root, RUN)["readiness"]["checks"]}
    return report, checks, source


def test_an_unbalanced_quote_that_swallows_lines_is_malformed_and_fails_readiness(spark, tmp_path):
    folder = str(tmp_path)
    good = "".join("U%03d,I%03d,1600000000,buy,1.5\n" % (i, i) for i in range(40))
    swallowed = "".join("V%03d,I%03d,1600000000,buy,1.5\n" % (i, i) for i in range(30))
    _write(folder + "/e.csv", "user_id,item_id,ts,event,amount\n" + good + 'U906,"I001,1600000000,buy,1.5\n' + swallowed)
    spec = _spec({"format": "csv", "path": "e.csv", "options": {"multiLine": True, "escape": '"'}})
    report, checks, _ = _export_with_lines(spark, spec, folder, str(tmp_path / "root"))
    assert report["rows"] == 40 and report["rejected_by_reason"] == {"malformed_record": 1}
    assert report["lines"] == {"physical": 72, "headers": 1, "blank": 0, "in_records": 71, "merged_in_rejected": 30}
    assert checks["lines_accounted.interactions"]["passed"]
    merged = checks["merged_lines.interactions"]
    assert not merged["passed"] and merged["detail"].startswith("30 lines merged into rejected records")


def test_a_quote_closed_lines_later_merges_only_those_lines(spark, tmp_path):
    folder = str(tmp_path)
    rows = ["U%03d,I%03d,1600000000,buy,1.5" % (i, i) for i in range(50)]
    rows[10] = 'U010,"I010,1600000000,buy,1.5'
    rows[13] = 'U013,I013",1600000000,buy,1.5'  # the next quote closes the value three lines on
    _write(folder + "/e.csv", "user_id,item_id,ts,event,amount\n\n" + "\n".join(rows) + "\n\n")
    spec = _spec({"format": "csv", "path": "e.csv", "options": {"multiLine": True}})
    report, checks, _ = _export_with_lines(spark, spec, folder, str(tmp_path / "root"))
    assert report["rows_read"] == 47 and report["rows"] == 46
    assert report["rejected_by_reason"] == {"malformed_record": 1}
    assert report["lines"]["merged_in_rejected"] == 3 and report["lines"]["blank"] == 2
    assert checks["lines_accounted.interactions"]["passed"] and checks["merged_lines.interactions"]["passed"]


def test_a_line_break_inside_free_text_is_not_malformed(spark, tmp_path):
    folder = str(tmp_path)
    _write(folder + "/p.csv", 'sku,title,description\nS1,Hat,"warm\nand soft"\nS2,Cap,plain\n')
    spec = load_spec({
        "sources": {"events": {"format": "csv", "path": "p.csv", "options": {"multiLine": True}}},
        "datasets": {
            "interactions": {"source": "events", "fields": {"USER_ID": "sku", "ITEM_ID": "sku", "TIMESTAMP": "sku"}},
            "items": {"source": "events", "fields": {
                "ITEM_ID": "sku", "TITLE": {"from": "title", "categorical": True},
                "DESCRIPTION": {"from": "description", "textual": True}}},
        },
    })
    valid, rejected = _classified(spark, spec, folder, "items")
    assert valid == [("S1", "Hat", "warm\nand soft"), ("S2", "Cap", "plain")] and rejected == []


def test_lines_a_reader_drops_fail_readiness_with_their_number(spark, tmp_path):
    folder = str(tmp_path)
    lines = ["U%03d,I%03d,1600000000,buy,1.5" % (i, i) for i in range(20)]
    lines[5] = "U005,I005,1600000000,buy,1.5,extra,values"
    _write(folder + "/e.csv", "user_id,item_id,ts,event,amount\n" + "\n".join(lines) + "\n")
    spec = _spec({"format": "csv", "path": "e.csv", "options": {"mode": "DROPMALFORMED"}})
    report, checks, _ = _export_with_lines(spark, spec, folder, str(tmp_path / "root"))
    assert report["rows_read"] == 19
    check = checks["lines_accounted.interactions"]
    assert not check["passed"] and check["detail"].startswith("1 of 21 physical lines are not accounted for")


def test_a_line_with_more_values_than_the_header_is_malformed(spark, tmp_path):
    folder = str(tmp_path)
    _write(folder + "/e.csv", "user_id,item_id,ts,event,amount\nU1,I1,1600000000,buy,1.5\nU2,I2,1600000000,buy,1.5,surplus\n")
    spec = _spec({"format": "csv", "path": "e.csv"})
    valid, rejected = _classified(spark, spec, folder)
    assert valid == [("U1", "I1", 1600000000, "buy", 1.5)]
    assert [(r["reason"], r["_corrupt_record"]) for r in rejected] == [("malformed_record", "U2,I2,1600000000,buy,1.5,surplus")]


# --------------------------------------------------------------------------- JSON lines


def _jsonl(path, documents):
    _write(path, "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in documents))


USERS = {"users": {"source": "events", "fields": {
    "USER_ID": "uid",
    "INTERESTS": {"from": "interests", "categorical": True, "nullable": True},
    "AGE": {"from": "profile.age", "type": "int", "nullable": True},
    "VIP": {"from": "vip", "type": "boolean", "nullable": True},
}}, "interactions": {"source": "events", "fields": {"USER_ID": "uid", "ITEM_ID": "uid", "TIMESTAMP": "ts"}}}


def test_a_field_whose_json_type_varies_is_read_by_each_documents_own_type(spark, tmp_path):
    folder = str(tmp_path)
    docs = [{"uid": "K%d" % i, "interests": ["a", "b"], "profile": {"age": 30}, "vip": True} for i in range(5)]
    docs += [
        {"uid": "K5", "interests": "c", "profile": {"age": "31"}, "vip": "yes"},
        {"uid": "K6", "interests": '["x","y"]', "profile": {"age": 32.0}, "vip": 0},  # a string, not an array
        {"uid": "K7", "interests": ["d", 7, None], "profile": {"age": None}, "vip": None},
    ]
    _jsonl(folder + "/u.jsonl", docs)
    spec = _spec({"format": "jsonl", "path": "u.jsonl"}, datasets=USERS)
    frame = read_source(spark, spec.sources["events"], folder)
    assert is_choice(frame.schema["interests"].dataType) and is_choice(frame.schema["vip"].dataType)
    valid, rejected = _classified(spark, spec, folder, "users")
    assert rejected == []
    assert valid == [("K%d" % i, "a|b", 30, True) for i in range(5)] + [
        ("K5", "c", 31, True), ("K6", '["x","y"]', 32, False), ("K7", "d|7", None, None)]


def test_a_string_where_other_documents_hold_an_object_is_rejected_by_document(spark, tmp_path):
    folder = str(tmp_path)
    _jsonl(folder + "/u.jsonl", [
        {"uid": "K1", "profile": {"age": 30}}, {"uid": "K2", "profile": "age=30"}, {"uid": "K3", "profile": None},
        {"uid": "K4", "profile": 7},
    ])
    spec = _spec({"format": "jsonl", "path": "u.jsonl"}, datasets={"users": {"source": "events", "fields": {
        "USER_ID": "uid", "AGE": {"from": "profile.age", "type": "int", "nullable": True}}},
        "interactions": USERS["interactions"]})
    valid, rejected = _classified(spark, spec, folder, "users")
    assert valid == [("K1", 30), ("K3", None)]
    assert sorted((r["uid"], r["reason"], r["rejected_field"]) for r in rejected) == [
        ("K2", "type_mismatch", "AGE"), ("K4", "type_mismatch", "AGE")]


@pytest.mark.parametrize("line, why", [
    ('{"uid":"K4","uid":"K5"}', "the document repeats the key 'uid'"),
    ('{"uid":"K4","profile":{"age":1,"age":2}}', "the document repeats the key 'age'"),
    ('{"uid":"K4"} {"uid":"K5"}', "the line holds 2 JSON documents; one document a line"),
    ('{"uid":"K4"}{"uid":"K5"}{"uid":"K6"}', "the line holds 3 JSON documents; one document a line"),
    ('{"uid":"K4"} trailing', "text after the JSON document: 'trailing'"),
    ('["K4"]', "the line holds a JSON array, not an object"),
    ('{"uid":"K4"', "not valid JSON"),
])
def test_a_line_that_is_not_exactly_one_document_is_rejected_with_its_reason(spark, tmp_path, line, why):
    folder = str(tmp_path)
    _jsonl(folder + "/u.jsonl", [{"uid": "K1", "ts": 1600000000}, line, "", {"uid": "K2", "ts": 1600000001}])
    spec = _spec({"format": "jsonl", "path": "u.jsonl"}, fields=USERS["interactions"]["fields"])
    valid, rejected = _classified(spark, spec, folder)
    assert valid == [("K1", "K1", 1600000000), ("K2", "K2", 1600000001)]
    assert len(rejected) == 1
    row = rejected[0]
    assert row["reason"] == "malformed_record" and row["_corrupt_record"] == line and row["_corrupt_reason"].startswith(why)
    read = read_source_counted(spark, spec.sources["events"], folder)
    assert read.lines.as_dict() == {"physical": 4, "headers": 0, "blank": 1}


def test_the_glue_shape_of_a_choice_is_what_the_transforms_resolve(spark):
    # What DynamicFrame.toDF() gives a field that is an array in some records and a
    # string in others: a struct with one member per type.
    choice = T.StructType([T.StructField("array", T.ArrayType(T.StringType())), T.StructField("string", T.StringType())])
    schema = T.StructType([T.StructField("uid", T.StringType()), T.StructField("interests", choice)])
    frame = spark.createDataFrame([("K1", (["a", "b"], None)), ("K2", (None, "c;d"))], schema)
    spec = load_spec({"sources": {"events": {"format": "jsonl", "catalog": {"database": "d", "table": "t"}}},
                      "datasets": {"users": {"source": "events", "fields": {"USER_ID": "uid", "INTERESTS": {
                          "from": "interests", "categorical": True, "delimiter": ";"}}},
                          "interactions": USERS["interactions"]}})
    valid, rejected = transform(frame, spec.datasets["users"], spec, ClassifyOptions(now_epoch=NOW))
    assert _rows(valid) == [("K1", "a|b"), ("K2", "c|d")] and rejected.count() == 0


def test_a_wrapped_value_whose_type_varies_is_unwrapped_by_its_own_type(spark, tmp_path):
    folder = str(tmp_path)
    _jsonl(folder + "/u.jsonl", [
        {"uid": "K1", "ts": {"$date": "2021-03-04T05:06:07Z"}},
        {"uid": "K2", "ts": {"$date": {"$numberLong": "1614834367000"}}},
        {"uid": "K3", "ts": {"$date": 1614834367000}},
        {"uid": "K4", "ts": 1614834367.0},
    ])
    spec = _spec({"format": "jsonl", "path": "u.jsonl"}, fields={
        "USER_ID": "uid", "ITEM_ID": "uid", "TIMESTAMP": {"from": "ts", "timestamp": {"formats": ["iso8601", "epoch_seconds"]}}})
    valid, rejected = _classified(spark, spec, folder)
    # A $date number is epoch milliseconds by definition, even with only epoch_seconds listed.
    assert valid == [("K%d" % i, "K%d" % i, 1614834367) for i in range(1, 5)] and rejected == []


@pytest.mark.parametrize("options, message", [
    ({"multiLine": True}, r"sources\.events\.options\.multiLine: JSON lines are read one document a line"),
    ({"encoding": "UTF-16"}, r"sources\.events\.options\.encoding: JSON lines are read as UTF-8"),
])
def test_json_lines_reader_options_that_would_not_apply_are_refused(spark, tmp_path, options, message):
    _jsonl(str(tmp_path) + "/u.jsonl", [{"uid": "K1", "ts": 1600000000}])
    spec = _spec({"format": "jsonl", "path": "u.jsonl", "options": options}, fields=USERS["interactions"]["fields"])
    with pytest.raises(SourceReadError, match=message):
        read_source(spark, spec.sources["events"], str(tmp_path))


def test_item_ids_held_as_a_choice_reconcile_by_their_own_type(spark):
    from personalize_export.reconcile import item_catalog

    choice = T.StructType([T.StructField("long", T.LongType()), T.StructField("string", T.StringType())])
    schema = T.StructType([T.StructField("sku", choice), T.StructField("title", T.StringType())])
    items = spark.createDataFrame([((7, None), "Hat"), ((None, " 0008 "), "Cap")], schema)
    spec = load_spec({"sources": {"events": {"format": "jsonl", "catalog": {"database": "d", "table": "t"}}},
                      "item_ids": {"normalize": ["strip_leading_zeros"]},
                      "datasets": {"items": {"source": "events", "fields": {
                          "ITEM_ID": "sku", "TITLE": {"from": "title", "categorical": True}}},
                          "interactions": USERS["interactions"]}})
    rows = sorted(tuple(r) for r in item_catalog(items, spec).collect())
    assert rows == [("0008", "8"), ("7", "7")]
