"""boto3 clients with one configuration: bounded retries and timeouts, typed with the stubs."""

from __future__ import annotations

from typing import Any

from botocore.config import Config

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=60,
)


def client(service: str, **kwargs: Any) -> Any:
    """A client from the default session (the function's role, or the CLI's credentials)."""
    import boto3  # loaded on first use: a faster cold start for functions that need none yet

    return boto3.client(service, config=CLIENT_CONFIG, **kwargs)  # type: ignore[call-overload]
