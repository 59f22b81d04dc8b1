"""Export a results folder into the MLPerf Tiny submission tree.

    <division>/<org>/results/<system>/<kws|vww|ic|ad>/<performance|accuracy|energy>/{log.txt,results.txt,results.json}
    <division>/<org>/systems/<system>.json

Each results.json is an edgeperf results document holding that one run, so `edgeperf report`
and `edgeperf compare` read the exported tree too; the submission checker only requires
log.txt and results.txt.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..errors import ConfigError
from .folder import atomic_write_text
from .report import load_document

SUBMISSION_NAMES = {"kws01": "kws", "vww01": "vww", "ic01": "ic", "ad01": "ad"}
SYSTEM_KEYS = ("Submitter", "Division", "Status", "Board Name", "SoC Name", "Processor(s) Name",
               "Processor(s) Frequencies", "Accelerator", "Hardware Notes", "Inference Framework",
               "Software Libraries", "Quantization Method", "General Compiler(s)")


def export(folder: Path, out: Path, division: str, org: str, system: str) -> list[Path]:
    """Copy each completed run's files into the submission layout; returns the directories written."""
    if division not in ("closed", "open"):
        raise ConfigError("division must be 'closed' or 'open'")
    document = load_document(folder)
    written: list[Path] = []
    first_board: dict = {}
    for run in document["runs"]:
        mode = run["mode"]
        if run.get("error") or mode not in run:
            continue
        target = out / division / org / "results" / system / SUBMISSION_NAMES[run["benchmark"]] / mode
        if target.exists():
            raise ConfigError(f"{target} already exists; export into an empty folder")
        target.mkdir(parents=True)
        source = folder / run["benchmark"] / mode
        # Energy runs also carry the MLC runner's per-window trace plots, energy_inf_NNN.png.
        for path in [source / "log.txt", source / "results.txt", *sorted(source.glob("energy_inf_*.png"))]:
            if path.is_file():
                shutil.copyfile(path, target / path.name)
        atomic_write_text(target / "results.json", json.dumps({**document, "runs": [run]}, indent=2) + "\n")
        written.append(target)
        first_board = first_board or run.get("board", {})
    if not written:
        raise ConfigError(f"{folder} holds no completed run to export")
    systems = out / division / org / "systems" / f"{system}.json"
    if not systems.exists():
        atomic_write_text(systems, json.dumps(system_description(org, division, first_board), indent=2) + "\n")
    return written


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
