"""Where the models and sample sets that ship with edgeperf live."""

from __future__ import annotations

import os
from pathlib import Path

from .benchmarks import get_benchmark
from .errors import ConfigError, ModelError
from .resources import cache_root, shipped_dir


def models_dir() -> Path:
    """The `models/` folder: $EDGEPERF_MODELS, the installed package's, or the source checkout's."""
    candidate = shipped_dir("models")
    if not candidate.is_dir():
        raise ModelError(
            f"bundled models not found at {candidate}. Install edgeperf from its wheel or a source checkout "
            "(pip install -e .), or point EDGEPERF_MODELS at a folder holding <benchmark>.tflite and samples/."
        )
    return candidate


def bundled_model(benchmark: str) -> Path:
    """The bundled model of `benchmark`; when there is none, one line saying to pass --model (and which one)."""
    bench = get_benchmark(benchmark)
    path = models_dir() / f"{bench.name}.tflite"
    if not path.is_file():
        official = f" (the official one is {bench.reference_file})" if bench.reference_file else ""
        raise ConfigError(f"no bundled {bench.name} model: {path} does not exist. Pass --model with the "
                          f"{bench.name} .tflite the board runs{official}, or build the bundled models with "
                          "`python models/build_models.py`")
    return path


def bundled_samples() -> Path:
    return models_dir() / "samples"


def reference_models_dir() -> Path:
    """The official MLPerf Tiny files, when this machine has them: $EDGEPERF_REFERENCE_MODELS, or
    `../shared/reference-models` beside the source checkout. They are never copied into the project."""
    override = os.environ.get("EDGEPERF_REFERENCE_MODELS")
    return Path(override) if override else Path(__file__).resolve().parents[3] / "shared" / "reference-models"


def sww_model() -> Path:
    """sww01's model for the virtual bench: the bundled one once it exists, else the official reference model."""
    bundled = models_dir() / "sww01.tflite"
    if bundled.is_file():
        return bundled
    official = reference_models_dir() / "str_ww_ref_model.tflite"
    if official.is_file():
        return official
    raise ModelError("no sww01 model: models/sww01.tflite is not built yet and the official str_ww_ref_model.tflite "
                     f"is not in {official.parent}; pass --model PATH (int8 [1,30,1,40] -> int8 [1,3])")


#: The stream built at first use for sww01 runs with no --dataset: (name, seed, seconds, wake words, look-alikes).
SWW_STREAM = ("sww_synth_30s", 2026, 30.0, 4, 2)


def sww_samples() -> Path:
    """A dataset root holding `sww01/`: the bundled streams, else a synthetic test stream (datasets/sww_synth.py,
    the audio the bundled model was trained on) built once, from a fixed seed, into the user's cache."""
    bundled = models_dir() / "samples"
    if (bundled / "sww01").is_dir():
        return bundled
    from .datasets.sww_synth import write_stream

    name, seed, seconds, words, look_alikes = SWW_STREAM
    cache = cache_root() / f"sww01-{seed}"
    if not (cache / "sww01" / f"{name}.json").is_file():
        write_stream(cache / "sww01", name, seed, seconds, words, look_alikes)
    return cache
