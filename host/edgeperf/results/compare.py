"""Compare runs: each benchmark's numbers side by side, with a verdict on what exceeds run-to-run noise.

A performance run measures its throughput in several windows (five under MLPerf Tiny rules);
the headline is their median and the window-to-window spread is the run's own noise. A later
run differs significantly from the first when both hold:

1. its median differs by more than `min_change` (relative, 1 % by default): a smaller change
   does not matter in practice, however consistent;
2. the Wilcoxon rank-sum (Mann-Whitney) test on the window values, two-sided and exact over
   every split of the pooled windows, gives p < ALPHA: the windows of the two runs are not
   interchangeable. With five windows a side there are 252 splits: runs whose windows do not
   overlap get p = 2/252 = 0.008; with one pair of windows (one from each run) out of order
   p = 0.016, with two 0.032, with three 0.056 (not significant). Ranks make the test
   insensitive to how far one disturbed window strays, and it assumes no distribution.
   Runs with too few windows for any split to reach ALPHA (three a side or fewer) are judged
   by `min_change` alone.

Energy runs (µJ per inference per window, lower is better) are compared the same way.
Accuracy metrics come from a deterministic pipeline and have no windows: any change larger
than `min_change` is reported as significant.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from rich.table import Table

from ..modes import Mode
from .report import load_document
from .schema import Document

#: Significance level of the rank-sum test.
ALPHA = 0.05
#: Above this many splits the test draws this many random ones (seeded, so a comparison is reproducible).
MAX_SPLITS = 200_000


@dataclass(frozen=True)
class Cell:
    """One run's number for one metric, judged against the first run."""

    value: float
    spread: float | None        # (max - min) / median of the windows; None without windows
    ratio: float
    p_value: float | None       # rank-sum test against the first run; None for the first run or without windows
    significant: bool


@dataclass(frozen=True)
class Row:
    benchmark: str
    metric: str
    unit: str
    higher_is_better: bool
    cells: list[Cell | None]    # one per run, None when the run lacks this benchmark

    def regression(self, index: int) -> float:
        """How much worse run `index` is than the first, as a positive fraction (0 when not significantly worse)."""
        cell = self.cells[index]
        if cell is None or not cell.significant:
            return 0.0
        return max(0.0, 1 - cell.ratio) if self.higher_is_better else max(0.0, cell.ratio - 1)


def rank_sum_p_value(first: list[float], other: list[float]) -> float:
    """Two-sided p of the Wilcoxon rank-sum (Mann-Whitney) test, exact over every split of the pooled windows.

    Ties get their mean rank, so a board that times every window identically is handled exactly.
    """
    pooled = np.array(first + other, dtype=np.float64)
    order = np.argsort(pooled, kind="mergesort")
    ranks = np.empty(len(pooled))
    ranks[order] = np.arange(1, len(pooled) + 1)
    for value in np.unique(pooled):  # mean rank for ties
        ranks[pooled == value] = ranks[pooled == value].mean()
    size, count = len(pooled), len(other)
    if math.comb(size, count) <= MAX_SPLITS:
        chosen = np.array(list(combinations(range(size), count)))
    else:
        rng = np.random.default_rng(0)
        chosen = np.argsort(rng.random((MAX_SPLITS, size)), axis=1)[:, :count]
    expected = count * (size + 1) / 2
    statistic = np.abs(ranks[chosen].sum(axis=1) - expected)
    observed = abs(ranks[len(first):].sum() - expected)
    return float(np.mean(statistic >= observed - 1e-9))


def _windowed_row(benchmark: str, metric: str, unit: str, higher_is_better: bool,
                  series: list[list[float] | None], min_change: float) -> Row:
    base = series[0]
    cells: list[Cell | None] = []
    for index, windows in enumerate(series):
        if windows is None:
            cells.append(None)
            continue
        median = statistics.median(windows)
        spread = (max(windows) - min(windows)) / median
        if base is None:
            cells.append(Cell(median, spread, math.nan, None, False))
            continue
        ratio = median / statistics.median(base)
        testable = 2 / math.comb(len(base) + len(windows), len(windows)) < ALPHA
        p_value = rank_sum_p_value(base, windows) if index and testable else None
        significant = bool(index) and abs(ratio - 1) > min_change and (p_value is None or p_value < ALPHA)
        cells.append(Cell(median, spread, ratio, p_value, significant))
    return Row(benchmark, metric, unit, higher_is_better, cells)


