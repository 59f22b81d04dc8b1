"""The per-operator profile: one timed loop, then `layers` (protocols/extensions), joined with the model file.

It runs after the performance windows on a board that announced `edgeperf-layers-1`, through
`DutSession.measure`, so a fault discards the loop and its layer times together.
"""

from __future__ import annotations

from pathlib import Path

from ..dut import DutSession
from ..errors import ModelError, ProtocolError
from ..modelinfo import inspect_model
from ..protocol.extensions import LAYERS, LayerTimes, extensions, parse_layers
from ..results.layers import Layer, LayerProfile


def supports_layers(session: DutSession) -> bool:
    """Did the board announce the layers extension in its last `profile` reply?"""
    return LAYERS in extensions(session.client.profile_lines)


def profile_layers(session: DutSession, data: bytes, iterations: int, timeout: float,
                   model_path: Path | None) -> LayerProfile:
    """`infer iterations 0` on `data`, then `layers`: each operator's time per inference, with shapes and MACs."""
    def body() -> tuple[float, LayerTimes]:
        if not session.loaded:
            session.upload(data)
        reply = session.infer(iterations, 0, timeout)
        times = parse_layers(session.client.command("layers", session.command_timeout))
        if times.iterations != iterations:
            raise ProtocolError(f"'layers' reports {times.iterations} inferences after 'infer {iterations} 0'")
        return reply.elapsed_us / iterations, times

    (loop_us, times), _ = session.measure("layer profile", body)
    layers = [Layer(t.index, t.op, t.total_us / times.iterations) for t in times.layers]
    layers, note = _with_model(layers, model_path)
    return LayerProfile(times.iterations, loop_us, layers, times.unrecorded, note)


def _with_model(layers: list[Layer], model_path: Path | None) -> tuple[list[Layer], str | None]:
    """Output shapes and MACs from the model file, when its operators are the ones the board ran."""
    if model_path is None:
        return layers, "no model file given: output shapes and MACs unknown (pass --model)"
    try:
        ops = inspect_model(model_path).ops
    except ModelError as exc:
        return layers, f"model file unreadable ({exc}): output shapes and MACs unknown"
    if [op.name for op in ops] != [layer.op for layer in layers]:
        return layers, (f"the board ran other operators than {model_path.name} holds: output shapes and MACs "
                        "unknown")
    return [Layer(layer.index, layer.op, layer.us, list(op.out_shape), op.macs or None)
            for layer, op in zip(layers, ops)], None
