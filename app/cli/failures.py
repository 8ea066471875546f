"""How a failure reads on the command line: one line, the cause and what to do.

Known failures (a file system refusing a write, AWS refusing or unreachable) are explained
here; anything else reaches main()'s safety net, which names the exception and says how to
see its traceback (ORDERS_PIPELINE_DEBUG=1).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

DEBUG_VARIABLE = "ORDERS_PIPELINE_DEBUG"


class CliError(Exception):
    """A failure the user can act on: main() prints `error: <message>` and exits 1."""


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() not in {"", "0", "false", "no"}


def one_line(text: object) -> str:
    """Whitespace (newlines included) collapsed: a message is one line whatever it quotes."""
    return " ".join(str(text).split())


def describe(exc: BaseException) -> str:
    """The exception's type and message, on one line."""
    text = one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def explain(exc: BaseException, source: str, out: Path | None = None) -> str | None:
    """One line for a failure of reading `source` or writing under `out`; None if unknown."""
    aws = _explain_aws(exc, source)
    if aws is not None:
        return aws
    if isinstance(exc, OSError):
        return _explain_os(exc, source, out)
    return None


# --------------------------------------------------------------------------- files

_WRITE_HINTS = {
    errno.ENAMETOOLONG: "the path is too long for the file system: choose a shorter --out path",
    errno.ENOSPC: "the disk is full: free some space or choose another --out directory",
    errno.EDQUOT: "the disk quota is exceeded: free some space or choose another --out directory",
    errno.EACCES: "choose a writable --out directory",
    errno.EPERM: "choose a writable --out directory",
    errno.EROFS: "the file system is read-only: choose another --out directory",
}


def _explain_os(exc: OSError, source: str, out: Path | None) -> str:
    reason = exc.strerror or describe(exc)
    name = os.fsdecode(exc.filename) if exc.filename is not None else None
    if name is not None and out is not None and _within(Path(name), out):
        hint = _WRITE_HINTS.get(exc.errno or 0, "check the --out directory")
        return f"cannot write {shorten(name)}: {reason}; {hint}"
    if name is not None and _same(Path(name), source):
        return f"{source}: cannot read it: {reason}"
    return f"{source}: {reason}" + (f" ({shorten(name)})" if name else "")


def _within(path: Path, root: Path) -> bool:
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(root))


def _same(path: Path, source: str) -> bool:
    return os.path.abspath(path) == os.path.abspath(source)


def shorten(text: str, limit: int = 160) -> str:
    """A path too long to read whole keeps its ends: what was written, and where."""
    if len(text) <= limit:
        return text
    keep = (limit - 1) // 2
    return f"{text[:keep]}…{text[-keep:]}"


# --------------------------------------------------------------------------- AWS

_ACCESS_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "UnrecognizedClientException",
}
_MISSING_BUCKET = {"NoSuchBucket"}
_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}


def _explain_aws(exc: BaseException, source: str) -> str | None:
    if not type(exc).__module__.startswith("botocore"):
        return None
    from botocore import exceptions as aws

    if isinstance(exc, aws.NoCredentialsError):
        return (
            f"{source}: no AWS credentials found; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (`aws configure` writes a profile)"
        )
    if isinstance(exc, aws.PartialCredentialsError):
        return f"{source}: {one_line(exc)}; set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, aws.ProfileNotFound):
        return f"{source}: {one_line(exc)}; check AWS_PROFILE (`aws configure list-profiles`)"
    if isinstance(exc, aws.ConnectionError | aws.HTTPClientError):
        endpoint = exc.kwargs.get("endpoint_url") or "the S3 endpoint"
        if isinstance(exc, aws.ConnectTimeoutError):
            why = "the connection timed out"
        elif isinstance(exc, aws.ReadTimeoutError):
            why = "no answer in time"
        elif isinstance(exc, aws.EndpointConnectionError):
            why = "the connection failed"
        else:
            why = one_line(exc)
        return (
            f"{source}: cannot reach {endpoint} ({why}); check the network, "
            "or AWS_ENDPOINT_URL if it is set"
        )
    if isinstance(exc, aws.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _ACCESS_DENIED or (not code and status == 403):
            return (
                f"{source}: access denied; the credentials need s3:GetObject on the object "
                "(without s3:ListBucket on the bucket, S3 says this for a missing key too)"
            )
        if code in _BAD_CREDENTIALS:
            return (
                f"{source}: the AWS credentials were refused ({code}); check AWS_PROFILE or the "
                "access keys, and renew an expired session"
            )
        if code in _MISSING_BUCKET:
            return f"{source}: the bucket does not exist; check the bucket name"
        if code in _MISSING_KEY:
            return f"{source}: the object does not exist; check the key"
        message = one_line(error.get("Message", "")) or f"HTTP {status}"
        return f"{source}: S3 refused the request ({code}: {message})"
    if isinstance(exc, aws.BotoCoreError):
        return f"{source}: {one_line(exc)}"
    return None
