"""The three ways edgeperf measures a board; a `StrEnum`, so results and options keep their plain names."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """What a run measures: throughput (device timer), accuracy (every sample), or energy (power monitor)."""

    PERFORMANCE = "performance"
    ACCURACY = "accuracy"
    ENERGY = "energy"
