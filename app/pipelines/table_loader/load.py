"""Loading one CSV object into the rows table: exact, idempotent, resumable.

A run claims the source (core.ordering.Guard: one run per source at a time, the newest upload
wins), reads the object at the version the event names, writes one item per record (items),
chunk by chunk (the reader's runs of whole records: memory stays bounded), and after the last
record deletes the rows past the new end, so a re-upload with fewer rows leaves exactly the
new rows. The ledger (the file's registry item) says `loading`, then `loaded` with the count.

An invocation has a deadline. Before each chunk (after at least one, so every invocation
makes progress; never at the end of the file) the loader looks at the time left; below the
margin it stops at the chunk boundary, records its progress in the ledger, releases the
source and sends a Continuation (the object's version, the byte offset, row and line of the
next record) that the same function consumes later: it claims the source again (the same
upload may; a newer one has superseded it), reads the header with a small separate read,
and goes on from the offset.

A bad file (not UTF-8, a NUL byte, an open quote, empty) is a FileError: the rows of the
source are deleted (a half-loaded table would look like data), the ledger says `failed` with
the message, and the message is consumed. Anything else (throttling, a held source) raises,
and the message is retried. No AWS here: the stores are Protocols (adapters in the function).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from app.core.errors import FileError, Superseded
from app.core.objects import ObjectRef
from app.core.ordering import Claim, Guard
from app.orders_csv.reader import RecordReader
from app.pipelines.table_loader.items import Item, ItemMaker, Skipped

CONTINUATION_TYPE = "orders-pipeline/table-loader/continuation"
FIRST_ROW = 2  # the header is record 1
NOTED_SKIPS = 5  # skipped records named in the ledger's LoaderError (all are counted)
HEADER_BLOCK = 64 << 10  # the block size of the small read that fetches the header again
BLOCK_SIZE = 1 << 20  # a chunk: ~7,000 order rows, seconds to write, well inside the margin

LedgerStatus = Literal["loading", "loaded", "failed"]


class Stream(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

    def close(self) -> None: ...


class ObjectSource(Protocol):
    """The object the event names, at that version (Superseded if it was replaced)."""

    def open(self, start: int = 0, end: int | None = None) -> Stream:
        """Its CSV bytes (decompressed) from offset `start`; `end`: nothing past this offset
        (exclusive) will be read (a hint: the stream may hold more)."""
        ...


class RowsStore(Protocol):
    def put(self, items: Iterable[Item]) -> int:
        """Write every item (batched, retried); the number written."""
        ...

    def delete(self, source: str, rows: Sequence[int]) -> int: ...

    def delete_after(self, source: str, row: int) -> int:
        """Delete the source's rows numbered above `row`; the number deleted."""
        ...


class Ledger(Protocol):
    def set_loader_progress(
        self, ref: ObjectRef, status: LedgerStatus, rows_loaded: int, error: str | None = None
    ) -> None: ...


class Queue(Protocol):
    def send(self, body: str) -> None: ...


@dataclass(frozen=True)
class Continuation:
    """Where a load stopped, for the invocation that goes on (an SQS message body)."""

    bucket: str
    key: str
    etag: str | None
    order: str | None  # the upload's place among the uploads of its key (ObjectRef.order)
    offset: int  # byte offset in the (decompressed) object of the next record
    row: int  # its record number
    line: int  # its line number (for messages)
    skipped: int = 0  # records not written so far (too large)
    notes: tuple[str, ...] = ()  # the first few of them, with the reason

    def to_json(self) -> str:
        return json.dumps({"type": CONTINUATION_TYPE, **asdict(self)}, sort_keys=True)

    @staticmethod
    def is_one(body: Any) -> bool:
        return isinstance(body, dict) and body.get("type") == CONTINUATION_TYPE

    @classmethod
    def from_json(cls, body: str | dict[str, Any]) -> Continuation:
        data = json.loads(body) if isinstance(body, str) else body
        if not cls.is_one(data):
            raise ValueError(f"not a table-loader continuation: {str(body)[:200]}")
        etag, order = data.get("etag"), data.get("order")
        return cls(
            bucket=str(data["bucket"]),
            key=str(data["key"]),
            etag=None if etag is None else str(etag),
            order=None if order is None else str(order),
            offset=int(data["offset"]),
            row=int(data["row"]),
            line=int(data["line"]),
            skipped=int(data.get("skipped", 0)),
            notes=tuple(str(n) for n in data.get("notes", ())),
        )

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(key=self.key, bucket=self.bucket, etag=self.etag)


@dataclass(frozen=True)
class Job:
    """One invocation's share of a load: from the start (an event) or from a Continuation."""

    ref: ObjectRef
    order: str | None
    resume: Continuation | None = None

    @classmethod
    def start(cls, ref: ObjectRef) -> Job:
        return cls(ref, ref.order)

    @classmethod
    def resuming(cls, continuation: Continuation) -> Job:
        return cls(continuation.ref, continuation.order, continuation)


Status = Literal["loaded", "continued", "failed", "superseded"]


@dataclass
class Outcome:
    status: Status
    rows_loaded: int = 0  # items of the object in the table (all invocations so far)
    written: int = 0  # items written by this invocation
    skipped: list[Skipped] = field(default_factory=list)  # by this invocation
    deleted: int = 0  # stale rows deleted (past the new end, or all after a failure)
    continuation: Continuation | None = None
    error: FileError | None = None
    reason: str = ""  # why it was superseded


