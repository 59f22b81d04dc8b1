"""The streaming integrator and the bounded envelope against sums and extremes over the whole array."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest

from edgeperf.errors import EnergyWindowError
from edgeperf.monitors.energy import Edge, Envelope, SampleUnit, StreamingIntegrator, WindowStream, capture_of

UNIT = SampleUnit("current", 3.3, 10_000.0)


def _chunks(values: np.ndarray, rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    cuts = np.sort(rng.choice(np.arange(1, len(values)), size=40, replace=False))
    bounds = [0, *cuts.tolist(), len(values)]
    return [(a, values[a:b]) for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize("seed", range(6))
def test_chunked_integration_equals_the_sum_over_the_window(seed):
    rng = np.random.default_rng(seed)
    values = rng.uniform(1e-3, 20e-3, 50_000)
    start, stop = sorted(rng.choice(np.arange(1, 50_001), size=2, replace=False).tolist())
    integrator = StreamingIntegrator("falling", UNIT, first_index=1000)
    for first, chunk in _chunks(values, rng):
        edges = [Edge(1000 + i, "falling") for i in (start, stop) if first <= i < first + len(chunk)
                 or (i == len(values) and first + len(chunk) == len(values))]
        integrator.feed(chunk, edges)
    result = integrator.result()
    expected = float(np.sum(values[start:stop] * 3.3 / 10_000.0))
    assert result.joules == pytest.approx(expected, rel=1e-13)
    assert (result.start_index, result.stop_index) == (1000 + start, 1000 + stop)
    assert result.seconds == (stop - start) / 10_000.0


def test_a_nan_after_the_window_does_not_count_but_one_inside_does():
    values = np.ones(1000)
    values[900] = np.nan
    inside = capture_of(values, [Edge(100, "falling"), Edge(800, "falling")], UNIT, chunk=64)
    assert inside.integrators["falling"].result().joules == pytest.approx(700 * 3.3 / 10_000.0)
    values[500] = np.inf
    broken = capture_of(values, [Edge(100, "falling"), Edge(800, "falling")], UNIT, chunk=64)
    with pytest.raises(EnergyWindowError, match="1 unusable samples"):
        broken.integrators["falling"].result()


def test_an_edge_beyond_the_samples_is_outside_the_capture():
    capture = capture_of(np.ones(500), [Edge(100, "falling"), Edge(900, "falling")], UNIT)
    with pytest.raises(EnergyWindowError, match="outside"):
        capture.integrators["falling"].result()


@pytest.mark.parametrize(("length", "chunk"), [(10, 3), (4096, 4096), (100_003, 999), (333_333, 65_536)])
def test_envelope_is_bounded_and_keeps_extremes_and_energy(length, chunk):
    rng = np.random.default_rng(length)
    amps = rng.uniform(0.0, 5e-3, length)
    amps[rng.integers(0, length)] = 0.25  # one spike: it must survive any merging
    envelope = Envelope(UNIT, max_buckets=512)
    for first in range(0, length, chunk):
        envelope.feed(amps[first:first + chunk])
    trace = envelope.trace()
    means, lows, highs = (np.array(trace[k], dtype=float) for k in ("samples", "min", "max"))
    width = trace["samples_per_point"]
    assert len(means) <= 512 and (length <= 256 or len(means) > 256)
    assert len(means) == -(-length // width)
    mw = amps * 3.3 * 1000
    padded = np.pad(mw, (0, -length % width), constant_values=np.nan).reshape(-1, width)
    assert np.allclose(lows, np.nanmin(padded, axis=1), atol=1e-6)
    assert np.allclose(highs, np.nanmax(padded, axis=1), atol=1e-6)
    counts = np.minimum(width, length - np.arange(len(means)) * width)
    assert float(np.sum(means * counts)) == pytest.approx(float(mw.sum()), rel=1e-6)
    assert max(highs) == pytest.approx(0.25 * 3.3 * 1000)
    fewer = envelope.trace(points=100)
    assert len(fewer["samples"]) <= 100 and max(fewer["max"]) == pytest.approx(0.25 * 3.3 * 1000)


def test_a_long_capture_streams_in_memory_that_does_not_grow():
    """10 M samples (80 MB as float64) framed by two edges: the stream's memory is a chunk's, not the capture's."""
    unit = SampleUnit("power", 1.8, 100_000.0)
    chunk = np.full(50_000, 4e-3)
    tracemalloc.start()
    stream = WindowStream(0, unit)
    for first in range(0, 10_000_000, 50_000):
        edges = [Edge(i, "rising") for i in (25_000, 9_975_000) if first <= i < first + 50_000]
        stream.feed(chunk, edges)
    energy = stream.capture().integrators["rising"].result()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert energy.joules == pytest.approx(9_950_000 * 4e-3 / 100_000.0, rel=1e-12)
    assert peak < 4_000_000, f"peak {peak} bytes"
