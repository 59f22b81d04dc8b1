"""Where the models and sample sets that ship with edgeperf live."""

from __future__ import annotations

import os
from pathlib import Path

from .benchmarks import get_benchmark
from .errors import ConfigError, ModelError


def models_dir() -> Path:
    """The `models/` folder: $EDGEPERF_MODELS, or the one beside `host/` in a source checkout."""
    override = os.environ.get("EDGEPERF_MODELS")
    candidate = Path(override) if override else Path(__file__).resolve().parents[2] / "models"
    if not candidate.is_dir():
        raise ModelError(
            f"bundled models not found at {candidate}. Install edgeperf from a source checkout "
            "(pip install -e .) or point EDGEPERF_MODELS at a folder holding <benchmark>.tflite and samples/."
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
