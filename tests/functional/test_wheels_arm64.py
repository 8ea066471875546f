"""Every pinned runtime dependency installs in the arm64 image as a wheel.

The image is public.ecr.aws/lambda/python:3.12-arm64 (CPython 3.12 on Amazon Linux 2023,
glibc 2.34, aarch64) and the Dockerfile installs with --only-binary=:all: --require-hashes,
so each pin in requirements/lambda.txt needs, on PyPI, a wheel whose tags that interpreter
supports AND whose sha256 is among the pin's hashes. Needs network access to PyPI.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements" / "lambda.txt"
PYPI = "https://pypi.org/pypi"
PYTHON = (3, 12)
GLIBC_MINOR = 34  # Amazon Linux 2023, the base of the python3.12 Lambda image

# The marker environment of the image, for pins like `numpy==... ; python_full_version >= '3.12'`.
TARGET_ENV = {
    **default_environment(),
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "implementation_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
}
PLATFORMS = [f"manylinux_2_{minor}_aarch64" for minor in range(GLIBC_MINOR, 16, -1)] + [
    "manylinux2014_aarch64"
]
# cp312-cp312-*, cp312-abi3-* (and older abi3), py3*-none-*, *-none-any: what pip on the
# image would accept.
SUPPORTED: frozenset[Tag] = frozenset(
    [*cpython_tags(PYTHON, platforms=PLATFORMS), *compatible_tags(PYTHON, "cp312", PLATFORMS)]
)


def pins() -> list[tuple[Requirement, frozenset[str]]]:
    """(requirement, allowed sha256 hashes) for each pin that applies to the image."""
    text = REQUIREMENTS.read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        spec, *hashes = line.split(" --hash=")
        req = Requirement(spec.strip())
        if req.marker is not None and not req.marker.evaluate(TARGET_ENV):
            continue
        result.append((req, frozenset(h.strip().removeprefix("sha256:") for h in hashes)))
    return result


PINS = pins()


@cache
def fetch_json(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            data: dict[str, Any] = json.load(resp)
            return data
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def release_files(name: str, version: str) -> list[dict[str, Any]]:
    """The files PyPI has for name==version (JSON API)."""
    release = fetch_json(f"{PYPI}/{name}/{version}/json")
    if release is not None:
        return list(release["urls"])
    # Some PyPI mirrors serve only the project document; it lists every release's files.
    project = fetch_json(f"{PYPI}/{name}/json")
    assert project is not None, f"{name} is not on PyPI"
    files = project["releases"].get(version)
    assert files is not None, f"{name}=={version} is not on PyPI"
    return list(files)


def test_requirements_pin_the_core_runtime_dependencies() -> None:
    names = {canonicalize_name(req.name) for req, _ in PINS}
    assert {"pandas", "pyarrow", "numpy", "boto3", "aws-lambda-powertools"} <= names


@pytest.mark.parametrize(
    ("req", "hashes"), PINS, ids=[f"{r.name}=={next(iter(r.specifier)).version}" for r, _ in PINS]
)
def test_pin_has_a_hash_listed_manylinux_aarch64_cp312_wheel(
    req: Requirement, hashes: frozenset[str]
) -> None:
    version = next(iter(req.specifier)).version
    try:
        files = release_files(req.name, version)
    except OSError as exc:  # URLError, timeouts
        pytest.fail(f"PyPI is not reachable ({exc}); this test needs network access to pypi.org")

    wheels = [f for f in files if f["filename"].endswith(".whl")]
    installable = [
        f for f in wheels if parse_wheel_filename(f["filename"])[3] & SUPPORTED and not f["yanked"]
    ]
    assert installable, (
        f"{req.name}=={version} has no wheel for CPython 3.12 on manylinux aarch64 "
        f"(wheels: {sorted(f['filename'] for f in wheels) or 'none'})"
    )
    pinned = [f["filename"] for f in installable if f["digests"]["sha256"] in hashes]
    assert pinned, (
        f"{req.name}=={version}: no installable wheel's sha256 is in requirements/lambda.txt, "
        f"so `pip install --require-hashes` would fail (wheels: {installable})"
    )
