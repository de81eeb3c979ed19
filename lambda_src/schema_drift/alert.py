"""Rendering one alert per event: SNS subject, readable text, JSON and filterable attributes.

The message is published with MessageStructure="json": email subscribers get
the text, SMS subscribers the subject, while sqs, lambda, http(s), email-json and
firehose subscribers get the same content as a JSON document they can parse.

SNS limits, from the Publish API reference
(https://docs.aws.amazon.com/sns/latest/api/API_Publish.html):
- the message, all protocols' forms together, plus every message attribute's name,
  type and value, is at most 256 KiB (262,144 bytes) of UTF-8 by default
  (https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html);
- the subject is UTF-8 text with no line breaks or control characters, under 100
  characters (botocore's Publish model states the same);
- an SMS publish is at most 1,600 characters; the SMS form is the subject, far shorter.
Catalog events and the catalog bound nothing this Lambda repeats (partitions, tables,
type strings, locations), so every list and every value can be shortened to fit,
and the alert says how much was left out.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence

from schema_drift.assess import Assessment, table_label
from schema_drift.rules import BREAKING, INFO, RULES, SEVERITY_RANK, WARNING

SUBJECT_LIMIT = 99  # SNS: "less than 100 characters"
MESSAGE_LIMIT = 256 * 1024  # SNS: body and attributes together, in UTF-8 bytes
# The "tables" filter attribute holds every table the event names (Glue sends at most 100
# names of at most 255 characters); beyond this many bytes the rest are counted instead.
TABLES_ATTRIBUTE_LIMIT = 32 * 1024
ATTRIBUTE_VALUE_LIMIT = 1024
PAYLOAD_VERSION = 1
TEXT_PROTOCOLS = ("default", "email", "sms")
JSON_PROTOCOLS = ("sqs", "lambda", "http", "https", "email-json", "firehose")

_HEADLINES = {
    BREAKING: "The next export will fail or silently lose data unless the export spec or the table is fixed.",
    WARNING: "The export still runs, but these changes deserve a look.",
    INFO: "Routine catalog change; nothing the export reads is at risk.",
}


@dataclass(frozen=True)
class PauseOutcome:
    """What happened to the workflow's scheduled start trigger."""

    status: str  # stopped | failed | no_schedule_trigger | disabled
    trigger: Optional[str]
    detail: str

    @property
    def resume_command(self) -> Optional[str]:
        if self.status == "stopped" and self.trigger:
            return "aws glue start-trigger --name %s" % self.trigger
        return None

    def to_json(self) -> Dict[str, Any]:
        return {"status": self.status, "trigger": self.trigger, "detail": self.detail,
                "resume_command": self.resume_command}


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    payload: Dict[str, Any]
    attributes: Dict[str, Dict[str, str]]

    def sns_message(self) -> str:
        """The MessageStructure="json" body: one entry per delivery protocol."""
        document = json.dumps(self.payload, sort_keys=True, separators=(",", ":"))
        per_protocol = {protocol: self.text for protocol in TEXT_PROTOCOLS}
        per_protocol["sms"] = self.subject
        per_protocol.update({protocol: document for protocol in JSON_PROTOCOLS})
        return json.dumps(per_protocol)


def subject_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """One line under the SNS limit that shows names as they are (`表格`, `été`).

    Line breaks, control and format characters (zero-width space, BOM) and every
    other kind of white space become one space, so nothing invisible reaches a mail
    client. Length is counted in UTF-16 code units, the stricter of the ways a
    character can be counted, so a character outside the BMP never tips it over.
    """
    cleaned = "".join(" " if _breaks_a_subject(char) else char for char in text)
    cleaned = " ".join(cleaned.split())
    if _utf16_length(cleaned) <= limit:
        return cleaned
    kept, length = [], 0
    for char in cleaned:
        if length + _utf16_length(char) > limit - 3:
            break
        kept.append(char)
        length += _utf16_length(char)
    return "".join(kept).rstrip() + "..."


