"""Run one command and record its wall time and peak RSS (this wrapper's only child).

    python -m benchmarks._measure RESULT.json [--cpus N] -- CMD [ARGS...]

A separate small process so that the measured peak is the command's own: on Linux a child's
ru_maxrss starts from the RSS of the process it was forked from, so the harness (which may be
large) never forks the engine directly. `--cpus N` pins the command to the first N cores this
process may use (sched_setaffinity, inherited by its threads and children): `--cpus 1` is what
one Lambda vCPU gives. Imports only the standard library.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    cpus = None
    if len(argv) >= 3 and argv[1] == "--cpus":
        cpus, argv = int(argv[2]), [argv[0], *argv[3:]]
    if len(argv) < 3 or argv[1] != "--":
        print(
            "usage: python -m benchmarks._measure RESULT.json [--cpus N] -- CMD [ARGS...]",
            file=sys.stderr,
        )
        return 2
    result, cmd = Path(argv[0]), argv[2:]
    allowed = sorted(os.sched_getaffinity(0))[:cpus] if cpus else None
    start = time.perf_counter()
    returncode = subprocess.call(
        cmd, preexec_fn=(lambda: os.sched_setaffinity(0, allowed)) if allowed else None
    )
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.write_text(
        json.dumps(
            {
                "wall_s": wall,
                "maxrss_kb": usage.ru_maxrss,  # kilobytes on Linux
                "user_s": usage.ru_utime,
                "sys_s": usage.ru_stime,
                "returncode": returncode,
            }
        )
    )
    return returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
