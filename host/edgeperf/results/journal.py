"""An append-only journal of per-sample results: each record is on disk before the next sample starts.

A run killed at any point leaves every completed sample in the journal; a torn last line
(the process died mid-write) is ignored when the journal is read back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError


class Journal:
    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        """Open `path` for appending; a new journal starts with `header`, an existing one must match it."""
        self.path = path
        self.records: list[dict[str, Any]] = []
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            entries = []
            for line in lines:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    break  # a torn final line from an interrupted write
            if not entries or entries[0].get("header") != header:
                raise ConfigError(
                    f"{path} belongs to another run (benchmark, model or dataset differ): "
                    f"journal header {entries[0].get('header') if entries else None}, this run {header}"
                )
            self.records = entries[1:]
            good = sum(len(line) + 1 for line in lines[: len(entries)])
            with path.open("r+b") as handle:  # drop the torn tail so new records start on a clean line
                handle.truncate(good)
        self._handle = path.open("a", encoding="utf-8")
        if not self.records and path.stat().st_size == 0:
            self._write({"header": header})

    def _write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, sort_keys=True) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def append(self, record: dict[str, Any]) -> None:
        self._write(record)
        self.records.append(record)

    def close(self) -> None:
        self._handle.close()