def _breaks_a_subject(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Budget:
    """How much of each unbounded part an alert may show; None shows everything."""

    findings: Optional[int] = None
    items: Optional[int] = None  # entries of every other list: partitions, tables, notes
    chars: Optional[int] = None  # characters of any one value taken from the event or the catalog


def _budgets(finding_count: int) -> Iterator[Budget]:
    """Ever smaller budgets; the last one always fits (one finding, one entry per list, short values)."""
    yield Budget()
    step = 1
    while True:
        budget = Budget(findings=max(1, finding_count >> max(0, step - 3)), items=max(1, 128 >> step),
                        chars=max(64, 8192 >> step))
        yield budget
        if (budget.findings, budget.items, budget.chars) == (1, 1, 64):
            return
        step += 1


@dataclass
class _Cutter:
    """Applies a budget and remembers what it left out."""

    budget: Budget
    shortened: int = 0
    omitted: Dict[str, int] = field(default_factory=dict)

    def text(self, value: Optional[str]) -> Optional[str]:
        limit = self.budget.chars
        if value is None or limit is None or len(value) <= limit:
            return value
        self.shortened += 1
        return value[:limit] + "... (%d more characters)" % (len(value) - limit)

    def items(self, name: str, values: Sequence[Any], limit: Optional[int] = None) -> List[Any]:
        limit = self.budget.items if limit is None else limit
        if limit is None or len(values) <= limit:
            self.omitted.setdefault(name, 0)
            return list(values)
        self.omitted[name] = len(values) - limit
        return list(values[:limit])


_FINDING_TEXT_FIELDS = ("database", "table", "column", "before", "after", "renamed_to", "summary")


def build_alert(assessment: Assessment, pause: Optional[PauseOutcome], max_findings: Optional[int] = None,
                budget: Optional[Budget] = None) -> Alert:
    budget = budget or Budget(findings=max_findings)
    cut = _Cutter(budget)
    event = assessment.event
    label = table_label(event)
    severity = assessment.severity
    ordered = sorted(assessment.findings, key=lambda f: -SEVERITY_RANK[f.severity])
    top = ordered[0] if ordered else None
    summary = top.headline if top else event.type_of_change
    if len(ordered) > 1:
        summary += " (+%d more)" % (len(ordered) - 1)
    subject = subject_line("[%s] %s: %s" % (severity, label["subject"], summary))
    shown = cut.items("findings", ordered, budget.findings)
    omitted = len(ordered) - len(shown)
    findings_json = []
    for finding in shown:
        document = finding.to_json()
        for key in _FINDING_TEXT_FIELDS:
            document[key] = cut.text(document[key])
        findings_json.append(document)
    single_table = event.table if event.table else (event.changed_tables[0] if len(event.changed_tables) == 1 else None)

    payload: Dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "severity": severity,
        "summary": cut.text(summary),
        "database": cut.text(event.database),
        "table": cut.text(single_table),
        "tables": [cut.text(t) for t in cut.items("tables", event.tables)],
        "event": {
            "id": cut.text(event.event_id),
            "time": cut.text(event.time),
            "account": cut.text(event.account),
            "region": cut.text(event.region),
            "detail_type": cut.text(event.detail_type),
            "type_of_change": cut.text(event.type_of_change),
            "changed_partitions": [cut.text(p) for p in cut.items("changed_partitions", event.changed_partitions)],
        },
        "versions": ({"compared": assessment.versions_compared, "available": assessment.versions_available}
                     if assessment.versions_available is not None else None),
        "export_jobs_affected": assessment.affected_jobs,
        "findings": findings_json,
        "findings_omitted": omitted,
        "notes": [cut.text(note) for note in cut.items("notes", assessment.notes)],
        "pause": pause.to_json() if pause else None,
    }
    payload.update({"tables_omitted": cut.omitted["tables"],
                    "changed_partitions_omitted": cut.omitted["changed_partitions"],
                    "notes_omitted": cut.omitted["notes"],
                    "values_shortened": cut.shortened})
    text = _render_text(assessment, cut.text(label["subject"]) or "", findings_json, omitted, payload, pause)
    return Alert(subject, text, payload, _attributes(assessment, label["attribute"]))


