"""The DUT side of the `layers` extension (protocols/extensions): per-operator time of the last timed loop.

A board without a per-operator timer (the virtual board) knows what each operator costs relative to the
others (its cost model); it splits the window its counter measured by those costs, so the times sum to the
window exactly, as a board's profiler times would (minus the loop's own overhead).
"""

from __future__ import annotations

from collections.abc import Sequence

#: The `m-ext-[arena-used-bytes=N]` fact (protocols/extensions).
ARENA_FACT = "arena-used-bytes"


def split_us(total_us: int, costs: Sequence[float]) -> list[int]:
    """`total_us` shared out in proportion to `costs`, whole microseconds that sum to it exactly."""
    weight = sum(costs)
    if not costs or total_us <= 0 or weight <= 0:
        return [0] * len(costs)
    exact = [total_us * c / weight for c in costs]
    parts = [int(x) for x in exact]
    # Largest remainders get the microseconds that truncation lost.
    for i in sorted(range(len(costs)), key=lambda i: exact[i] - parts[i], reverse=True)[: total_us - sum(parts)]:
        parts[i] += 1
    return parts


class LayerTimer:
    """The operators of one model and what the last timed loop spent in each."""

    def __init__(self, ops: Sequence[tuple[str, float]]) -> None:
        self.ops = list(ops)
        self.iterations = 0
        self.times_us: list[int] = []

    def reset(self) -> None:
        """A reset board has timed nothing yet."""
        self.iterations, self.times_us = 0, []

    def record(self, iterations: int, elapsed_us: int) -> None:
        """The timed loop of `iterations` inferences took `elapsed_us` on the board's counter."""
        self.iterations = iterations
        self.times_us = split_us(elapsed_us, [cost for _, cost in self.ops])

    def lines(self) -> list[str]:
        """The reply to `layers`, without m-ready."""
        if not self.iterations:
            return ["m-layers-[iterations=0,count=0]"]
        return [f"m-layers-[iterations={self.iterations},count={len(self.ops)}]",
                *(f"m-layer-[{i},{name},{us}]" for i, ((name, _), us) in enumerate(zip(self.ops, self.times_us)))]
