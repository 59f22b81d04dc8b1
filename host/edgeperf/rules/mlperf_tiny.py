"""The MLPerf Tiny run rules edgeperf enforces, in one place, and how a run is checked against them."""

from __future__ import annotations

from dataclasses import dataclass

#: Performance and energy: the score is the median over this many windows, one per dataset file.
WINDOWS = 5
#: Every measured window must last at least this long ...
MIN_WINDOW_SECONDS = 10.0
#: ... and contain at least this many inferences (the runner's error text says "and").
MIN_WINDOW_ITERATIONS = 10


@dataclass(frozen=True)
class RuleCheck:
    """One rule, whether the run met it, and the evidence."""

    rule: str
    met: bool
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "met": self.met, "detail": self.detail}


def verdict(checks: list[RuleCheck]) -> str:
    """The one sentence a report prints; it names MLPerf Tiny only when every rule was met."""
    missed = [c for c in checks if not c.met]
    if not missed:
        return "run under MLPerf Tiny rules (every rule below was met)"
    return "NOT run under MLPerf Tiny rules: " + "; ".join(f"{c.rule}: {c.detail}" for c in missed)
