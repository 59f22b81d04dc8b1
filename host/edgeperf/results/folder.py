"""A results folder: created once, written atomically, never silently overwritten."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from pathlib import Path

from ..errors import ConfigError, ResultsWriteError


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new file beside `path`, created with mode 0666 so the umask decides who may read the results (mkstemp
    would make them 0600, private to whoever ran the benchmark)."""
    while True:
        tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(4)}"))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file (nor a disk that filled up
    halfway: the previous version stays)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temporary(path)
    except OSError as exc:
        raise ResultsWriteError.of(path, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ResultsWriteError.of(path, exc) from None
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
        elif path.exists() and not path.is_dir():
            raise ConfigError(f"--results {path} is a file, not a folder; choose another --results path")
        elif path.exists() and any(path.iterdir()):
            raise ConfigError(f"results folder {path} already exists and is not empty; choose another --results path")
        try:
            path.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=path).close()  # writable? (permission bits do not tell, e.g. for root)
        except OSError as exc:
            raise ConfigError(f"cannot create the results folder {path}: {exc.strerror or exc}; choose another "
                              "--results path") from None
        return cls(path)

    def file(self, *parts: str) -> Path:
        target = self.path.joinpath(*parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultsWriteError.of(target.parent, exc) from None
        return target

    def write_json(self, name: str, data: object) -> Path:
        target = self.file(name)
        atomic_write_text(target, json.dumps(data, indent=2, sort_keys=False) + "\n")
        return target

    def write_text(self, name: str, text: str) -> Path:
        target = self.file(*name.split("/"))
        atomic_write_text(target, text)
        return target