@dataclass
class _Progress:
    """Where the load stands (the next record, what was skipped before it), and what this
    invocation did."""

    offset: int
    row: int
    line: int
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    written_now: int = 0
    skipped_now: list[Skipped] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return self.row - FIRST_ROW - self.skipped

    def skip_text(self) -> str | None:
        if not self.skipped:
            return None
        more = "; ..." if self.skipped > len(self.notes) else ""
        return f"{self.skipped} record(s) not loaded: " + "; ".join(self.notes) + more


@dataclass
class Loader:
    rows: RowsStore
    ledger: Ledger
    queue: Queue
    guard: Guard | None = None
    margin_seconds: float = 60.0
    block_size: int | None = None  # the reader's (default BLOCK_SIZE): a chunk's bytes

    def load(
        self,
        job: Job,
        source: ObjectSource,
        remaining_seconds: Callable[[], float | None] = lambda: None,
    ) -> Outcome:
        """Load the job's share; `remaining_seconds`: time left in the invocation (None:
        no deadline). Raises on transient faults (the message is then retried)."""
        claim: Claim | None = None
        try:
            if self.guard is not None and job.order is not None:
                claim = self.guard.claim(job.ref.name, job.order, job.ref.etag)
            outcome = self._run(job, source, remaining_seconds)
        except Superseded as exc:
            return Outcome("superseded", reason=str(exc))
        finally:
            if self.guard is not None and claim is not None:
                self.guard.release(claim)
        if outcome.continuation is not None:  # sent once the source is released
            self.queue.send(outcome.continuation.to_json())
        return outcome

    def _run(
        self, job: Job, source: ObjectSource, remaining: Callable[[], float | None]
    ) -> Outcome:
        ref, resume = job.ref, job.resume
        progress = _Progress(0, FIRST_ROW, 1)
        try:
            if resume is None:
                stream = source.open()  # Superseded here if the object was replaced
                self.ledger.set_loader_progress(ref, "loading", 0)
                reader = RecordReader(stream, block_size=self.block_size or BLOCK_SIZE)
                try:
                    header = reader.header()
                except BaseException:
                    stream.close()
                    raise
                progress.offset, progress.line = reader.position
            else:
                header = _header_again(source, resume.offset)
                progress = _Progress(
                    resume.offset, resume.row, resume.line, resume.skipped, list(resume.notes)
                )
                stream = source.open(resume.offset)
                reader = RecordReader(
                    stream,
                    block_size=self.block_size or BLOCK_SIZE,
                    resume_at=(resume.offset, resume.line),
                )
            try:
                maker = ItemMaker(ref.name, header)
                stopped = self._load_chunks(maker, reader, progress, remaining)
            finally:
                stream.close()
        except FileError as error:
            deleted = self.rows.delete_after(ref.name, FIRST_ROW - 1)  # no half-loaded file
            self.ledger.set_loader_progress(ref, "failed", 0, error.message)
            return Outcome(
                "failed", 0, progress.written_now, progress.skipped_now, deleted, error=error
            )
        if stopped:
            self.ledger.set_loader_progress(ref, "loading", progress.rows_loaded)
            continuation = Continuation(
                ref.bucket or "",
                ref.key,
                ref.etag,
                job.order,
                progress.offset,
                progress.row,
                progress.line,
                progress.skipped,
                tuple(progress.notes),
            )
            return Outcome(
                "continued",
                progress.rows_loaded,
                progress.written_now,
                progress.skipped_now,
                continuation=continuation,
            )
        deleted = self.rows.delete_after(ref.name, progress.row - 1)
        self.ledger.set_loader_progress(ref, "loaded", progress.rows_loaded, progress.skip_text())
        return Outcome(
            "loaded", progress.rows_loaded, progress.written_now, progress.skipped_now, deleted
        )

    def _load_chunks(
        self,
        maker: ItemMaker,
        reader: RecordReader,
        progress: _Progress,
        remaining: Callable[[], float | None],
    ) -> bool:
        """Write chunk after chunk; True if it stopped early (the deadline is near).

        The next chunk is read before the clock is looked at, so a load never stops at the
        end of the file (a continuation always has records to load), and each invocation
        writes at least one chunk (progress, however short the time)."""
        chunks = reader.chunks()
        chunk = next(chunks, None)
        while chunk is not None:
            tally = _Tally()
            progress.written_now += self.rows.put(
                tally.items(maker.items(chunk.data, progress.row))
            )
            if tally.skipped:  # an older upload may have left an item there: not this one's row
                self.rows.delete(maker.source, [s.row for s in tally.skipped])
                room = max(NOTED_SKIPS - len(progress.notes), 0)
                progress.notes.extend(s.note() for s in tally.skipped[:room])
                progress.skipped += len(tally.skipped)
                progress.skipped_now.extend(tally.skipped)
            progress.row += tally.records
            progress.offset, progress.line = reader.position
            chunk = next(chunks, None)
            if chunk is not None:
                left = remaining()
                if left is not None and left < self.margin_seconds:
                    return True
        return False


@dataclass
class _Tally:
    """The records of one chunk as they go by: the items pass on, the skipped stay here."""

    records: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def items(self, made: Iterable[Item | Skipped]) -> Iterator[Item]:
        for one in made:
            self.records += 1
            if isinstance(one, Skipped):
                self.skipped.append(one)
            else:
                yield one


def _header_again(source: ObjectSource, offset: int) -> list[str]:
    """The header, by a small read of the object's start (it ends before `offset`)."""
    head = source.open(0, offset)
    try:
        return RecordReader(head, block_size=HEADER_BLOCK).header()
    finally:
        head.close()
