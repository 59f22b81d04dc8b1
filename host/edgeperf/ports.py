"""What each MLPerf Tiny reference port does around the model: input conversion and result printing.

A port mirrors `th_load_tensor` and `th_results` of the reference firmware for one
benchmark. The virtual board uses it to print exactly what a flashed reference build
prints, and the golden check uses the same code to compute what a board should print.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelError
from .modelinfo import ModelInfo
from .protocol.eembc import format_results
from .runtimes import ModelRunner

#: MAX_DB_INPUT_SIZE of the reference ports.
MAX_INPUT = {"kws01": 490, "vww01": 27648, "ic01": 3072, "ic02": 3072, "ad01": 5120}


def infer_profile(info: ModelInfo) -> str:
    """Guess the benchmark from the model's input and output shapes, as a user flashing it would know it."""
    shape_in = tuple(info.inputs[0].shape)
    shape_out = tuple(info.outputs[0].shape)
    if shape_in == (1, 49, 10, 1):
        return "kws01"
    if shape_in == (1, 96, 96, 3):
        return "vww01"
    if shape_in == (1, 32, 32, 3):
        return "ic01"  # ic02 has the same shapes: a board flashed with it is told so (--profile ic02)
    if shape_in == (1, 640) and shape_out == (1, 640):
        return "ad01"
    raise ModelError(f"cannot tell which benchmark a model with input {shape_in} and output {shape_out} is; "
                     "pass --profile kws01|vww01|ic01|ic02|ad01")


def c_round(values: np.ndarray) -> np.ndarray:
    """C's round(): halves away from zero (numpy rounds halves to even)."""
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return ((q.astype(np.int32) - zero_point) * np.float32(scale)).astype(np.float32)


@dataclass
class ReferencePort:
    """The per-benchmark glue of a reference firmware build around a model runtime."""

    profile: str
    runner: ModelRunner

    def __post_init__(self) -> None:
        if self.profile not in MAX_INPUT:
            raise ModelError(f"unknown profile {self.profile!r}; choose one of {', '.join(MAX_INPUT)}")
        tensor = self.runner.input
        if self.profile == "ad01":
            if tensor.elements != 640 or self.runner.output.elements != 640:
                raise ModelError("an ad01 port needs a model with 640 inputs and 640 outputs")
            self.input_bytes = 640 * 4
        else:
            if tensor.dtype != "int8":
                raise ModelError(f"the {self.profile} reference port feeds an int8 input tensor, the model has {tensor.dtype}")
            self.input_bytes = tensor.elements
        self._input = np.zeros(tensor.elements, np.int8)
        self._float_input = np.zeros(640, np.float32)
        self._output = np.zeros(self.runner.output.elements, np.int8)

    def load_tensor(self, buffer: bytes) -> str | None:
        """th_load_tensor: convert the db buffer into the input tensor; on a size mismatch keep the old input."""
        if len(buffer) != self.input_bytes:
            return f"Input db has {len(buffer)} elemented, expected {self.input_bytes}\n"
        raw = np.frombuffer(buffer, np.uint8)
        if self.profile == "kws01":
            self._input = raw.view(np.int8).copy()
        elif self.profile in ("vww01", "ic01", "ic02"):
            self._input = (raw.astype(np.int16) - 128).astype(np.int8)
        else:
            self._float_input = np.frombuffer(buffer, "<f4").astype(np.float32)
            tensor = self.runner.input
            q = c_round(self._float_input / np.float32(tensor.scale)) + tensor.zero_point
            self._input = np.clip(q, -128, 127).astype(np.int8)
        return None

    def infer(self) -> None:
        self._output = self.runner.invoke(self._input)

    def scores(self) -> np.ndarray:
        """What th_results reports, unformatted: dequantized outputs, or the window MSE for ad01."""
        out = self.runner.output
        values = dequantize(self._output, out.scale, out.zero_point)
        if self.profile == "ad01":
            return np.array([np.mean((values - self._float_input) ** 2, dtype=np.float32)], np.float32)
        return values

    @property
    def int8_output(self) -> np.ndarray:
        """The output tensor of the last inference, as the model produced it."""
        return self._output

    def window_error(self) -> np.ndarray:
        """ad01: the dequantized output minus the float input, the terms of the printed MSE."""
        out = self.runner.output
        return dequantize(self._output, out.scale, out.zero_point) - self._float_input

    def results_line(self) -> str:
        """th_results: the m-results line exactly as the reference port formats it."""
        return format_results(self.profile, self.scores())

