"""Failures the pipeline tells apart: a bad file is permanent, anything else may be retried."""

from __future__ import annotations

from typing import Any


class FileError(Exception):
    """The input file cannot be processed as it is: retrying will not help.

    `code` is stable and machine-readable (it lands in errors/...json and metrics);
    `message` is one line a person can act on.
    """

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class Superseded(Exception):
    """The event names an upload that a newer one has replaced: nothing to do, nothing to retry."""


class TransientError(Exception):
    """Worth retrying later (another run holds the source, throttling): fail the message."""
