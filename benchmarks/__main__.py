"""`make bench`: time the report engine against DuckDB, Polars and naive pandas.

    python -m benchmarks [--sizes 1000000,5000000] [--rows-10m] [--runs 3]
                         [--engines orders-pipeline,orders-pipeline-1cpu,duckdb-sets,...]
                         [--memory-cases rejected,pairs,regions | --memory-cases none]
                         [--memory-rows 1000000] [--baseline DIR] [--output docs/benchmarks.md]
    python -m benchmarks --quick      # 1M rows, the engine against DuckDB and Polars: the ratios

The peers are DuckDB in two formulations (one scan with grouping sets; a table of the valid
rows queried once per report) and Polars in two (lazy, collected once in memory; streaming),
all with the same validation rules (benchmarks/references.py); each ratio is taken against the
fastest of them on the same file. `orders-pipeline-1cpu` is the engine pinned to one core:
what a Lambda function of 1,769 MB (one vCPU) gets; its wall time gives the cost per GB of CSV
at Lambda's arm64 price (LAMBDA_PRICE_GB_S).

`--quick` runs only the engine comparison on 1M rows, prints the ratios and writes nothing
(`make bench-quick`, or `make bench QUICK=1`).

Every run is a fresh process started through `benchmarks._measure`, so each wall time includes
interpreter start-up and imports, and each peak RSS is that engine's alone. All engines must
agree on all three reports (CSV text, numbers normalised to the contract's decimals); a
disagreement prints a diff and exits 1 without writing the markdown.

The memory cases (benchmarks/memory_cases.py) stress one dimension each: every row rejected,
15,000 distinct (category, sub_category) pairs, every row its own region. They run through
the function's path (service + engine, no S3, no console, as `benchmarks._service_run`) and the
CLI, which must agree; their target is a peak RSS under 600 MB.

`--baseline DIR` also runs the CLI of another checkout (say `git archive` of an older commit,
unpacked in DIR) as engine `baseline`, interleaved with the others: before/after numbers from
one session. Hand-written notes at the end of the output file, after NOTES_MARKER, are kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks import generate, memory_cases
from benchmarks.references import REPORTS, normalise_csv

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REPORT_DATE = "2026-01-01"
STACK_MAX_ROWS = 1_000_000
RUN_TIMEOUT_S = 3600
TARGET_WALL_RATIO = 0.5  # of DuckDB's fastest formulation, on 5M and 10M rows
TARGET_CPU_RATIO = 0.5  # of the CPU seconds of DuckDB's least CPU-hungry formulation
TARGET_SIZES = (5_000_000, 10_000_000)
TARGET_RSS_MB = 300.0
TARGET_FLAT = 1.15
TARGET_IMPORT_S = 0.8
TARGET_CASE_RSS_MB = 600.0
NOTES_MARKER = "<!-- notes below are kept as they are by make bench -->"
QUICK_ROWS = 1_000_000
QUICK_ENGINES = ("orders-pipeline", "duckdb-sets", "duckdb-table", "polars", "polars-streaming")
# AWS Lambda, arm64, us-east-1, first pricing tier: USD per GB-second (memory in MB / 1024),
# as published on https://aws.amazon.com/lambda/pricing/ (the price used as of
# LAMBDA_PRICE_DATE; not fetched by this script). One vCPU comes with 1,769 MB.
LAMBDA_PRICE_GB_S = 0.0000133334
LAMBDA_PRICE_DATE = "2026-11-23"
LAMBDA_ONE_VCPU_MB = 1769
ENGINE = "orders-pipeline"
ENGINE_1CPU = "orders-pipeline-1cpu"


@dataclass(frozen=True)
class Engine:
    name: str
    description: str
    max_rows: int | None = None
    cpus: int | None = None  # pinned to this many cores

    @property
    def peer(self) -> bool:
        """DuckDB or Polars: what the engine is measured against."""
        return self.name.startswith(("duckdb", "polars"))


ENGINES: dict[str, Engine] = {
    e.name: e
    for e in (
        Engine(ENGINE, "`orders-pipeline report FILE --out DIR` (the project's engine)"),
        Engine(
            ENGINE_1CPU,
            "the same pinned to one core (sched_setaffinity): what one Lambda vCPU "
            f"({LAMBDA_ONE_VCPU_MB:,} MB) gives",
            cpus=1,
        ),
        Engine(
            "duckdb-sets",
            "DuckDB SQL over read_csv (all VARCHAR, TRY_CAST): one scan, every aggregate as "
            "grouping sets, four count(DISTINCT)",
        ),
        Engine(
            "duckdb-table",
            "DuckDB as a user would write it: CREATE TEMP TABLE of the valid rows, then one "
            "query per report",
        ),
        Engine(
            "local-stack",
            "the same through the embedded AWS: upload to moto S3 -> SNS -> SQS -> handler -> "
            "reports in moto S3 (time from upload start to manifest; RSS includes moto)",
            STACK_MAX_ROWS,
        ),
        Engine("polars", "Polars lazy: scan_csv (all String), valid rows collected once, 3 plans"),
        Engine(
            "polars-streaming",
            "Polars lazy on the streaming engine: the 3 plans over scan_csv, collect_all",
        ),
        Engine(
            "pandas",
            "naive pandas: read_csv of the whole file as str, then groupby (up to 5M rows)",
            5_000_000,
        ),
    )
}
SERVICE = Engine(
    "service",
    "the reports service into a directory (as `benchmarks/_service_run.py`), the "
    "Lambda function's path without S3 (memory cases only)",
)


@dataclass
class Run:
    wall_s: float
    maxrss_mb: float
    cpu_s: float
    busy: float  # % of all cores busy (other processes) in the half second before the run
    steal: float  # % of the cores' time the hypervisor gave to other guests during the run


@dataclass
class Result:
    engine: Engine
    rows: int
    size_bytes: int
    runs: list[Run] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def maxrss_mb(self) -> float:
        return max(r.maxrss_mb for r in self.runs)

    @property
    def best_s(self) -> float:
        return min(r.wall_s for r in self.runs)

    @property
    def busy(self) -> float:
        return max(r.busy for r in self.runs)

    @property
    def steal(self) -> float:
        return max(r.steal for r in self.runs)

    @property
    def cpu_s(self) -> float:
        return statistics.median(r.cpu_s for r in self.runs)


@dataclass
class ImportTime:
    import_s: float  # cumulative -X importtime of app, app.handlers, app.handlers.reports
    process_s: float  # wall of the whole `python -c "import app.handlers.reports"`
    heaviest: list[tuple[str, float]]


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        sizes.append(int(float(part.rstrip("km")) * scale))
    return sizes


def human_rows(rows: int) -> str:
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows >= 1_000 and rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


# ----------------------------------------------------------------------------- running


def command(engine: Engine, file: Path, outdir: Path, inner: Path) -> list[str]:
    if engine.name == "baseline":  # another checkout's engine and CLI, on this venv
        cli = (
            f"import sys; sys.path.insert(0, {engine.description!r}); "
            "from app.cli import main; sys.exit(main())"
        )
        return [sys.executable, "-c", cli,
                "report", str(file), "--out", str(outdir), "--date", REPORT_DATE]  # fmt: skip
    if engine.name in (ENGINE, ENGINE_1CPU):
        exe = BIN / "orders-pipeline"
        found = str(exe) if exe.exists() else shutil.which("orders-pipeline")
        if not found:
            raise BenchError("the orders-pipeline command is not installed (run `make setup`)")
        return [found, "report", str(file), "--out", str(outdir), "--date", REPORT_DATE]
    if engine.name == "local-stack":
        return [sys.executable, "-m", "benchmarks._stack_run", str(file), str(outdir), str(inner)]
    if engine.name == "service":
        return [
            sys.executable,
            "-m",
            "benchmarks._service_run",
            str(file),
            str(outdir),
            REPORT_DATE,
        ]
    return [sys.executable, "-m", "benchmarks.references", engine.name, str(file), str(outdir)]


def read_outputs(engine: Engine, outdir: Path) -> dict[str, str]:
    texts = {}
    for report in REPORTS:
        if engine.name in (ENGINE, ENGINE_1CPU, "service", "baseline"):
            found = sorted((outdir / report).glob(f"dt={REPORT_DATE}/*.csv"))
            if len(found) != 1:
                raise BenchError(f"{engine.name}: expected one {report} CSV, found {found}")
            path = found[0]
        else:
            path = outdir / f"{report}.csv"
        texts[report] = normalise_csv(path.read_text(encoding="utf-8"))
    return texts


def run_once(engine: Engine, file: Path, workdir: Path) -> tuple[Run, dict[str, str]]:
    outdir = Path(tempfile.mkdtemp(prefix=f"{engine.name}-", dir=workdir))
    measured, inner = outdir / "_measure.json", outdir / "_inner.json"
    report_dir = outdir / "out"
    cmd = command(engine, file, report_dir, inner)
    busy = psutil.cpu_percent(interval=0.5)
    before, started = psutil.cpu_times(), time.perf_counter()
    pin = ["--cpus", str(engine.cpus)] if engine.cpus else []
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks._measure", str(measured), *pin, "--", *cmd],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    if proc.returncode != 0 or not measured.exists():
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise BenchError(f"{engine.name} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    stolen = getattr(psutil.cpu_times(), "steal", 0.0) - getattr(before, "steal", 0.0)
    elapsed = time.perf_counter() - started
    m = json.loads(measured.read_text())
    wall = json.loads(inner.read_text())["wall_s"] if inner.exists() else m["wall_s"]
    steal = 100 * stolen / (elapsed * (os.cpu_count() or 1))
    run = Run(wall, m["maxrss_kb"] / 1024, m["user_s"] + m["sys_s"], busy, steal)
    texts = read_outputs(engine, report_dir)
    shutil.rmtree(outdir, ignore_errors=True)
    return run, texts


def diff(expected: dict[str, str], actual: dict[str, str], a: str, b: str) -> str:
    out: list[str] = []
    for report in REPORTS:
        if expected[report] != actual[report]:
            lines = list(
                difflib.unified_diff(
                    expected[report].splitlines(),
                    actual[report].splitlines(),
                    f"{a}/{report}.csv",
                    f"{b}/{report}.csv",
                    lineterm="",
                )
            )
            if not lines:  # differs only in line ends or a trailing newline
                lines = [f"{report}: {a} {expected[report]!r}", f"{report}: {b} {actual[report]!r}"]
            out.extend(lines)
    return "\n".join(out)


def bench_size(
    rows: int, seed: int, engines: Sequence[Engine], runs: int, workdir: Path
) -> list[Result]:
    t0 = time.perf_counter()
    file = generate.cache_path(rows, seed)
    if not file.exists():
        log(f"generating {rows:,} rows (seed {seed}) -> {file.relative_to(ROOT)}")
        generate.ensure(rows, seed)
        log(f"generated in {time.perf_counter() - t0:.1f} s")
    size = file.stat().st_size
    log(f"{human_rows(rows)} rows: {file.name}, {size / 1e6:,.1f} MB")
    baseline: tuple[str, dict[str, str]] | None = None
    results = {
        e.name: Result(e, rows, size) for e in engines if e.max_rows is None or rows <= e.max_rows
    }
    # Round-robin (run 1 of every engine, then run 2, ...) so that a burst of load from other
    # jobs on the machine spreads over all engines instead of landing on one.
    for i in range(runs):
        for result in results.values():
            engine = result.engine
            run, texts = run_once(engine, file, workdir)
            result.runs.append(run)
            log(
                f"{human_rows(rows)} {engine.name} run {i + 1}/{runs}: {run.wall_s:.2f} s, "
                f"CPU {run.cpu_s:.2f} s, peak RSS {run.maxrss_mb:,.0f} MB, "
                f"busy before {run.busy:.0f}%, steal {run.steal:.0f}%"
            )
            if baseline is None:
                baseline = (engine.name, texts)
            elif texts != baseline[1]:
                shown = diff(baseline[1], texts, baseline[0], engine.name)
                raise BenchError(
                    f"{engine.name} disagrees with {baseline[0]} on {rows:,} rows:\n{shown}"
                )
    return list(results.values())


@dataclass
class CaseResult:
    case: str
    description: str
    rows: int
    size_bytes: int
    results: list[Result]


def bench_memory(cases: Sequence[str], rows: int, runs: int, workdir: Path) -> list[CaseResult]:
    """Each memory case through the function's path and the CLI, `runs` times each."""
    found = []
    for case in cases:
        t0 = time.perf_counter()
        file = memory_cases.generate(case, rows)
        log(f"memory case {case}: {file.name} ({time.perf_counter() - t0:.1f} s to prepare)")
        engines = [SERVICE, ENGINES["orders-pipeline"]]
        results = [Result(e, rows, file.stat().st_size) for e in engines]
        baseline: dict[str, str] | None = None
        for i in range(runs):
            for result in results:
                run, texts = run_once(result.engine, file, workdir)
                result.runs.append(run)
                log(
                    f"memory {case} {result.engine.name} run {i + 1}/{runs}: {run.wall_s:.2f} s, "
                    f"CPU {run.cpu_s:.2f} s, peak RSS {run.maxrss_mb:,.0f} MB"
                )
                if baseline is None:
                    baseline = texts
                elif texts != baseline:
                    raise BenchError(f"memory case {case}: the CLI and the service disagree")
        found.append(
            CaseResult(case, memory_cases.CASES[case][0], rows, file.stat().st_size, results)
        )
    return found


