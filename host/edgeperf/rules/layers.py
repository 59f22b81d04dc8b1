"""The per-operator profile: `layers` (protocols/extensions) after every performance window, joined with the
model file; the profile kept is the one of the window whose throughput is the run's median.

So the operator times sum to the very latency the run reports (1000 / median throughput), not to
one more loop with its own jitter. `layers` is idempotent: a garbled reply is asked again. A
window whose table does not cover it (the board was reset in between, or the reply never came
intact) gives no profile; the nearest window to the median that has one is used, and a note says so.
"""

from __future__ import annotations

from pathlib import Path

from ..dut import DutSession
from ..errors import DeviceError, LinkError, ModelError, ProtocolError
from ..modelinfo import inspect_model
from ..protocol.extensions import LAYERS, LayerTimes, extensions
from ..results.layers import Layer, LayerProfile
from ..results.records import Window


def supports_layers(session: DutSession) -> bool:
    """Did the board announce the layers extension in its last `profile` reply?"""
    return LAYERS in extensions(session.client.profile_lines)


def window_layers(session: DutSession, window: Window, notes: list[str]) -> LayerTimes | None:
    """The board's operator times right after `window`, if they cover exactly its inferences."""
    try:
        times = session.layers()
    except (ProtocolError, LinkError, DeviceError) as exc:
        notes.append(f"window {window.index}: no per-layer times ({exc})")
        return None
    if times.iterations != window.iterations:
        notes.append(f"window {window.index}: 'layers' covers {times.iterations} inferences, not the window's "
                     f"{window.iterations} (the board was reset or re-measured): not used")
        return None
    return times


def median_profile(windows: list[Window], times: dict[int, LayerTimes], median: float, model_path: Path | None,
                   notes: list[str]) -> LayerProfile | None:
    """The profile of the median window (or of the profiled window nearest to it)."""
    profiled = [w for w in windows if w.index in times]
    if not profiled:
        notes.append("per-layer profile: no window's operator times could be read")
        return None
    window = min(profiled, key=lambda w: abs(w.throughput - median))
    if window.throughput != median:
        notes.append(f"per-layer profile from window {window.index}, the profiled window nearest the median")
    got = times[window.index]
    layers = [Layer(t.index, t.op, t.total_us / got.iterations) for t in got.layers]
    layers, note = _with_model(layers, model_path)
    return LayerProfile(got.iterations, window.elapsed_us / window.iterations, layers, got.unrecorded, note,
                        window.index)


def _with_model(layers: list[Layer], model_path: Path | None) -> tuple[list[Layer], str | None]:
    """Output shapes and MACs from the model file, when its operators are the ones the board ran."""
    if model_path is None:
        return layers, "no model file: output shapes and MACs unknown"
    try:
        ops = inspect_model(model_path).ops
    except ModelError as exc:
        return layers, f"model file unreadable ({exc}): output shapes and MACs unknown"
    if [op.name for op in ops] != [layer.op for layer in layers]:
        return layers, (f"the board ran other operators than {model_path.name} holds: output shapes and MACs "
                        "unknown")
    return [Layer(layer.index, layer.op, layer.us, list(op.out_shape), op.macs or None)
            for layer, op in zip(layers, ops)], None
