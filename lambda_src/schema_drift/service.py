"""The drift workflow for one event: assess, deduplicate, optionally pause, publish."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from schema_drift.alert import Alert, PauseOutcome, fit_alert
from schema_drift.assess import Assessment, assess
from schema_drift.catalog import GlueCatalog
from schema_drift.dedup import Deduplicator
from schema_drift.events import parse_event
from schema_drift.logs import get_logger, log
from schema_drift.read_map import DriftConfigError, ReadMap, load_read_map
from schema_drift.rules import BREAKING, INFO


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (env.get(name) or "false").strip().lower()
    if value not in ("true", "false"):
        raise DriftConfigError("%s: must be \"true\" or \"false\", got %r" % (name, env.get(name)))
    return value == "true"


def _required(env: Mapping[str, str], name: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise DriftConfigError("%s: is required (set by the schema-drift Terraform module)" % name)
    return value


@dataclass(frozen=True)
class Settings:
    topic_arn: str
    spec_uri: str
    dedup_table: str
    notify_info: bool = False
    pause_on_breaking: bool = False
    schedule_trigger_name: str = ""
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        return cls(
            topic_arn=_required(env, "SNS_TOPIC_ARN"),
            spec_uri=_required(env, "EXPORT_SPEC_URI"),
            dedup_table=_required(env, "DEDUP_TABLE_NAME"),
            notify_info=_flag(env, "NOTIFY_INFO"),
            pause_on_breaking=_flag(env, "PAUSE_ON_BREAKING"),
            schedule_trigger_name=(env.get("SCHEDULE_TRIGGER_NAME") or "").strip(),
            log_level=(env.get("LOG_LEVEL") or "INFO").strip(),
        )


@dataclass(frozen=True)
class Clients:
    glue: Any
    sns: Any
    dynamodb: Any
    s3: Any


@dataclass(frozen=True)
class Outcome:
    """What the Lambda did with one event; returned to the caller and logged."""

    status: str  # published | silenced | duplicate_event | duplicate_content
    event_id: str
    severity: str
    findings: int
    subject: Optional[str] = None
    message_id: Optional[str] = None
    pause: Optional[str] = None

    def to_dict(self) -> dict:
        return {key: value for key, value in vars(self).items()}


def pause_schedule(glue: Any, trigger_name: str) -> PauseOutcome:
    """Stop the workflow's scheduled start trigger; report failures instead of raising,
    because the alert itself matters more than the pause."""
    if not trigger_name:
        return PauseOutcome("no_schedule_trigger", None, "the workflow has no scheduled start trigger")
    try:
        glue.stop_trigger(Name=trigger_name)
    except Exception as error:  # noqa: BLE001 - any failure is reported in the alert
        return PauseOutcome("failed", trigger_name, "%s: %s" % (type(error).__name__, error))
    return PauseOutcome("stopped", trigger_name, "the trigger was deactivated")


def process_event(event: Any, settings: Settings, clients: Clients, request_id: Optional[str] = None,
                  read_map: Optional[ReadMap] = None, logger: Optional[logging.Logger] = None) -> Outcome:
    logger = logger or get_logger(settings.log_level)
    parsed = parse_event(event)
    context = {"event_id": parsed.event_id, "request_id": request_id, "database": parsed.database,
               "type_of_change": parsed.type_of_change, "tables": parsed.tables[:10]}
    log(logger, logging.INFO, "catalog event received", **context)
    if read_map is None:
        read_map = load_read_map(clients.s3, settings.spec_uri)
    assessment: Assessment = assess(parsed, GlueCatalog(clients.glue), read_map)
    severity = assessment.severity
    context.update(severity=severity, findings=[f.rule for f in assessment.findings][:50])
    if severity == INFO and not settings.notify_info:
        log(logger, logging.INFO, "informational change; not notifying (NOTIFY_INFO is off)", **context)
        return Outcome("silenced", parsed.event_id, severity, len(assessment.findings))

    dedup = Deduplicator(clients.dynamodb, settings.dedup_table)
    claims = ["event:" + parsed.event_id]
    if not dedup.claim(claims[0]):
        log(logger, logging.INFO, "event already handled; not alerting again", **context)
        return Outcome("duplicate_event", parsed.event_id, severity, len(assessment.findings))
    if assessment.content_key:
        if not dedup.claim("content:" + assessment.content_key):
            log(logger, logging.INFO, "an alert for the same change was already sent", content_key=assessment.content_key, **context)
            return Outcome("duplicate_content", parsed.event_id, severity, len(assessment.findings))
        claims.append("content:" + assessment.content_key)

    pause = None
    if severity == BREAKING:
        if not settings.schedule_trigger_name:
            pause = PauseOutcome("no_schedule_trigger", None, "the workflow has no scheduled start trigger")
        elif settings.pause_on_breaking:
            pause = pause_schedule(clients.glue, settings.schedule_trigger_name)
            log(logger, logging.WARNING if pause.status == "failed" else logging.INFO, "schedule pause",
                pause_status=pause.status, trigger=pause.trigger, detail=pause.detail, **context)
        else:
            pause = PauseOutcome("disabled", settings.schedule_trigger_name, "PAUSE_ON_BREAKING is off")
    alert: Alert = fit_alert(assessment, pause)
    try:
        response = clients.sns.publish(
            TopicArn=settings.topic_arn,
            Subject=alert.subject,
            Message=alert.sns_message(),
            MessageStructure="json",
            MessageAttributes=alert.attributes,
        )
    except Exception:
        # Let a retry of this event send the alert.
        for key in claims:
            dedup.release(key)
        log(logger, logging.ERROR, "publishing the alert failed", **context)
        raise
    log(logger, logging.INFO, "alert published", subject=alert.subject, message_id=response.get("MessageId"), **context)
    return Outcome("published", parsed.event_id, severity, len(assessment.findings), alert.subject,
                   response.get("MessageId"), pause.status if pause else None)
