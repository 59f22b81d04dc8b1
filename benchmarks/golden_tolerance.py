"""How far LiteRT's outputs are from TFLite Micro's, per benchmark: the golden check's LiteRT tolerance.

Every bundled sample (every window for ad01) goes through the benchmark's reference port twice,
once on TFLite Micro and once on LiteRT as the golden check runs it (built-in kernels, no
XNNPACK), with the bundled model and, when the official MLPerf Tiny model is found (by md5) in
$EDGEPERF_REFERENCE_MODELS or ../shared/reference-models, with that one too; the official sample
inputs there (kws01's `kws_ref_input_on_5.bin`, ad01's `normal_id_01_...bin`) are added to the
bundled ones. It prints, per model, the largest difference of the int8 outputs in output
quantization steps, how many inputs differ at all, and the largest difference of the printed
values, next to the `litert_steps` stored in `edgeperf/benchmarks.py`. Exits 1 when a measured
difference exceeds the stored tolerance.

    python benchmarks/golden_tolerance.py [--benchmark ic01]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgeperf.benchmarks import BENCHMARKS, Benchmark  # noqa: E402
from edgeperf.bundled import bundled_model, bundled_samples  # noqa: E402
from edgeperf.datasets import read_dataset  # noqa: E402
from edgeperf.errors import ConfigError  # noqa: E402
from edgeperf.ports import ReferencePort  # noqa: E402
from edgeperf.protocol.eembc import parse_results  # noqa: E402
from edgeperf.runtimes import LiteRtRunner, TflmRunner  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: Official sample inputs that join the bundled ones, by benchmark.
OFFICIAL_INPUTS = {"kws01": "kws_ref_input_on_5.bin", "ad01": "normal_id_01_00000000_hist_librosa.bin"}


def reference_dir() -> Path:
    return Path(os.environ.get("EDGEPERF_REFERENCE_MODELS", REPO.parent / "shared" / "reference-models"))


def official_model(bench: Benchmark) -> Path | None:
    """The official model of `bench` in the reference folder, found by its md5."""
    for path in sorted(reference_dir().glob("*.tflite")):
        if hashlib.md5(path.read_bytes()).hexdigest() == bench.reference_md5:
            return path
    return None


def bundled_or_none(name: str) -> Path | None:
    """The bundled model, or None for a benchmark that has none yet (ic02 until it is trained)."""
    try:
        return bundled_model(name)
    except ConfigError:
        return None


def inputs(bench: Benchmark) -> Iterator[bytes]:
    """Every upload of the bundled samples, then of the official sample input if there is one."""
    files = [item.read() for item in read_dataset(bundled_samples(), bench)]
    extra = reference_dir() / OFFICIAL_INPUTS.get(bench.name, "-")
    if extra.is_file():
        files.append(extra.read_bytes())
    for data in files:
        for index in range(bench.windows_per_file):
            yield bench.window(data, index)


def measure(bench: Benchmark, model: Path) -> tuple[int, int, int, float]:
    """(inputs, inputs whose outputs differ, largest difference in output steps, largest printed difference)."""
    tflm, litert = (ReferencePort(bench.name, runner(model)) for runner in (TflmRunner, LiteRtRunner))
    count = differing = worst_steps = 0
    worst_printed = 0.0
    for upload in inputs(bench):
        for port in (tflm, litert):
            port.load_tensor(upload)
            port.infer()
        steps = int(np.max(np.abs(tflm.int8_output.astype(np.int32) - litert.int8_output.astype(np.int32))))
        printed = [parse_results(port.results_line().strip()) for port in (tflm, litert)]
        worst_printed = max(worst_printed, *(abs(a - b) for a, b in zip(*printed)))
        count, differing, worst_steps = count + 1, differing + (steps > 0), max(worst_steps, steps)
    return count, differing, worst_steps, worst_printed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", action="append", choices=list(BENCHMARKS), help="repeatable (default: all)")
    args = parser.parse_args()
    print("| benchmark | model | inputs | inputs differing | max steps | max printed difference | stored litert_steps |")
    print("|---|---|---|---|---|---|---|")
    exceeded = False
    for name in args.benchmark or [n for n, b in BENCHMARKS.items() if not b.streaming]:
        bench = BENCHMARKS[name]
        models = [bundled_or_none(name), official_model(bench)]
        if models[0] is None:
            print(f"| {name} | no bundled model (models/{name}.tflite) | | | | | {bench.litert_steps} |")
        for model in (m for m in models if m is not None):
            count, differing, steps, printed = measure(bench, model)
            exceeded |= steps > bench.litert_steps
            print(f"| {name} | {model.name} | {count} | {differing} | {steps} | {printed:.3f} | {bench.litert_steps} |",
                  flush=True)
        if models[1] is None:
            print(f"| {name} | official model not found in {reference_dir()} | | | | | {bench.litert_steps} |")
    if exceeded:
        print("a measured difference exceeds the stored tolerance: update litert_steps in edgeperf/benchmarks.py")
    return 1 if exceeded else 0


if __name__ == "__main__":
    sys.exit(main())
