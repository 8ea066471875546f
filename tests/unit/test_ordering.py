"""Which upload of a key wins: ordering by sequencer, one run per source, leases that expire."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import Superseded, TransientError
from app.core.ordering import Guard, Record, order_key

KEY = "_state/orders.json"


class MemoryStore:
    """The StateStore contract in memory: conditional create/replace by ETag."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[bytes, str]] = {}
        self.writes = 0
        self.before_write: list[str] = []  # keys whose next write is raced by another writer

    def read(self, key: str) -> tuple[bytes, str] | None:
        return self.items.get(key)

    def create(self, key: str, body: bytes) -> str | None:
        self._race(key)
        if key in self.items:
            return None
        return self._store(key, body)

    def replace(self, key: str, body: bytes, etag: str) -> str | None:
        self._race(key)
        if self.items.get(key, (b"", ""))[1] != etag:
            return None
        return self._store(key, body)

    def _race(self, key: str) -> None:
        if key in self.before_write:
            self.before_write.remove(key)
            racer = Record("s" + "0" * 64, False, 0.0, "racer")  # oldest possible, finished
            self._store(key, racer.dump())

    def _store(self, key: str, body: bytes) -> str:
        self.writes += 1
        etag = f'"{self.writes}"'
        self.items[key] = (body, etag)
        return etag

    def record(self, key: str = KEY) -> Record:
        return Record.load(self.items[key][0])


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def guard(store: MemoryStore, clock: Clock, wait: float = 10) -> Guard:
    return Guard(store, lease_seconds=300, wait_seconds=wait, clock=clock, sleep=clock.sleep)


def test_first_claim_creates_the_record_and_release_marks_it_done() -> None:
    store, clock = MemoryStore(), Clock()
    claim = guard(store, clock).claim(KEY, order_key("0A", None) or "", "etag-1")
    assert store.record() == Record(claim.record.order, True, 1_300.0, "etag-1")
    assert guard(store, clock).release(claim)
    assert not store.record().running


def test_an_older_upload_after_a_newer_one_is_superseded() -> None:
    store, clock = MemoryStore(), Clock()
    g = guard(store, clock)
    g.release(g.claim(KEY, order_key("0B", None) or "", "new"))
    with pytest.raises(Superseded, match="newer upload"):
        g.claim(KEY, order_key("0A", None) or "", "old")
    assert store.record().etag == "new"


def test_a_redelivered_event_is_processed_again() -> None:
    store, clock = MemoryStore(), Clock()
    g = guard(store, clock)
    g.release(g.claim(KEY, "s1", "e"))
    claim = g.claim(KEY, "s1", "e")
    assert claim.record.running


def test_a_newer_upload_waits_for_the_run_in_progress_then_fails_transiently() -> None:
    store, clock = MemoryStore(), Clock()
    g = guard(store, clock, wait=10)
    g.claim(KEY, "s1", "old")  # never released within the wait
    with pytest.raises(TransientError, match="another run holds this source"):
        g.claim(KEY, "s2", "new")
    assert sum(clock.slept) >= 10
    assert store.record().etag == "old"


def test_a_newer_upload_takes_over_once_the_run_in_progress_releases() -> None:
    store, clock = MemoryStore(), Clock()
    g = guard(store, clock)
    old = g.claim(KEY, "s1", "old")

    def release_while_waiting(seconds: float) -> None:
        clock.now += seconds
        g.release(old)

    g.sleep = release_while_waiting
    assert g.claim(KEY, "s2", "new").record.etag == "new"


def test_an_expired_lease_is_taken_over_and_its_late_release_changes_nothing() -> None:
    store, clock = MemoryStore(), Clock()
    g = guard(store, clock)
    crashed = g.claim(KEY, "s1", "old")
    clock.now += 301
    g.claim(KEY, "s2", "new")
    assert not g.release(crashed)
    assert store.record().etag == "new" and store.record().running


def test_a_write_that_races_another_writer_looks_again() -> None:
    store, clock = MemoryStore(), Clock()
    store.before_write.append(KEY)  # another run creates the record under our feet
    claim = guard(store, clock).claim(KEY, "s5", "mine")
    assert store.record() == claim.record


def test_sequencers_of_different_lengths_compare_after_right_padding() -> None:
    # AWS: right-pad the shorter sequencer with zeros, then compare as text.
    short, longer = order_key("0055AED6DCD90281E5", None), order_key("0055AED6DCD90281E6", None)
    assert short and longer and short < longer
    assert order_key("0A", None) == order_key("0A00", None)
    assert order_key(None, "2026-01-01T00:00:01+00:00") > order_key(  # type: ignore[operator]
        None, "2026-01-01T00:00:00+00:00"
    )
    assert order_key(None, None) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=12))
def test_whatever_order_events_arrive_in_the_newest_upload_writes_last(uploads: list[int]) -> None:
    """Events processed one after another in any order, with redeliveries: the last run that
    writes outputs is always for the newest upload, and no older upload writes after it."""
    store, clock = MemoryStore(), Clock()
    g = guard(store, clock)
    writers: list[int] = []
    for upload in uploads:
        try:
            claim = g.claim(KEY, f"s{upload:04d}", str(upload))
        except Superseded:
            continue
        writers.append(upload)
        g.release(claim)
    assert writers[-1] == max(uploads)
    assert writers == sorted(writers)
