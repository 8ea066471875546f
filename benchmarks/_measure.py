"""Run one command and record its wall time and peak RSS (this wrapper's only child).

    python -m benchmarks._measure RESULT.json -- CMD [ARGS...]

A separate small process so that the measured peak is the command's own: on Linux a child's
ru_maxrss starts from the RSS of the process it was forked from, so the harness (which may be
large) never forks the engine directly. Imports only the standard library.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m benchmarks._measure RESULT.json -- CMD [ARGS...]", file=sys.stderr)
        return 2
    result, cmd = Path(argv[0]), argv[2:]
    start = time.perf_counter()
    returncode = subprocess.call(cmd)
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
