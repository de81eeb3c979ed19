"""Which Hive type changes keep every old value readable (widening) and which do not."""
from __future__ import annotations

import pytest

from schema_drift.column_types import INCOMPATIBLE, SAME, WIDENING, compare_types, parse_type

CASES = [
    ("int", "int", SAME),
    ("INT", "integer", SAME),
    ("decimal", "decimal(10,0)", SAME),
    ("tinyint", "smallint", WIDENING),
    ("smallint", "int", WIDENING),
    ("int", "bigint", WIDENING),
    ("bigint", "int", INCOMPATIBLE),
    ("float", "double", WIDENING),
    ("double", "float", INCOMPATIBLE),
    ("int", "double", WIDENING),
    ("bigint", "double", INCOMPATIBLE),  # 2^53 and above lose precision
    ("int", "float", INCOMPATIBLE),
    ("smallint", "float", WIDENING),
    ("int", "decimal(10,0)", WIDENING),
    ("int", "decimal(9,0)", INCOMPATIBLE),
    ("decimal(10,2)", "decimal(12,2)", WIDENING),
    ("decimal(10,2)", "decimal(12,4)", WIDENING),
    ("decimal(10,2)", "decimal(10,4)", INCOMPATIBLE),
    ("decimal(10,2)", "decimal(10,1)", INCOMPATIBLE),
    ("varchar(10)", "varchar(20)", WIDENING),
    ("varchar(20)", "varchar(10)", INCOMPATIBLE),
    ("char(3)", "string", WIDENING),
    ("date", "timestamp", WIDENING),
    ("timestamp", "date", INCOMPATIBLE),
    ("int", "string", INCOMPATIBLE),
    ("string", "bigint", INCOMPATIBLE),
    ("boolean", "string", INCOMPATIBLE),
    ("array<int>", "array<bigint>", WIDENING),
    ("array<bigint>", "array<int>", INCOMPATIBLE),
    ("array<string>", "string", INCOMPATIBLE),
    ("map<string,int>", "map<string,bigint>", WIDENING),
    ("map<string,int>", "map<int,int>", INCOMPATIBLE),
    ("struct<age:int,city:string>", "struct<age:int,city:string,zip:string>", WIDENING),
    ("struct<age:int,city:string>", "struct<age:bigint,city:string>", WIDENING),
    ("struct<age:int,city:string>", "struct<city:string,age:int>", SAME),
    ("struct<age:int,city:string>", "struct<city:string>", INCOMPATIBLE),
    ("struct<age:int>", "struct<age:string>", INCOMPATIBLE),
    ("struct<tags:array<struct<k:string,v:int>>>", "struct<tags:array<struct<k:string,v:bigint>>>", WIDENING),
    ("some<unbalanced", "some<unbalanced", SAME),
    ("some<unbalanced", "other<unbalanced", INCOMPATIBLE),
]


@pytest.mark.parametrize("old,new,expected", CASES, ids=["%s->%s" % (o, n) for o, n, _ in CASES])
def test_compare_types(old, new, expected):
    assert compare_types(old, new) == expected


def test_parse_renders_nested_types_back():
    text = "struct<id:string,tags:array<string>,attrs:map<string,decimal(10,2)>>"
    assert parse_type(text).render() == text


def test_unparseable_type_is_kept_as_text():
    parsed = parse_type("struct<a:int")
    assert parsed.kind == "opaque" and parsed.name == "struct<a:int"
