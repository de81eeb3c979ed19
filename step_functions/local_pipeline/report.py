"""One self-contained HTML report per run: what a team looks at before it pays for training.

The report is built from two records every run leaves behind, locally and in AWS:

- the export's ``manifest.json`` (rows read, written, rejected by reason and filtered per
  dataset, the item-id match classes, the readiness checks);
- the training execution's history (``GetExecutionHistory``): each state's input and
  output carry the plan, the new versions' offline metrics, the gate's thresholds and
  verdicts, and the event times give the timeline of the phases.

``collect`` reduces them to plain data; ``render_html`` draws the charts with matplotlib
as SVG, embedded as ``data:`` images beside a table of the same numbers, so the file
opens offline: no script, no stylesheet, font or image is fetched when it is viewed.

    python -m local_pipeline.report --manifest manifest.json --history history.json --out report.html

``history.json`` is ``aws stepfunctions get-execution-history --execution-arn ARN``'s
output (or a list of its events).
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
WRITTEN, REJECTED, FILTERED = "#009E73", "#D55E00", "#999999"
SERIES = ("#0072B2", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#009E73")
PASSED_COLOUR, FAILED_COLOUR, WAIT_COLOUR = "#0072B2", "#D55E00", "#BBBBBB"
MATCH_CLASSES = ("exact", "normalized", "fuzzy", "missing", "unmatched")
MAP_END_EVENTS = ("MapStateSucceeded", "MapStateFailed", "MapStateAborted")
# tools/asl_source.py names each wait loop's states Check<X>, "<X> ready?" and "Wait for <X>".
READY_STATE = re.compile(r"^(?P<stem>.+) ready\?$")


# ------------------------------------------------------------------ collect
def _as_datetime(value: Any) -> datetime:
    """An event time as boto3 (datetime), the AWS CLI v2 (ISO 8601) or v1 (epoch seconds) gives it."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    text = str(value).strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text.replace(" ", "T", 1))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _events(history: Any) -> list[dict]:
    events = history.get("events", []) if isinstance(history, Mapping) else list(history or [])
    return sorted(events, key=lambda e: e["id"])


def _json_detail(event: dict, key: str, field: str) -> Optional[dict]:
    text = (event.get(key) or {}).get(field)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:  # a truncated or redacted payload: the report does without it
        return None
    return value if isinstance(value, dict) else None


def top_level_states(history: Any) -> list[dict]:
    """The states of the main flow in execution order, each ``{name, entered, exited,
    input, output, failed}``; the states inside Map iterations are left out."""
    states: list[dict] = []
    open_maps = 0
    current: Optional[dict] = None
    for event in _events(history):
        kind = event["type"]
        if kind == "MapStateStarted":
            open_maps += 1
            continue
        if kind in MAP_END_EVENTS:
            open_maps = max(0, open_maps - 1)
            if current is not None and kind != "MapStateSucceeded":
                current["failed"] = True
            continue
        if open_maps:
            continue
        at = _as_datetime(event["timestamp"])
        if kind.endswith("StateEntered"):
            if current is not None and current["exited"] is None:
                current["exited"] = at
            current = {
                "name": event["stateEnteredEventDetails"]["name"], "entered": at, "exited": None, "failed": False,
                "input": _json_detail(event, "stateEnteredEventDetails", "input"), "output": None,
            }
            states.append(current)
        elif kind.endswith("StateExited") and current is not None:
            current["exited"] = at
            current["output"] = _json_detail(event, "stateExitedEventDetails", "output")
        elif current is not None and (kind.endswith("Failed") or kind.endswith("TimedOut")):
            current["failed"] = True
        if kind in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut") and current is not None:
            if current["exited"] is None:
                current["exited"] = at
    return states


