"""How rules report progress without knowing who shows it (a rich bar, a log, nothing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


class Progress:
    """Silent by default; the CLI subclasses it with rich progress bars."""

    def begin(self, total: int, description: str) -> None:
        """A new phase with `total` steps starts."""

    def advance(self, steps: int = 1) -> None:
        """`steps` steps of the current phase are done."""

    def status(self, text: str) -> None:
        """What is happening right now, in a few words."""

    def upload(self, sent: int, total: int) -> None:
        """Bytes of the current upload confirmed by the board."""


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report, for a script's callback: what kind, the phase it belongs to, and how far it is."""

    kind: Literal["begin", "advance", "status", "upload"]
    #: The current phase, e.g. `kws01 performance windows`.
    phase: str
    done: int
    total: int
    #: The status text, or `sent/total B` for an upload.
    text: str = ""


class CallbackProgress(Progress):
    """Progress handed to a plain function as `ProgressEvent`s, so a lab script needs no subclass."""

    def __init__(self, callback: Callable[[ProgressEvent], None]) -> None:
        self.callback = callback
        self.phase, self.done, self.total = "", 0, 0

    def begin(self, total: int, description: str) -> None:
        self.phase, self.done, self.total = description, 0, total
        self.callback(ProgressEvent("begin", description, 0, total))

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        self.callback(ProgressEvent("advance", self.phase, self.done, self.total))

    def status(self, text: str) -> None:
        self.callback(ProgressEvent("status", self.phase, self.done, self.total, text))

    def upload(self, sent: int, total: int) -> None:
        self.callback(ProgressEvent("upload", self.phase, self.done, self.total, f"{sent}/{total} B"))
