"""Both Lambda packages do the same things the same way: logs, clients, settings."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from schema_drift import clients, handler as handler_module

from .conftest import table_event

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"


def test_both_packages_carry_the_same_logs_module():
    """Terraform zips each package alone, so each carries a copy; the copies must not drift apart."""
    pipeline = (LAMBDA_SRC / "personalize_pipeline" / "logs.py").read_text()
    drift = (LAMBDA_SRC / "schema_drift" / "logs.py").read_text()
    assert pipeline == drift


def test_handler_takes_its_clients_from_the_injected_factory(aws, catalog, monkeypatch):
    asked = []

    def factory(service):
        asked.append(service)
        return getattr(aws, service)

    monkeypatch.setattr(handler_module, "_clients", None)
    for name, value in aws.env().items():
        monkeypatch.setenv(name, value)
    clients.set_client_factory(factory)
    try:
        outcome = handler_module.handler(table_event("UpdateTable", "orders"), SimpleNamespace(aws_request_id="req-1"))
    finally:
        clients.set_client_factory(None)
    assert sorted(asked) == ["dynamodb", "glue", "s3", "sns"]
    assert outcome["status"] == "silenced"


def test_an_unknown_log_level_is_refused_naming_the_variable(aws, monkeypatch):
    for name, value in aws.env(LOG_LEVEL="LOUD").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'"):
        handler_module.handler(table_event("UpdateTable", "orders"), SimpleNamespace(aws_request_id="req-1"))


def test_bound_fields_are_on_every_line_of_the_invocation(capsys):
    from schema_drift import logs

    logger = logs.get_logger("INFO")
    logs.bind(correlation_id="run-7")
    try:
        logger.info("one", extra={"step": 1})
        logger.info("two")
    finally:
        logs.bind()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(line["message"], line["correlation_id"]) for line in lines] == [("one", "run-7"), ("two", "run-7")]
    assert lines[0]["step"] == 1 and "step" not in lines[1]
    assert lines[0]["timestamp"].endswith("Z")
