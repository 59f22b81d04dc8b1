"""Fault scaling: the largest byte-fault rate at which an accuracy run still completes with identical results.

For each input size (kws01 490 B, ic01 3072 B, vww01 27648 B) and each upload protocol (the
reference ASCII `db` hex protocol, and edgeperf's binary frames, `--binary`), a virtual board
corrupts bytes in both directions (`--fault corrupt:RATE`) while `edgeperf run --mode accuracy`
infers the first files of the bundled sample set through it. The rate climbs a ladder until a run
fails or its scores differ from the fault-free run's; the script prints the last rate that passed.

The ASCII protocol cannot resend part of an upload (`db load N` restarts the buffer, and the
reference firmware has no way to move its write position), so the rate it survives falls as the
input grows: about one fault per upload is the limit. The binary protocol resends only the frame
that was hit.

    python benchmarks/fault_scaling.py [--benchmark kws01 ...] [--protocol ascii|binary] [--files 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from edgeperf.bundled import bundled_model, bundled_samples  # noqa: E402
from edgeperf.sim.launcher import VirtualBoardProcess  # noqa: E402

RATES = (0.0, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)


def subset(root: Path, bench: str, count: int) -> Path:
    """The first `count` files of the bundled sample set, in the MLPerf Tiny layout."""
    source = bundled_samples() / bench
    lines = (source / "y_labels.csv").read_text().splitlines()[:count]
    (root / bench).mkdir(parents=True)
    (root / bench / "y_labels.csv").write_text("\n".join(lines) + "\n")
    for line in lines:
        name = line.split(",")[0]
        (root / bench / name).symlink_to(source / name)
    return root


def run(bench: str, dataset: Path, rate: float, binary: bool, seed: int, work: Path) -> tuple[list | None, str]:
    """(scores, what happened) of one accuracy run through a board corrupting bytes at `rate`."""
    faults = ["--fault", f"corrupt:{rate}", "--fault-seed", str(seed)] if rate else []
    extra = faults + (["--binary"] if binary else [])
    results = work / f"{bench}-{'binary' if binary else 'ascii'}-{rate}"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "host"))
    started = time.monotonic()
    with VirtualBoardProcess(model=bundled_model(bench), profile=bench, baud=0, time_scale=0.0,
                             extra_args=extra) as board:
        proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "run", "--mode", "accuracy", "-b", bench,
                               "--port", board.event["stable_url"], "--board", "virtual", "--dataset", str(dataset),
                               "--results", str(results)], env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - started
    entry = json.loads((results / "results.json").read_text())["runs"][0]
    if entry.get("error") or proc.returncode:
        return None, f"failed after {seconds:.0f} s: {str(entry.get('error'))[:120]}"
    session = entry["session"]
    return [s["scores"] for s in entry["accuracy"]["samples"]], (
        f"{seconds:.0f} s, {len(session['faults'])} faults, {session['upload_restarts']} upload restarts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", action="append", choices=["kws01", "ic01", "vww01"])
    parser.add_argument("--files", type=int, default=3, help="samples per run (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--protocol", action="append", choices=["ascii", "binary"],
                        help="upload protocol (repeatable; default: both)")
    args = parser.parse_args()
    print("benchmark  input B  protocol  largest corrupt rate with identical results (next rate: what happened)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for bench in args.benchmark or ["kws01", "ic01", "vww01"]:
            dataset = subset(work / f"data-{bench}", bench, args.files)
            size = len(next(iter(sorted((dataset / bench).glob("*.bin")))).read_bytes())
            for binary in [name == "binary" for name in args.protocol or ["ascii", "binary"]]:
                clean, _ = run(bench, dataset, 0.0, binary, args.seed, work)
                passed, why = 0.0, "not reached"
                for rate in RATES[1:]:
                    scores, what = run(bench, dataset, rate, binary, args.seed, work)
                    if scores is None or scores != clean:
                        why = f"{rate:g}: {what if scores is None else 'scores differ'}"
                        break
                    passed, why = rate, f"{rate:g}: {what}"
                print(f"{bench:9}  {size:7}  {'binary' if binary else 'ASCII':8}  {passed:g} ({why})", flush=True)


if __name__ == "__main__":
    main()
