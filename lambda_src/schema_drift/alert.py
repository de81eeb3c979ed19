"""Rendering one alert per event: SNS subject, readable text, JSON and filterable attributes.

The message is published with MessageStructure="json": email and SMS
subscribers get the text, while sqs, lambda, http(s), email-json and firehose
subscribers get the same content as a JSON document they can parse.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from schema_drift.assess import Assessment, table_label
from schema_drift.rules import BREAKING, INFO, RULES, SEVERITY_RANK, WARNING

SUBJECT_LIMIT = 99  # SNS: "less than 100 characters", ASCII is the only safe choice for email.
MESSAGE_LIMIT = 256 * 1024
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


def ascii_subject(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """SNS subjects must be one line without control characters; keep them ASCII."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    folded = re.sub(r"[\x00-\x1f\x7f]+", " ", folded)
    folded = " ".join(folded.split())
    if len(folded) > limit:
        folded = folded[: limit - 3].rstrip() + "..."
    return folded


def build_alert(assessment: Assessment, pause: Optional[PauseOutcome], max_findings: Optional[int] = None) -> Alert:
    event = assessment.event
    label = table_label(event)
    severity = assessment.severity
    ordered = sorted(assessment.findings, key=lambda f: -SEVERITY_RANK[f.severity])
    top = ordered[0] if ordered else None
    summary = top.headline if top else event.type_of_change
    if len(ordered) > 1:
        summary += " (+%d more)" % (len(ordered) - 1)
    subject = ascii_subject("[%s] %s: %s" % (severity, label["subject"], summary))
    shown = ordered if max_findings is None else ordered[:max_findings]
    omitted = len(ordered) - len(shown)

    payload: Dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "severity": severity,
        "summary": summary,
        "database": event.database,
        "table": event.table if event.table else (event.changed_tables[0] if len(event.changed_tables) == 1 else None),
        "tables": event.tables,
        "event": {
            "id": event.event_id,
            "time": event.time,
            "account": event.account,
            "region": event.region,
            "detail_type": event.detail_type,
            "type_of_change": event.type_of_change,
            "changed_partitions": event.changed_partitions,
        },
        "versions": ({"compared": assessment.versions_compared, "available": assessment.versions_available}
                     if assessment.versions_available is not None else None),
        "export_jobs_affected": assessment.affected_jobs,
        "findings": [finding.to_json() for finding in shown],
        "findings_omitted": omitted,
        "notes": list(assessment.notes),
        "pause": pause.to_json() if pause else None,
    }
    return Alert(subject, _render_text(assessment, label["subject"], shown, omitted, pause), payload,
                 _attributes(assessment, label["attribute"]))


def _render_text(assessment: Assessment, label: str, findings: List[Any], omitted: int,
                 pause: Optional[PauseOutcome]) -> str:
    event = assessment.event
    severity = assessment.severity
    lines = ["%s: schema change in Glue Data Catalog %s (%s)" % (severity, label, event.type_of_change), "",
             _HEADLINES[severity], ""]
    if assessment.versions_compared:
        lines.append("Changes (table versions %d -> %d, the two newest of %d):" % (
            assessment.versions_compared[0], assessment.versions_compared[1], assessment.versions_available or 0))
    else:
        lines.append("Changes:")
    for finding in findings:
        lines.append("  - [%s] %s" % (finding.severity, finding.summary))
        if finding.severity != INFO:
            lines.append("      why: %s (rule %s)" % (RULES[finding.rule].why, finding.rule))
    if omitted:
        lines.append("  - ... and %d more change(s) left out to fit the message size limit" % omitted)
    lines.append("")
    jobs = assessment.affected_jobs
    lines.append("Export jobs affected: %s" % (", ".join(jobs) if jobs else "none"))
    if assessment.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend("  - %s" % note for note in assessment.notes)
    if pause is not None:
        lines.append("")
        lines.extend(_pause_text(pause))
    lines.append("")
    lines.append("Event %s at %s (account %s, region %s)." % (
        event.event_id, event.time or "unknown time", event.account or "unknown", event.region or "unknown"))
    return "\n".join(lines) + "\n"


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
    attributes = {
        "severity": {"DataType": "String", "StringValue": assessment.severity},
        "database": {"DataType": "String", "StringValue": event.database},
        "table": {"DataType": "String", "StringValue": table_attribute},
        "type_of_change": {"DataType": "String", "StringValue": event.type_of_change},
    }
    if event.tables:
        # A filter policy on "tables" matches when any listed table matches.
        attributes["tables"] = {"DataType": "String.Array", "StringValue": json.dumps(event.tables)}
    return attributes


def fit_alert(assessment: Assessment, pause: Optional[PauseOutcome]) -> Alert:
    """Build the alert, listing fewer findings when the SNS size limit would be exceeded."""
    alert = build_alert(assessment, pause)
    limit = len(assessment.findings)
    while limit > 1 and _size(alert) > MESSAGE_LIMIT:
        limit //= 2
        alert = build_alert(assessment, pause, max_findings=limit)
    return alert


def _size(alert: Alert) -> int:
    attributes = sum(len(k) + len(v["DataType"]) + len(v["StringValue"].encode("utf-8")) for k, v in alert.attributes.items())
    return len(alert.sns_message().encode("utf-8")) + attributes
