"""How rules report progress without knowing who shows it (a rich bar, a log, nothing)."""

from __future__ import annotations


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
