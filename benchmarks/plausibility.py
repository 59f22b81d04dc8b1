"""False faults on honest variance, and detection of garbled timestamps, in performance mode.

Runs `edgeperf run --mode performance` (quick windows) against realistic virtual boards: the
timing model's loop jitter set to each value asked for, the counter drifting 200 ppm and starting
anywhere in its 32-bit range, a new seed per run. It prints, per jitter:

* clean runs: how many measurements the host discarded as faulty (false faults, target 0) and how
  many it measured again as outside the run's spread (suspects: cost time, are not faults);
* garbling runs (bytes from board to host dropped, doubled or corrupted): how many `infer` replies
  reached the host with a timestamp garbled (the board's truth file against the device log), and how
  many of them were kept in a result (missed; target 0, a detection rate of 100 %).

    python benchmarks/plausibility.py [--runs 20] [--jitter 0 --jitter 0.05 ...] [--garble-jitter 0.1 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgeperf.bundled import bundled_model
from edgeperf.sim.launcher import VirtualBoardProcess

BENCHMARK, BAUD = "kws01", 115200
GARBLE = ["drop:0.0005:out", "duplicate:0.0005:out", "corrupt:0.0002:out"]
_SENT_INFER = re.compile(r" > infer \d+ \d+%$")
_RECEIVED = re.compile(r" < (.*)$")


def one_run(jitter: float, seed: int, faults: list[str], workdir: Path) -> tuple[dict, list[dict], list[str]]:
    """(the run's results.json entry, the board's truth records, the device log lines)."""
    truth = workdir / f"truth-{seed}.jsonl"
    extra = ["--timing", f"jitter={jitter}", "--timing", "drift_ppm=200", "--seed", str(seed),
             "--fault-seed", str(seed), *[a for f in faults for a in ("--fault", f)]]
    results = workdir / f"res-{jitter}-{seed}-{len(faults)}"
    with VirtualBoardProcess(model=bundled_model(BENCHMARK), profile=BENCHMARK, baud=BAUD, time_scale=0.0,
                             truth=truth, extra_args=extra) as board:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "host"))
        subprocess.run([sys.executable, "-m", "edgeperf.cli", "run", "-b", BENCHMARK, "--quick", "--port",
                        board.url, "--baud", str(BAUD), "--results", str(results)],
                       check=False, env=env, capture_output=True, text=True, timeout=900)
    run = json.loads((results / "results.json").read_text())["runs"][0]
    loops = [json.loads(line) for line in truth.read_text().splitlines() if line.strip()]
    log = (results / BENCHMARK / "performance" / "log.txt").read_text().splitlines()
    return run, loops, log


def garbled_replies(loops: list[dict], log: list[str]) -> int:
    """`infer` replies whose timestamp lines did not arrive as the board printed them.

    Faults act on board-to-host bytes only, so every `infer` sent reached the board: the k-th one is
    the k-th truth record.
    """
    replies: list[list[str]] = []
    current: list[str] | None = None
    for line in log:
        if " > " in line:
            current = [] if _SENT_INFER.search(line) else None
            if current is not None:
                replies.append(current)
        elif current is not None and (m := _RECEIVED.search(line)):
            current.append(m.group(1))
    count = 0
    for truth, lines in zip(loops, replies):
        laps = [x for x in lines if "lap" in x or "us-" in x]
        if laps != [f"m-lap-us-{truth['t0']}", f"m-lap-us-{truth['t1']}"]:
            count += 1
    return count


def kept_wrong(run: dict, loops: list[dict]) -> int:
    """Windows of the result whose timestamps are not a pair the board printed."""
    printed = {(t["t0"], t["t1"]) for t in loops}
    windows = (run.get("performance") or {}).get("windows", [])
    return sum((w["t0_us"], w["t1_us"]) not in printed for w in windows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jitter", type=float, action="append", help="repeatable (default: 0, 0.05, 0.1, 0.2)")
    parser.add_argument("--garble-jitter", type=float, action="append", help="repeatable (default: 0.1, 0.2)")
    args = parser.parse_args()
    print(f"{BENCHMARK} at {BAUD} baud, quick windows, realistic board, drift 200 ppm, counter starting anywhere")
    print("  jitter  runs  failed  false faults  suspects re-measured")
    with tempfile.TemporaryDirectory(prefix="edgeperf-plausibility-") as tmp:
        for jitter in args.jitter or [0.0, 0.05, 0.1, 0.2]:
            failed = false_faults = suspects = 0
            for seed in range(args.runs):
                run, _, _ = one_run(jitter, seed, [], Path(tmp))
                failed += "error" in run and run["error"] is not None
                false_faults += len((run.get("session") or {}).get("faults", []))
                notes = (run.get("performance") or {}).get("notes", [])
                suspects += sum("measured again" in note for note in notes)
            print(f"  {jitter:6.2f}  {args.runs:4d}  {failed:6d}  {false_faults:12d}  {suspects:20d}")
        print(f"garbling runs ({', '.join(GARBLE)}):")
        print("  jitter  runs  failed  garbled replies  kept (missed)  detection")
        for jitter in args.garble_jitter or [0.1, 0.2]:
            failed = garbled = missed = 0
            for seed in range(args.runs):
                run, loops, log = one_run(jitter, 1000 + seed, GARBLE, Path(tmp))
                failed += "error" in run and run["error"] is not None
                garbled += garbled_replies(loops, log)
                missed += kept_wrong(run, loops)
            rate = 100.0 * (garbled - missed) / garbled if garbled else float("nan")
            print(f"  {jitter:6.2f}  {args.runs:4d}  {failed:6d}  {garbled:15d}  {missed:13d}  {rate:8.1f} %")


if __name__ == "__main__":
    main()
