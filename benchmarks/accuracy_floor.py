"""Accuracy run time against its floor, N x the board's inference latency: binary v2 (streamed) and v1.

Starts a real-time virtual board (`--time-scale 1`: an inference takes its modelled device time on the wall
clock, as on hardware) that paces its UART at the given baud, and runs the accuracy rule over N inputs: once
with the board advertising binary version 2 (the next input streams in while it infers) and once with a host
that only speaks version 1 (upload, EXIT, ASCII `infer`, `results`: the flow before version 2). The device
latency is the mean of what the board timed (t1 - t0) in the same run. Inputs are the bundled sample files,
repeated to N.

    python benchmarks/accuracy_floor.py [--benchmark vww01 --benchmark kws01] [--n 60] [--baud 921600]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgeperf.benchmarks import get_benchmark  # noqa: E402
from edgeperf.bundled import bundled_model, bundled_samples  # noqa: E402
from edgeperf.datasets import DatasetFile, read_dataset  # noqa: E402
from edgeperf.dut import DutSession  # noqa: E402
from edgeperf.links import open_link  # noqa: E402
from edgeperf.results.journal import Journal  # noqa: E402
from edgeperf.rules.accuracy import run_accuracy  # noqa: E402
from edgeperf.rules.progress import Progress  # noqa: E402
from edgeperf.sim.launcher import VirtualBoardProcess  # noqa: E402


def files_for(name: str, count: int, folder: Path) -> list[DatasetFile]:
    """`count` dataset entries cycling through the bundled samples (links with distinct names, none skipped)."""
    samples = read_dataset(bundled_samples(), get_benchmark(name))
    out = []
    for i in range(count):
        item = samples[i % len(samples)]
        link = folder / f"{i:05d}-{item.path.name}"
        link.symlink_to(item.path)
        out.append(DatasetFile(link, item.num_classes, item.label))
    return out


def run(name: str, count: int, baud: int, stream: bool) -> tuple[float, float, int]:
    """(wall seconds of the accuracy loop, mean device latency in seconds, faults) for one protocol."""
    bench = get_benchmark(name)
    extra = ["--binary", "--timing-profile", "ideal"]
    with VirtualBoardProcess(model=bundled_model(name), profile=name, baud=baud, time_scale=1.0,
                             extra_args=extra) as board, tempfile.TemporaryDirectory() as tmp:
        session = DutSession(open_link(board.url, baud))
        try:
            session.identify()
            session.stream_capable = session.stream_capable and stream  # a version 1 host ignores version 2
            files = files_for(name, count, Path(tmp))
            journal = Journal(Path(tmp) / "journal.jsonl", {"benchmark": name})
            start = time.monotonic()
            result = run_accuracy(session, bench, files, journal, Progress())
            seconds = time.monotonic() - start
        finally:
            session.close()
    latencies = [lat for lat in result.latencies_us if lat is not None]
    return seconds, sum(latencies) / len(latencies) / 1e6, sum(map(len, result.faults))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", action="append", help="repeatable (default: vww01 and kws01)")
    parser.add_argument("--n", type=int, default=60, help="inputs per run (default 60)")
    parser.add_argument("--baud", type=int, default=921600)
    args = parser.parse_args()
    print(f"real-time virtual board (time scale 1, ideal timing), {args.baud} baud, N = {args.n}")
    print(f"{'benchmark':<9} {'protocol':<24} {'run s':>8} {'latency ms':>10} {'floor s':>8} {'ratio':>6}")
    for name in args.benchmark or ["vww01", "kws01"]:
        for stream, label in ((True, "binary v2 (streamed)"), (False, "binary v1 + ASCII infer")):
            seconds, latency, faults = run(name, args.n, args.baud, stream)
            floor = args.n * latency
            print(f"{name:<9} {label:<24} {seconds:>8.2f} {latency * 1e3:>10.2f} {floor:>8.2f} "
                  f"{seconds / floor:>6.3f}" + (f"  ({faults} faults)" if faults else ""), flush=True)
    print("ratio = run time / (N x device latency); the floor of an upload-then-infer flow is above 1 by "
          "the upload's wire time")


if __name__ == "__main__":
    main()