def handler_import_time(runs: int = 5) -> ImportTime | None:
    env = {
        **os.environ,
        "OUTPUT_BUCKET": "bench-output",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    cmd = [sys.executable, "-X", "importtime", "-c", "import app.handlers.reports"]
    pattern = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)\s*$")
    samples: list[tuple[float, float, list[tuple[str, float]]]] = []
    for i in range(runs + 1):  # the first run warms the page cache and writes .pyc files
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            log(f"handler import failed, not measured: {proc.stderr.strip().splitlines()[-1:]}")
            return None
        total = 0.0
        heavy: list[tuple[str, float]] = []
        subtree: list[tuple[str, float, int]] = []  # -X importtime prints children first
        for line in proc.stderr.splitlines():
            match = pattern.match(line)
            if not match:
                continue
            cumulative, level, name = int(match[2]) / 1e6, (len(match[3]) - 1) // 2, match[4]
            if level > 0:
                subtree.append((name, cumulative, level))
                continue
            if name == "app" or name.startswith("app."):
                total += cumulative
                heavy += [(n, c) for n, c, lv in subtree if not n.startswith("app")]
            subtree = []
        if i > 0:
            samples.append((total, wall, heavy))
    samples.sort(key=lambda s: s[0])
    median = samples[len(samples) // 2]
    top: dict[str, float] = {}  # package -> its largest cumulative import time
    for name, seconds in sorted(median[2], key=lambda x: -x[1]):
        root = name.split(".")[0]
        if root not in top:
            top[root] = seconds
    return ImportTime(
        import_s=median[0],
        process_s=statistics.median(s[1] for s in samples),
        heaviest=list(top.items())[:6],
    )


# ----------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "-"

    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "cpu": model,
        "os": platform.platform(),
        "python": platform.python_version(),
        "libraries": ", ".join(
            f"{d} {version(d)}"
            for d in ("duckdb", "polars", "pandas", "pyarrow", "numpy", "boto3", "moto")
        ),
        "commit": sha or "-",
    }


