"""A results.json read back from disk is checked before a report or a comparison trusts it.

The file is ours, but people edit it, merge it, or hand over one from another tool: a string where
a number belongs, a null list, a NaN, must be named with its place in the document, not crash the
report or, worse, compare as a number.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: Keys whose values are measured numbers wherever they appear (null only where a value may be unknown).
NUMBERS = frozenset({"value", "seconds", "iterations", "throughput", "elapsed_us", "index", "resumed_files",
                     "uj_per_inference", "voltage_v", "sample_rate_hz", "clock_mhz", "compared_samples", "mismatches",
                     "iterations_per_window", "device_latency_ms", "host_e2e_latency_ms"})
NULLABLE = frozenset({"latency_us", "clock_mhz", "sample_rate_hz", "device_latency_ms", "host_e2e_latency_ms"})
#: The lists of entries a mode's section holds.
LISTS = ("windows", "samples", "rules")
#: What every `runs[]` entry names.
RUN_KEYS = ("benchmark", "mode")
DAMAGED = "the file was edited or damaged: restore it from the run, or run again"


def _where(path: list[str]) -> str:
    return "".join(part if part.startswith("[") else f".{part}" for part in path).lstrip(".")


def _numbers(value: Any, path: list[str], file: Path) -> None:
    """Every measured number under `value` is a finite number (null only where it may be unknown)."""
    if isinstance(value, dict):
        for name, item in value.items():
            _numbers(item, [*path, str(name)], file)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _numbers(item, [*path, f"[{index}]"], file)
        return
    key = path[-1]
    if key.startswith("[") and len(path) > 1 and path[-2] == "scores":
        key = "scores"
    if key not in NUMBERS | NULLABLE | {"scores"} or (value is None and key in NULLABLE):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{file}: {_where(path)} is {value!r}, not a finite number; {DAMAGED}")


def _run(run: Any, index: int, file: Path) -> None:
    if not isinstance(run, dict) or not all(isinstance(run.get(k), str) for k in RUN_KEYS):
        raise ConfigError(f"{file}: runs[{index}] is not a run entry (an object with benchmark and mode); {DAMAGED}")
    for mode in ("performance", "accuracy", "energy"):
        section = run.get(mode)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise ConfigError(f"{file}: runs[{index}].{mode} is {section!r}, not an object; {DAMAGED}")
        for name in LISTS:
            entries = section.get(name, [])
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise ConfigError(f"{file}: runs[{index}].{mode}.{name} is {entries!r}, not a list of entries; "
                                  f"{DAMAGED}")
        _numbers(section, [f"runs[{index}]", mode], file)


def check_document(document: Any, file: Path) -> dict[str, Any]:
    """`document` if it has the shape reports and comparisons read; else a ConfigError naming the first bad place."""
    if not isinstance(document, dict) or not str(document.get("schema", "")).startswith("edgeperf.results/"):
        raise ConfigError(f"{file} is not an edgeperf results file (no edgeperf.results schema)")
    runs = document.get("runs")
    if not isinstance(runs, list):
        raise ConfigError(f"{file}: `runs` is {'missing' if runs is None else repr(runs)}, not a list of runs; "
                          f"{DAMAGED}")
    for index, run in enumerate(runs):
        _run(run, index, file)
    return document
