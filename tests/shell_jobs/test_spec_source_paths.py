"""Source paths: dots step into nested documents; backticks name a column holding dots."""
from __future__ import annotations

import pytest
from export_fixtures import SPEC

from export_spec import SpecError, load_spec, source_path_parts


@pytest.mark.parametrize("path, parts", [
    ("user_id", ("user_id",)),
    ("profile.age", ("profile", "age")),
    ("`user.id`", ("user.id",)),
    ("profile.`first.name`", ("profile", "first.name")),
    ("`a.b`.`c.d`.e", ("a.b", "c.d", "e")),
])
def test_source_path_parts(path, parts):
    assert source_path_parts(path) == parts


@pytest.mark.parametrize("path", ["`user.id", "``", "a..b", "`a`b", "a`b`", "profile.", ".age"])
def test_a_broken_source_path_names_the_field(path):
    spec = {**SPEC, "datasets": {**SPEC["datasets"], "interactions": {
        **SPEC["datasets"]["interactions"],
        "fields": {**SPEC["datasets"]["interactions"]["fields"], "USER_ID": path}}}}
    with pytest.raises(SpecError, match=r"^datasets\.interactions\.fields\.USER_ID\.from: must be a column name or a dotted path"):
        load_spec(spec)


def test_the_columns_each_job_reads_keep_a_dotted_name_whole():
    spec = {**SPEC, "datasets": {**SPEC["datasets"], "interactions": {
        **SPEC["datasets"]["interactions"],
        "fields": {**SPEC["datasets"]["interactions"]["fields"], "USER_ID": "`customer.id`"}}}}
    loaded = load_spec(spec)
    assert loaded.datasets["interactions"].field("USER_ID").source_column == "customer.id"
    assert "customer.id" in loaded.source_columns()[("retail", "orders")]["export_interactions"]
