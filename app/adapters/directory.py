"""The CLI's --out directory: the bucket's layout, on disk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class DirectorySink:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, body: bytes, content_type: str) -> None:
        partial = self._partial(key)
        partial.write_bytes(body)
        os.replace(partial, self.root / key)  # readers never see a half-written file

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        partial = self._partial(key)
        shutil.copyfile(path, partial)
        os.replace(partial, self.root / key)

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def _partial(self, key: str) -> Path:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.with_name(f".{path.name}.partial")