def timeline(history: Any) -> list[dict]:
    """The phases on a timeline: each step, and each wait loop (its check, choice and
    wait states) as one bar; seconds from the execution's start."""
    events = _events(history)
    if not events:
        return []
    start = _as_datetime(events[0]["timestamp"])
    states = top_level_states(events)
    loops = {m.group("stem") for s in states for m in [READY_STATE.match(s["name"])] if m}

    def phase_of(name: str) -> tuple[str, bool]:
        for stem in loops:
            if name in ("Check" + stem, stem + " ready?", "Wait for " + stem):
                return "waiting for " + stem, True
        return name, False

    phases: list[dict] = []
    for state in states:
        name, waiting = phase_of(state["name"])
        begin = (state["entered"] - start).total_seconds()
        end = ((state["exited"] or state["entered"]) - start).total_seconds()
        if phases and phases[-1]["phase"] == name:
            phases[-1]["end"] = max(phases[-1]["end"], end)
            phases[-1]["failed"] = phases[-1]["failed"] or state["failed"]
            continue
        phases.append({"phase": name, "start": begin, "end": end, "waiting": waiting, "failed": state["failed"]})
    return phases


def _last_state(states: Sequence[dict], name: str) -> Optional[dict]:
    found = [s for s in states if s["name"] == name]
    return found[-1] if found else None


def execution_outcome(history: Any) -> dict:
    """Status, start, end and (on failure) the error and cause of the execution."""
    events = _events(history)
    outcome = {"status": "RUNNING", "started": None, "stopped": None, "error": None, "cause": None, "failed_step": None}
    if not events:
        return outcome
    outcome["started"] = _as_datetime(events[0]["timestamp"]).isoformat()
    for event in events:
        kind = event["type"]
        if kind in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"):
            outcome["status"] = kind[len("Execution"):].upper().replace("TIMEDOUT", "TIMED_OUT")
            outcome["stopped"] = _as_datetime(event["timestamp"]).isoformat()
            details = event.get("executionFailedEventDetails") or {}
            outcome["error"], outcome["cause"] = details.get("error"), _readable_cause(details.get("cause"))
    failed = [s["name"] for s in top_level_states(events) if s["failed"] and s["name"] != "Failed"]
    outcome["failed_step"] = failed[0] if failed and outcome["status"] != "SUCCEEDED" else None
    return outcome


def _readable_cause(cause: Optional[str]) -> Optional[str]:
    """A Lambda error's cause is its JSON error object: keep the message, not the stack."""
    try:
        parsed = json.loads(cause) if cause else None
    except ValueError:
        return cause
    return parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause


def training_metrics(history: Any, summary: Optional[dict] = None) -> dict:
    """Each new version's offline metrics, the gate's settings and each campaign's verdict
    (with the served version's metrics), from the QualityGate step's input and the
    Finalize step's output (or ``summary``, the success notification)."""
    states = top_level_states(history)
    gate_state = _last_state(states, "QualityGate")
    state_input = (gate_state or {}).get("input") or {}
    plan = state_input.get("plan") or {}
    evaluations = state_input.get("evaluations") or []
    if summary is None:
        finalize = _last_state(states, "Finalize")
        summary = ((finalize or {}).get("output") or {}).get("summary")
    solutions = {_evaluated(e): {"solutionVersionArn": e.get("solutionVersionArn"), "metrics": e.get("metrics") or {}}
                 for e in evaluations}
    if not solutions and summary:
        solutions = {key: dict(value) for key, value in (summary.get("solutions") or {}).items()}
    # Recommenders are gated on the metrics DescribeRecommender reports, before the solutions.
    recommender_gate = _last_state(states, "GateRecommenders")
    recommender_verdicts = ((recommender_gate or {}).get("output") or {}).get("recommenderGate") or []
    if not plan:
        plan = ((recommender_gate or {}).get("input") or {}).get("plan") or {}
    return {
        "name": plan.get("name") or (summary or {}).get("name"),
        "solutions": solutions,
        "recommenders": {v["recommender"]: v.get("metrics") or {} for v in recommender_verdicts},
        "gate": plan.get("gate") or {},
        "verdicts": list(recommender_verdicts) + list((summary or {}).get("gate") or []),
    }


