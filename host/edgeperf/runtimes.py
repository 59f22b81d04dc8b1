"""Model runtimes: TFLite Micro (what a board runs) and LiteRT (the desktop/mobile runtime), one interface."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ConfigError, ModelError
from .modelinfo import ModelInfo, TensorInfo, inspect_model


class ModelRunner(Protocol):
    """One single-input, single-output model, invoked on an already-quantized input."""

    name: str
    info: ModelInfo
    input: TensorInfo
    output: TensorInfo

    def invoke(self, x: np.ndarray) -> np.ndarray: ...


def _single_io(info: ModelInfo, path: Path) -> None:
    if len(info.inputs) != 1 or len(info.outputs) != 1:
        raise ModelError(f"{path}: edgeperf runs models with one input and one output")


class TflmRunner:
    """TFLite Micro reference kernels: bit-exact with what a TFLM firmware computes."""

    name = "tflite-micro"

    def __init__(self, model_path: Path, arena_size: int | None = None) -> None:
        from tflite_micro import runtime

        self.info = inspect_model(model_path)
        _single_io(self.info, model_path)
        try:
            self._interpreter = runtime.Interpreter.from_file(str(model_path), arena_size=arena_size)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"TFLite Micro cannot load {model_path}: {exc}") from exc
        self.input = self.info.inputs[0]
        self.output = self.info.outputs[0]

    def arena_used_bytes(self) -> int | None:
        """The tensor arena TFLM allocated for this model (its recording allocator's total), or None if it
        did not say. Measured on this host, whose pointers are 64-bit: a 32-bit MCU needs somewhat less."""
        text = _stderr_of(self._interpreter.print_allocations)
        found = _ARENA_TOTAL.search(text)
        return int(found.group(1)) if found else None

    def invoke(self, x: np.ndarray) -> np.ndarray:
        tensor = np.ascontiguousarray(x, dtype=self.input.dtype).reshape(self.input.shape)
        self._interpreter.set_input(tensor, 0)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_output(0)).reshape(-1)


_ARENA_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")


def _stderr_of(call: Callable[[], object]) -> str:
    """What a C library call prints on file descriptor 2 (TFLM prints its allocations there, not to Python)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            call()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        return capture.read().decode(errors="replace")


class LiteRtRunner:
    """LiteRT (ai-edge-litert), falling back to tflite-runtime.

    Runs its built-in kernels without the XNNPACK delegate: XNNPACK's int8 arithmetic differs
    from TFLite Micro by several LSB after a softmax, the built-in kernels by at most 1-2 LSB.
    """

    name = "litert"

    def __init__(self, model_path: Path) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError:
            try:
                from tflite_runtime.interpreter import Interpreter, OpResolverType
            except ImportError:
                raise ConfigError("LiteRT is not installed: pip install 'edgeperf[litert]'") from None
            self.name = "tflite-runtime"
        self.info = inspect_model(model_path)
        _single_io(self.info, model_path)
        try:
            self._interpreter = Interpreter(
                model_path=str(model_path),
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            self._interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"LiteRT cannot load {model_path}: {exc}") from exc
        self._in = self._interpreter.get_input_details()[0]["index"]
        self._out = self._interpreter.get_output_details()[0]["index"]
        self.input = self.info.inputs[0]
        self.output = self.info.outputs[0]

    def invoke(self, x: np.ndarray) -> np.ndarray:
        tensor = np.ascontiguousarray(x, dtype=self.input.dtype).reshape(self.input.shape)
        self._interpreter.set_tensor(self._in, tensor)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._out)).reshape(-1)
