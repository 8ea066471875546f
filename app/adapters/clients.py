"""boto3 clients with one configuration: bounded retries and timeouts, typed with the stubs."""

from __future__ import annotations

from collections.abc import Callable
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


class Clients:
    """A function's AWS clients, each made on first use (boto3 and its models load then: a
    faster cold start), unless given (the tests and the local stack hand in their own)."""

    def __init__(self, given: dict[str, Any], **factories: Callable[[], Any]) -> None:
        self._made = {name: value for name, value in given.items() if value is not None}
        self._factories = factories

    def __call__(self, name: str) -> Any:
        if name not in self._made:
            self._made[name] = self._factories.get(name, lambda: client(name))()
        return self._made[name]
