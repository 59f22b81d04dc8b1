"""Measure the bundled models and write the table in models/README.md (no TensorFlow needed).

For each model: parameters, MACs, operator types, the smallest TFLite Micro arena that runs
it, and its accuracy on its sample set computed on the host with TFLite Micro, feeding the
inputs exactly as the reference firmware ports convert them.

    python models/describe_models.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "host"))

from edgeperf.benchmarks import BENCHMARKS  # noqa: E402
from edgeperf.datasets import read_dataset  # noqa: E402
from edgeperf.metrics import binary_auc, one_vs_rest_auc, top1  # noqa: E402
from edgeperf.modelinfo import inspect_model  # noqa: E402
from edgeperf.sim.cost_model import CostModel  # noqa: E402
from edgeperf.ports import ReferencePort  # noqa: E402
from edgeperf.runtimes import TflmRunner  # noqa: E402

BEGIN, END = "<!-- table:begin -->", "<!-- table:end -->"


def min_arena(path: Path) -> int:
    """Smallest arena (1 KiB steps) in which TFLite Micro allocates and runs the model.

    Each attempt runs in its own process: with some too-small arenas TFLite Micro crashes
    instead of raising.
    """
    probe = ("import sys; from tflite_micro import runtime; "
             "runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2])).invoke()")

    def fits(size: int) -> bool:
        return subprocess.run([sys.executable, "-c", probe, str(path), str(size)], capture_output=True).returncode == 0

    low, high = 0, 1024
    while not fits(high * 1024):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if fits(mid * 1024) else (mid, high)
    return high * 1024


def sample_scores(name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per-file scores on the sample set: output vectors, or the mean window MSE for ad01."""
    bench = BENCHMARKS[name]
    port = ReferencePort(name, TflmRunner(path))
    scores, labels = [], []
    for item in read_dataset(HERE / "samples", bench):
        data = item.read()
        per_window = []
        for index in range(bench.windows_per_file):
            port.load_tensor(bench.window(data, index))
            port.infer()
            per_window.append(port.scores())
        scores.append(np.mean(per_window, axis=0))
        labels.append(item.label)
    return np.array(scores), np.array(labels)


def describe(name: str) -> str:
    path = HERE / f"{name}.tflite"
    info = inspect_model(path)
    scores, labels = sample_scores(name, path)
    if name == "ad01":
        accuracy = f"AUC {binary_auc(scores[:, 0], labels == 1):.3f}"
    elif name == "vww01":
        accuracy = f"top-1 {top1(scores, labels):.1f} %, AUC {binary_auc(scores[:, 1], labels == 1):.3f}"
    else:
        accuracy = f"top-1 {top1(scores, labels):.1f} %, AUC {one_vs_rest_auc(scores, labels):.3f}"
    ops = ", ".join(f"{op} x{count}" for op, count in info.op_counts.items())
    latency = CostModel().latency_us(info) / 1000
    return (f"| `{name}` | {info.params:,} | {info.macs:,} | {ops} | {min_arena(path) // 1024} KiB | "
            f"{latency:.1f} ms | {len(labels)} | {accuracy} |")


def main() -> None:
    rows = [
        "| model | parameters | MACs | operators | TFLM arena | virtual-board latency | samples | host accuracy (TFLM) |",
        "|---|---|---|---|---|---|---|---|",
    ] + [describe(name) for name in BENCHMARKS]
    table = "\n".join(rows)
    readme = HERE / "README.md"
    text = readme.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    readme.write_text(text[:start] + "\n" + table + "\n" + text[end:])
    print(table)


if __name__ == "__main__":
    main()
