"""Runs a script of scripts/ with stand-in executables (fake_cli.py) first on PATH, and reads
back every call they recorded: the exact commands a user's machine would run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
FAKE_CLI = Path(__file__).resolve().parent / "fake_cli.py"

# Variables the scripts read; cleared so the developer's own settings cannot leak in.
SCRIPT_ENV = (
    "ECR_REPOSITORY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "FUNCTION_NAME",
    "IMAGE_URI",
    "INPUT_BUCKET",
    "OUTPUT_BUCKET",
    "TF_VAR_owner",
)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[dict[str, Any]]

    def argvs(self, prog: str | None = None) -> list[list[str]]:
        return [[c["prog"], *c["argv"]] for c in self.calls if prog is None or c["prog"] == prog]


class StandIns:
    """Stand-ins for `progs` on PATH, answering from `rules`, recording into a log (with the
    environment variables named in `record_env`)."""

    def __init__(
        self,
        tmp_path: Path,
        progs: tuple[str, ...] = ("aws", "docker"),
        record_env: tuple[str, ...] = ("AWS_PROFILE",),
    ) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "calls.jsonl"
        self.rules_file = tmp_path / "rules.json"
        self.rules: dict[str, list[dict[str, Any]]] = {prog: [] for prog in progs}
        self.record_env = record_env
        for prog in progs:
            wrapper = self.bin / prog
            wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_CLI}" {prog} "$@"\n')
            wrapper.chmod(0o755)

    def on(self, prog: str, when: list[str], *responses: dict[str, Any]) -> None:
        self.rules[prog].append({"when": when, "responses": list(responses)})

    def run(
        self,
        script: str,
        *args: str,
        env: dict[str, str] | None = None,
        scripts: Path = SCRIPTS,
        timeout: float = 60,
    ) -> Run:
        self.rules_file.write_text(json.dumps(self.rules))
        full_env = {k: v for k, v in os.environ.items() if k not in SCRIPT_ENV}
        full_env.update(
            PATH=f"{self.bin}{os.pathsep}{full_env.get('PATH', '')}",
            FAKE_CLI_LOG=str(self.log),
            FAKE_CLI_RULES=str(self.rules_file),
            FAKE_CLI_ENV=",".join(self.record_env),
        )
        full_env.update(env or {})
        proc = subprocess.run(
            ["bash", str(scripts / script), *args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        calls = (
            [json.loads(line) for line in self.log.read_text().splitlines()]
            if self.log.exists()
            else []
        )
        return Run(proc.returncode, proc.stdout, proc.stderr, calls)
