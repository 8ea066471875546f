"""Where do the engine's memory and time go? A sampling RSS profiler, and a stage timer.

    python -m benchmarks.memprofile FILE [--interval 0.005]
    python -m benchmarks.memprofile FILE --stages
    pyinstrument -m benchmarks.memprofile FILE --stages     # the same, profiled

Runs the engine in this process while a thread samples RSS (and pyarrow's allocator) every
few milliseconds together with the main thread's innermost `app.` frames. Prints the peak, the
stack at the peak, and per function the highest RSS seen while it was on the stack, so the
allocations that set the peak can be told apart from those that merely come and go.

`--stages` runs the engine's stages one at a time on the main thread instead (read, parse,
decode, validate and write rejected rows, fold, finish: what engine.run overlaps on its
threads) and prints the CPU seconds of each (process CPU: only the finish's partition counting
runs on threads of its own), per million rows: where the CPU goes, in a form a profiler that
samples one thread (pyinstrument) can see nearly whole.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Sample:
    t: float
    rss: int
    arrow: int
    stack: tuple[str, ...]


def _app_stack(frame: object) -> tuple[str, ...]:
    names = []
    for fs in traceback.extract_stack(frame):  # type: ignore[arg-type]
        if "/app/" in fs.filename:
            names.append(f"{Path(fs.filename).stem}.{fs.name}:{fs.lineno}")
    return tuple(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("file", type=Path)
    parser.add_argument("--interval", type=float, default=0.005)
    parser.add_argument("--stages", action="store_true", help="CPU per stage, one thread")
    args = parser.parse_args(argv)
    if args.stages:
        return stages(args.file)

    import psutil
    import pyarrow as pa

    proc = psutil.Process()
    base_rss = proc.memory_info().rss
    from app.pipelines.reports import engine

    imported_rss = proc.memory_info().rss
    main_id = threading.get_ident()
    samples: list[Sample] = []
    done = threading.Event()
    start = time.perf_counter()

    def sample() -> None:
        while not done.is_set():
            frame = sys._current_frames().get(main_id)
            samples.append(
                Sample(
                    time.perf_counter() - start,
                    proc.memory_info().rss,
                    pa.total_allocated_bytes(),
                    _app_stack(frame) if frame is not None else (),
                )
            )
            time.sleep(args.interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with args.file.open("rb") as stream, tempfile.TemporaryDirectory() as work:
        result = engine.run(stream, workdir=Path(work))
    done.set()
    sampler.join()
    wall = time.perf_counter() - start

    mb = 1 / 2**20
    peak = max(samples, key=lambda s: s.rss)
    print(
        f"file: {args.file} ({args.file.stat().st_size * mb:,.0f} MiB), rows {result.rows_read:,}"
    )
    print(
        f"RSS before imports {base_rss * mb:,.0f} MiB, after `import app.pipelines.reports.engine` "
        f"{imported_rss * mb:,.0f} MiB; engine.run {wall:.2f} s, {len(samples)} samples"
    )
    print(
        f"peak RSS {peak.rss * mb:,.0f} MiB at {peak.t:.2f} s "
        f"(pyarrow pool {peak.arrow * mb:,.0f} MiB) in:"
    )
    for name in peak.stack:
        print(f"    {name}")
    print(f"max pyarrow pool: {max(s.arrow for s in samples) * mb:,.0f} MiB")
    per_function: dict[str, tuple[int, float]] = {}
    for s in samples:
        for name in set(s.stack):
            key = name.rsplit(":", 1)[0]
            rss, seconds = per_function.get(key, (0, 0.0))
            per_function[key] = (max(rss, s.rss), seconds + args.interval)
    print("\nhighest RSS while each function was on the stack (MiB), approx. seconds inside:")
    for name, (rss, seconds) in sorted(per_function.items(), key=lambda kv: -kv[1][0])[:25]:
        print(f"  {rss * mb:8,.0f}  {seconds:6.2f} s  {name}")
    print("\nRSS over time (MiB):")
    step = max(1, len(samples) // 25)
    for s in samples[::step]:
        where = s.stack[-1] if s.stack else "-"
        print(f"  {s.t:6.2f} s {s.rss * mb:7,.0f}  arrow {s.arrow * mb:5,.0f}  {where}")
    return 0


def stages(file: Path) -> int:
    """engine.run's loop, stage by stage on this thread, with each stage's CPU seconds."""
    import numpy as np

    from app.orders_csv import reader as csv_reader
    from app.pipelines.reports import engine

    spent: dict[str, float] = {}
    started = time.process_time()

    def timed(stage: str, since: float) -> float:
        now = time.process_time()
        spent[stage] = spent.get(stage, 0.0) + now - since
        return now

    with file.open("rb") as stream, tempfile.TemporaryDirectory() as work:
        reader = csv_reader.RecordReader(stream)
        header = reader.header()
        positions = engine._map_columns(header)
        include = [positions[c] for c in engine.REQUIRED_COLUMNS]
        names = [header[positions[c]] for c in engine.REQUIRED_COLUMNS]
        rejected = engine._Rejected(Path(work) / "rejected.csv", names, include, len(header))
        acc = engine._Accumulator(Path(work) / "orders")
        chunks, rows = reader.chunks(), 0
        while True:
            t = time.process_time()
            chunk = next(chunks, None)
            t = timed("read (record ends, UTF-8, quotes)", t)
            if chunk is None:
                break
            parsed = csv_reader.parse_chunk(chunk, len(header), include)
            t = timed("parse (pyarrow read_csv)", t)
            batch = engine._decode(parsed)
            t = timed("decode (labels, order hashes, exact amounts)", t)
            first, rows = rows + 2, rows + batch.records
            if batch.raw is None:
                rejected.add(batch, {}, np.zeros(0, dtype=np.int64), first)
                continue
            problems = engine._problems(batch)
            bad = np.logical_or.reduce(list(problems.values()))
            if bad.any() or batch.bad:
                rejected.add(batch, problems, engine._row_numbers(batch, first), first)
            t = timed("validate, rejected rows", t)
            if not bad.all():
                acc.fold(batch, ~bad if bad.any() else None)
            timed("fold (groups, sums, spill)", t)
        rejected.flush()
        t = time.process_time()
        engine._finish(acc)
        timed("finish (distinct orders, reports)", t)
        acc.orders.close()
        rejected.close()
    total = time.process_time() - started
    print(f"file: {file} ({file.stat().st_size / 1e6:,.0f} MB), {rows:,} rows; one stage at a time")
    print(f"{'stage':48s} {'CPU s':>7s} {'per M rows':>10s} {'share':>6s}")
    for stage, seconds in spent.items():
        print(f"{stage:48s} {seconds:7.2f} {seconds / rows * 1e6:10.3f} {seconds / total:6.0%}")
    print(f"{'all (process CPU, imports excluded)':48s} {total:7.2f} {total / rows * 1e6:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
