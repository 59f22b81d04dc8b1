"""Four boards in parallel from one host, against one board alone: the wall-time ratio.

Starts N virtual boards (separate processes on their own ptys, each taking its modelled device
time for real at --time-scale), runs the same quick performance benchmark on one board alone and
then on N boards at once (`edgeperf run --parallel`: one host process per board, one results folder),
and prints both wall times and their ratio. A ratio near 1 means the host adds no serialisation.

    python benchmarks/parallel_boards.py [--boards 4] [--benchmark kws01] [--time-scale 1.0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgeperf.farm.parallel import run_parallel  # noqa: E402
from edgeperf.results import ResultsFolder  # noqa: E402
from edgeperf.rules.performance import PerformanceSettings  # noqa: E402
from edgeperf.rules.progress import Progress  # noqa: E402
from edgeperf.run import iter_failures, run_all  # noqa: E402
from edgeperf.targets import Target  # noqa: E402


def virtual_target(name: str, baud: int, time_scale: float) -> Target:
    return Target.virtual(name, baud=baud, time_scale=time_scale)


def timed(run, targets: list[Target], out: Path) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    document = run(targets, "performance", PerformanceSettings.quick(), ResultsFolder.create(out), Progress())
    elapsed = time.monotonic() - started
    failures = list(iter_failures(document))
    if failures:
        raise SystemExit(f"run failed: {failures}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", type=int, default=4)
    parser.add_argument("--benchmark", default="kws01")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="wall seconds per modelled device second on each board (1.0: real time, like hardware)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = timed(run_all, [virtual_target(args.benchmark, args.baud, args.time_scale)], Path(tmp) / "one")
        many = timed(run_parallel, [virtual_target(args.benchmark, args.baud, args.time_scale)
                                    for _ in range(args.boards)], Path(tmp) / "many")
    print(f"{args.benchmark}, quick performance run, virtual boards at time scale {args.time_scale:g}, {args.baud} baud")
    print(f"one board alone:              {one:.2f} s")
    print(f"{args.boards} boards in parallel:        {many:.2f} s")
    print(f"ratio ({args.boards} parallel / 1 alone): {many / one:.3f}")


if __name__ == "__main__":
    main()
