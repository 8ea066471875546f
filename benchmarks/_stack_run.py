"""One end-to-end run through the embedded AWS, for the harness.

    python -m benchmarks._stack_run FILE OUTDIR RESULT.json

Starts `app.local.stack.LocalStack` (not timed), then times from the start of the upload to
the manifest's arrival (S3 -> SNS -> SQS -> event pump -> handler -> reports in moto S3), reads
the three reports back from the output bucket into OUTDIR/<report>.csv and writes the timing
to RESULT.json. Peak RSS of this process includes the moto server holding the file.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

REPORTS = ("most_profitable_region", "top_ship_mode_by_category", "orders_by_category")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m benchmarks._stack_run FILE OUTDIR RESULT.json", file=sys.stderr)
        return 2
    file, outdir, result = Path(argv[0]), Path(argv[1]), Path(argv[2])
    from app.local.stack import LocalStack

    outdir.mkdir(parents=True, exist_ok=True)
    key = file.name
    with LocalStack.start(env="bench") as stack:
        since = dt.datetime.now(dt.UTC).replace(microsecond=0)
        start = time.perf_counter()
        stack.upload(file, key)
        manifest = stack.wait_for_manifest(key, timeout=1800, since=since)
        wall = time.perf_counter() - start
        if manifest.get("status") != "ok":
            print(f"manifest status is not ok: {json.dumps(manifest)}", file=sys.stderr)
            return 1
        outputs = stack.read_outputs(manifest)
    for report in REPORTS:
        keys = [k for k in outputs if k.startswith(f"{report}/")]
        if len(keys) != 1:
            print(f"{report}: expected one output, got {keys}", file=sys.stderr)
            return 1
        (outdir / f"{report}.csv").write_text(outputs[keys[0]], encoding="utf-8")
    result.write_text(json.dumps({"wall_s": wall, "rows": manifest.get("rows")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