def _evaluated(evaluation: dict) -> str:
    """The name of what was evaluated: a solution, or a recommender."""
    for key in ("solutionKey", "recommenderKey", "key"):
        if evaluation.get(key):
            return str(evaluation[key])
    return str(evaluation.get("solutionVersionArn") or evaluation.get("recommenderArn") or "?")


def _judged(verdict: dict) -> str:
    """What a gate verdict is about: "campaign home", "recommender top-picks"."""
    for kind in ("campaign", "recommender"):
        if verdict.get(kind):
            return "%s %s" % (kind, verdict[kind])
    return "version %s" % verdict.get("solutionVersionArn", "?")


def collect(manifest: dict, history: Any, summary: Optional[dict] = None) -> dict:
    """Everything the report shows, as plain data."""
    datasets = {}
    for name, entry in (manifest.get("datasets") or {}).items():
        datasets[name] = {
            "rows_read": int(entry.get("rows_read", 0)),
            "written": int(entry.get("rows", 0)),
            "rejected": int(entry.get("rejected", 0)),
            "filtered": int(entry.get("filtered", 0)),
            "rejected_by_reason": {k: int(v) for k, v in sorted((entry.get("rejected_by_reason") or {}).items())},
            "filtered_by_event_type": {k: int(v) for k, v in sorted((entry.get("filtered_by_event_type") or {}).items())},
        }
    matches = manifest.get("item_id_reconciliation") or {}
    ordered = [c for c in MATCH_CLASSES if c in matches] + sorted(c for c in matches if c not in MATCH_CLASSES)
    readiness = manifest.get("readiness") or {}
    execution = execution_outcome(history)
    training = training_metrics(history, summary)
    if execution["failed_step"] in ("QualityGate", "GateRecommenders"):
        training["rejection"] = execution["cause"]
    return {
        "run_id": manifest.get("run_id"),
        "exported_at": manifest.get("created_at"),
        "datasets": datasets,
        "item_ids": {c: int(matches[c]) for c in ordered},
        "readiness": {"passed": bool(readiness.get("passed")), "checks": list(readiness.get("checks") or [])},
        "execution": execution,
        "training": training,
        "timeline": timeline(history),
    }


# ------------------------------------------------------------------- charts
def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure


def _svg_data_uri(figure: Any) -> str:
    import matplotlib

    buffer = io.BytesIO()
    # Text as paths: the SVG needs no font; a fixed salt and no date keep the output stable.
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "personalize-report"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _label_bars(axes: Any, bars: Any, values: Iterable[float], fmt: str = "{:,}") -> None:
    axes.bar_label(bars, labels=[fmt.format(v) for v in values], padding=3, fontsize=8)


def rows_chart(datasets: dict) -> Any:
    """Per dataset, one bar of the rows read split into written, rejected and filtered."""
    names = list(datasets)
    figure = _figure(7.5, 0.7 + 0.8 * len(names))
    axes = figure.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, name in zip(axes, names):
        entry = datasets[name]
        left = 0
        for label, key, colour in (("written", "written", WRITTEN), ("rejected", "rejected", REJECTED), ("filtered", "filtered", FILTERED)):
            ax.barh([name], [entry[key]], left=left, color=colour, label=label)
            left += entry[key]
        ax.set_xlim(0, max(entry["rows_read"], 1))
        ax.set_title("%s: %s rows read" % (name, format(entry["rows_read"], ",")), fontsize=9, loc="left")
        ax.tick_params(axis="y", left=False, labelleft=False)
        ax.spines[["top", "right", "left"]].set_visible(False)
    axes[0].legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize=8, frameon=False)
    return figure


