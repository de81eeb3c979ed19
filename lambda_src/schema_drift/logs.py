"""Structured JSON logs: one JSON object per line on stdout, which Lambda ships
to CloudWatch.

Each Lambda package carries this same file (personalize_pipeline/logs.py and
schema_drift/logs.py are kept identical by a test): Terraform zips each package
on its own, so neither can import the other's copy.

Fields bound with ``bind`` (a correlation id, the function's name) are written
on every line of the current invocation; ``extra`` fields on one line only."""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from contextvars import ContextVar
from typing import Any, Dict, Optional

# The package this copy lives in: personalize_pipeline or schema_drift.
LOGGER_NAME = __name__.rpartition(".")[0]
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_bound: ContextVar[Dict[str, Any]] = ContextVar("log_fields", default={})


def bind(**fields: Any) -> None:
    """Set the fields written on every line of the current invocation."""
    _bound.set(dict(fields))


class JsonFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry: Dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + ".%03dZ" % record.msecs,
        }
        entry.update(_bound.get())
        entry.update({key: value for key, value in vars(record).items()
                      if key not in _STANDARD and not key.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time (Lambda sends stdout to CloudWatch)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def get_logger(level: Optional[str] = None) -> logging.Logger:
    """The package's JSON logger at ``level`` (default: LOG_LEVEL, else INFO).
    Call it per invocation so that a changed LOG_LEVEL takes effect."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, StdoutHandler) for h in logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        # The Lambda runtime's root handler would print every record a second time.
        logger.propagate = False
    wanted = (level or os.environ.get("LOG_LEVEL") or "INFO").strip().upper()
    if wanted not in LEVELS:
        raise ValueError("LOG_LEVEL: must be one of %s, got %r" % (", ".join(LEVELS), level or os.environ.get("LOG_LEVEL")))
    logger.setLevel(wanted)
    return logger


def log(logger: logging.Logger, level: int, message: str, exc_info: bool = False, **fields: Any) -> None:
    """Log ``message`` with ``fields`` as top-level keys of its JSON line."""
    logger.log(level, message, exc_info=exc_info, extra=fields)
