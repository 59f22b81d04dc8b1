"""The virtual board's model runtime: the TFLite Micro interpreter, as on a real MCU port."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..modelinfo import ModelInfo, inspect_model


class TflmRunner:
    """Runs any single-input, single-output .tflite model with the TFLite Micro reference kernels."""

    def __init__(self, model_path: Path, arena_size: int | None = None) -> None:
        from tflite_micro import runtime

        self.info: ModelInfo = inspect_model(model_path)
        if len(self.info.inputs) != 1 or len(self.info.outputs) != 1:
            raise ModelError(f"{model_path}: the virtual board runs models with one input and one output")
        try:
            self._interpreter = runtime.Interpreter.from_file(str(model_path), arena_size=arena_size)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"TFLite Micro cannot load {model_path}: {exc}") from exc
        self.input = self.info.inputs[0]
        self.output = self.info.outputs[0]

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """One inference; `x` must already have the input tensor's dtype and element count."""
        tensor = np.ascontiguousarray(x, dtype=self.input.dtype).reshape(self.input.shape)
        self._interpreter.set_input(tensor, 0)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_output(0)).reshape(-1)