def reasons_chart(datasets: dict) -> Any:
    """Per dataset, the rows rejected by reason and filtered by event type."""
    groups = [(name, [("rejected: " + r, n, REJECTED) for r, n in e["rejected_by_reason"].items()]
               + [("filtered: event type " + t, n, FILTERED) for t, n in e["filtered_by_event_type"].items()])
              for name, e in datasets.items()]
    groups = [(name, bars) for name, bars in groups if bars]
    if not groups:
        return None
    heights = [0.5 + 0.28 * len(bars) for _name, bars in groups]
    figure = _figure(7.5, 0.3 + sum(heights))
    axes = figure.subplots(len(groups), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (name, bars) in zip(axes, groups):
        labels = [b[0] for b in bars][::-1]
        values = [b[1] for b in bars][::-1]
        drawn = ax.barh(labels, values, color=[b[2] for b in bars][::-1])
        _label_bars(ax, drawn, values)
        ax.set_title(name, fontsize=9, loc="left")
        ax.set_xlim(0, max(values) * 1.15)
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    return figure


def item_ids_chart(item_ids: dict) -> Any:
    if not item_ids:
        return None
    figure = _figure(7.5, 0.6 + 0.3 * len(item_ids))
    ax = figure.subplots()
    labels, values = list(item_ids)[::-1], list(item_ids.values())[::-1]
    colours = [REJECTED if label in ("unmatched", "missing") else WRITTEN for label in labels]
    _label_bars(ax, ax.barh(labels, values, color=colours), values)
    ax.set_xlim(0, max(max(values), 1) * 1.15)
    ax.set_xlabel("interactions", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return figure


def metric_rows(training: dict) -> tuple[list[str], list[tuple[str, dict]]]:
    """The metric names and the columns of the metrics chart and table: each new
    solution version, each recommender, then the version each campaign served when
    the gate judged."""
    metrics = sorted({m for s in training["solutions"].values() for m in s["metrics"]}
                     | {m for values in training.get("recommenders", {}).values() for m in values})
    columns = [("new: " + key, s["metrics"]) for key, s in training["solutions"].items()]
    columns += [("recommender: " + key, values) for key, values in training.get("recommenders", {}).items()]
    for verdict in training["verdicts"]:
        served = verdict.get("servedMetrics")
        if served:
            columns.append(("served by %s" % _judged(verdict), served))
    return metrics, columns


def metrics_chart(training: dict) -> Any:
    metrics, columns = metric_rows(training)
    if not metrics:
        return None
    thresholds = training["gate"].get("thresholds") or {}
    figure = _figure(6.5, 1.0 + 0.11 * len(metrics) * max(len(columns), 1))
    ax = figure.subplots()
    height = 0.8 / max(len(columns), 1)
    positions = list(range(len(metrics)))[::-1]
    for index, (label, values) in enumerate(columns):
        offsets = [p + 0.4 - height * (index + 0.5) for p in positions]
        ax.barh(offsets, [values.get(m, 0.0) for m in metrics], height=height * 0.95,
                color=SERIES[index % len(SERIES)], label=label, hatch="//" if label.startswith("served") else None)
    for position, metric in zip(positions, metrics):
        if metric in thresholds:
            ax.vlines(thresholds[metric], position - 0.45, position + 0.45, colors="black", linewidth=2)
    if thresholds:
        ax.plot([], [], color="black", linewidth=2, label="gate threshold")
    ax.set_yticks(positions, [m.replace("normalized_discounted_cumulative_gain", "ndcg").replace("mean_reciprocal_rank", "mrr")
                              for m in metrics], fontsize=8)
    # Personalize's offline metrics lie in [0, 1]; a wider axis only if one does not.
    largest = max([v for _label, values in columns for v in values.values()] + list(thresholds.values()) + [1.0])
    ax.set_xlim(0, largest)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(loc="lower right", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return figure


def timeline_chart(phases: list[dict]) -> Any:
    if not phases:
        return None
    total = max(p["end"] for p in phases) or 1.0
    scale, unit = (3600.0, "hours") if total >= 3 * 3600 else (60.0, "minutes") if total >= 180 else (1.0, "seconds")
    figure = _figure(7.5, 0.7 + 0.22 * len(phases))
    ax = figure.subplots()
    for row, phase in enumerate(phases):
        colour = FAILED_COLOUR if phase["failed"] else WAIT_COLOUR if phase["waiting"] else PASSED_COLOUR
        # A step that took no measurable time still gets a sliver, so every phase shows.
        width = max((phase["end"] - phase["start"]) / scale, total / scale / 400)
        ax.broken_barh([(phase["start"] / scale, width)], (row - 0.4, 0.8), facecolors=colour)
    ax.set_yticks(range(len(phases)), [p["phase"] for p in phases], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, total / scale * 1.02)
    ax.set_xlabel("%s since the execution started" % unit, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", linewidth=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return figure


# --------------------------------------------------------------------- html
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.pair { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
figure { margin: 0; flex: 1 1 32rem; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: .85rem; color: #555; }
table { border-collapse: collapse; font-size: .85rem; flex: 1 1 20rem; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.passed { color: #0b6b3a; font-weight: bold; } .failed { color: #b00020; font-weight: bold; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; } dt { font-weight: bold; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: Any, field: str = "") -> str:
    attr = ' data-field="%s"' % _e(field) if field else ""
    text = format(value, ",") if isinstance(value, int) else "%.4f" % value if isinstance(value, float) else _e(value)
    return '<td class="num"%s>%s</td>' % (attr, text)


def _verdict(passed: bool) -> str:
    return '<span class="passed">PASSED</span>' if passed else '<span class="failed">FAILED</span>'


def _chart(figure: Any, chart_id: str, alt: str, caption: str) -> str:
    if figure is None:
        return ""
    return ('<figure><img id="%s" class="chart" src="%s" alt="%s" title="%s"><figcaption>%s</figcaption></figure>'
            % (_e(chart_id), _svg_data_uri(figure), _e(alt), _e(alt), _e(caption)))


def _section(title: str, section_id: str, *parts: str) -> str:
    return '<section id="%s" aria-labelledby="%s-title"><h2 id="%s-title">%s</h2>\n%s\n</section>' % (
        section_id, section_id, section_id, _e(title), "\n".join(p for p in parts if p))


def _rows_section(datasets: dict) -> str:
    rows = "".join(
        '<tr data-dataset="%s"><th scope="row">%s</th>%s%s%s%s</tr>' % (
            _e(name), _e(name), _num(e["rows_read"], "rows_read"), _num(e["written"], "written"),
            _num(e["rejected"], "rejected"), _num(e["filtered"], "filtered"))
        for name, e in datasets.items())
    table = ('<table id="rows-table"><caption>Rows per dataset</caption><thead><tr><th scope="col">dataset</th>'
             '<th scope="col">read</th><th scope="col">written</th><th scope="col">rejected</th><th scope="col">filtered</th>'
             '</tr></thead><tbody>%s</tbody></table>' % rows)
    reasons = "".join(
        '<tr data-dataset="%s" data-kind="%s" data-reason="%s"><td>%s</td><td>%s</td><td>%s</td>%s</tr>' % (
            _e(name), kind, _e(reason), _e(name), kind, _e(reason), _num(count, "count"))
        for name, e in datasets.items()
        for kind, counts in (("rejected", e["rejected_by_reason"]), ("filtered", e["filtered_by_event_type"]))
        for reason, count in counts.items())
    reason_table = ('<table id="reasons-table"><caption>Rows rejected by reason and filtered by event type</caption><thead><tr>'
                    '<th scope="col">dataset</th><th scope="col">kind</th><th scope="col">reason or event type</th>'
                    '<th scope="col">rows</th></tr></thead><tbody>%s</tbody></table>' % reasons) if reasons else ""
    alt = "; ".join("%s: %s read, %s written, %s rejected, %s filtered" % (
        n, format(e["rows_read"], ","), format(e["written"], ","), format(e["rejected"], ","), format(e["filtered"], ","))
        for n, e in datasets.items())
    reasons_alt = "; ".join("%s %s %s: %s" % (n, k, r, format(c, ",")) for n, e in datasets.items()
                            for k, counts in (("rejected", e["rejected_by_reason"]), ("filtered", e["filtered_by_event_type"]))
                            for r, c in counts.items())
    return _section(
        "Rows read, written, rejected and filtered", "rows",
        '<div class="pair">%s%s</div>' % (_chart(rows_chart(datasets), "chart-rows", "Rows per dataset. " + alt,
                                                 "Each bar is the rows read: written, rejected with a reason, or filtered on purpose."), table),
        '<div class="pair">%s%s</div>' % (_chart(reasons_chart(datasets), "chart-reasons", "Rows rejected and filtered. " + reasons_alt,
                                                 "Rejected rows by reason and filtered rows by event type."), reason_table),
    )


def _item_ids_section(item_ids: dict) -> str:
    if not item_ids:
        return _section("Item-id match classes", "item-ids", "<p>The export spec reconciles no item ids.</p>")
    rows = "".join('<tr data-class="%s"><th scope="row">%s</th>%s</tr>' % (_e(c), _e(c), _num(n, "count")) for c, n in item_ids.items())
    table = ('<table id="item-ids-table"><caption>Interactions per item-id match class</caption><thead><tr>'
             '<th scope="col">match class</th><th scope="col">interactions</th></tr></thead><tbody>%s</tbody></table>' % rows)
    alt = "Interactions per item-id match class: " + ", ".join("%s %s" % (c, format(n, ",")) for c, n in item_ids.items())
    return _section("Item-id match classes", "item-ids", '<div class="pair">%s%s</div>' % (
        _chart(item_ids_chart(item_ids), "chart-item-ids", alt,
               "How each interaction's item id was matched to the catalog (exact, after normalising, by a fuzzy title match)."),
        table))


def _readiness_section(readiness: dict) -> str:
    rows = "".join('<tr data-rule="%s"><td>%s</td><td>%s</td><td>%s</td></tr>' % (
        _e(c.get("rule")), _e(c.get("rule")), _verdict(bool(c.get("passed"))), _e(c.get("detail")))
        for c in readiness["checks"])
    return _section("Readiness checks", "readiness",
                    "<p>Export readiness: %s</p>" % _verdict(readiness["passed"]),
                    '<table id="readiness-table"><thead><tr><th scope="col">rule</th><th scope="col">verdict</th>'
                    '<th scope="col">detail</th></tr></thead><tbody>%s</tbody></table>' % rows)


def _metrics_section(training: dict) -> str:
    metrics, columns = metric_rows(training)
    if not metrics:
        return _section("Offline metrics and the quality gate", "metrics",
                        "<p>The run did not reach the quality gate: no new version was evaluated.</p>")
    thresholds = training["gate"].get("thresholds") or {}
    head = "".join('<th scope="col">%s</th>' % _e(label) for label, _values in columns)
    body = "".join('<tr data-metric="%s"><th scope="row">%s</th>%s%s</tr>' % (
        _e(metric), _e(metric),
        "".join(_num(values[metric], label) if metric in values else "<td></td>" for label, values in columns),
        _num(float(thresholds[metric]), "threshold") if metric in thresholds else "<td></td>")
        for metric in metrics)
    table = ('<table id="metrics-table"><caption>Offline metrics</caption><thead><tr><th scope="col">metric</th>%s'
             '<th scope="col">gate threshold</th></tr></thead><tbody>%s</tbody></table>' % (head, body))
    verdicts = "".join('<li data-verdict="%s">%s: %s%s%s</li>' % (
        _e(_judged(v)), _e(_judged(v)), _verdict(v.get("passed", False)),
        " (serves %s)" % _e(v.get("solutionVersionArn")) if v.get("passed") else "",
        ": " + _e("; ".join(v.get("reasons") or [])) if v.get("reasons") else "") for v in training["verdicts"])
    gate = training["gate"]
    settings = "<p>The gate promotes a new version only if it meets every threshold%s.</p>" % (
        ", and no worse than the served version on %s (tolerance %s)" % (_e(", ".join(gate.get("compareMetrics") or [])), _e(gate.get("tolerance")))
        if gate.get("compareWithServing") else "")
    alt = "Offline metrics per metric: " + "; ".join("%s %s" % (metric, ", ".join(
        "%s %.4f" % (label, values[metric]) for label, values in columns if metric in values)
        + (", threshold %.4f" % thresholds[metric] if metric in thresholds else "")) for metric in metrics)
    if not verdicts and training.get("rejection"):
        verdicts = '<li class="failed">%s</li>' % _e(training["rejection"])
    return _section("Offline metrics and the quality gate", "metrics", settings,
                    "<ul>%s</ul>" % verdicts if verdicts else "",
                    '<div class="pair">%s%s</div>' % (_chart(metrics_chart(training), "chart-metrics", alt,
                                                             "Each new version's offline metrics, the version each campaign "
                                                             "served when the gate judged (hatched), and the gate's thresholds (black)."), table))


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return "%dh %02dm %02ds" % (hours, minutes, secs) if hours else "%dm %02ds" % (minutes, secs) if minutes else "%ds" % secs


def _timeline_section(phases: list[dict], execution: dict) -> str:
    rows = "".join('<tr data-phase="%s"><td>%s</td><td class="num">%s</td><td class="num">%s</td><td>%s</td></tr>' % (
        _e(p["phase"]), _e(p["phase"]), _duration(p["start"]), _duration(p["end"] - p["start"]),
        "failed" if p["failed"] else "") for p in phases)
    table = ('<table id="timeline-table"><caption>Phases</caption><thead><tr><th scope="col">phase</th>'
             '<th scope="col">started after</th><th scope="col">took</th><th scope="col"></th></tr></thead><tbody>%s</tbody></table>' % rows)
    alt = "Timeline of the state machine's phases: " + "; ".join(
        "%s from %s for %s" % (p["phase"], _duration(p["start"]), _duration(p["end"] - p["start"])) for p in phases)
    return _section("The state machine's phases", "timeline", '<div class="pair">%s%s</div>' % (
        _chart(timeline_chart(phases), "chart-timeline", alt,
               "Steps in blue, wait loops in grey, a failed step in red; times from the execution history."), table))


def render_html(data: dict) -> str:
    execution, training = data["execution"], data["training"]
    title = "Personalize pipeline run %s" % (data.get("run_id") or "")
    facts = [("export run", data.get("run_id")), ("exported at", data.get("exported_at")),
             ("pipeline", training.get("name")), ("training execution", execution["status"]),
             ("started", execution.get("started")), ("stopped", execution.get("stopped")),
             ("failed at", execution.get("failed_step")),
             ("error", "%s: %s" % (execution["error"], execution.get("cause")) if execution.get("error") else None)]
    overview = "<dl>%s</dl>" % "".join("<dt>%s</dt><dd>%s</dd>" % (_e(k), _e(v)) for k, v in facts if v)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # An empty icon, so the browser does not look for /favicon.ico.
        '<link rel="icon" href="data:,">',
        # Nothing may be fetched when the report is opened: images are data: URIs, no scripts.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        "<title>%s</title><style>%s</style></head><body>" % (_e(title), STYLE),
        "<header><h1>%s</h1>%s</header><main>" % (_e(title), overview),
        _rows_section(data["datasets"]),
        _item_ids_section(data["item_ids"]),
        _readiness_section(data["readiness"]),
        _metrics_section(training),
        _timeline_section(data["timeline"], execution),
        "</main></body></html>",
        "",
    ])


def write_report(path: Path, manifest: dict, history: Any, summary: Optional[dict] = None) -> Path:
    """Write the report for one run to ``path``; return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(collect(manifest, history, summary)), encoding="utf-8")
    return path


def _read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_pipeline.report", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", required=True, help="the export's manifest.json")
    parser.add_argument("--history", required=True, help="GetExecutionHistory output (JSON) of the training execution")
    parser.add_argument("--summary", help="the success notification's message (JSON); read from the history when left out")
    parser.add_argument("--out", default="report.html", help="the HTML file to write")
    args = parser.parse_args(argv)
    summary = _read_json(args.summary) if args.summary else None
    written = write_report(Path(args.out), _read_json(args.manifest), _read_json(args.history), summary)
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
