"""Which objects are CSV input, and the stream to parse for each: `.csv` as it is, `.csv.gz`
decompressed as it is read. Shared by every pipeline that reads uploaded CSVs."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable
from typing import IO, Any

from app.core.errors import FileError


def input_format(key: str) -> str | None:
    """ "csv", "csv.gz" (gzip-compressed CSV), or None for a key the pipeline does not read.

    The suffix is matched in any letter case: partners upload `ORDERS.CSV` too.
    """
    lowered = key.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".csv.gz"):
        return "csv.gz"
    return None


class _Counting(io.RawIOBase):
    """Counts the bytes read from the store (compressed, for .csv.gz): honest progress."""

    def __init__(self, raw: IO[bytes], on_bytes: Callable[[int], None] | None) -> None:
        self.raw = raw
        self.on_bytes = on_bytes
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.raw.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.total += len(chunk)
        if chunk and self.on_bytes:
            self.on_bytes(self.total)
        return len(chunk)


class _Gunzip(io.RawIOBase):
    """gzip decompressed on the fly; a corrupt or cut archive is a bad file, not a crash."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self.inner = gzip.GzipFile(fileobj=raw, mode="rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self.inner.readinto(buffer)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileError(
                "invalid_gzip", f"the file is not a complete gzip archive: {exc}"
            ) from exc


def readable(
    raw: IO[bytes], fmt: str | None, on_bytes: Callable[[int], None] | None
) -> tuple[IO[bytes], Callable[[int], None] | None]:
    """The stream the engine reads, and the progress callback the engine should call.

    A plain CSV goes to the engine as it is (the engine counts its bytes); a .csv.gz is
    decompressed on the fly, and progress counts the compressed bytes read from the store.
    """
    if fmt == "csv.gz":
        return io.BufferedReader(_Gunzip(_Counting(raw, on_bytes)), 1 << 20), None
    return raw, on_bytes