def _render_text(assessment: Assessment, label: str, findings: List[Dict[str, Any]], omitted: int,
                 payload: Dict[str, Any], pause: Optional[PauseOutcome]) -> str:
    severity = assessment.severity
    lines = ["%s: schema change in Glue Data Catalog %s (%s)" % (severity, label, payload["event"]["type_of_change"]), "",
             _HEADLINES[severity], ""]
    if assessment.versions_compared:
        lines.append("Changes (table versions %d -> %d, the two newest of %d):" % (
            assessment.versions_compared[0], assessment.versions_compared[1], assessment.versions_available or 0))
    else:
        lines.append("Changes:")
    for finding in findings:
        lines.append("  - [%s] %s" % (finding["severity"], finding["summary"]))
        if finding["severity"] != INFO:
            lines.append("      why: %s (rule %s)" % (RULES[finding["rule"]].why, finding["rule"]))
    if omitted:
        lines.append("  - ... and %d more change(s) left out to fit the message size limit" % omitted)
    shortened = _shortened_text(payload)
    if shortened:
        lines.append("")
        lines.append("Shortened to fit the SNS message size limit: %s (the JSON form says the same)." % shortened)
    lines.append("")
    jobs = assessment.affected_jobs
    lines.append("Export jobs affected: %s" % (", ".join(jobs) if jobs else "none"))
    if payload["notes"]:
        lines.append("")
        lines.append("Notes:")
        lines.extend("  - %s" % note for note in payload["notes"])
        if payload["notes_omitted"]:
            lines.append("  - ... and %d more note(s) left out" % payload["notes_omitted"])
    if pause is not None:
        lines.append("")
        lines.extend(_pause_text(pause))
    lines.append("")
    facts = payload["event"]
    lines.append("Event %s at %s (account %s, region %s)." % (
        facts["id"], facts["time"] or "unknown time", facts["account"] or "unknown", facts["region"] or "unknown"))
    return "\n".join(lines) + "\n"


def _shortened_text(payload: Dict[str, Any]) -> str:
    parts = []
    for key, noun in (("changed_partitions_omitted", "changed partition(s)"), ("tables_omitted", "table name(s)")):
        if payload[key]:
            parts.append("%d %s left out" % (payload[key], noun))
    if payload["values_shortened"]:
        parts.append("%d long value(s) cut short" % payload["values_shortened"])
    return ", ".join(parts)


def _pause_text(pause: PauseOutcome) -> List[str]:
    if pause.status == "stopped":
        return ["Workflow schedule PAUSED: the scheduled start trigger %s was stopped so the next export does not run."
                % pause.trigger,
                "After fixing the export spec or the table, resume the schedule with:",
                "  %s" % pause.resume_command]
    if pause.status == "failed":
        return ["Workflow schedule NOT paused: stopping the trigger %s failed: %s" % (pause.trigger, pause.detail),
                "The next scheduled export will still run."]
    if pause.status == "no_schedule_trigger":
        return ["Workflow schedule: nothing to pause (the workflow is started on demand, not on a schedule)."]
    return ["Workflow schedule NOT paused (PAUSE_ON_BREAKING is off): the next export started by the trigger %s "
            "will run." % pause.trigger]


def _attributes(assessment: Assessment, table_attribute: str) -> Dict[str, Dict[str, str]]:
    event = assessment.event

    def value(text: str) -> str:
        return text if len(text) <= ATTRIBUTE_VALUE_LIMIT else text[:ATTRIBUTE_VALUE_LIMIT]

    attributes = {
        "severity": {"DataType": "String", "StringValue": assessment.severity},
        "database": {"DataType": "String", "StringValue": value(event.database)},
        "table": {"DataType": "String", "StringValue": value(table_attribute)},
        "type_of_change": {"DataType": "String", "StringValue": value(event.type_of_change)},
    }
    if event.tables:
        # A filter policy on "tables" matches when any listed table matches.
        listed: List[str] = []
        size = 2
        for table in event.tables:
            size += len(json.dumps(table).encode("utf-8")) + 1
            if size > TABLES_ATTRIBUTE_LIMIT:
                break
            listed.append(table)
        attributes["tables"] = {"DataType": "String.Array", "StringValue": json.dumps(listed)}
        if len(listed) < len(event.tables):
            attributes["tables_omitted"] = {"DataType": "Number", "StringValue": str(len(event.tables) - len(listed))}
    return attributes


def fit_alert(assessment: Assessment, pause: Optional[PauseOutcome]) -> Alert:
    """Build the alert, showing less of every unbounded part until SNS accepts its size."""
    alert = None
    for budget in _budgets(len(assessment.findings)):
        alert = build_alert(assessment, pause, budget=budget)
        if fits_sns(alert):
            return alert
    # Not reached: the shortest form holds one finding, one entry per list and 64-character values.
    raise ValueError("the alert does not fit SNS's limits even at its shortest (%d bytes)" % _size(alert))


def fits_sns(alert: Alert) -> bool:
    return _size(alert) <= MESSAGE_LIMIT and _utf16_length(alert.subject) <= SUBJECT_LIMIT


def _size(alert: Alert) -> int:
    attributes = sum(len(k.encode("utf-8")) + len(v["DataType"]) + len(v["StringValue"].encode("utf-8"))
                     for k, v in alert.attributes.items())
    return len(alert.sns_message().encode("utf-8")) + attributes
