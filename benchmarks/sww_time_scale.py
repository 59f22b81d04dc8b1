"""sww01 on the virtual bench: wall time per stream second, and whether the time scale moves any timestamp.

Builds a seeded synthetic stream (datasets/sww_synth.py: 50 wake words and 20 look-alikes in room
noise, the audio the bundled model was trained on), plays it twice through `edgeperf.run` on the virtual sww bench at two time scales, and
prints each run's wall time over the stream's length (target < 0.2 at the scaled setting) and the
largest |difference| between the two runs' detection timestamps and PROCESSING edges in stream time
(target 0 ms: the I2S sample clock, not the wall clock, places every edge).

    python benchmarks/sww_time_scale.py [--length 1200] [--scale 0.05] [--reference-scale 0.25]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from edgeperf.bundled import sww_model  # noqa: E402
from edgeperf.datasets.sww_synth import write_stream  # noqa: E402
from edgeperf.results import ResultsFolder  # noqa: E402
from edgeperf.rules.performance import PerformanceSettings  # noqa: E402
from edgeperf.rules.progress import Progress  # noqa: E402
from edgeperf.run import run_all  # noqa: E402
from edgeperf.targets import Target  # noqa: E402


def play(root: Path, scale: float, work: Path) -> tuple[dict, float]:
    started = time.monotonic()
    document = run_all([Target.virtual("sww01", model=sww_model(), dataset=root, time_scale=scale)], "performance",
                       PerformanceSettings(), ResultsFolder.create(work / f"scale-{scale:g}"), Progress())
    run = document["runs"][0]
    if run.get("error"):
        raise SystemExit(f"run at scale {scale:g} failed: {run['error']}")
    return run["performance"]["streams"][0], time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=float, default=1200.0, help="stream length in seconds (default 1200)")
    parser.add_argument("--scale", type=float, default=0.05, help="time scale of the fast run (default 0.05)")
    parser.add_argument("--reference-scale", type=float, default=0.25, help="time scale of the comparison run")
    parser.add_argument("--words", type=int, default=50, help="wake words in the stream (default 50, as the official)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sww-scale-") as tmp:
        work = Path(tmp)
        write_stream(work / "sww01", "scale_test", 7, args.length, args.words, args.words * 2 // 5)
        fast, fast_wall = play(work, args.scale, work)
        slow, slow_wall = play(work, args.reference_scale, work)
    for label, stream, wall, scale in (("fast", fast, fast_wall, args.scale), ("reference", slow, slow_wall,
                                                                              args.reference_scale)):
        print(f"{label}: scale {scale:g}: {wall:.1f} s wall for a {args.length:g} s stream = {wall / args.length:.3f}; "
              f"TP/FN/FP {stream['true_positives']}/{stream['false_negatives']}/{stream['false_positives']}, "
              f"duty cycle {stream['duty_cycle']['value']:.4f}, {stream['frames_processed']} frames")
    if len(fast["detections_s"]) != len(slow["detections_s"]):
        print(f"detections differ in number: {len(fast['detections_s'])} vs {len(slow['detections_s'])}")
        return 1
    detection = max((abs(a - b) * 1000 for a, b in zip(fast["detections_s"], slow["detections_s"])), default=0.0)
    edges = max((abs(a - b) * 1000 for x, y in zip(fast["trace_s"], slow["trace_s"]) for a, b in zip(x, y)),
                default=0.0)
    print(f"max |detection difference| {detection:.3f} ms over {len(fast['detections_s'])} detections; "
          f"max |PROCESSING edge difference| {edges:.3f} ms over the first {len(fast['trace_s'])} frames")
    return 0 if detection == 0 and edges == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
