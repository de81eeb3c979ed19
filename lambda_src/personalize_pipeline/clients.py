"""AWS clients, made by one module-level factory that tests and the local
harness replace (``set_client_factory``) to inject fakes or moto clients."""
from __future__ import annotations

from typing import Any, Callable, Optional

import boto3
from botocore.config import Config

# Step Functions owns retries (backoff, jitter, visible in the history), so the
# SDK does not retry on its own and throttling reaches the state machine.
_SDK_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _default_factory(service: str) -> Any:
    return boto3.client(service, config=_SDK_CONFIG)


_factory: Callable[[str], Any] = _default_factory


def set_client_factory(factory: Optional[Callable[[str], Any]]) -> None:
    """Replace the factory; ``None`` restores the default boto3 one."""
    global _factory
    _factory = factory or _default_factory


def client(service: str) -> Any:
    return _factory(service)
