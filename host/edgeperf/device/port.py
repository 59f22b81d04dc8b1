"""The model-specific part of a firmware build (th_load_tensor, th_infer, th_results), as both protocols see it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Port(Protocol):
    """What a board's protocols need of the model it runs."""

    profile: str
    #: Bytes one inference's input takes.
    input_bytes: int

    def load_tensor(self, buffer: bytes) -> str | None:
        """Load the buffer into the input tensor; a warning line when its size is wrong."""

    def infer(self) -> None: ...

    def scores(self) -> Iterable[float]:
        """The last inference's outputs, as the binary protocol sends them."""

    def results_line(self) -> str:
        """The last inference's outputs, as the reference port prints them (`m-results-[...]`)."""
