"""Run one file through the reports service into a directory: the function's path without
S3 and without the CLI's console summary (so that a measured peak is the engine's and the
service's own).

    python -m benchmarks._service_run FILE OUTDIR [DATE]
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python -m benchmarks._service_run FILE OUTDIR [YYYY-MM-DD]", file=sys.stderr)
        return 2
    from app.adapters.directory import DirectorySink
    from app.pipelines.reports import service

    file, out = Path(argv[0]), Path(argv[1])
    date = dt.date.fromisoformat(argv[2]) if len(argv) == 3 else None
    out.mkdir(parents=True, exist_ok=True)
    outcome = service.process(
        service.ObjectRef(key=file.name, size=file.stat().st_size),
        lambda: service.Opened(file.open("rb")),
        DirectorySink(out),
        date,
    )
    print(outcome.status, outcome.manifest.rows, file=sys.stderr)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
