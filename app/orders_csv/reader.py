"""Reading a CSV as whole records, accounting for every byte.

The stream is read in blocks of BLOCK_SIZE bytes. Each block is checked (UTF-8 text without
NUL bytes) and scanned once, in vectorised numpy, for the ends of records: line ends (LF,
CRLF or a bare CR) outside quoted fields. What is handed on is always a run of whole records,
which pyarrow then parses on its own (one block per run, so no record ever straddles two of
its blocks, however long). A record may be up to MAX_ROW_BYTES long.

Quoting follows RFC 4180 as pyarrow (and Python's csv module) read it: a field that starts
with `"` is quoted until the next `"` that is not doubled; commas, quotes (doubled) and line
ends inside it are data. A `"` anywhere else (inside an unquoted field, or after a closing
quote) is an ordinary character. A quoted field still open at the end of the file, or longer
than MAX_ROW_BYTES, fails the file ("malformed_csv", naming the line where it opened).

Line numbers in messages count line ends as an editor does (LF, CRLF, CR), the first line
being 1; they differ from record numbers when quoted fields hold line ends.

A reader can also start mid-file (`resume_at`, a `position` an earlier reader reported): the
stream then begins at that record, with no header and no BOM, and offsets and line numbers
in messages still count from the start of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from app.core.errors import FileError

BLOCK_SIZE = 4 << 20  # bytes read at a time: pyarrow parses each run of records in one go
MAX_ROW_BYTES = 64 << 20  # the longest record (the header included) the reader accepts

_QUOTE, _COMMA, _LF, _CR = 0x22, 0x2C, 0x0A, 0x0D
_BOM = b"\xef\xbb\xbf"


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass
class Chunk:
    """Whole records: `data` starts at the start of a record and ends at the end of one."""

    data: bytes
    line: int  # the line number of data's first byte


@dataclass
class _State:
    """Where the scan stands at the end of what it has seen."""

    inside: bool = False  # in a quoted field
    prev: int = _LF  # the last byte seen (a record starts after a line end)
    prev_toggled: bool = False  # that byte was a quote that opened or closed a quoted field
    open_at: int = 0  # file offset of the last quote that opened a quoted field


def _line_ends(a: np.ndarray, block: bytes) -> np.ndarray:
    """Offsets of the line ends in a block: every LF, and every CR not followed by LF
    (a block never ends with a CR unless the file does)."""
    lf = np.flatnonzero(a == _LF)
    if b"\r" not in block:
        return lf
    cr = np.flatnonzero(a == _CR)
    following = a[np.minimum(cr + 1, len(a) - 1)]
    bare = cr[(following != _LF) | (cr == len(a) - 1)]
    ends: np.ndarray = np.union1d(lf, bare) if len(bare) and len(lf) else (lf if len(lf) else bare)
    return ends


def _togglers(a: np.ndarray, quotes: np.ndarray, state: _State) -> np.ndarray:
    """The quotes of a block that open or close a quoted field (the others are data)."""
    if len(quotes) == 0:
        return quotes
    before = a[np.maximum(quotes - 1, 0)]
    if quotes[0] == 0:
        before[0] = state.prev
    # Fast path: every quote toggles, which holds exactly when every quote that would open
    # a field (every other one, from the first that finds the scan outside) starts a field,
    # or directly follows a closing quote (a doubled quote inside a quoted field).
    first = 1 if state.inside else 0
    opening = before[first::2]
    starts = (opening == _COMMA) | (opening == _LF) | (opening == _CR)
    doubled = opening == _QUOTE
    if first == 0 and quotes[0] == 0 and not state.prev_toggled:
        doubled[0] = False
    ok = starts | doubled
    if ok.all():
        return quotes
    # Some quote sits inside an unquoted field (`24" monitor`): it is data. From there, walk
    # the quoted fields rather than the quotes: a field opens at the first quote that starts
    # a field, closes at the quote after that, and reopens at once if the next quote follows
    # directly (a doubled quote); every quote in between is data.
    stop = first + 2 * int(np.argmin(ok))  # the first would-be opening quote that is data
    field_start = np.flatnonzero((before == _COMMA) | (before == _LF) | (before == _CR))
    after = np.searchsorted(field_start, np.arange(len(quotes)), side="right")
    next_start = np.append(field_start, len(quotes))[after]  # the first after each quote
    follows = np.zeros(len(quotes), dtype=bool)
    follows[:-1] = quotes[1:] == quotes[:-1] + 1
    starts_after, directly = next_start.tolist(), follows.tolist()
    picked = list(range(stop))
    i = starts_after[stop]
    while i < len(quotes):
        picked.append(i)  # opens a field
        if i + 1 == len(quotes):
            break  # still open at the end of the block
        picked.append(i + 1)  # closes it
        i = i + 2 if directly[i + 1] else starts_after[i + 1]
    result: np.ndarray = quotes[picked]
    return result


class RecordReader:
    """A binary stream as a header and then runs of whole records, checked as it is read."""

    def __init__(
        self,
        stream: Readable,
        on_bytes: Callable[[int], None] | None = None,
        block_size: int | None = None,
        max_row_bytes: int | None = None,
        resume_at: tuple[int, int] | None = None,
    ) -> None:
        """`resume_at`: (file offset, line number) of the record the stream starts at, as
        `position` gave it; the stream holds records only (call chunks(), not header())."""
        self._stream = stream
        self._on_bytes = on_bytes or (lambda _n: None)
        self._block_size = block_size or BLOCK_SIZE
        self._max_row = max_row_bytes or MAX_ROW_BYTES
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._state = _State()
        self._inside_before = False  # the state at the start of the block just scanned
        self.bytes_read = 0
        self._offset = 0  # file offset (after any BOM) of the next block
        self._bom = 0
        self._started = False
        self._pending: list[bytes] = []  # the record in progress (read, not yet handed on)
        self._pending_size = 0
        self._pending_lines = 0  # line ends inside it
        self._line = 1  # line number where it starts
        self._ready: Chunk | None = None  # whole records read with the header
        self._carry = b""  # a byte read ahead (to see whether a CR is followed by LF)
        self._position = (0, 1)  # file offset and line of the next record not handed on
        if resume_at is not None:
            self._started = True  # mid-file: no BOM to look for
            self._offset, self._line = resume_at
            self._position = resume_at

    @property
    def position(self) -> tuple[int, int]:
        """(file offset, line number) of the next record not yet handed on: where a reader
        given `resume_at` would continue."""
        return self._position

    # ------------------------------------------------------------------ reading blocks

    def _read(self, size: int) -> bytes:
        data = self._stream.read(size)
        if data:
            self.bytes_read += len(data)
            self._on_bytes(self.bytes_read)
        return data

    def _block(self) -> bytes:
        """The next block, checked; b"" at the end of the file."""
        data = self._carry + self._read(self._block_size - len(self._carry))
        self._carry = b""
        if not self._started:
            self._started = True
            while data and len(data) < len(_BOM) and _BOM.startswith(data):
                more = self._read(len(_BOM))
                if not more:
                    break
                data += more
            if data.startswith(_BOM):
                data, self._bom = data[len(_BOM) :], len(_BOM)
                if not data:
                    data = self._read(self._block_size)
        if data.endswith(b"\r"):  # never split a CRLF between two blocks
            more = self._read(1)
            if more == b"\n":
                data += more
            else:  # the CR is a line end of its own; the byte goes with the next block
                self._carry = more
        self._check_text(data)
        return data

    def _check_text(self, data: bytes) -> None:
        """UTF-8 without NUL bytes, or a FileError naming the line of the first bad byte."""
        pending = len(self._decoder.getstate()[0])
        nul = data.find(b"\x00")
        if nul < 0 and pending == 0 and (not data or np.frombuffer(data, np.uint8).max() < 0x80):
            return  # ASCII (numpy's max releases the GIL, bytes.isascii does not)
        bad = -1
        try:
            self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            bad = max(exc.start - pending, 0)
        if nul >= 0:  # NUL bytes mean binary data (or UTF-16), whatever else is wrong
            line = self._line_at(data, nul)
            what = (
                "this is a gzip-compressed file: decompress it, or name it .csv.gz"
                if self._offset == 0 and data.startswith(b"\x1f\x8b")
                else "this is a binary file (or UTF-16 text), not a UTF-8 CSV"
            )
            raise FileError(
                "not_text",
                f"line {line} contains a NUL byte: {what}",
                line=line,
                offset=self._bom + self._offset + nul,
            )
        if bad >= 0:
            line = self._line_at(data, bad)
            where = self._bom + self._offset + bad
            what = (
                f"byte 0x{data[bad]:02X} at offset {where}"
                if bad < len(data)
                else "it ends inside a character"
            )
            raise FileError(
                "invalid_encoding",
                f"the file is not valid UTF-8 text: line {line} ({what}); save it as UTF-8",
                line=line,
                offset=where,
            )

    def _line_at(self, data: bytes, position: int) -> int:
        """The line number of data[position], data being the block after the pending ones."""
        a = np.frombuffer(data, dtype=np.uint8)
        before = int(np.searchsorted(_line_ends(a, data), position))
        return self._line + self._pending_lines + before

    def _line_of(self, offset: int) -> int:
        """The line number of a file offset inside the pending data."""
        start, line = self._offset - self._pending_size, self._line
        for piece in self._pending:
            ends = _line_ends(np.frombuffer(piece, dtype=np.uint8), piece)
            if offset < start + len(piece):
                return line + int(np.searchsorted(ends, offset - start))
            line += len(ends)
            start += len(piece)
        return line

    # ------------------------------------------------------------------ scanning

    def _scan(self, block: bytes) -> np.ndarray:
        """The quotes of a block that open or close a quoted field; updates the state."""
        state = self._state
        a = np.frombuffer(block, dtype=np.uint8)
        togglers = _togglers(a, np.flatnonzero(a == _QUOTE), state)
        self._inside_before = state.inside
        state.inside = state.inside != bool(len(togglers) % 2)
        if len(togglers):
            # The last quote that opened a field, not counting the second of a doubled quote
            # (a close and a reopen, to the scan): where a field still open at the end began.
            openers = np.arange(1 if self._inside_before else 0, len(togglers), 2)
            before = togglers[np.maximum(openers - 1, 0)]
            if len(openers) and openers[0] == 0:
                before[0] = -1 if state.prev_toggled else -2
            starts = togglers[openers][togglers[openers] - 1 != before]
            if len(starts):
                state.open_at = self._offset + int(starts[-1])
        state.prev = int(a[-1])
        state.prev_toggled = bool(len(togglers)) and int(togglers[-1]) == len(a) - 1
        return togglers

    def _outside(self, togglers: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Which of these positions of the block just scanned lie outside quoted fields."""
        result: np.ndarray = (np.searchsorted(togglers, positions) + self._inside_before) % 2 == 0
        return result

    def _record_ends(self, block: bytes, togglers: np.ndarray) -> np.ndarray:
        """Offsets just past every record end in the block just scanned."""
        lines = _line_ends(np.frombuffer(block, dtype=np.uint8), block)
        ends: np.ndarray = lines[self._outside(togglers, lines)] + 1
        return ends

    def _last_end(self, block: bytes, togglers: np.ndarray) -> int:
        """Offset just past the block's last record end, 0 if none ends in it."""
        last = block.rfind(b"\n")
        if (
            last >= 0
            and block.find(b"\r", last) < 0
            and self._outside(togglers, np.array([last]))[0]
        ):
            return last + 1
        ends = self._record_ends(block, togglers)  # the rare case: CR-only, or a quoted end
        return int(ends[-1]) if len(ends) else 0

    def _fail_long(self) -> FileError:
        """The record in progress (all of the pending data) has outgrown the limit."""
        limit = _size(self._max_row)
        if self._state.inside:
            line = self._line_of(self._state.open_at)
            return FileError(
                "malformed_csv",
                f"line {line}: a quoted field opens here and is not closed within {limit} "
                "(a missing closing quote?)",
                line=line,
                limit_bytes=self._max_row,
            )
        return FileError(
            "row_too_long",
            f"line {self._line}: the record starting here is longer than {limit}, "
            "the longest this pipeline reads",
            line=self._line,
            limit_bytes=self._max_row,
        )

    def _fail_open_quote(self) -> FileError:
        line = self._line_of(self._state.open_at)
        return FileError(
            "malformed_csv",
            f"line {line}: a quoted field opens here and is never closed (the file ends "
            "inside it: a missing closing quote?)",
            line=line,
        )

    def _take(self, block: bytes, end: int) -> bytes:
        """Hand on pending + block[:end] (whole records); keep the rest as pending."""
        taken = b"".join([*self._pending, memoryview(block)[:end]])
        rest = block[end:]
        after = _count_lines(rest)
        self._line += self._pending_lines + _count_lines(block) - after
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)
        self._pending_lines = after
        return taken

    def _keep(self, block: bytes) -> None:
        self._pending.append(block)
        self._pending_size += len(block)
        self._pending_lines += _count_lines(block)

    # ------------------------------------------------------------------ the records

    def header(self) -> list[str]:
        """The first record's fields. Raises FileError for an empty, binary or bad header."""
        while True:
            block = self._block()
            if not block:
                if self.bytes_read == 0:
                    raise FileError("empty_file", "the file is empty (0 bytes)")
                if self._state.inside:
                    raise self._fail_open_quote()
                text = b"".join(self._pending)
                self._position = (self._bom + len(text), self._line + self._pending_lines)
                self._pending, self._pending_size, self._pending_lines = [], 0, 0
                return _fields(text, self._line)
            togglers = self._scan(block)
            self._offset += len(block)
            ends = self._record_ends(block, togglers)
            if len(ends):
                self._check_length(int(ends[0]))
                taken = self._take(block, int(ends[0]))
                header = _fields(taken, 1)
                self._position = (self._bom + len(taken), self._line)
                if len(ends) > 1:  # whole records follow: hand them on first
                    rest = self._pending[0]
                    self._pending, self._pending_size, self._pending_lines = [], 0, 0
                    line = self._line
                    self._ready = Chunk(self._take(rest, int(ends[-1] - ends[0])), line)
                return header
            self._keep(block)
            if self._pending_size > self._max_row:
                raise self._fail_long()

    def chunks(self) -> Iterator[Chunk]:
        """The records after the header, in runs of about BLOCK_SIZE bytes."""
        if self._ready is not None:
            ready, self._ready = self._ready, None
            self._position = (self._position[0] + len(ready.data), self._line)
            yield ready
        while True:
            block = self._block()
            if not block:
                if self._state.inside:
                    raise self._fail_open_quote()
                if self._pending:
                    last = Chunk(b"".join(self._pending), self._line)
                    self._position = (
                        self._position[0] + len(last.data),
                        self._line + self._pending_lines,
                    )
                    self._pending, self._pending_size = [], 0
                    yield last
                return
            togglers = self._scan(block)
            self._offset += len(block)
            if self._pending_size + len(block) > self._max_row:  # is a record too long?
                ends = self._record_ends(block, togglers)
                if len(ends):
                    self._check_length(int(ends[0]))
            end = self._last_end(block, togglers)
            if end:
                line = self._line
                data = self._take(block, end)
                self._position = (self._position[0] + len(data), self._line)
                yield Chunk(data, line)
            else:
                self._keep(block)
                if self._pending_size > self._max_row:
                    raise self._fail_long()

    def _check_length(self, first_end: int) -> None:
        """The record that ends first in this block started in the pending data (which
        never holds more than one record in progress)."""
        if self._pending_size + first_end > self._max_row:
            self._state.inside = False
            raise self._fail_long()


