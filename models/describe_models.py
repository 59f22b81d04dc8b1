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


def stream_accuracy(path: Path) -> tuple[str, str]:
    """The bundled sww01 model on the test stream built at first use, run frame by frame as the reference firmware
    runs it (a frame per 512 samples from sample 512, a detection on every frame above the threshold), scored as
    the host scores (the 1 s debounce of false positives): TP/FN/FP against the stream's truth."""
    from edgeperf.bundled import SWW_STREAM, sww_samples
    from edgeperf.datasets.audio import read_wav
    from edgeperf.datasets.streams import read_truth
    from edgeperf.sim.sww_board import DETECT_THRESHOLD
    from edgeperf.sim.sww_features import FRAME, STRIDE, FeatureBuffer
    from edgeperf.streaming import score_detections

    runner = TflmRunner(path)
    folder = sww_samples() / "sww01"
    truth = read_truth(folder / f"{SWW_STREAM[0]}.json")[0]
    audio, _ = read_wav(folder / truth.wav_file)
    pcm = np.concatenate((np.zeros(FRAME - STRIDE, np.int16), np.round(audio * 32768).astype(np.int16)))
    features = FeatureBuffer(runner.input.scale, runner.input.zero_point)
    detections: list[float] = []
    for k in range((len(pcm) - FRAME) // STRIDE + 1):
        start = k * STRIDE
        rows = features.push(pcm[start: start + FRAME], int(pcm[start - 1]) if start else 0)
        if int(runner.invoke(rows)[0]) > DETECT_THRESHOLD:
            detections.append((start + STRIDE) / 16000)  # the frame's end, in the wav (less the 512 zeros)
    score = score_detections(detections, list(truth.windows_s))
    samples = f"{truth.length_s:g} s stream, {len(truth.windows_s)} words"
    return samples, f"{score.true_positives} TP / {score.false_negatives} FN / {score.false_positives} FP"


def describe(name: str) -> str:
    path = HERE / f"{name}.tflite"
    info = inspect_model(path)
    ops = ", ".join(f"{op} x{count}" for op, count in info.op_counts.items())
    latency = CostModel().latency_us(info) / 1000
    if BENCHMARKS[name].streaming:
        from edgeperf.sim.sww_board import feature_ns, inference_ns

        frame_ms = (inference_ns(info, 120.0) + feature_ns(120.0)) / 1e6
        samples, accuracy = stream_accuracy(path)
        return (f"| `{name}` | {info.params:,} | {info.macs:,} | {ops} | {min_arena(path) // 1024} KiB | "
                f"{frame_ms:.1f} ms per 32 ms frame | {samples} | {accuracy} |")
    scores, labels = sample_scores(name, path)
    if name == "ad01":
        accuracy = f"AUC {binary_auc(scores[:, 0], labels == 1):.3f}"
    elif name == "vww01":
        accuracy = f"top-1 {top1(scores, labels):.1f} %, AUC {binary_auc(scores[:, 1], labels == 1):.3f}"
    else:
        accuracy = f"top-1 {top1(scores, labels):.1f} %, AUC {one_vs_rest_auc(scores, labels):.3f}"
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
