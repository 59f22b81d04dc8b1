"""Golden check: what the board printed, against the same model and input run on the host.

The host converts each input exactly as the reference firmware port does and formats the
outputs exactly as the port prints them, then compares:

* TFLite Micro is the reference: the same kernels and int8 arithmetic as the board, so the
  printed values must be identical;
* LiteRT is a cross-check with another runtime, whose kernels round differently: each output
  may be off by the benchmark's measured `litert_steps` output quantization steps
  (benchmarks/golden_tolerance.py measures them), plus the print resolution (0.001). For ad01's
  single MSE value the allowance is the largest change of the MSE such an output can cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .benchmarks import get_benchmark
from .errors import ConfigError
from .ports import ReferencePort
from .protocol.eembc import parse_results
from .runtimes import LiteRtRunner, ModelRunner, TflmRunner

RUNTIMES = ("tflite-micro", "litert")
#: The runtime whose output a TFLite Micro board must reproduce exactly.
REFERENCE_RUNTIME = "tflite-micro"
PRINT_RESOLUTION = 0.001


def make_runner(name: str, model: Path) -> ModelRunner:
    if name == "tflite-micro":
        return TflmRunner(model)
    if name == "litert":
        return LiteRtRunner(model)
    raise ConfigError(f"unknown golden runtime {name!r}; choose from {', '.join(RUNTIMES)}")


def parse_runtimes(text: str) -> tuple[str, ...]:
    """`tflite-micro,litert` -> the runtimes, refused at once when one is unknown."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in RUNTIMES]
    if unknown or not names:
        raise ConfigError(f"unknown golden runtime {', '.join(unknown) or repr(text)}; choose from {', '.join(RUNTIMES)}")
    return names


@dataclass
class GoldenCheck:
    """Compares device results with host runtimes, sample by sample."""

    profile: str
    model: Path
    runtimes: tuple[str, ...] = RUNTIMES

    def __post_init__(self) -> None:
        self._ports = {name: ReferencePort(self.profile, make_runner(name, self.model)) for name in self.runtimes}

    def steps(self, runtime: str) -> int:
        """Output quantization steps a value may differ by: 0 for the reference, measured for LiteRT."""
        return 0 if runtime == REFERENCE_RUNTIME else get_benchmark(self.profile).litert_steps

    def _allowance(self, runtime: str) -> float:
        """How far each printed value may be from what `runtime` printed for the sample just inferred."""
        steps = self.steps(runtime)
        if not steps:
            return 0.0  # the same int8 outputs print the same text
        port = self._ports[runtime]
        scale = port.runner.output.scale * steps
        if self.profile == "ad01":
            # Outputs each within `steps` of the host's move the mean of (output - input)^2 by at most this much.
            error = np.abs(port.window_error()).astype(np.float64)
            return float(np.mean(2 * error * scale + scale * scale)) + PRINT_RESOLUTION
        return scale + PRINT_RESOLUTION

    def check(self, sample: str, upload: bytes, device: list[float]) -> dict[str, str]:
        """Run `upload` through every host runtime; return, per runtime, "" for a match or what differed."""
        verdicts: dict[str, str] = {}
        for name, port in self._ports.items():
            port.load_tensor(upload)
            port.infer()
            expected = parse_results(port.results_line().strip())
            if len(expected) != len(device):
                problem = f"{len(device)} values from the board, {len(expected)} from {name}"
            else:
                allowed = self._allowance(name) + 1e-9
                worst = max((abs(a - b), i) for i, (a, b) in enumerate(zip(device, expected)))
                problem = "" if worst[0] <= allowed else (
                    f"value {worst[1]}: board {device[worst[1]]} vs {name} {expected[worst[1]]}, "
                    f"allowed {allowed:.4g}")
            verdicts[name] = f"{sample}: {problem}" if problem else ""
        return verdicts

    def describe(self, runtime: str) -> dict[str, object]:
        """What the results say about a runtime: whether it is the reference, and its tolerance."""
        steps = self.steps(runtime)
        if not steps:
            text = "identical printed values"
        elif self.profile == "ad01":
            text = f"the MSE of outputs within {steps} output steps + 0.001"
        else:
            text = f"{steps} output steps + 0.001 per value"
        return {"reference": runtime == REFERENCE_RUNTIME, "tolerance": text, "tolerance_steps": steps}
