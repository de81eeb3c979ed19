"""The dashboard and alarms, rendered from the complete example for concrete
values: each widget is a kind CloudWatch draws, and every metric it reads is
one Finalize publishes (cloudwatch_metrics.py) under the dimensions it
publishes it with, so the two cannot drift apart."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from personalize_pipeline import cloudwatch_metrics as cw

EXAMPLE = "retail-recs"  # the complete example's name
# Widget types of the dashboard body structure:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer"}
PERSONALIZE_OFFLINE_METRICS = {
    "coverage", "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10", "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5", "precision_at_10", "precision_at_25",
}
SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s+MetricName=\"([^\"]+)\"',\s*'(\w+)',\s*(\d+)\)")
ALARM_FIELDS = ("namespace", "metric_name", "dimensions", "period", "evaluation_periods", "treat_missing_data",
                "alarm_actions", "comparison_operator", "threshold", "alarm_name")


@pytest.fixture(scope="module")
def rendered(complete_stack) -> dict:
    registry = json.loads(Path(cw.__file__).with_name("functions.json").read_text(encoding="utf-8"))
    environments = {}
    for key in registry["functions"]:
        function = complete_stack.one("aws_lambda_function", function_name=f"{EXAMPLE}-{key.replace('_', '-')}")
        environments[key] = complete_stack.block_attribute(function, "environment", "variables")
    return {
        "dashboards": [json.loads(d["dashboard_body"]) for d in complete_stack.instances("aws_cloudwatch_dashboard")],
        "alarms": {a["alarm_name"]: {k: a[k] for k in ALARM_FIELDS} for a in complete_stack.instances("aws_cloudwatch_metric_alarm")},
        "environments": environments,
        "topic_policies": [(t["arn"], json.loads(t["policy"])) for t in complete_stack.instances("aws_sns_topic_policy")],
        "topic_keys": {t["arn"]: t["kms_master_key_id"] for t in complete_stack.instances("aws_sns_topic")},
        "key_policies": {k["arn"]: json.loads(k["policy"]) for k in complete_stack.instances("aws_kms_key")},
    }


def _namespace(rendered) -> str:
    return rendered["environments"]["finalize"][cw.NAMESPACE_ENV]


def _dimension_sets(metric: str) -> list[tuple]:
    if metric in PERSONALIZE_OFFLINE_METRICS:
        return [cw.OFFLINE_METRIC_DIMENSIONS]
    return cw.DIMENSIONS[metric]


def test_every_function_gets_the_namespace_the_finalize_role_may_write(rendered, complete_stack):
    namespaces = {env[cw.NAMESPACE_ENV] for env in rendered["environments"].values()}
    assert namespaces == {_namespace(rendered)} and not _namespace(rendered).startswith(cw.RESERVED_NAMESPACE_PREFIX)
    grants = complete_stack.statements(f"{EXAMPLE}-finalize")
    [metrics_statement] = [s for s in grants.values() if "cloudwatch:PutMetricData" in s["Action"]]
    assert metrics_statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": [_namespace(rendered)]}}


def test_widgets_are_of_known_types_and_searches_read_what_finalize_publishes(rendered):
    [body] = rendered["dashboards"]
    namespace = _namespace(rendered)
    searched, plain = [], []
    for widget in body["widgets"]:
        assert widget["type"] in WIDGET_TYPES, widget["type"]
        assert {"x", "y", "width", "height", "properties"} <= set(widget)
        if widget["type"] != "metric":
            continue
        assert widget["properties"]["region"] == "eu-west-1"  # the complete example's provider region
        for row in widget["properties"]["metrics"]:
            options = row[-1] if isinstance(row[-1], dict) else {}
            if "expression" in options:
                searched.extend(SEARCH.findall(options["expression"]))
            else:
                plain.append([part for part in row if not isinstance(part, dict)])
    assert searched, "the dashboard has no SEARCH expression"
    for schema, metric, _stat, period in searched:
        owner, *dimensions = [part.strip() for part in schema.split(",")]
        if owner == "AWS/Personalize":
            # https://docs.aws.amazon.com/personalize/latest/dg/cloudwatch-metrics.html
            assert (metric, dimensions) == ("GetRecommendations", ["CampaignArn"])
            continue
        assert owner == namespace
        assert tuple(dimensions) in _dimension_sets(metric), (metric, dimensions)
        assert int(period) % 60 == 0
    published = {m for _, m, _, _ in searched if m not in ("GetRecommendations",)}
    assert {cw.GATE_VERDICT, cw.ROWS_REJECTED_BY_REASON, cw.PHASE_DURATION, cw.MIN_PROVISIONED_TPS,
            cw.ROWS_EXPORTED, cw.ROWS_REJECTED, cw.ROWS_IMPORTED} <= published
    assert published & PERSONALIZE_OFFLINE_METRICS
    for row in plain:
        namespace_of_row, metric, *pairs = row
        dims = tuple(pairs[0::2])
        if namespace_of_row == namespace:
            assert dims in _dimension_sets(metric), (metric, dims)
        else:
            assert namespace_of_row == "AWS/States" and dims == ("StateMachineArn",), row


def test_alarms_watch_published_metrics_and_notify_the_topic(rendered):
    alarms = {name.removeprefix(f"{EXAMPLE}-training-"): alarm for name, alarm in rendered["alarms"].items()}
    assert set(alarms) == {"failed-run", "gate-rejected", "no-success"}
    topic_arns = {arn for arn, _ in rendered["topic_policies"]}
    for key, alarm in alarms.items():
        [action] = alarm["alarm_actions"]
        assert action in topic_arns, key
        # PutMetricAlarm: Period x EvaluationPeriods at most 7 days.
        assert alarm["period"] * alarm["evaluation_periods"] <= 604_800
    gate = alarms["gate-rejected"]
    assert (gate["namespace"], gate["metric_name"]) == (_namespace(rendered), cw.GATE_REJECTIONS)
    assert tuple(gate["dimensions"]) in cw.DIMENSIONS[cw.GATE_REJECTIONS]
    assert alarms["no-success"]["treat_missing_data"] == "breaching"
    assert alarms["failed-run"]["metric_name"] == "ExecutionsFailed"


def test_the_topic_and_its_key_let_cloudwatch_alarms_publish(rendered):
    [alarm_topic] = {a for alarm in rendered["alarms"].values() for a in alarm["alarm_actions"]}
    policy = next(p for arn, p in rendered["topic_policies"] if arn == alarm_topic)
    statements = [s for s in policy["Statement"] if "cloudwatch.amazonaws.com" in s["Principal"]["Service"]]
    assert statements and all("aws:SourceArn" in json.dumps(s["Condition"]) for s in statements)
    key_policy = rendered["key_policies"][rendered["topic_keys"][alarm_topic]]
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert any("cloudwatch.amazonaws.com" in s.get("Principal", {}).get("Service", [])
                   and action in s["Action"] for s in key_policy["Statement"]), action
