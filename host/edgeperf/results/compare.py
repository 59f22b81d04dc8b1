"""Compare runs: each benchmark's numbers side by side, with a verdict on what exceeds run-to-run noise.

Performance: the five window throughputs of each run give its noise. A difference of the
medians counts as significant when it is larger than `min_change` (relative) and larger than
three standard errors of the difference of the window means (Welch); a deterministic board
(zero spread) makes any change above `min_change` significant. Accuracy metrics have no
run-to-run noise on a deterministic pipeline: any change above `min_change` is reported.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from .report import load_document


@dataclass(frozen=True)
class Row:
    benchmark: str
    metric: str
    unit: str
    values: list[float | None]
    ratios: list[float | None]     # each run against the first
    significant: list[bool]
    higher_is_better: bool

    def regression(self, index: int) -> float:
        """How much worse run `index` is than the first, as a positive fraction (0 when not worse)."""
        ratio = self.ratios[index]
        if ratio is None or not self.significant[index]:
            return 0.0
        return max(0.0, 1 - ratio) if self.higher_is_better else max(0.0, ratio - 1)


def _perf(document: dict) -> dict[str, list[float]]:
    return {run["benchmark"]: [w["throughput"] for w in run["performance"]["windows"]]
            for run in document["runs"] if "performance" in run}


def _significant(base: list[float], other: list[float], min_change: float) -> bool:
    median_base, median_other = statistics.median(base), statistics.median(other)
    if abs(median_other / median_base - 1) <= min_change:
        return False
    spread = math.sqrt(statistics.pvariance(base) / len(base) + statistics.pvariance(other) / len(other))
    return spread == 0 or abs(statistics.mean(other) - statistics.mean(base)) > 3 * spread


def compare(folders: list[Path], min_change: float = 0.01) -> list[Row]:
    documents = [load_document(folder) for folder in folders]
    rows: list[Row] = []
    perfs = [_perf(d) for d in documents]
    for bench in sorted({b for p in perfs for b in p}):
        series = [p.get(bench) for p in perfs]
        base = series[0]
        values = [statistics.median(s) if s else None for s in series]
        ratios = [v / values[0] if v is not None and values[0] else None for v in values]
        significant = [bool(base and s and i and _significant(base, s, min_change)) for i, s in enumerate(series)]
        rows.append(Row(bench, "median throughput", "inf./s", values, ratios, significant, True))
    for doc_index, document in enumerate(documents):
        for run in document["runs"]:
            if "accuracy" not in run:
                continue
            for metric, data in run["accuracy"]["metrics"].items():
                if any(r.benchmark == run["benchmark"] and r.metric == metric for r in rows):
                    continue
                values = []
                for other in documents:
                    match = [r for r in other["runs"] if r["benchmark"] == run["benchmark"] and "accuracy" in r]
                    values.append(match[0]["accuracy"]["metrics"][metric]["value"] if match else None)
                ratios = [v / values[0] if v is not None and values[0] else None for v in values]
                significant = [r is not None and abs(r - 1) > min_change for r in ratios]
                rows.append(Row(run["benchmark"], "top-1" if metric == "top1" else "AUC", data["unit"], values,
                                ratios, significant, True))
    return rows
