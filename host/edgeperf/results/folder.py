"""A results folder: created once, written atomically, never silently overwritten."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from ..errors import ConfigError


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ResultsFolder:
    """Owns one run's output directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path | None, base: Path = Path("results")) -> ResultsFolder:
        """Create `path`, or a fresh timestamped folder under `base`; refuse to reuse an existing one."""
        if path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = base / stamp
            suffix = 1
            while path.exists():
                suffix += 1
                path = base / f"{stamp}-{suffix}"
        elif path.exists() and any(path.iterdir()):
            raise ConfigError(f"results folder {path} already exists and is not empty; choose another --results path")
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    def file(self, *parts: str) -> Path:
        target = self.path.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_json(self, name: str, data: object) -> Path:
        target = self.file(name)
        atomic_write_text(target, json.dumps(data, indent=2, sort_keys=False) + "\n")
        return target

    def write_text(self, name: str, text: str) -> Path:
        target = self.file(*name.split("/"))
        atomic_write_text(target, text)
        return target
