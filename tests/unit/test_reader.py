"""Reading that accounts for every byte: hostile files, generated here, through the engine.

What a user sees is checked: the FileError code and the line it names, or the reports and
the counts. Block sizes and the row limit are shrunk where a case would otherwise need
megabytes, so that "many blocks in" and "beyond the limit" stay fast.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import FileError
from app.orders_csv import reader as csv_reader
from app.pipelines.reports import engine
from app.pipelines.reports.engine import REQUIRED_COLUMNS

HEADER = ",".join(REQUIRED_COLUMNS)
ROW = "O{i},Same Day,East,Furniture,Chairs,1,2,1,0"


def rows(n: int, start: int = 0) -> str:
    return "".join(ROW.format(i=i) + "\n" for i in range(start, start + n))


def run(data: bytes | str, workdir: Path) -> engine.Result:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return engine.run(io.BytesIO(raw), workdir=Path(tempfile.mkdtemp(dir=workdir)))


def fail(data: bytes | str, workdir: Path) -> FileError:
    with pytest.raises(FileError) as caught:
        run(data, workdir)
    return caught.value


def region_line(result: engine.Result) -> str:
    return engine.to_csv(result.reports["most_profitable_region"]).decode().splitlines()[1]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(csv_reader, "BLOCK_SIZE", 4096)
    yield


# ------------------------------------------------------------------- open quotes


@pytest.mark.parametrize("before", [0, 3, 2000])  # rows before the bad one
@pytest.mark.parametrize("after", [0, 52, 5000])  # rows after it
@pytest.mark.parametrize("blocks", ["default", "4 KiB"])
def test_an_open_quote_fails_the_file_naming_its_line_whatever_the_size(
    before: int, after: int, blocks: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: a small file swallowed every later row into one field (exit 0, rows lost),
    # while a large one failed: the outcome depended on the size.
    if blocks != "default":
        monkeypatch.setattr(csv_reader, "BLOCK_SIZE", 4096)
    bad = 'O-bad,Same Day,"East,Furniture,Chairs,1,2,1,0\n'
    data = HEADER + "\n" + rows(before) + bad + rows(after, start=before)
    error = fail(data, tmp_path)
    assert error.code == "malformed_csv"
    assert error.details["line"] == before + 2
    assert error.message.startswith(f"line {before + 2}: a quoted field opens here")


def test_the_line_named_counts_line_ends_inside_earlier_quoted_fields(tmp_path: Path) -> None:
    data = (
        HEADER
        + "\n"
        + 'O1,Same Day,"East\r\nside",Furniture,Chairs,1,2,1,0\r\n'  # lines 2-3
        + 'O2,Same Day,East,"Furn\niture",Chairs,1,2,1,0\r\n'  # lines 4-5
        + 'O3,Same Day,East,Furniture,"Chairs,1,2,1,0\r\n'  # line 6: never closed
        + rows(10)
    )
    assert fail(data, tmp_path).details["line"] == 6


def test_an_open_quote_in_the_header_fails_naming_line_1(tmp_path: Path) -> None:
    error = fail('order_id,"ship_mode,region\n' + rows(3), tmp_path)
    assert (error.code, error.details["line"]) == ("malformed_csv", 1)


def test_a_header_with_a_stray_quote_is_read_in_linear_time(tmp_path: Path) -> None:
    # A single `"` in a 2 MB header took 135 s (a cubic scan); now it is one pass.
    error = fail('order_id,"ship_mode' + "x," * 1_000_000 + "\n" + rows(3), tmp_path)
    assert (error.code, error.details["line"]) == ("malformed_csv", 1)
    # a quote inside an unquoted name is an ordinary character: the name is just wrong
    error = fail(HEADER.replace("region", 're"gion') + "\n" + rows(3), tmp_path)
    assert error.code == "missing_columns" and error.details["missing"] == ["region"]


# ------------------------------------------------------------------- long rows and the limit


def test_the_row_limit_is_at_least_64_mib() -> None:
    assert csv_reader.MAX_ROW_BYTES >= 64 << 20


@pytest.mark.parametrize("size", [5000, 3 << 20])  # over one 4 KiB block / one default block
def test_a_long_valid_row_parses(size: int, tmp_path: Path) -> None:
    # A valid RFC 4180 row over ~1 MiB failed: "straddling object straddles two block
    # boundaries". The long field holds commas, doubled quotes and line ends.
    piece = 'x,""y""\r\n'
    region = piece * (size // len(piece) + 1)
    long_row = f'O-long,Same Day,"{region}",Furniture,Chairs,1,3,1,0\n'
    result = run(HEADER + "\n" + rows(5) + long_row + rows(5, start=5), tmp_path)
    assert (result.rows_read, result.rows_rejected) == (11, 0)
    frame = result.reports["most_profitable_region"]
    assert frame["region"].tolist() == ["East", region.replace('""', '"').strip()]
    assert frame["profit"].tolist() == ["10.00", "2.00"]


def test_a_row_beyond_the_limit_is_row_too_long_naming_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None
) -> None:
    monkeypatch.setattr(csv_reader, "MAX_ROW_BYTES", 64 << 10)
    at_limit = "O-ok,Same Day,East,Furniture,Chairs,1,2,1,0," + "n" * ((64 << 10) - 60) + "\n"
    header = HEADER + ",notes\n"
    body = rows(30).replace("\n", ",\n")
    result = run(header + body + at_limit + body, tmp_path)
    assert result.rows_read == 61
    too_long = "O-long,Same Day,East,Furniture,Chairs,1,2,1,0," + "n" * (70 << 10) + "\n"
    error = fail(header + body + too_long + body, tmp_path)
    assert error.code == "row_too_long"
    assert error.details["line"] == 32
    assert error.message.startswith("line 32: the record starting here is longer than 64 KiB")


def test_a_quote_open_past_the_limit_is_malformed_naming_where_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None
) -> None:
    monkeypatch.setattr(csv_reader, "MAX_ROW_BYTES", 64 << 10)
    bad = 'O-bad,Same Day,"East,Furniture,Chairs,1,2,1,0\n'
    error = fail(HEADER + "\n" + rows(20) + bad + rows(5000), tmp_path)
    assert error.code == "malformed_csv"
    assert error.details["line"] == 22
    assert "not closed within" in error.message


def test_a_64_mib_row_parses_and_a_longer_one_fails(tmp_path: Path) -> None:
    limit = csv_reader.MAX_ROW_BYTES
    prefix, suffix = 'O1,Same Day,"', '",F,C,1,2,1,0\n'
    fits = prefix + "r" * (limit - len(prefix) - len(suffix)) + suffix
    result = run(HEADER + "\n" + fits + rows(3), tmp_path)
    assert (result.rows_read, result.rows_rejected) == (4, 0)
    error = fail(HEADER + "\n" + rows(3) + fits.replace('"r', '"rr', 1) + rows(3), tmp_path)
    assert (error.code, error.details["line"]) == ("row_too_long", 5)


# ------------------------------------------------------------------- line endings


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_any_line_ending_streams_in_runs_of_whole_records(ending: str, small_blocks: None) -> None:
    text = (HEADER + "\n" + rows(3000)).replace("\n", ending)
    reader = csv_reader.RecordReader(io.BytesIO(text.encode()))
    assert reader.header() == list(REQUIRED_COLUMNS)
    chunks = list(reader.chunks())
    assert len(chunks) > 20
    assert max(len(c.data) for c in chunks) <= 2 * 4096  # bounded by the block, not the file
    assert all(c.data.endswith(ending.encode()) for c in chunks)
    assert b"".join(c.data for c in chunks) == text.encode()[len(HEADER) + len(ending) :]


def test_cr_only_files_give_the_same_reports_as_lf(tmp_path: Path, small_blocks: None) -> None:
    text = HEADER + "\n" + rows(3000) + 'O9,Same Day,"West\rcoast",F,C,1,5,1,0\n'
    lf = run(text, tmp_path)
    cr = run(text.replace("\n", "\r"), tmp_path)
    assert region_line(cr) == region_line(lf)
    assert cr.reports["most_profitable_region"]["region"].tolist() == ["East", "West\rcoast"]
    assert (cr.rows_read, cr.rows_rejected) == (lf.rows_read, lf.rows_rejected) == (3001, 0)


# ------------------------------------------------------------------- every record accounted for


def reference_open_quote(text: str) -> int | None:
    """The line of a quote still open at the end of `text`, by the rules in csv_reader's
    docstring, one character at a time; None if every quoted field is closed."""
    state, line, opened = "start", 1, 0
    previous = ""
    for char in text:
        if state in ("start", "unquoted", "closed"):
            if char in ",\r\n":
                state = "start"
            elif char == '"' and state == "start":
                state, opened = "quoted", line
            else:
                state = "unquoted"
        elif state == "quoted":
            if char == '"':
                state = "quote"
        elif char == '"':  # state "quote": a doubled quote
            state = "quoted"
        else:
            state = "start" if char in ",\r\n" else "closed"
        if (char == "\n" and previous != "\r") or char == "\r":
            line += 1
        previous = char
    return opened if state == "quoted" else None


def python_records(text: str) -> list[list[str]]:
    """Python's csv module's records, without blank lines."""
    return [r for r in csv.reader(io.StringIO(text, newline="")) if r]


pieces = st.sampled_from([",", '"', "\n", "\r", "\r\n", "a", "1", " ", "é", '""', ',"', '",'])
texts = st.lists(pieces, max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4), texts, st.data())
def test_the_reader_agrees_with_pythons_csv_module(
    header: list[str], body: str, data: st.DataObject
) -> None:
    text = ",".join(header) + "\n" + body
    block = data.draw(st.sampled_from([1, 2, 3, 7, 64, 1 << 20]))
    reader = csv_reader.RecordReader(io.BytesIO(text.encode()), block_size=block)
    assert reader.header() == header
    opened = reference_open_quote(text)
    records: list[object] = []
    try:
        for chunk in reader.chunks():
            batch, bad, count = csv_reader.parse_chunk(chunk, len(header), list(range(len(header))))
            good = iter(batch.to_pylist() if batch is not None else [])
            wrong = {b.number: b.fields for b in bad}
            for number in range(1, count + 1):
                if number in wrong:
                    records.append(("fields", wrong[number]))
                else:
                    row = next(good)
                    records.append([row[f"c{i}"] for i in range(len(header))])
    except FileError as error:
        assert opened is not None
        assert (error.code, error.details["line"]) == ("malformed_csv", opened)
        return
    assert opened is None
    expected = [r if len(r) == len(header) else ("fields", len(r)) for r in python_records(text)]
    assert records == expected[1:]


hostile = st.lists(
    st.one_of(
        texts,
        st.just(ROW.format(i=1)),
        st.lists(
            st.sampled_from(
                ["", "1", "-1", "2.5", "x", '"a,b"', '"q""q"', "1e3", " ", "é", "1e308"]
            ),
            min_size=7,
            max_size=11,
        ).map(",".join),
    ),
    max_size=20,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile, st.sampled_from(["\n", "\r\n", "\r"]), st.sampled_from([1 << 20, 64]))
def test_rows_read_are_the_records_and_each_is_valid_or_rejected(
    lines: list[str], ending: str, block: int
) -> None:
    text = ending.join([HEADER, *lines])
    expected_records = python_records(text)[1:]
    with tempfile.TemporaryDirectory() as work:
        saved = csv_reader.BLOCK_SIZE
        csv_reader.BLOCK_SIZE = block
        try:
            result = engine.run(io.BytesIO(text.encode()), workdir=Path(work))
        except FileError as error:
            assert error.code == "malformed_csv"
            assert reference_open_quote(text) == error.details["line"]
            return
        finally:
            csv_reader.BLOCK_SIZE = saved
        assert reference_open_quote(text) is None
        assert result.rows_read == len(expected_records)
        valid = sum(int(n) for n in result.reports["orders_by_category"]["line_items"])
        assert valid + result.rows_rejected == result.rows_read
        rejected = []
        if result.rejected_csv is not None:
            with result.rejected_csv.open(newline="", encoding="utf-8") as f:
                rejected = list(csv.DictReader(f))
        assert len(rejected) == result.rows_rejected
        assert all(r["reason"].strip() for r in rejected)
        numbers = [int(r["row"]) for r in rejected]
        assert numbers == sorted(set(numbers))
        assert all(2 <= n <= len(expected_records) + 1 for n in numbers)
        for r in rejected:  # the fields shown are the record's own
            record = expected_records[int(r["row"]) - 2]
            if len(record) == len(REQUIRED_COLUMNS):
                assert [r[c] for c in REQUIRED_COLUMNS] == record
