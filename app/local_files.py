"""The CLI's --out directory: the bucket's layout, on disk."""

from __future__ import annotations

import os
from pathlib import Path


class DirectorySink:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, body: bytes, content_type: str) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(body)
        os.replace(partial, path)  # readers never see a half-written file
