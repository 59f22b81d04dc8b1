"""Read what a .tflite model is made of: I/O contract, operators, parameters and MACs.

Uses the flatbuffer schema that ships inside the tflite-micro wheel, so no TensorFlow is
needed. The virtual board's cost model, the models table and the host's checks all read
models through this one module.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelError

_DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")
_ITEMSIZE = {"float32": 4, "float16": 2, "int32": 4, "uint8": 1, "int64": 8, "bool": 1, "int16": 2, "int8": 1}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int

    @property
    def elements(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.elements * _ITEMSIZE.get(self.dtype, 1)


@dataclass(frozen=True)
class OpInfo:
    name: str
    macs: int
    out_elements: int
    #: kernel height x width for convolutions (1 = pointwise), 0 otherwise
    kernel_area: int = 0
    #: shape of the first output tensor (the per-layer profile prints it)
    out_shape: tuple[int, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    path: str
    size_bytes: int
    sha256: str
    params: int
    ops: list[OpInfo]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    op_counts: dict[str, int] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)


def _op_names() -> dict[int, str]:
    from tflite_micro import runtime
    return {v: k for k, v in vars(runtime.schema_fb.BuiltinOperator).items() if not k.startswith("_")}


def _tensor(t: object) -> TensorInfo:
    q = t.quantization  # type: ignore[attr-defined]
    scale = float(q.scale[0]) if q is not None and q.scale is not None and len(q.scale) else 0.0
    zero = int(q.zeroPoint[0]) if q is not None and q.zeroPoint is not None and len(q.zeroPoint) else 0
    name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)  # type: ignore[attr-defined]
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))  # type: ignore[attr-defined]
    return TensorInfo(name, shape, _DTYPES.get(int(t.type), f"type{t.type}"), scale, zero)  # type: ignore[attr-defined]


def _macs(name: str, tensors: list[TensorInfo], inputs: list[int], outputs: list[int]) -> int:
    out = tensors[outputs[0]]
    if name == "CONV_2D":
        weights = tensors[inputs[1]].shape  # [out_ch, kh, kw, in_ch]
        return out.elements * weights[1] * weights[2] * weights[3]
    if name == "DEPTHWISE_CONV_2D":
        weights = tensors[inputs[1]].shape  # [1, kh, kw, out_ch]
        return out.elements * weights[1] * weights[2]
    if name == "FULLY_CONNECTED":
        weights = tensors[inputs[1]].shape  # [units, in_features]
        return out.elements * weights[-1]
    return 0


def inspect_model(source: Path | str | bytes) -> ModelInfo:
    """Parse a .tflite file (or its bytes) into a `ModelInfo`; a bad file raises `ModelError`."""
    from tflite_micro import runtime

    if isinstance(source, bytes):
        data, path = source, "<bytes>"
    else:
        path = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read model {path}: {exc}") from exc
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError(f"{path} is not a TensorFlow Lite flatbuffer (no TFL3 identifier)")
    try:
        model = runtime.convert_bytearray_to_object(bytearray(data))
    except Exception as exc:  # the flatbuffer reader raises assorted errors on corrupt input
        raise ModelError(f"{path} is not a readable .tflite model: {exc}") from exc
    if not model.subgraphs:
        raise ModelError(f"{path} has no subgraph")
    graph = model.subgraphs[0]
    tensors = [_tensor(t) for t in graph.tensors]
    names = _op_names()
    ops: list[OpInfo] = []
    weight_tensors: set[int] = set()
    for op in graph.operators:
        name = names.get(runtime.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex]), "CUSTOM")
        inputs = [int(i) for i in (op.inputs if op.inputs is not None else []) if i >= 0]
        outputs = [int(i) for i in (op.outputs if op.outputs is not None else [])]
        for index in inputs:
            buffer = model.buffers[graph.tensors[index].buffer]
            if buffer.data is not None and len(buffer.data) or getattr(buffer, "size", 0):
                weight_tensors.add(index)
        kernel = tensors[inputs[1]].shape[1] * tensors[inputs[1]].shape[2] if name in _CONVS else 0
        ops.append(OpInfo(name, _macs(name, tensors, inputs, outputs), tensors[outputs[0]].elements if outputs else 0,
                          kernel, tensors[outputs[0]].shape if outputs else ()))
    return ModelInfo(
        path=path,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        params=sum(tensors[i].elements for i in weight_tensors),
        ops=ops,
        inputs=[tensors[i] for i in graph.inputs],
        outputs=[tensors[i] for i in graph.outputs],
        op_counts=dict(Counter(op.name for op in ops)),
    )
