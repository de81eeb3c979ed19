"""Unit tests of the Lambda domain code (no state machine involved)."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from personalize_pipeline import api_requests, filter_expressions, gate, naming, params
from personalize_pipeline.errors import ParamsInvalid, SchemaChangeNotAllowed, TrainingDataNotReady
from personalize_pipeline.readiness import check_readiness, count_per_solution
from personalize_pipeline.schema_rules import check_schema_change, same_fields
from personalize_pipeline.waiting import WaitPolicy, next_wait_seconds

from .exports import INTERACTIONS_SCHEMA, ITEMS_SCHEMA, full_params


def with_export(p: dict) -> dict:
    return {**p, "export": {"manifest_uri": "s3://b/personalize/exports/r1/manifest.json", "run_id": "r1"}}


def plan_for(p: dict, partition: str = "aws", region: str = "eu-west-1") -> dict:
    normalised = params.parse_params(with_export(p))
    manifest = {"datasets": {"interactions": {"prefix": "interactions/", "rows": 2000}, "items": {"prefix": "items/", "rows": 10}}}
    schemas = {"interactions": json.dumps(INTERACTIONS_SCHEMA), "items": json.dumps(ITEMS_SCHEMA)}
    return params.build_plan(normalised, manifest, "s3://b/personalize/exports/r1/manifest.json", schemas, partition, region, "111122223333", {}, "/pp/dev")


def in_partition(p: dict, partition: str) -> dict:
    """The params with their recipe and key ARNs written for another partition."""
    text = json.dumps(p).replace('"arn:aws:', f'"arn:{partition}:')
    return json.loads(text)


def _plan_arns(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key.lower().endswith("arn") and isinstance(item, str):
                yield key, item
            yield from _plan_arns(item)
    elif isinstance(value, list):
        for item in value:
            yield from _plan_arns(item)


@pytest.mark.parametrize("partition, region", [("aws", "eu-west-1"), ("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")])
def test_every_planned_personalize_arn_names_the_pipeline_partition(partition, region):
    plan = plan_for(in_partition(full_params(), partition), partition, region)
    assert plan["partition"] == partition
    personalize_arns = [(k, v) for k, v in _plan_arns(plan) if ":personalize:" in v and ":::recipe/" not in v]
    assert len(personalize_arns) > 8
    for key, arn in personalize_arns:
        assert arn.startswith(f"arn:{partition}:personalize:{region}:111122223333:"), (key, arn)
    assert naming.import_job_arn(partition, region, "111122223333", "j") == f"arn:{partition}:personalize:{region}:111122223333:dataset-import-job/j"
    assert api_requests.validate_all(plan, f"arn:{partition}:iam::111122223333:role/p") > 10


@pytest.mark.parametrize("field, change", [
    ("solutions[1].recipe_arn", lambda p: p["solutions"][1].update(recipe_arn="arn:aws:personalize:::recipe/aws-user-personalization")),
    ("dataset_group.kms_key_arn", lambda p: p.update(dataset_group={"kms_key_arn": "arn:aws:kms:cn-north-1:111122223333:key/k"})),
])
def test_arns_of_another_partition_are_refused_naming_the_field(field, change):
    p = in_partition(full_params(), "aws-cn")
    change(p)
    with pytest.raises(ParamsInvalid) as info:
        plan_for(p, "aws-cn", "cn-north-1")
    assert str(info.value).startswith(f"{field}: arn:aws:")
    assert "partition aws-cn" in str(info.value)


@pytest.mark.parametrize(
    "change, field, rule",
    [
        (lambda p: p.pop("name"), "name", "is required"),
        (lambda p: p.update(colour="blue"), "colour", "unknown field"),
        (lambda p: p["solutions"][0].update(recipe_arn="popularity"), "solutions[0].recipe_arn", "must match"),
        (lambda p: p["solutions"][0].update(training_mode="UPDATE"), "solutions[0].training_mode", "User-Personalization"),
        (lambda p: p["campaigns"][0].update(solution="nope"), "campaigns[0].solution", "is not one of the solutions"),
        (lambda p: p["quality_gate"]["thresholds"].update(precision_at_11=0.1), "quality_gate.thresholds.precision_at_11", "unknown metric"),
        (lambda p: p.update(import_mode="DELTA"), "import_mode", "must be one of follow_export, full_only"),
        (lambda p: p.update(import_mode="FULL"), "import_mode", "Write 'full_only' to import only FULL exports"),
        (lambda p: p.update(import_mode="INCREMENTAL"), "import_mode", "re-sends the whole history. Write 'follow_export'"),
        (lambda p: p["solutions"][0].update(training_mode="DELTA"), "solutions[0].training_mode", "FULL, UPDATE or follow_import"),
        (lambda p: p.update(delete_vanished_users="yes"), "delete_vanished_users", "must be true or false"),
        (lambda p: p.update(waits={"imports": {"max_seconds": 900}}), "waits.imports.max_seconds", "between"),
        (lambda p: p.update(readiness={"min_interactions": 10}), "readiness.min_interactions", "at least 1000"),
        (lambda p: p.update(solutions=[]), "solutions", "at least one"),
        (lambda p: p["solutions"][1].update(recipe_arn="arn:aws:personalize:::recipe/aws-user-personalization-v2", training_mode="UPDATE"),
         "solutions[1].training_mode", "User-Personalization-v2 and the other recipes train FULL only"),
        (lambda p: p["campaigns"][0].update(campaign_config={"syncWithLatestSolutionVersion": True}),
         "campaigns[0].campaign_config.syncWithLatestSolutionVersion", "without the quality gate"),
        (lambda p: p["filters"][0].update(expression='EXCLUDE ItemID WHERE Items.GENRE IN ("a") AND Users.AGE > 3'),
         "filters[0].expression", "use the dataset of the first condition (Items)"),
        (lambda p: p.update(tags={"aws:owner": "x"}), "tags.aws:owner", "reserved"),
        (lambda p: p.update(tags={f"k{i}": "v" for i in range(50)}), "tags", "at most 49 tags"),
    ],
)
def test_params_schema_errors_name_the_field_and_rule(change, field, rule):
    p = with_export(full_params())
    change(p)
    with pytest.raises(ParamsInvalid) as info:
        params.parse_params(p)
    assert str(info.value).startswith(f"{field}:")
    assert rule in str(info.value)


def test_params_defaults_keep_auto_training_off():
    normalised = params.parse_params(with_export(full_params()))
    assert [s["perform_auto_training"] for s in normalised["solutions"]] == [False, False]
    assert normalised["import_mode"] == "follow_export"
    assert normalised["delete_vanished_users"] is False
    assert normalised["gate"]["tolerance"] == 0.01


def test_plan_resolves_manifest_relative_prefixes_and_validates():
    plan = plan_for(full_params())
    assert [d["dataLocation"] for d in plan["datasets"]] == ["s3://b/personalize/exports/r1/interactions/", "s3://b/personalize/exports/r1/items/"]
    assert plan["datasetGroup"]["arn"] == "arn:aws:personalize:eu-west-1:111122223333:dataset-group/shop"
    assert api_requests.validate_all(plan, "arn:aws:iam::111122223333:role/p") > 10


def test_botocore_model_errors_name_the_request_field():
    plan = plan_for(full_params())
    plan["campaigns"][0]["campaignConfig"] = {"itemExplorationConfig": {"explorationWeight": 0.3}}
    with pytest.raises(ParamsInvalid) as info:
        api_requests.validate_all(plan, "arn:aws:iam::111122223333:role/p")
    assert "campaigns.home" in str(info.value) and "explorationWeight" in str(info.value)


def test_model_maximums_and_patterns_are_checked_beyond_botocore():
    with pytest.raises(ParamsInvalid, match=r"CreateFilter.filterExpression: at most 2500 characters"):
        api_requests.validate_request("filters.x", "CreateFilter", {
            "name": "f", "datasetGroupArn": "arn:aws:personalize:eu-west-1:1:dataset-group/g", "filterExpression": "x" * 2501,
        })
    with pytest.raises(ParamsInvalid, match=r"CreateSchema.name: 'a b' does not match"):
        api_requests.validate_request("datasets.items.schema", "CreateSchema", {"name": "a b", "schema": "{}"})


@given(st.lists(st.text(alphabet="abcXYZ019-_ .:/", min_size=1, max_size=40), min_size=1, max_size=4))
@settings(max_examples=50, deadline=None)
def test_resource_names_are_always_valid_and_deterministic(parts):
    name = naming.resource_name(*parts)
    assert len(name) <= 63
    assert api_requests.service_model().shape_for("Name").metadata["pattern"]
    import re

    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9\-_]*", name)
    assert naming.resource_name(*parts) == name


@given(polls=st.integers(0, 200), previous=st.integers(1, 300), waited=st.integers(0, 10_000), expected=st.one_of(st.none(), st.integers(1, 20_000)))
@settings(max_examples=200, deadline=None)
def test_waits_are_capped_and_within_the_limit(polls, previous, waited, expected):
    policy = WaitPolicy(first_seconds=30, max_seconds=300, limit_seconds=10_000)
    seconds = next_wait_seconds(policy, polls, previous, waited, expected)
    assert 1 <= seconds <= max(1, policy.limit_seconds - waited)
    is_first = polls <= 1 and waited == 0
    if not (expected and is_first):
        # Only a history-sized first wait may exceed the cap.
        assert seconds <= policy.max_seconds


def test_waits_grow_without_history_and_jump_with_history():
    policy = WaitPolicy(first_seconds=60, max_seconds=300, limit_seconds=86_400)
    waits, waited, previous = [], 0, 0
    for polls in range(1, 7):
        previous = next_wait_seconds(policy, polls, previous, waited, None)
        waits.append(previous)
        waited += previous
    assert waits == [60, 120, 240, 300, 300, 300]
    assert next_wait_seconds(policy, 1, 0, 0, 7200) == 6840
    assert next_wait_seconds(policy, 2, 6840, 6840, 7200) == 216


def test_gate_thresholds_and_serving_comparison():
    rules = {"thresholds": {"precision_at_10": 0.1}, "compareWithServing": True, "tolerance": 0.02, "compareMetrics": ["precision_at_10"]}
    assert gate.judge({"precision_at_10": 0.15}, {"precision_at_10": 0.16}, rules) == []
    assert gate.judge({"precision_at_10": 0.15}, None, rules) == []
    (reason,) = gate.judge({"precision_at_10": 0.15}, {"precision_at_10": 0.2}, rules)
    assert "worse than the served version's 0.2000" in reason
    (reason,) = gate.judge({"precision_at_10": 0.05}, None, rules)
    assert "below the threshold 0.1000" in reason
    assert gate.judge({}, None, rules) == ["precision_at_10 is missing from the new version's metrics"]


@pytest.mark.parametrize("expression", [
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")',
    'INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY) AND Items.PRICE <= 10 OR Items.PRICE > $MIN',
    'EXCLUDE ItemID WHERE Items.GENRE NOT IN ("a", "b") IF CurrentUser.AGE >= 18 AND CurrentUser.TIER IN ("gold")',
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*") | INCLUDE ItemID WHERE Items.X IN ("y")',
    'INCLUDE UserID WHERE Users.SEGMENT IN ("seg1")',
])
def test_documented_filter_expressions_pass(expression):
    assert filter_expressions.syntax_problem(expression) is None


@pytest.mark.parametrize("expression, problem", [
    ('EXCLUDE ItemID Items.X IN ("a")', "expected WHERE"),
    ('DROP ItemID WHERE Items.X IN ("a")', "expected INCLUDE or EXCLUDE"),
    ('EXCLUDE ItemID WHERE Items.X IN "a"', "expected ( after IN"),
    ('EXCLUDE ItemID WHERE Items.X IN ("a"', "expected , or )"),
    ('EXCLUDE ItemID WHERE Items.PRICE < "cheap"', "compares numbers"),
    ('EXCLUDE ItemID WHERE Stock.X IN ("a")', "expected a field as"),
    ('EXCLUDE ItemID WHERE Items.X IN ("a") IF Items.Y IN ("b")', "CurrentUser.FIELD"),
    ('EXCLUDE ItemID WHERE Items.X IN ("a") extra', "unexpected 'extra'"),
    ('EXCLUDE ItemID WHERE Items.X IN ("a") |', "expression ends"),
])
def test_filter_expression_errors_say_where(expression, problem):
    assert problem in (filter_expressions.syntax_problem(expression) or "")


def test_readiness_counts_each_solution_after_its_event_filters():
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE", "u1,i1,1,click,0.5", "u1,i2,2,purchase,3", "u2,i1,3,purchase,1", "",
             "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE", "u3,i3,4,purchase,", ""]
    solutions = [{"key": "all", "eventType": None, "eventValueThreshold": None},
                 {"key": "buys", "eventType": "purchase", "eventValueThreshold": None},
                 {"key": "big-buys", "eventType": "purchase", "eventValueThreshold": "2"},
                 {"key": "valued", "eventType": None, "eventValueThreshold": "1"}]
    assert count_per_solution(lines, solutions) == {"all": 4, "buys": 3, "big-buys": 2, "valued": 3}


def test_gate_data_change_figures():
    change = gate.data_change({"runId": "r1", "rows": {"interactions": 2000, "items": 10}},
                              {"runId": "r2", "rows": {"interactions": 1500, "items": 10, "users": 5}})
    assert change["rows"]["interactions"] == {"served": 2000, "new": 1500, "changePercent": -25.0}
    assert change["rows"]["users"] == {"served": None, "new": 5, "changePercent": None}
    assert change["summary"] == "trained on export r1 vs r2: interactions 2000 -> 1500 (-25.0%), items 10 -> 10 (+0.0%), users None -> 5"
    assert gate.data_change(None, {"runId": "r2", "rows": {}})["summary"] == "no record of the served version's data"


def test_cosmetic_schema_changes_are_recognised():
    reordered = json.loads(json.dumps(INTERACTIONS_SCHEMA))
    reordered["fields"].reverse()
    reordered["version"] = "9"
    assert same_fields(json.dumps(INTERACTIONS_SCHEMA), json.dumps(reordered))
    categorical = json.loads(json.dumps(INTERACTIONS_SCHEMA))
    categorical["fields"][3]["categorical"] = True
    assert not same_fields(json.dumps(INTERACTIONS_SCHEMA), json.dumps(categorical))
    with pytest.raises(SchemaChangeNotAllowed, match="EVENT_TYPE"):
        check_schema_change("interactions", json.dumps(INTERACTIONS_SCHEMA), json.dumps(categorical))
    textual = json.loads(json.dumps(ITEMS_SCHEMA))
    textual["fields"][1]["textual"] = True
    with pytest.raises(SchemaChangeNotAllowed, match="attributes of fields \\['CATEGORY'\\]"):
        check_schema_change("items", json.dumps(ITEMS_SCHEMA), json.dumps(textual))


def test_schema_change_rules():
    old = json.dumps(ITEMS_SCHEMA)
    added_nullable = json.loads(old)
    added_nullable["fields"].append({"name": "BRAND", "type": ["null", "string"]})
    check_schema_change("items", old, json.dumps(added_nullable))
    added_required = json.loads(old)
    added_required["fields"].append({"name": "BRAND", "type": "string"})
    with pytest.raises(SchemaChangeNotAllowed, match="not nullable"):
        check_schema_change("items", old, json.dumps(added_required))
    removed = json.loads(old)
    removed["fields"].pop()
    with pytest.raises(SchemaChangeNotAllowed, match="removed"):
        check_schema_change("users", old, json.dumps(removed))
    with pytest.raises(SchemaChangeNotAllowed, match="interactions"):
        check_schema_change("interactions", json.dumps(INTERACTIONS_SCHEMA), json.dumps({"fields": []}))
    check_schema_change("interactions", json.dumps(INTERACTIONS_SCHEMA), json.dumps(INTERACTIONS_SCHEMA))


def test_readiness_names_the_failed_rule():
    rules = {"minInteractions": 1000}
    ok = {"runId": "r", "readiness": {"passed": True, "checks": []}, "rows": {"interactions": 1500}}
    assert check_readiness(ok, rules)["passed"] is True
    bad = {"runId": "r", "readiness": {"passed": False, "checks": [{"rule": "min_users", "passed": False, "detail": "12 users"}]}, "rows": {"interactions": 900}}
    with pytest.raises(TrainingDataNotReady) as info:
        check_readiness(bad, rules)
    assert "min_users: 12 users" in str(info.value)
    assert "not enough data: the interactions export has 900 rows" in str(info.value)


def test_the_documented_params_example_is_valid():
    """The complete example in docs/training.md passes the schema and the model check."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text(encoding="utf-8")
    example = json.loads(re.search(r"### Complete example\s+```json\n(.*?)```", text, re.S).group(1))
    normalised = params.parse_params(example)
    manifest = {"datasets": {"interactions": {"prefix": "interactions/", "rows": 5000}}}
    plan = params.build_plan(normalised, manifest, example["export"]["manifest_uri"], {"interactions": json.dumps(INTERACTIONS_SCHEMA)},
                             "aws", "eu-west-1", "111122223333", {}, "/personalize-pipeline/dev")
    assert api_requests.validate_all(plan, "arn:aws:iam::111122223333:role/personalize") > 0
    assert plan["datasetGroup"]["kmsKeyArn"].startswith("arn:aws:kms:")


