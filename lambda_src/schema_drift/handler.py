"""Lambda entry point: Glue Data Catalog events in, one explained SNS alert out."""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from schema_drift import clients
from schema_drift.logs import get_logger, log
from schema_drift.service import Clients, Settings, process_event

_clients: Optional[Clients] = None


def _default_clients() -> Clients:
    """The clients from ``clients.client``, made once per container and reused across invocations."""
    global _clients
    if _clients is None:
        _clients = Clients(glue=clients.client("glue"), sns=clients.client("sns"),
                           dynamodb=clients.client("dynamodb"), s3=clients.client("s3"))
    return _clients


def handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    request_id = getattr(context, "aws_request_id", None)
    logger = get_logger()
    try:
        settings = Settings.from_env()
        outcome = process_event(event, settings, _default_clients(), request_id=request_id, logger=logger)
    except Exception as error:
        # Raised again so the asynchronous invocation is retried and then dead-lettered.
        event_id = event.get("id") if isinstance(event, dict) else None
        log(logger, logging.ERROR, "schema-drift event failed: %s" % error, exc_info=True,
            error_type=type(error).__name__, event_id=event_id, request_id=request_id)
        raise
    return outcome.to_dict()