def _windows(run: Document, mode: str) -> list[float] | None:
    entry = run.get(mode)
    if not entry:
        return None
    if entry.get("kind") == "streaming":  # sww01: one value per stream, throughput or power
        key = "throughput" if mode == Mode.PERFORMANCE else "power_mw"
        return [s[key]["value"] for s in entry["streams"] if s.get(key)]
    key = "throughput" if mode == Mode.PERFORMANCE else "uj_per_inference"
    return [w[key] for w in entry["windows"]]


def _find(document: Document, benchmark: str, mode: str) -> Document | None:
    return next((r for r in document["runs"] if r["benchmark"] == benchmark and r.get(mode)), None)


def _measured(document: Document) -> set[tuple[str, str]]:
    """(benchmark, mode) of every run of `document` that finished with a measurement."""
    return {(r["benchmark"], mode) for r in document["runs"] if not r.get("error")
            for mode in (*Mode, "loadgen") if r.get(mode)}


def lost_runs(folders: list[Path]) -> list[str]:
    """Benchmarks the first folder measured that a later one did not: failed, crashed, killed, or left out.

    A regression gate must fail on them: a benchmark that no longer runs is the worst regression.
    """
    documents = [load_document(folder) for folder in folders]
    base = _measured(documents[0])
    lost = []
    for index, document in enumerate(documents[1:], start=2):
        errors = {r["benchmark"]: r["error"] for r in document["runs"] if r.get("error")}
        for bench, mode in sorted(base - _measured(document)):
            why = f"failed: {errors[bench]}" if bench in errors else "missing (the run crashed, was killed or left it out)"
            lost.append(f"run {index}: {bench} {mode} {why}")
    return lost


def compare(folders: list[Path], min_change: float = 0.01) -> list[Row]:
    """Rows of the comparison; ratios and verdicts are against the first folder."""
    documents = [load_document(folder) for folder in folders]
    benchmarks = sorted({r["benchmark"] for d in documents for r in d["runs"]})
    rows: list[Row] = []
    for bench in benchmarks:
        found = {mode: [_find(d, bench, mode) for d in documents] for mode in (Mode.PERFORMANCE, Mode.ENERGY, Mode.ACCURACY)}
        stream = any(r and r[m].get("kind") == "streaming" for m in (Mode.PERFORMANCE, Mode.ENERGY) for r in found[m])
        if any(found[Mode.PERFORMANCE]):
            rows.append(_windowed_row(bench, "estimated throughput" if stream else "median throughput", "inf/s", True,
                                      [_windows(r, "performance") if r else None for r in found[Mode.PERFORMANCE]],
                                      min_change))
        if any(found[Mode.ENERGY]):
            rows.append(_windowed_row(bench, "power" if stream else "median energy", "mW" if stream else "uJ/inf", False,
                                      [_windows(r, "energy") if r else None for r in found[Mode.ENERGY]], min_change))
        metrics = sorted({m for r in found[Mode.ACCURACY] if r for m in r["accuracy"]["metrics"]}, reverse=True)
        for metric in metrics:
            values = [r["accuracy"]["metrics"].get(metric, {}).get("value") if r else None for r in found[Mode.ACCURACY]]
            base = values[0]
            cells: list[Cell | None] = []
            for value in values:
                if value is None:
                    cells.append(None)
                    continue
                ratio = value / base if base else math.nan
                cells.append(Cell(value, None, ratio, None, bool(base) and abs(ratio - 1) > min_change))
            rows.append(Row(bench, "top-1" if metric == "top1" else "AUC", "%" if metric == "top1" else "",
                            True, cells))
    return rows


def comparison_table(rows: list[Row], runs: int) -> Table:
    """Rich table: one column per run, each later run with its ratio to the first and the noise verdict."""
    table = Table(title="edgeperf compare (ratios against run 1)")
    for column in ["benchmark", "metric"] + [f"run {i + 1}" for i in range(runs)]:
        table.add_column(column)
    for row in rows:
        texts = []
        for index, cell in enumerate(row.cells):
            if cell is None:
                texts.append("-")
                continue
            text = f"{cell.value:.3f} {row.unit}".rstrip()
            if cell.spread is not None:
                text += f", spread {100 * cell.spread:.2f} %"
            if index and not math.isnan(cell.ratio):
                if cell.significant:
                    verdict = "[red]significant[/red]" if row.regression(index) else "[green]significant[/green]"
                else:
                    verdict = "within noise"
                p_text = f", p={cell.p_value:.3f}" if cell.p_value is not None else ""
                text += f" (x{cell.ratio:.3f}{p_text}, {verdict})"
            texts.append(text)
        table.add_row(row.benchmark, row.metric, *texts)
    return table
