"""An append-only journal of per-sample results: each record is on disk before the next sample starts.

A run killed at any point leaves every completed sample in the journal; a torn last line
(the process died mid-write) is ignored when the journal is read back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ResultsWriteError


class Journal:
    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        """Open `path` for appending; a new journal starts with `header`, an existing one must match it."""
        self.path = path
        self.records: list[dict[str, Any]] = []
        if path.exists():
            entries, good, ends_line = self._read(path)
            recorded = entries[0].get("header") if entries else None
            if recorded != header:
                raise ConfigError(f"{path} belongs to another run: {_differences(recorded, header)}; resume with "
                                  "the board and settings that wrote it, or start a new run")
            self.records = entries[1:]
            try:
                with path.open("r+b") as handle:  # drop the torn tail so new records start on a clean line
                    handle.truncate(good)
                    if not ends_line:
                        handle.seek(good)
                        handle.write(b"\n")
            except OSError as exc:
                raise ResultsWriteError.of(path, exc) from None
        try:
            self._handle = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ResultsWriteError.of(path, exc) from None
        if not self.records and path.stat().st_size == 0:
            self._write({"header": header})

    @staticmethod
    def _read(path: Path) -> tuple[list[dict[str, Any]], int, bool]:
        """The records up to the first torn or unreadable line, the byte offset where that line starts, and
        whether the last kept line ends with its newline.

        Offsets are counted in bytes, so a journal whose lines an editor turned into CRLF resumes intact.
        """
        entries: list[dict[str, Any]] = []
        good, ends_line = 0, True
        lines = path.read_bytes().splitlines(keepends=True)
        for number, line in enumerate(lines, start=1):
            try:
                entry = json.loads(line)
            except ValueError:
                if number == len(lines):  # a torn final line from an interrupted write
                    break
                raise ConfigError(f"{path} line {number} is damaged (not a JSON record) and {len(lines) - number} more "
                                  "line(s) follow it; the journal was edited or the disk corrupted it: repair or "
                                  "remove that line, or start a new run") from None
            if not isinstance(entry, dict):
                raise ConfigError(f"{path} line {number}: {type(entry).__name__} where a journal record (a JSON "
                                  "object) belongs; the journal was edited by hand: restore it or start a new run")
            entries.append(entry)
            good += len(line)
            ends_line = line.endswith(b"\n")
        return entries, good, ends_line

    def _write(self, record: dict[str, Any]) -> None:
        """Append one record and fsync it; a write that fails leaves at most a torn last line, which a resume
        drops."""
        try:
            self._handle.write(json.dumps(record, sort_keys=True) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise ResultsWriteError.of(self.path, exc) from None

    def append(self, record: dict[str, Any]) -> None:
        self._write(record)
        self.records.append(record)

    def close(self) -> None:
        try:
            self._handle.close()
        except OSError:
            pass  # only a write buffered after a failed one, which _write already reported


def _differences(recorded: object, header: dict[str, Any], where: str = "") -> str:
    """What differs between a journal's header and this run's, key by key (nested keys dotted)."""
    if not isinstance(recorded, dict):
        return f"the journal has no header (its first line is {recorded!r})"
    found = []
    for key in sorted(set(recorded) | set(header)):
        mine, theirs = header.get(key), recorded.get(key)
        if isinstance(mine, dict) and isinstance(theirs, dict):
            if mine != theirs:
                found.append(_differences(theirs, mine, f"{where}{key}."))
        elif mine != theirs:
            found.append(f"{where}{key} was {theirs!r} in the journal, is {mine!r} now")
    return "; ".join(found)