def _size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def _count_lines(block: bytes) -> int:
    """Line ends in a block (LF, CRLF or bare CR)."""
    a = np.frombuffer(block, dtype=np.uint8)
    lf = int(np.count_nonzero(a == _LF))
    if b"\r" not in block:
        return lf
    return len(_line_ends(a, block))


def _fields(record: bytes, line: int) -> list[str]:
    text = record.decode("utf-8")  # already checked
    try:
        fields = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:  # pragma: no cover - the scan has already matched the quotes
        raise FileError(
            "malformed_csv", f"line {line}: the header is not well-formed CSV: {exc}"
        ) from exc
    return fields


# --------------------------------------------------------------------------- parsing


@dataclass
class BadRecord:
    """A record pyarrow could not take: the wrong number of fields."""

    number: int  # 1-based, among the records of its chunk
    fields: int
    text: str


def parse_chunk(
    chunk: Chunk, width: int, include: list[int]
) -> tuple[pa.RecordBatch | None, list[BadRecord], int]:
    """The chunk's records as a batch of the `include` columns (as text, named `c<i>`), the
    records with a field count other than `width`, and the number of records in all."""
    bad: list[BadRecord] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append(BadRecord(row.number, row.actual_columns, row.text))
        return "skip"

    names = [f"c{i}" for i in range(width)]
    wanted = [names[i] for i in include]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(chunk.data),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=len(chunk.data) + 1
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(wanted, pa.string()),
                include_columns=wanted,
                strings_can_be_null=False,
                check_utf8=False,  # the reader has checked every byte already
            ),
        )
    except pa.ArrowInvalid as exc:  # pragma: no cover - the records were checked before
        raise FileError(
            "malformed_csv",
            f"line {chunk.line} onwards: the file is not a well-formed CSV: {exc}",
            line=chunk.line,
        ) from exc
    batch = table.combine_chunks().to_batches()
    return (batch[0] if batch else None), bad, table.num_rows + len(bad)
