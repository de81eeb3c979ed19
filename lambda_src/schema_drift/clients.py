"""AWS clients, made by one module-level factory that tests replace
(``set_client_factory``) to inject fakes or moto clients."""
from __future__ import annotations

from typing import Any, Callable, Optional

import boto3


def _default_factory(service: str) -> Any:
    # The function is invoked asynchronously and its failures are retried and
    # dead-lettered by Lambda, so the SDK's own standard retries are kept.
    return boto3.client(service)


_factory: Callable[[str], Any] = _default_factory


def set_client_factory(factory: Optional[Callable[[str], Any]]) -> None:
    """Replace the factory; ``None`` restores the default boto3 one."""
    global _factory
    _factory = factory or _default_factory


def client(service: str) -> Any:
    return _factory(service)
