"""Golden check: what the board printed, against the same model and input run on the host.

The host converts each input exactly as the reference firmware port does and formats the
outputs exactly as the port prints them, then compares:

* TFLite Micro: the printed values must be identical (same kernels, same int8 arithmetic);
* LiteRT (built-in kernels, no XNNPACK): it may differ from TFLite Micro by 1-2 LSB on
  FULLY_CONNECTED outputs, so each
  printed value may differ by up to 2 output quantization steps plus the print resolution
  (0.001); for ad01's single MSE value the allowance is 5 % of the value plus 0.002.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .ports import ReferencePort
from .protocol.eembc import parse_results
from .runtimes import LiteRtRunner, ModelRunner, TflmRunner

RUNTIMES = ("tflite-micro", "litert")
PRINT_RESOLUTION = 0.001


def make_runner(name: str, model: Path) -> ModelRunner:
    if name == "tflite-micro":
        return TflmRunner(model)
    if name == "litert":
        return LiteRtRunner(model)
    raise ConfigError(f"unknown golden runtime {name!r}; choose from {', '.join(RUNTIMES)}")


@dataclass
class GoldenCheck:
    """Compares device results with host runtimes, sample by sample."""

    profile: str
    model: Path
    runtimes: tuple[str, ...] = RUNTIMES

    def __post_init__(self) -> None:
        self._ports = {name: ReferencePort(self.profile, make_runner(name, self.model)) for name in self.runtimes}

    def tolerance(self, runtime: str, value: float) -> float:
        if runtime == "tflite-micro":
            return 0.0
        if self.profile == "ad01":
            return 0.05 * abs(value) + 0.002
        return 2 * self._ports[runtime].runner.output.scale + PRINT_RESOLUTION

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
                worst = max((abs(a - b) - self.tolerance(name, b), i) for i, (a, b) in enumerate(zip(device, expected)))
                problem = "" if worst[0] <= 1e-9 else (
                    f"value {worst[1]}: board {device[worst[1]]} vs {name} {expected[worst[1]]}")
            verdicts[name] = f"{sample}: {problem}" if problem else ""
        return verdicts

    def describe_tolerance(self, runtime: str) -> str:
        if runtime == "tflite-micro":
            return "identical printed values"
        return "5 % of the value + 0.002" if self.profile == "ad01" else "2 output LSB + 0.001 per value"