def test_handlers_log_json_with_the_execution_as_correlation_id(capsys):
    from types import SimpleNamespace

    from personalize_pipeline import handlers

    context = SimpleNamespace(invoked_function_arn="arn:aws:lambda:eu-west-1:111122223333:function:f", aws_request_id="req-1")
    with pytest.raises(TrainingDataNotReady):
        handlers.check_readiness({"executionName": "run-42", "export": {"readiness": {"passed": False, "checks": []}, "rows": {}},
                                  "rules": {"minInteractions": 1000}}, context)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (entry,) = [line for line in lines if line["message"] == "step failed"]
    assert entry["correlation_id"] == "run-42"
    assert entry["function"] == "check_readiness"
    assert entry["error"] == "TrainingDataNotReady" and "not enough data" in entry["detail"]


def test_solution_settings_compare_only_what_the_params_set():
    from personalize_pipeline import steps

    recipe = "arn:aws:personalize:::recipe/aws-user-personalization"
    existing = {"recipeArn": recipe, "performHPO": False, "performAutoTraining": False,
                "solutionConfig": {"eventValueThreshold": "0", "algorithmHyperParameters": {"hidden_dimension": "149"},
                                   "autoTrainingConfig": {"schedulingExpression": "rate(7 days)"}}}
    solution = {"recipeArn": recipe, "performHPO": False, "eventType": None, "performAutoTraining": False,
                "solutionConfig": {"eventValueThreshold": "0"}}
    # Defaults Personalize describes but the params never set are not changes.
    assert steps._fixed_setting_changes(existing, solution) == []
    assert steps._updatable_changes(existing, solution) == {}
    changed = {**solution, "performAutoTraining": True,
               "solutionConfig": {"eventValueThreshold": "1", "autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}}}
    assert steps._fixed_setting_changes(existing, changed) == ["solution_config.eventValueThreshold '0' -> '1'"]
    assert steps._updatable_changes(existing, changed) == {"performAutoTraining": True, "autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}}
