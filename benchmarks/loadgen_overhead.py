"""Host latency overhead per LoadGen query over the device latency, on the virtual board.

Runs a SingleStream PerformanceOnly LoadGen test against a virtual board that takes its
modelled time in real time (time scale 1.0) on a paced 921600-baud link, and prints the
host end-to-end latency (LoadGen), the device-timer latency (the board's m-lap-us), and the
overhead (host - device) as a ratio of the device latency.

    python benchmarks/loadgen_overhead.py [--benchmark kws01] [--baud 921600] [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgeperf.benchmarks import get_benchmark  # noqa: E402
from edgeperf.bundled import bundled_model, bundled_samples  # noqa: E402
from edgeperf.datasets import read_dataset  # noqa: E402
from edgeperf.dut import DutSession  # noqa: E402
from edgeperf.links import open_link  # noqa: E402
from edgeperf.rules.scenarios import EdgeProfile, ScenarioRun, loadgen_settings, probe_query_latency  # noqa: E402
from edgeperf.sim.launcher import VirtualBoardProcess  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="kws01")
    parser.add_argument("--baud", type=int, default=921600)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    bench = get_benchmark(args.benchmark)
    files = read_dataset(bundled_samples(), bench)
    with VirtualBoardProcess(model=bundled_model(bench.name), profile=bench.name, baud=args.baud,
                             time_scale=1.0) as board, tempfile.TemporaryDirectory() as out:
        session = DutSession(open_link(board.url, args.baud))
        session.identify()
        latency = probe_query_latency(session, bench, files[0])
        session.link.close()
        profile = EdgeProfile(min_duration_ms=int(args.seconds * 1000), min_query_count=8)
        settings = loadgen_settings("singlestream", "performance", latency, profile, len(files))
        result = ScenarioRun(board.url, args.baud, bench, bundled_samples(), files).run(
            "singlestream", "performance", settings, Path(out), deadline_s=args.seconds * 4 + 120)
    host = result["host_e2e_latency_ms"]["mean"]
    device = result["device_latency_ms"]["mean"]
    print(f"SingleStream {bench.name} on the virtual board, {args.baud} baud, {result['device_latency_ms']['samples']} queries")
    print(f"host end-to-end latency (LoadGen, mean): {host:.3f} ms")
    print(f"device-timer latency (m-lap-us, mean):   {device:.3f} ms")
    print(f"host overhead per query / device latency: {(host - device) / device:.4f}")


if __name__ == "__main__":
    main()
