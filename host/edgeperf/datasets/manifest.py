"""The dataset manifest: what a dataset's input files were made for, written beside `y_labels.csv`.

kws01 files hold MFCCs already quantized with one model's input scale and zero point, so they are
only meaningful for a model that takes the same quantization; the manifest records it and a run
with another model is refused before anything is sent. vww01 and ic01 files hold uint8 pixels and
ad01 files float32 log-mels, converted on the board by its port, so they suit any model and their
manifest records no quantization. A dataset without a manifest (the official layout) still runs,
with a note in the results that its quantization could not be checked.

    python -m edgeperf.datasets.manifest DATASET_ROOT BENCHMARK --source TEXT [--model MODEL.tflite]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import __version__
from ..benchmarks import get_benchmark
from ..errors import ConfigError, DatasetError, EdgeperfError
from ..modelinfo import inspect_model

MANIFEST = "edgeperf-manifest.json"
#: The element type of each benchmark's dataset files.
FILE_DTYPES = {"kws01": "int8", "vww01": "uint8", "ic01": "uint8", "ad01": "float32"}
#: Benchmarks whose files are quantized with the model's input parameters before they are written.
QUANTIZED_FOR_MODEL = ("kws01",)


@dataclass(frozen=True)
class Manifest:
    benchmark: str
    input_dtype: str
    #: The input quantization the files were written with; None when the board's port converts them.
    scale: float | None
    zero_point: int | None
    #: md5 of the model whose input quantization was used; None when none was.
    model_md5: str | None
    source: str
    edgeperf_version: str = __version__


def manifest_for(benchmark: str, source: str, model: Path | None = None) -> Manifest:
    """The manifest of files of `benchmark` made from `source` (with `model`'s input quantization for kws01)."""
    benchmark = get_benchmark(benchmark).data_name  # ic02's files are ic01's
    if benchmark not in QUANTIZED_FOR_MODEL:
        return Manifest(benchmark, FILE_DTYPES[benchmark], None, None, None, source)
    if model is None:
        raise ConfigError(f"{benchmark} inputs are quantized with the model's input parameters: pass --model")
    tensor = inspect_model(model).inputs[0]
    return Manifest(benchmark, FILE_DTYPES[benchmark], tensor.scale, tensor.zero_point,
                    hashlib.md5(model.read_bytes()).hexdigest(), source)


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    path = folder / MANIFEST
    path.write_text(json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest beside `folder/y_labels.csv`; None when there is none (the official layout)."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        return Manifest(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise DatasetError(f"{path} is not an edgeperf dataset manifest ({exc}); remove it or write it again with "
                           "python -m edgeperf.datasets.manifest") from None


def check_quantization(folder: Path, benchmark: str, model: Path | None) -> str | None:
    """Refuse a dataset quantized for another model; returns a note for the results when it cannot be checked."""
    manifest = read_manifest(folder)
    if manifest is None:
        return f"no {MANIFEST} beside {folder / 'y_labels.csv'}: its input quantization could not be checked"
    if manifest.benchmark != benchmark:
        raise DatasetError(f"{folder / MANIFEST} says the files are {manifest.benchmark} inputs, not {benchmark}")
    if manifest.scale is None or manifest.zero_point is None:
        return None  # the board's port converts these files: any model of the benchmark takes them
    made_for = f"input scale {manifest.scale:.6g}, zero point {manifest.zero_point} (model md5 {manifest.model_md5})"
    if model is None:
        return f"{folder} was quantized for {made_for}; the board's model is unknown (no --model), so it was not checked"
    tensor = inspect_model(model).inputs[0]
    if not math.isclose(tensor.scale, manifest.scale, rel_tol=1e-6) or tensor.zero_point != manifest.zero_point:
        raise DatasetError(f"{folder} was quantized for {made_for}, but {model} takes input scale {tensor.scale:.6g}, "
                           f"zero point {tensor.zero_point}: preprocess the dataset with --model {model}, or run "
                           "the model it was made for")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgeperf.datasets.manifest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="dataset root holding BENCHMARK/y_labels.csv")
    parser.add_argument("benchmark")
    parser.add_argument("--source", required=True, help="where the files came from, in words")
    parser.add_argument("--model", type=Path, help="kws01: the model whose input quantization the files use")
    args = parser.parse_args(argv)
    folder = args.root / args.benchmark
    try:
        if not (folder / "y_labels.csv").is_file():
            raise DatasetError(f"{folder / 'y_labels.csv'} not found: give the dataset root and the benchmark")
        print(f"wrote {write_manifest(folder, manifest_for(args.benchmark, args.source, args.model))}")
    except EdgeperfError as exc:
        print(f"edgeperf: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