def fmt_rate(value: float) -> str:
    return f"{value / 1e6:.2f} M" if value >= 1e6 else f"{value / 1e3:,.0f} k"


@dataclass
class Peers:
    """The references on one file: the fastest of all, the fastest DuckDB formulation and
    the least CPU-hungry one."""

    best: Result | None
    duck_wall: Result | None
    duck_cpu: Result | None

    @staticmethod
    def of(group: Sequence[Result]) -> Peers:
        peers = [r for r in group if r.engine.peer]
        ducks = [r for r in peers if r.engine.name.startswith("duckdb")]
        return Peers(
            min(peers, key=lambda r: r.wall_s, default=None),
            min(ducks, key=lambda r: r.wall_s, default=None),
            min(ducks, key=lambda r: r.cpu_s, default=None),
        )


def size_table(group: Sequence[Result]) -> list[str]:
    rows = group[0].rows
    size = group[0].size_bytes
    peers = Peers.of(group)

    def ratio(value: float, peer: Result | None, attr: str = "wall_s") -> str:
        return f"{value / getattr(peer, attr):.2f}x" if peer else "-"

    lines = [
        "| engine | wall s (median) | best | runs s | CPU s | CPU s/M rows | peak RSS MB | rows/s "
        "| MB/s | vs best peer | vs best DuckDB | CPU vs DuckDB | busy before | steal |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in group:
        lines.append(
            f"| {r.engine.name} | {r.wall_s:.2f} | {r.best_s:.2f} | "
            f"{' / '.join(f'{x.wall_s:.2f}' for x in r.runs)} | {r.cpu_s:.2f} | "
            f"{r.cpu_s / (rows / 1e6):.2f} | {r.maxrss_mb:,.0f} | {fmt_rate(rows / r.wall_s)} | "
            f"{size / 1e6 / r.wall_s:,.1f} | {ratio(r.wall_s, peers.best)} | "
            f"{ratio(r.wall_s, peers.duck_wall)} | {ratio(r.cpu_s, peers.duck_cpu, 'cpu_s')} | "
            f"{r.busy:.0f}% | {r.steal:.0f}% |"
        )
    if peers.best and peers.duck_wall and peers.duck_cpu:
        lines += [
            "",
            f"Fastest peer: **{peers.best.engine.name}** ({peers.best.wall_s:.2f} s); fastest "
            f"DuckDB formulation: **{peers.duck_wall.engine.name}** "
            f"({peers.duck_wall.wall_s:.2f} s); least CPU of DuckDB: "
            f"**{peers.duck_cpu.engine.name}** ({peers.duck_cpu.cpu_s:.2f} CPU s).",
        ]
    return lines


def lambda_cost(wall_s: float, size_bytes: int, memory_mb: int) -> float:
    """USD per GB (10^9 bytes) of CSV for a function of `memory_mb` that takes `wall_s`."""
    return wall_s / (size_bytes / 1e9) * (memory_mb / 1024) * LAMBDA_PRICE_GB_S


def lambda_section(results: Sequence[Result]) -> list[str]:
    """The engine at one vCPU (1,769 MB) and at two (3,538 MB), as a Lambda function would
    run it, and what a GB of CSV costs at the arm64 price."""
    pairs = [
        (one, next((r for r in results if r.engine.name == ENGINE and r.rows == one.rows), None))
        for one in results
        if one.engine.name == ENGINE_1CPU
    ]
    if not pairs:
        return []
    lines = [
        "",
        "## Lambda-shaped numbers",
        "",
        f"The engine pinned to one core (**{ENGINE_1CPU}**, what a {LAMBDA_ONE_VCPU_MB:,} MB "
        f"function gets) and on both cores (**{ENGINE}**, as at {2 * LAMBDA_ONE_VCPU_MB:,} MB), "
        f"costed at Lambda's arm64 price in us-east-1, ${LAMBDA_PRICE_GB_S:.10f} per GB-second "
        f"(memory in MB / 1024; the published first-tier price, used as of {LAMBDA_PRICE_DATE} "
        "and not fetched by the benchmark; requests, $0.20 per million, and S3 left out). "
        "This machine is x86 and Lambda arm64 is Graviton: estimates, not measurements on "
        "Lambda.",
        "",
        "| rows (CSV) | vCPUs | memory MB | wall s | CPU s | CPU µs/row | rows/s | peak RSS MB "
        "| USD per GB of CSV |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for one, two in pairs:
        for r, cpus in ((one, 1), (two, 2)):
            if r is None:
                continue
            memory = cpus * LAMBDA_ONE_VCPU_MB
            lines.append(
                f"| {human_rows(r.rows)} ({r.size_bytes / 1e6:,.0f} MB) | {cpus} | {memory:,} | "
                f"{r.wall_s:.2f} | {r.cpu_s:.2f} | {r.cpu_s / r.rows * 1e6:.2f} | "
                f"{fmt_rate(r.rows / r.wall_s)} | {r.maxrss_mb:,.0f} | "
                f"{lambda_cost(r.wall_s, r.size_bytes, memory):.6f} |"
            )
    return lines


def markdown(
    results: list[Result],
    cases: list[CaseResult],
    imports: ImportTime | None,
    info: dict[str, str],
    loads: tuple[tuple[float, ...], tuple[float, ...]],
    runs: int,
    argv: Sequence[str],
) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    args = " ".join(argv)
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m benchmarks{' ' + args if args else ''}`) on {now}.",
        "",
        f"- Machine: {info['cores']} cores ({info['cpu']}), {info['memory']} RAM, {info['os']}",
        f"- Load average (1/5/15 min) before: {' / '.join(f'{x:.2f}' for x in loads[0])}, "
        f"after: {' / '.join(f'{x:.2f}' for x in loads[1])} (other jobs may share the machine)",
        f"- Python {info['python']}; {info['libraries']}; orders-pipeline at {info['commit']}",
        f"- Input: `benchmarks/generate.py` (seeded; 16 columns as in sample_orders.csv; "
        f"~{generate.DEFAULT_INVALID_RATE:.2%} invalid rows, ~4% unknown ship modes)",
        "",
        f"Each engine runs {runs} times, round-robin, each time in a fresh process (start-up and "
        "imports included): wall = median, best = fastest run, peak RSS = the largest of the "
        "runs (ru_maxrss), "
        "CPU = user + system seconds (median; above wall when an engine uses both cores), "
        "CPU s/M rows = CPU per million rows, rows/s and MB/s from the median wall; "
        "**vs best peer** = median wall / the lowest median wall of DuckDB and Polars (any "
        "formulation) on the same file, **vs best DuckDB** = median wall / the lowest median "
        "wall of the DuckDB formulations, **CPU vs DuckDB** = CPU / the lowest CPU of the DuckDB "
        "formulations; "
        "busy before = the highest share of the machine's CPU that other processes used in the "
        "half second before a run, steal = the largest share of CPU time the hypervisor gave "
        "to other virtual machines during a run (a shared machine: when either is high, trust "
        "best and CPU more than the median). "
        "All engines agreed on all three reports (CSV text after normalising numbers to the "
        "contract's decimals).",
        "",
        "Engines:",
    ]
    lines += [f"- **{e.name}**: {e.description}" for e in ENGINES.values()]
    if any(r.engine.name == "baseline" for r in results):
        base = next(r.engine for r in results if r.engine.name == "baseline")
        lines.append(f"- **baseline**: the same CLI from another checkout (`{base.description}`)")
    by_rows: dict[int, list[Result]] = {}
    for r in results:
        by_rows.setdefault(r.rows, []).append(r)
    for rows, group in by_rows.items():
        lines += ["", f"## {rows:,} rows ({group[0].size_bytes / 1e6:,.0f} MB)", ""]
        lines += size_table(group)
    lines += lambda_section(results)
    if cases:
        lines += [
            "",
            "## Memory cases (issue 7)",
            "",
            "Generated by `benchmarks/memory_cases.py` (valid orders otherwise). **service** is "
            "the Lambda function's path (the reports service + the engine, outputs to a "
            "directory); **orders-pipeline** is the CLI, which also prints a summary of each "
            "report.",
            "",
            "| case | rows (CSV size) | engine | wall s (median) | CPU s | peak RSS MB |",
            "|---|---|---|---:|---:|---:|",
        ]
        for c in cases:
            for r in c.results:
                lines.append(
                    f"| {c.description} | {human_rows(c.rows)} ({c.size_bytes / 1e6:,.0f} MB) | "
                    f"{r.engine.name} | {r.wall_s:.2f} | {r.cpu_s:.2f} | {r.maxrss_mb:,.0f} |"
                )
    lines += ["", "## Handler import", ""]
    if imports:
        lines += [
            '`python -X importtime -c "import app.handlers.reports"` in a fresh process '
            "(median of 5 after a warm-up; cumulative time of `app`, `app.handlers` and "
            "`app.handlers.reports`):",
            "",
            f"- import: **{imports.import_s:.3f} s** (whole process: {imports.process_s:.3f} s)",
            "- heaviest packages under it: "
            + ", ".join(f"{n} {s:.3f} s" for n, s in imports.heaviest),
        ]
    else:
        lines.append("Not measured (the handler module could not be imported).")
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    lines += targets(results, imports)
    for c in cases:
        service = next(r for r in c.results if r.engine.name == "service")
        ok = service.maxrss_mb <= TARGET_CASE_RSS_MB
        lines.append(
            f"| peak RSS <= {TARGET_CASE_RSS_MB:.0f} MB, {human_rows(c.rows)} rows, "
            f"{c.description} (function's path) | {service.maxrss_mb:,.0f} MB | "
            f"{'yes' if ok else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def targets(results: list[Result], imports: ImportTime | None) -> list[str]:
    def row(target: str, value: float | None, text: str, ok: bool) -> str:
        if value is None:
            return f"| {target} | not measured | - |"
        return f"| {target} | {text} | {'yes' if ok else '**no**'} |"

    lines = []
    engines: dict[int, Result] = {}
    for rows in TARGET_SIZES:
        group = [r for r in results if r.rows == rows]
        eng = next((r for r in group if r.engine.name == ENGINE), None)
        peers = Peers.of(group)
        size = human_rows(rows)
        wall = eng.wall_s / peers.duck_wall.wall_s if eng and peers.duck_wall else None
        best = eng.best_s / peers.duck_wall.best_s if eng and peers.duck_wall else None
        cpu = eng.cpu_s / peers.duck_cpu.cpu_s if eng and peers.duck_cpu else None
        lines += [
            row(
                f"wall at {size} rows <= {TARGET_WALL_RATIO}x DuckDB's fastest formulation",
                wall,
                f"{wall:.2f}x (median; best runs {best:.2f}x)" if wall and best else "",
                wall is not None and wall <= TARGET_WALL_RATIO,
            ),
            row(
                f"CPU at {size} rows <= {TARGET_CPU_RATIO}x DuckDB's",
                cpu,
                f"{cpu:.2f}x ({eng.cpu_s:.2f} against {peers.duck_cpu.cpu_s:.2f} CPU s)"
                if cpu and eng and peers.duck_cpu
                else "",
                cpu is not None and cpu <= TARGET_CPU_RATIO,
            ),
            row(
                f"peak RSS at {size} rows <= {TARGET_RSS_MB:.0f} MB",
                eng.maxrss_mb if eng else None,
                f"{eng.maxrss_mb:,.0f} MB" if eng else "",
                eng is not None and eng.maxrss_mb <= TARGET_RSS_MB,
            ),
        ]
        if eng:
            engines[rows] = eng
    low, high = TARGET_SIZES
    flat = engines[high].maxrss_mb / engines[low].maxrss_mb if len(engines) == 2 else None
    imp = imports.import_s if imports else None
    return [
        *lines,
        row(
            f"peak RSS at {human_rows(high)} within {TARGET_FLAT - 1:.0%} of {human_rows(low)}",
            flat,
            f"{flat:.2f}x" if flat else "",
            flat is not None and flat <= TARGET_FLAT,
        ),
        row(
            f"handler import <= {TARGET_IMPORT_S} s",
            imp,
            f"{imp:.3f} s" if imp is not None else "",
            imp is not None and imp <= TARGET_IMPORT_S,
        ),
    ]


def quick_summary(results: Sequence[Result]) -> str:
    """What `--quick` prints: the engine's ratios to its peers on one file."""
    lines = [f"## {results[0].rows:,} rows ({results[0].size_bytes / 1e6:,.0f} MB)", ""]
    lines += size_table(results)
    eng = next((r for r in results if r.engine.name == ENGINE), None)
    peers = Peers.of(results)
    if eng and peers.best and peers.duck_wall and peers.duck_cpu:
        lines += [
            "",
            f"ratio: wall {eng.wall_s / peers.duck_wall.wall_s:.2f}x DuckDB's fastest "
            f"({peers.duck_wall.engine.name}), CPU {eng.cpu_s / peers.duck_cpu.cpu_s:.2f}x "
            f"DuckDB's least ({peers.duck_cpu.engine.name}), wall "
            f"{eng.wall_s / peers.best.wall_s:.2f}x the best peer ({peers.best.engine.name}); "
            f"peak RSS {eng.maxrss_mb:,.0f} MB (targets at 5M and 10M rows: "
            f"{TARGET_WALL_RATIO}x, {TARGET_CPU_RATIO}x, {TARGET_RSS_MB:.0f} MB)",
        ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--sizes", type=parse_sizes, default=[1_000_000, 5_000_000],
                        help="comma-separated row counts (default 1M,5M; 100k works)")  # fmt: skip
    parser.add_argument("--rows-10m", action="store_true", help="also run 10M rows")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated subset of {','.join(ENGINES)}")  # fmt: skip
    parser.add_argument("--memory-cases", default=",".join(memory_cases.CASES),
                        help="comma-separated memory cases, or `none` "
                        f"(default {','.join(memory_cases.CASES)})")  # fmt: skip
    parser.add_argument("--memory-rows", type=parse_sizes, default=[memory_cases.DEFAULT_ROWS],
                        help="rows of each memory case (default 1M)")  # fmt: skip
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also run another checkout's engine (e.g. a `git archive` of an "
                        "older commit) as `baseline`, interleaved with the others")  # fmt: skip
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--quick", action="store_true",
                        help=f"{human_rows(QUICK_ROWS)} rows, the engine against DuckDB and "
                        "Polars only (unless --engines/--sizes say otherwise); prints the "
                        "ratios, writes nothing")  # fmt: skip
    args = parser.parse_args(argv)
    if args.quick:
        given = " ".join(argv)
        if "--sizes" not in given:
            args.sizes = [QUICK_ROWS]
        if "--engines" not in given:
            args.engines = ",".join(QUICK_ENGINES)
        args.memory_cases, args.rows_10m = "none", False
    cases = [c.strip() for c in args.memory_cases.split(",") if c.strip() not in ("", "none")]
    if any(c not in memory_cases.CASES for c in cases):
        parser.error(f"unknown memory case in {cases}; choose from {','.join(memory_cases.CASES)}")
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown or not names:
        parser.error(f"unknown engine(s) {unknown}; choose from {','.join(ENGINES)}")
    engines = [e for e in ENGINES.values() if e.name in names]
    if args.baseline:
        engines.append(Engine("baseline", str(args.baseline.resolve())))
    sizes = sorted(set(args.sizes + ([10_000_000] if args.rows_10m else [])))

    load_before = os.getloadavg()
    log(f"sizes {[human_rows(s) for s in sizes]}, engines {names}, {args.runs} runs each")
    results: list[Result] = []
    case_results: list[CaseResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="orders-bench-") as tmp:
            for rows in sizes:
                results += bench_size(rows, args.seed, engines, args.runs, Path(tmp))
            if cases:
                case_results = bench_memory(cases, args.memory_rows[0], 1, Path(tmp))
    except BenchError as err:
        print(f"benchmark FAILED: {err}", file=sys.stderr)
        return 1
    if args.quick:
        for rows in sizes:
            print(quick_summary([r for r in results if r.rows == rows]))
        return 0
    log("measuring the handler's import time")
    imports = handler_import_time()
    loads = (load_before, os.getloadavg())
    text = markdown(results, case_results, imports, machine(), loads, args.runs, argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    old = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    if NOTES_MARKER in old:  # hand-written notes at the end survive a new run
        text += "\n" + old[old.index(NOTES_MARKER) :]
    args.output.write_text(text, encoding="utf-8")
    log(f"wrote {args.output}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
