"""What a finished run must show for its command to exit 0 (`--require`), and the exit code it earns.

A run that completed can still be useless to a CI job: a wrong model scoring top-1 0 %, a LoadGen run LoadGen
calls INVALID. Each requirement names one such check; a failed benchmark (its `error`) counts whatever is
required, with the exit code of its error's kind.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..benchmarks import BENCHMARKS
from ..errors import ExitCode, exit_code_of
from ..modes import Mode
from .schema import Document

#: Every requirement and what it checks, where the run measured it.
REQUIREMENTS = {
    "quality": "each accuracy run (LoadGen's too) meets its benchmark's quality target (kws01 top-1 90 %, ...)",
    "golden": "no sample of the golden check (verify, --golden) is outside its runtime's tolerance",
    "loadgen-valid": "LoadGen calls each performance scenario run VALID",
    "rules": "every MLPerf Tiny run rule is met (the reference model too: the bundled models are not the official "
             "ones, so a default run fails this)",
}
DEFAULT_REQUIRE = ("quality", "golden", "loadgen-valid")


def parse_require(text: str) -> tuple[str, ...]:
    """An argparse type: `quality,rules`, or `none`; an unknown name is a usage error naming the known ones."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if names == ("none",):
        return ()
    unknown = [name for name in names if name not in REQUIREMENTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown requirement {', '.join(unknown) or repr(text)}; choose from "
                                         f"{', '.join(REQUIREMENTS)}, comma-separated, or none")
    return names


def _quality(run: Document) -> Iterator[str]:
    accuracy = run.get("accuracy")
    if isinstance(accuracy, dict):
        for rule in accuracy.get("rules", []):
            if rule.get("rule") == "quality target" and not rule.get("met"):
                yield f"quality target missed: {rule.get('detail')}"
    loadgen = run.get("loadgen")
    bench = BENCHMARKS.get(str(run.get("benchmark")))
    if isinstance(loadgen, dict) and isinstance(loadgen.get("metrics"), dict) and bench is not None:
        value = loadgen["metrics"].get(bench.metric)
        if isinstance(value, int | float) and value < bench.quality_target:
            shown = (f"AUC {value:.3f} against the target AUC {bench.quality_target:.2f}" if bench.metric == "auc"
                     else f"top-1 {value:.1f} % against the target top-1 {bench.quality_target:g} %")
            yield f"quality target missed in LoadGen's accuracy run: {shown}"


def _golden(run: Document) -> Iterator[str]:
    accuracy = run.get("accuracy") or {}
    for runtime, check in accuracy.get("golden", {}).items():
        if check["mismatches"]:
            yield (f"golden check: {check['mismatches']} of {check['compared_samples']} samples outside {runtime}'s "
                   f"tolerance ({check['tolerance']})")


def _loadgen_valid(run: Document) -> Iterator[str]:
    loadgen = run.get("loadgen")
    if isinstance(loadgen, dict) and "validity" in loadgen and loadgen["validity"] != "VALID":
        reasons = loadgen.get("invalid_reasons") or ["LoadGen gave no reason"]
        yield f"LoadGen {loadgen.get('scenario')} result {loadgen['validity']}: {'; '.join(reasons)}"


def _rules(run: Document) -> Iterator[str]:
    for mode in Mode:
        section = run.get(str(mode))
        if isinstance(section, dict) and any(not rule.get("met") for rule in section.get("rules", [])):
            yield str(section.get("verdict"))


CHECKS = {"quality": _quality, "golden": _golden, "loadgen-valid": _loadgen_valid, "rules": _rules}


def error_exit_code(run: Document) -> ExitCode:
    """The exit code of a failed run: its recorded error kind, else its error's type name."""
    kind = run.get("error_kind")
    if isinstance(kind, str) and kind.upper() in ExitCode.__members__:
        return ExitCode[kind.upper()]
    match = re.match(r"\w+", str(run.get("error", "")))
    return exit_code_of(match.group(0)) if match else ExitCode.DEVICE


@dataclass(frozen=True)
class Outcome:
    """Every failed benchmark and missed requirement of one results document, one line each."""

    failures: tuple[tuple[str, ExitCode], ...]

    @property
    def lines(self) -> list[str]:
        return [line for line, _ in self.failures]

    @property
    def exit_code(self) -> ExitCode:
        return max((code for _, code in self.failures), default=ExitCode.OK)


def assess(document: Document, required: tuple[str, ...] = DEFAULT_REQUIRE) -> Outcome:
    """What `edgeperf run` reports and exits with once `document` is written."""
    failures: list[tuple[str, ExitCode]] = []
    runs = document.get("runs")
    for run in runs if isinstance(runs, list) else []:
        if run.get("error"):
            failures.append((f"{run['benchmark']}: {run['error']}", error_exit_code(run)))
            continue
        for name in required:
            failures += [(f"{run['benchmark']}: {line}", ExitCode.CHECK_FAILED) for line in CHECKS[name](run)]
    return Outcome(tuple(failures))
