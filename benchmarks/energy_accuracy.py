"""Energy per inference measured by the host over the virtual bench's true value, under the full rules.

Starts the virtual energy bench (energy-mode board, IO manager, emulated monitor) with its
truth file, runs `edgeperf run --mode energy` with the MLPerf Tiny window rules (5 windows of
at least 10 s) through its ptys, and prints, per monitor, each window's measured/true ratio
and the worst relative error. The bench runs in real time: about 80 s per monitor for kws01.

    python benchmarks/energy_accuracy.py [--benchmark kws01] [--monitor lpm01a --monitor ppk2] [--rate 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from edgeperf.bundled import bundled_model  # noqa: E402
from edgeperf.sim.launcher import VirtualBenchProcess  # noqa: E402


def measure(benchmark: str, monitor: str, io_manager: str, rate: float | None, work: Path) -> list[float]:
    model = bundled_model(benchmark)
    truth = work / f"truth-{monitor}.jsonl"
    results = work / f"results-{monitor}"
    with VirtualBenchProcess(model=model, profile=benchmark, monitor=monitor, io_manager=io_manager,
                             truth=truth) as bench:
        command = [sys.executable, "-m", "edgeperf.cli", "run", "--mode", "energy", "-b", benchmark,
                   "--port", bench.url, "--monitor", bench.monitor_spec, "--io-manager", io_manager,
                   "--model", str(model), "--results", str(results)]
        if rate and monitor == "lpm01a":
            command += ["--monitor-rate", str(rate)]
        subprocess.run(command, check=True, env=dict(os.environ, PYTHONPATH=str(REPO / "host")),
                       stdout=subprocess.DEVNULL)
    energy = json.loads((results / "results.json").read_text())["runs"][0]["energy"]
    loops = [json.loads(line) for line in truth.read_text().splitlines()]
    edge = energy["monitor"]["edge"]
    ratios, at = [], len(loops) - sum(w["repeated"] + 1 for w in energy["windows"])
    for window in energy["windows"]:
        at += window["repeated"] + 1
        ratios.append(window["uj_per_inference"] / loops[at - 1][f"uj_per_inference_{edge}"])
    durations = ", ".join(f"{w['seconds']:.2f} s" for w in energy["windows"])
    print(f"{benchmark} {monitor} at {energy['monitor']['sample_rate_hz']:g} Hz via {io_manager}: "
          f"windows {durations}; "
          f"{energy['median_energy']['value']:.3f} uJ/inf; measured/true per window "
          + ", ".join(f"{r:.6f}" for r in ratios)
          + f"; worst error {max(abs(r - 1) for r in ratios):.4%}; verdict: {energy['verdict']}")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="kws01")
    parser.add_argument("--monitor", action="append", choices=["lpm01a", "ppk2"])
    parser.add_argument("--io-manager", default="arduino", choices=["arduino", "interface-board", "none"])
    parser.add_argument("--rate", type=float, help="LPM01A samples per second (default 1000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for monitor in args.monitor or ["lpm01a", "ppk2"]:
            measure(args.benchmark, monitor, args.io_manager, args.rate, Path(work))


if __name__ == "__main__":
    main()
