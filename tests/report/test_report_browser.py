"""The run report opened in a real browser: Debian's headless Chromium, driven by Playwright.

CI installs Chromium (.ci/system-deps.sh): these tests are never skipped."""
from __future__ import annotations

import pytest

from tools.report_screenshot import launch_chromium

CHARTS = ("chart-rows", "chart-reasons", "chart-item-ids", "chart-metrics", "chart-timeline")


def _number(text: str) -> float:
    return float(text.replace(",", "").strip())


@pytest.fixture(scope="module")
def opened(harness_run):
    """The report loaded once: its console messages, page errors and every request."""
    seen = {"console": [], "errors": [], "requests": [], "failed": []}
    with launch_chromium() as context:
        page = context.new_page()
        page.on("console", lambda message: seen["console"].append((message.type, message.text)))
        page.on("pageerror", lambda error: seen["errors"].append(str(error)))
        page.on("request", lambda request: seen["requests"].append(request.url))
        page.on("requestfailed", lambda request: seen["failed"].append(request.url))
        url = harness_run["report"].resolve().as_uri()
        response = page.goto(url, wait_until="load")
        assert response is not None and response.ok
        page.wait_for_load_state("networkidle")
        charts = {}
        for chart_id in CHARTS:
            element = page.query_selector("#" + chart_id)
            charts[chart_id] = None if element is None else {
                "box": element.bounding_box(),
                "natural": page.evaluate("e => [e.complete, e.naturalWidth, e.naturalHeight]", element),
                "alt": element.get_attribute("alt"),
            }

        def table(selector: str) -> list[dict]:
            return page.eval_on_selector_all(selector, """rows => rows.map(row => ({
                attrs: Object.assign({}, row.dataset),
                cells: Array.from(row.querySelectorAll('td, th')).map(c => c.textContent.trim()),
                fields: Object.fromEntries(Array.from(row.querySelectorAll('td[data-field]')).map(c => [c.dataset.field, c.textContent.trim()])),
            }))""")

        seen.update(
            url=url, charts=charts,
            rows=table("#rows-table tbody tr"), reasons=table("#reasons-table tbody tr"),
            item_ids=table("#item-ids-table tbody tr"), readiness=table("#readiness-table tbody tr"),
            metrics=table("#metrics-table tbody tr"),
            metric_columns=page.eval_on_selector_all("#metrics-table thead th", "cells => cells.map(c => c.textContent.trim())"),
            timeline=table("#timeline-table tbody tr"),
            headings=page.eval_on_selector_all("h1, h2", "hs => hs.map(h => h.tagName + ' ' + h.textContent.trim())"),
            images=page.eval_on_selector_all("img", "imgs => imgs.map(i => i.getAttribute('alt') || '')"),
        )
    return seen


def test_the_page_loads_without_errors_and_fetches_nothing(opened):
    assert opened["errors"] == []
    assert [m for m in opened["console"] if m[0] in ("error", "warning")] == []
    assert opened["failed"] == []
    # The file itself is the only request; the charts are data: URIs inside it.
    assert [u for u in opened["requests"] if not u.startswith("data:")] == [opened["url"]]


@pytest.mark.parametrize("chart_id", CHARTS)
def test_each_chart_is_drawn_with_a_size(opened, chart_id):
    chart = opened["charts"][chart_id]
    assert chart is not None, f"#{chart_id} is missing"
    complete, natural_width, natural_height = chart["natural"]
    assert complete and natural_width > 0 and natural_height > 0, "the SVG did not decode"
    assert chart["box"]["width"] > 100 and chart["box"]["height"] > 50
    assert len(chart["alt"]) > 20


def test_rows_table_matches_the_manifest(opened, harness_run):
    manifest = harness_run["manifest"]
    shown = {row["attrs"]["dataset"]: {k: int(_number(v)) for k, v in row["fields"].items()} for row in opened["rows"]}
    expected = {
        name: {"rows_read": d["rows_read"], "written": d["rows"], "rejected": d["rejected"], "filtered": d.get("filtered", 0)}
        for name, d in manifest["datasets"].items()
    }
    assert shown == expected


def test_reasons_table_matches_the_manifest(opened, harness_run):
    shown = {(r["attrs"]["dataset"], r["attrs"]["kind"], r["attrs"]["reason"]): int(_number(r["fields"]["count"]))
             for r in opened["reasons"]}
    expected = {}
    for name, d in harness_run["manifest"]["datasets"].items():
        expected.update({(name, "rejected", reason): n for reason, n in d["rejected_by_reason"].items()})
        expected.update({(name, "filtered", kind): n for kind, n in d.get("filtered_by_event_type", {}).items()})
    assert shown == expected and len(shown) == 8


def test_item_id_classes_match_the_manifest(opened, harness_run):
    shown = {r["attrs"]["class"]: int(_number(r["fields"]["count"])) for r in opened["item_ids"]}
    assert shown == harness_run["manifest"]["item_id_reconciliation"]


def test_readiness_checks_match_the_manifest(opened, harness_run):
    shown = [(r["cells"][0], r["cells"][1], r["cells"][2]) for r in opened["readiness"]]
    expected = [(c["rule"], "PASSED" if c["passed"] else "FAILED", c["detail"]) for c in harness_run["manifest"]["readiness"]["checks"]]
    assert shown == expected


def test_metrics_table_shows_each_version_the_served_one_and_the_thresholds(opened, harness_run):
    summary = harness_run["result"].summary
    first = harness_run["first"].summary
    assert opened["metric_columns"] == ["metric", "new: popular", "new: personal", "served by campaign home", "gate threshold"]
    by_metric = {r["attrs"]["metric"]: r["fields"] for r in opened["metrics"]}
    assert sorted(by_metric) == sorted(summary["solutions"]["personal"]["metrics"])
    for metric, fields in by_metric.items():
        assert _number(fields["new: personal"]) == pytest.approx(summary["solutions"]["personal"]["metrics"][metric], abs=5e-5)
        assert _number(fields["new: popular"]) == pytest.approx(summary["solutions"]["popular"]["metrics"][metric], abs=5e-5)
        # What the campaign served: the first run's version.
        assert _number(fields["served by campaign home"]) == pytest.approx(first["solutions"]["personal"]["metrics"][metric], abs=5e-5)
    assert _number(by_metric["precision_at_10"]["threshold"]) == pytest.approx(0.05)
    assert "threshold" not in by_metric["coverage"]


def test_timeline_lists_the_phases_in_order(opened):
    phases = [r["attrs"]["phase"] for r in opened["timeline"]]
    assert phases[0] == "ReadParams" and phases[-1] == "Succeeded"
    assert phases.index("StartSolutionVersions") < phases.index("waiting for SolutionVersions") < phases.index("QualityGate")
    took = {r["attrs"]["phase"]: r["cells"][2] for r in opened["timeline"]}
    assert took["waiting for SolutionVersions"].startswith("2h")


def test_headings_and_alternative_text(opened):
    assert opened["headings"][0].startswith("H1 Personalize pipeline run 20260102T000000Z")
    assert [h.split(" ", 1)[0] for h in opened["headings"][1:]] == ["H2"] * 5
    assert opened["images"] and all(alt for alt in opened["images"])
