"""Export a results folder into the MLPerf Tiny submission tree.

    <division>/<org>/results/<system>/<kws|vww|ic|ic2|ad|sww>/<performance|accuracy|energy>/{log.txt,results.txt,results.json}
    <division>/<org>/systems/<system>.json

Each results.json is an edgeperf results document holding that one run, so `edgeperf report`
and `edgeperf compare` read the exported tree too; the submission checker only requires
log.txt and results.txt. A LoadGen run (open division only) goes to `<scenario>-<mode>/` with
its mlperf_log files: the MLPerf Tiny checker does not score it, and closed refuses it.

Refused: a benchmark without the ones a submission must hold with it (ic02 without ic01), and in
the closed division any run that fails a closed rule (`closed.py`), every failure named.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..benchmarks import BENCHMARKS, get_benchmark
from ..errors import ConfigError, RequirementFailed
from .closed import closed_problems
from .folder import atomic_write_text
from .report import load_document

#: Benchmark -> its folder in the submission tree (a streaming benchmark gets `sww` from its Benchmark entry).
SUBMISSION_NAMES = {name: bench.submission_name for name, bench in BENCHMARKS.items()}
#: The files of a run's folder that go into the tree. Energy runs also carry the MLC runner's trace plots.
RUN_FILES = ("log.txt", "results.txt", "energy_inf_*.png")
#: Hook for benchmarks whose runs write other files (a streaming benchmark's detection logs): name -> patterns.
EXTRA_FILES: dict[str, tuple[str, ...]] = {}
LOADGEN_FILES = ("log.txt", "mlperf_log_*")
PROGRESSIVE_RULE = "progressively larger submissions"
SYSTEM_KEYS = ("Submitter", "Division", "Status", "Board Name", "SoC Name", "Processor(s) Name",
               "Processor(s) Frequencies", "Accelerator", "Hardware Notes", "Inference Framework",
               "Software Libraries", "Quantization Method", "General Compiler(s)")


@dataclass
class Exported:
    """What an export wrote, and (open division) what would have kept each run out of the closed division."""

    written: list[Path] = field(default_factory=list)
    closed_blockers: list[str] = field(default_factory=list)


def completed(run: dict) -> bool:
    """A run that finished: its mode's result, or a LoadGen run's record, and no error."""
    return not run.get("error") and (run["mode"] in run or bool(run.get("scenario") and run.get("loadgen")))


def _run_folder(run: dict) -> str:
    """The run's folder under `<results>/<benchmark>/`, which is also its folder in the tree."""
    return f"{run['scenario']}-{run['mode']}" if run.get("scenario") else run["mode"]


def _label(run: dict) -> str:
    return f"{run['benchmark']} {_run_folder(run)}"


def export(folder: Path, out: Path, division: str, org: str, system: str) -> Exported:
    """Copy each completed run's files into the submission layout, after every refusal rule has passed."""
    if division not in ("closed", "open"):
        raise ConfigError("division must be 'closed' or 'open'")
    document = load_document(folder)
    runs = [run for run in document["runs"] if completed(run)]
    if not runs:
        failed = [f"{_label(run)}: {run['error']}" for run in document["runs"] if run.get("error")]
        raise ConfigError(f"{folder} holds no completed run to export" + (f" ({'; '.join(failed)})" if failed else ""))
    tree = out / division / org / "results" / system
    _check_progressive(runs, tree)
    blockers = [f"{_label(run)}: {problem}" for run in runs for problem in closed_problems(run, document)]
    if division == "closed" and blockers:
        raise RequirementFailed(f"closed division refused, {len(blockers)} rule(s) failed: {'; '.join(blockers)}; "
                          "export to --division open, or run again to the rules")
    for run in runs:
        if not SUBMISSION_NAMES.get(run["benchmark"]):
            raise ConfigError(f"{run['benchmark']} has no folder in the MLPerf Tiny submission tree: give its "
                              "Benchmark a submission_name (benchmarks.py)")
        target = tree / SUBMISSION_NAMES[run["benchmark"]] / _run_folder(run)
        if target.exists():
            raise ConfigError(f"{target} already exists; export into an empty folder")
    exported = Exported(closed_blockers=blockers)
    for run in runs:
        exported.written.append(_copy_run(run, document, folder, tree))
    systems = out / division / org / "systems" / f"{system}.json"
    if not systems.exists():
        board = runs[0].get("board", {})
        atomic_write_text(systems, json.dumps(system_description(org, division, board), indent=2) + "\n")
    return exported


def _check_progressive(runs: list[dict], tree: Path) -> None:
    """ic02 may be submitted only with ic01: in this export or already in the tree of this system."""
    present = {run["benchmark"] for run in runs}
    present |= {name for name, sub in SUBMISSION_NAMES.items() if (tree / sub).is_dir()}
    for name in sorted({run["benchmark"] for run in runs}):
        missing = [need for need in get_benchmark(name).submitted_with if need not in present]
        if missing:
            need = ", ".join(missing)
            raise ConfigError(f"{PROGRESSIVE_RULE}: MLPerf Tiny accepts {name} only in a submission that also holds "
                              f"{need}, and {tree} has no {need} results: export the {need} results into it first "
                              f"(or in the same results folder as {name})")


def _copy_run(run: dict, document: dict, folder: Path, tree: Path) -> Path:
    name = _run_folder(run)
    target = tree / SUBMISSION_NAMES[run["benchmark"]] / name
    target.mkdir(parents=True)
    source = folder / run["benchmark"] / name
    patterns = LOADGEN_FILES if run.get("scenario") else RUN_FILES + EXTRA_FILES.get(run["benchmark"], ())
    for path in sorted({p for pattern in patterns for p in source.glob(pattern)}):
        if path.is_file():
            shutil.copyfile(path, target / path.name)
    atomic_write_text(target / "results.json", json.dumps({**document, "runs": [run]}, indent=2) + "\n")
    return target


def system_description(org: str, division: str, board: dict) -> dict[str, str]:
    """The systems/<system>.json skeleton: every documented key, filled where the results know the answer."""
    description = {key: "" for key in SYSTEM_KEYS}
    vendor = board.get("vendor")
    description.update({"Submitter": org, "Division": division, "Status": "available",
                        "Board Name": vendor if vendor and vendor != "unspecified" else board.get("description", ""),
                        "Processor(s) Name": board.get("processor", ""),
                        "Processor(s) Frequencies": f"{board['clock_mhz']:g} MHz" if board.get("clock_mhz") else ""})
    if board.get("kind") == "virtual":
        description.update({"Inference Framework": "TensorFlow Lite Micro",
                            "Hardware Notes": "edgeperf virtual board: device time from a cost model, not hardware"})
    return description
