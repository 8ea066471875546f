"""Stand-in for a command-line tool (`aws`, `docker`, `terraform`) in script tests.

Invoked as `python fake_cli.py PROG ARGS...` by a tiny wrapper named PROG on PATH. It appends
{"prog", "argv", "stdin", "env", "files"} as one JSON line to $FAKE_CLI_LOG: "env" holds the
variables named in $FAKE_CLI_ENV (comma-separated; null when unset), "files" the content of
every `file://PATH` argument (what the tool would have read). It answers from the rules in
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
    env = {
        name: os.environ.get(name) for name in os.environ.get("FAKE_CLI_ENV", "").split(",") if name
    }
    files = {}
    for arg in args:
        if arg.startswith("file://"):
            with open(arg.removeprefix("file://"), encoding="utf-8") as fh:
                files[arg] = fh.read()
    entry = {"prog": prog, "argv": args, "stdin": stdin, "env": env, "files": files}
    with open(log_path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")

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
