"""Stand-in for a command-line tool (`aws`, `docker`) in script tests.

Invoked as `python fake_cli.py PROG ARGS...` by a tiny wrapper named PROG on PATH. It appends
{"prog", "argv", "stdin"} as one JSON line to $FAKE_CLI_LOG and answers from the rules in
$FAKE_CLI_RULES (a JSON file):
    {"aws": [{"when": ["ecr", "describe-images"],
              "responses": [{"stdout": "...", "stderr": "...", "exit": 0}, ...]}]}
The first rule whose "when" words all occur in ARGS answers; its Nth match gets its Nth
response (the last one repeats). No matching rule: exit 0, no output.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    prog, args = sys.argv[1], sys.argv[2:]
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    log_path = os.environ["FAKE_CLI_LOG"]
    with open(os.environ["FAKE_CLI_RULES"], encoding="utf-8") as fh:
        rules = json.load(fh).get(prog, [])
    try:
        with open(log_path, encoding="utf-8") as fh:
            earlier = [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        earlier = []
    with open(log_path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"prog": prog, "argv": args, "stdin": stdin}) + "\n")

    for rule in rules:
        words = rule["when"]
        if all(w in args for w in words):
            seen = sum(
                1 for e in earlier if e["prog"] == prog and all(w in e["argv"] for w in words)
            )
            responses = rule["responses"]
            answer = responses[min(seen, len(responses) - 1)]
            sys.stdout.write(answer.get("stdout", ""))
            sys.stderr.write(answer.get("stderr", ""))
            return int(answer.get("exit", 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
