"""Peak memory of energy mode: full-rules runs on the virtual bench, and a 120 M-sample synthetic stream.

1. For each monitor, a full-rules `edgeperf run --mode energy` (5 windows of at least 10 s) on the
   virtual bench, in a child process that notes its RSS after importing edgeperf; the parent reads the
   child's peak RSS from `wait4`. Printed: peak RSS, its growth over the post-import baseline, the
   bytes that keeping every armed sample as float64 would need (windows and probe loops, from the
   results), and growth / that.
2. One continuous capture framed by two edges, 1200 s at 100 kS/s fed in 100 k-sample chunks through
   the same per-window stream a monitor uses (both edge kinds' integrators and the envelope),
   under tracemalloc: its peak, against the 960 MB the samples would take, and the energy against
   an independent extended-precision sum.

    python benchmarks/energy_memory.py [--monitor ppk2 --monitor lpm01a] [--skip-runs] [--seconds 1200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from edgeperf.bundled import bundled_model
from edgeperf.monitors.energy import Edge, SampleUnit, WindowStream
from edgeperf.sim.launcher import VirtualBenchProcess

MIB = 1024 * 1024
#: The child: note RSS after the imports a run needs, then run the CLI exactly as a user would.
CHILD = """
import json, resource, sys
import edgeperf.cli, edgeperf.rules.energy, edgeperf.results.plots
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
open(sys.argv[1], "w").write(json.dumps({"baseline_kib": baseline}))
sys.argv = ["edgeperf", *sys.argv[2:]]
sys.exit(edgeperf.cli.main())
"""


def full_rules_run(monitor: str, io_manager: str, work: Path) -> float:
    """One full-rules run; returns its RSS growth over the post-import baseline, in MiB."""
    model = bundled_model("kws01")
    results, note = work / f"results-{monitor}", work / f"baseline-{monitor}.json"
    with VirtualBenchProcess(model=model, profile="kws01", monitor=monitor, io_manager=io_manager) as bench:
        args = ["run", "--mode", "energy", "-b", "kws01", "--port", bench.url, "--monitor", bench.monitor_spec,
                "--io-manager", io_manager, "--model", str(model), "--results", str(results)]
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(note), *args], stdout=subprocess.DEVNULL,
                                 env=dict(os.environ, PYTHONPATH=str(REPO / "host")))
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"the {monitor} run failed with exit code {child.returncode}")
    energy = json.loads((results / "results.json").read_text())["runs"][0]["energy"]
    rate = energy["monitor"]["sample_rate_hz"]
    # Armed samples: every window attempt plus the probe loops, each with its settle tail.
    settle = energy["settings"]["settle_seconds"]
    armed_seconds = sum(w["seconds"] * (w["repeated"] + 1) + settle for w in energy["windows"])
    all_samples = armed_seconds * rate * 8
    peak, baseline = usage.ru_maxrss / 1024, json.loads(note.read_text())["baseline_kib"] / 1024
    trace = energy["trace"]
    print(f"{monitor} at {rate:g} S/s via {io_manager}, full rules, {time.monotonic() - started:.0f} s: "
          f"peak RSS {peak:.1f} MiB (baseline after imports {baseline:.1f} MiB, growth {peak - baseline:.1f} MiB); "
          f"keeping every armed sample (>= {armed_seconds:.1f} s) would need {all_samples / MIB:.1f} MiB: "
          f"growth / that = {(peak - baseline) * MIB / all_samples:.3f}; "
          f"trace kept: {len(trace['samples'])} buckets of {trace['samples_per_point']} samples")
    return peak - baseline


def synthetic_stream(seconds: float, rate: float = 100_000.0, chunk: int = 100_000) -> None:
    """One continuous capture framed by two edges, integrated and enveloped in bounded memory."""
    unit = SampleUnit("current", 1.8, rate)
    total = int(seconds * rate)
    start, stop = int(0.5 * rate), total - int(0.5 * rate)
    pattern = 2e-3 + 1e-3 * np.sin(np.arange(chunk) * 2 * np.pi / 997)  # amps, not a multiple of a chunk
    expected = np.longdouble(0)  # an independent sum in extended precision
    tracemalloc.start()
    began = time.monotonic()
    stream = WindowStream(0, unit)
    for first in range(0, total, chunk):
        values = pattern * (1 + 0.1 * ((first // chunk) % 7))
        edges = [Edge(i, "falling") for i in (start, stop) if first <= i < first + chunk]
        stream.feed(values, edges)
        low, high = max(start, first) - first, min(stop, first + chunk) - first
        if high > low:
            expected += (values[low:high].astype(np.longdouble) * unit.voltage_v / unit.sample_rate_hz).sum()
    capture = stream.capture()
    energy = capture.integrators["falling"].result()
    trace = capture.envelope.trace()
    elapsed = time.monotonic() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    exact = float(expected)
    print(f"synthetic {total / 1e6:.0f} M samples ({seconds:g} s at {rate / 1000:g} kS/s) in {elapsed:.1f} s: "
          f"tracemalloc peak {peak / MIB:.2f} MiB (the samples as float64: {total * 8 / MIB:.0f} MiB; "
          f"ratio {peak / (total * 8):.5f}); window {energy.seconds:g} s, {energy.joules:.9f} J, "
          f"relative difference from an extended-precision sum {abs(energy.joules / exact - 1):.1e}; "
          f"envelope {len(trace['samples'])} buckets of {trace['samples_per_point']} samples")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--monitor", action="append", choices=["lpm01a", "ppk2"])
    parser.add_argument("--skip-runs", action="store_true", help="only the synthetic stream")
    parser.add_argument("--seconds", type=float, default=1200.0, help="length of the synthetic capture")
    args = parser.parse_args()
    if not args.skip_runs:
        managers = {"ppk2": "interface-board", "lpm01a": "arduino"}
        with tempfile.TemporaryDirectory() as tmp:
            growth = {m: full_rules_run(m, managers[m], Path(tmp)) for m in args.monitor or ["ppk2", "lpm01a"]}
        if len(growth) > 1:
            print("RSS growth per monitor (it should not follow the sample rate: plots and the interpreter, not "
                  "samples): " + ", ".join(f"{m} {g:.1f} MiB" for m, g in growth.items()))
    synthetic_stream(args.seconds)


if __name__ == "__main__":
    main()
