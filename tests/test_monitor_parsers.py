"""Monitor stream parsers and the energy integration, on byte streams built by hand (random ones: test_parsers_fuzz)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from stream_support import lpm, ppk2

from edgeperf.errors import EnergyWindowError
from edgeperf.monitors.base import Capture, Edge
from edgeperf.monitors.energy import SampleUnit, capture_of, integrate_window
from edgeperf.monitors.lpm01a import decode_bin_hexa
from edgeperf.monitors.ppk2 import Modifiers
from edgeperf.sim.monitors import PPK2_CALIBRATION, Ppk2Emulator, bin_hexa, lpm_number, mantissa_exponent
from edgeperf.sim.power import PowerModel, Timeline


def test_lpm01a_ascii_samples_events_and_timestamp_cadence():
    lines = [f"{1000 + i:04d}-08" for i in range(1000)]
    lines.insert(300, "event 1 ris")
    lines.insert(701, "event 2 ris")
    stream = ("\r\n".join(lines) + "\r\nTimeStamp: 001s 000ms, buff 03%\r\n\0PowerShield > ack stop\r\n").encode()
    monitor = lpm(stream[:1234])
    monitor._consume(stream[1234:])  # split anywhere: the parser keeps the partial line
    armed = monitor.recorder.disarm()
    values = np.concatenate(armed.chunks)
    assert len(values) == 1000 and values[0] == pytest.approx(1000e-8) and values[-1] == pytest.approx(1999e-8)
    assert [e.index for e in armed.edges] == [300, 700]
    assert armed.faults == [] and monitor.buffer_percent == 3
    assert monitor.drain_texts() == ["ack stop"]


def test_lpm01a_flags_a_cut_line_a_lost_sample_and_a_skipped_event():
    lines = [f"{2000 + i:04d}-08" for i in range(1000)]
    lines[10] = "20"  # a line cut in half: the other half was lost
    lines[11] = "event 1 ris"
    lines[500] = "event 3 ris"
    stream = ("\r\n".join(lines) + "\r\nTimeStamp: 001s 000ms, buff 00%\r\n").encode()
    faults = lpm(stream).recorder.disarm().faults
    assert any("malformed sample line '20'" in f for f in faults)
    assert any("jump from 1 to 3" in f for f in faults)
    assert any("997 samples between TimeStamp lines" in f for f in faults)


def test_bin_hexa_encoding_round_trips_within_its_resolution():
    for amps in (640.9e-6, 79.35e-3, 1.6e-3, 8.2e-3, 3.3e-7):
        decoded = decode_bin_hexa(np.array([bin_hexa(amps)], dtype=np.uint16))[0]
        assert decoded == pytest.approx(amps, rel=0.002)
    assert decode_bin_hexa(np.array([0x52A0], dtype=np.uint16))[0] == pytest.approx(640.9e-6, rel=1e-3)


def test_lpm01a_numbers():
    assert mantissa_exponent(6409e-7) == "6409-07"
    assert mantissa_exponent(1.579e-05) == "1579-08"
    assert lpm_number("2m") == lpm_number("2-3") == pytest.approx(2e-3)
    assert lpm_number("1k") == 1000 and lpm_number("inf") == float("inf") and lpm_number("3300m") == 3.3


def test_ppk2_host_formula_inverts_the_emulator_encoding():
    timeline = Timeline(PowerModel())
    chunks: list[bytes] = []
    emulator = Ppk2Emulator(timeline, chunks.append, lambda on: None)
    emulator.close()
    amps = np.array([2e-7, 5e-5, 6e-4, 1.6e-3, 8.2e-3, 0.05, 0.3])
    adc, ranges = emulator._adc(amps)
    values = {f"{k}{r}": v for k, vs in PPK2_CALIBRATION.items() for r, v in enumerate(vs)}
    decoded = Modifiers(values).amps(adc, ranges, 3300)
    lsb = 4 * 1.8 / 163840 / np.array(PPK2_CALIBRATION["R"])[ranges]
    assert np.all(np.abs(decoded - amps) <= lsb)


def ppk2_words(count: int, start_counter: int = 0, level_from: int | None = None) -> bytes:
    counters = (start_counter + np.arange(count)) % 64
    levels = np.ones(count, dtype=np.uint32)
    if level_from is not None:
        levels[level_from:] = 0
    words = 1000 | (1 << 14) | (counters.astype(np.uint32) << 18) | (levels << 24)
    return words.astype("<u4").tobytes()


def test_ppk2_words_split_across_reads_edges_and_counter_gaps():
    monitor = ppk2()
    stream = ppk2_words(200, level_from=120)
    monitor._consume(stream[:401])  # not a multiple of 4
    monitor._consume(stream[401:])
    monitor._consume(ppk2_words(50, start_counter=(200 + 10) % 64, level_from=0))  # 10 samples lost
    armed = monitor.recorder.disarm()
    assert sum(len(c) for c in armed.chunks) == 250
    assert armed.edges == [Edge(120, "falling")]
    assert monitor.lost_samples == 10 and any("about 10 samples lost" in f for f in armed.faults)


def capture(values, edges, faults=(), quantity="current") -> Capture:
    """The samples streamed through a window in chunks, as a monitor delivers them."""
    return capture_of(np.asarray(values, dtype=np.float64), [Edge(i, k) for i, k in edges],
                      SampleUnit(quantity, 2.0, 1000.0), first_index=100, faults=faults, chunk=97)


def test_integration_uses_exactly_the_samples_between_the_edges():
    values = np.full(1000, 1e-3)
    values[200:700] = 5e-3
    result = integrate_window(capture(values, [(300, "falling"), (301, "rising"), (800, "falling"),
                                               (801, "rising")]), "falling")
    assert result.seconds == pytest.approx(0.5) and result.joules == pytest.approx(500 * 5e-3 * 2.0 / 1000)


@pytest.mark.parametrize("edges, faults, message", [
    ([(300, "falling"), (400, "falling"), (800, "falling")], (), "3 falling timestamp edge"),
    ([(300, "falling")], (), "never reached the monitor"),
    ([(300, "falling"), (800, "falling")], ("sample 400: malformed sample line '64'",), "stream was damaged"),
])
def test_bad_windows_are_errors(edges, faults, message):
    with pytest.raises(EnergyWindowError, match=message):
        integrate_window(capture(np.ones(1000), edges, faults), "falling")


def test_a_nan_sample_is_an_error_not_a_nan_result():
    values = np.ones(1000)
    values[500] = np.nan
    with pytest.raises(EnergyWindowError, match="unusable samples"):
        integrate_window(capture(values, [(300, "falling"), (800, "falling")]), "falling")


class FakeJoulescopeDriver:
    """MOCK of pyjoulescope_driver.Driver (a vendor USB device cannot be emulated on a pty).

    It publishes i, v and GPI0 blocks from a scripted waveform on its own thread, in the documented
    value layout (sample_id in device units, decimate_factor, float32 data, bit-packed GPI bytes).
    """

    RATE = 100_000

    def __init__(self, drop_block: int | None = None) -> None:
        self.subscribers: dict[str, object] = {}
        self.published: dict[str, object] = {}
        self.drop_block = drop_block
        self.amps = np.full(60_000, 2e-3, dtype=np.float32)
        self.amps[10_000:50_000] = 12e-3
        self.gpi = np.ones(60_000, dtype=np.uint8)
        self.gpi[9_000:9_100] = 0   # pulse at the start of the loop
        self.gpi[50_000:50_100] = 0  # and at its end
        self.thread: threading.Thread | None = None

    def device_paths(self):
        return ["u/js220/000415"]

    def open(self, path, mode=None):
        pass

    def close(self, path):
        pass

    def finalize(self):
        pass

    def publish(self, topic, value):
        self.published[topic] = value
        if topic.endswith("s/gpi/0/ctrl") and value == 1:
            self.thread = threading.Thread(target=self._stream)
            self.thread.start()

    def subscribe(self, topic, flags, fn):
        self.subscribers[topic] = fn

    def unsubscribe(self, topic, fn):
        self.subscribers.pop(topic, None)

    def _stream(self):
        dev = "u/js220/000415/"
        for block, start in enumerate(range(0, 60_000, 1000)):
            if block == self.drop_block:
                continue
            meta = {"sample_id": start * 20, "decimate_factor": 20}
            self.subscribers[dev + "s/i/!data"](dev + "s/i/!data", {**meta, "data": self.amps[start:start + 1000]})
            self.subscribers[dev + "s/v/!data"](dev + "s/v/!data",
                                                {**meta, "data": np.full(1000, 3.3, dtype=np.float32)})
            packed = np.packbits(self.gpi[start:start + 1000], bitorder="little")
            self.subscribers[dev + "s/gpi/0/!data"](dev + "s/gpi/0/!data", {**meta, "data": packed})


@pytest.mark.parametrize("drop_block", [None, 30])
def test_joulescope_driver_joins_streams_and_edges(drop_block):
    from edgeperf.monitors import MonitorConfig
    from edgeperf.monitors.joulescope import Joulescope

    fake = FakeJoulescopeDriver(drop_block)
    monitor = Joulescope(driver_factory=lambda: fake)
    monitor.configure(MonitorConfig(sample_rate_hz=FakeJoulescopeDriver.RATE))
    assert fake.published["u/js220/000415/h/fs"] == FakeJoulescopeDriver.RATE
    monitor.arm()
    monitor.start()
    fake.thread.join()
    captured = monitor.disarm()
    monitor.stop()
    monitor.close()
    if drop_block is not None:
        with pytest.raises(EnergyWindowError, match="samples lost"):
            integrate_window(captured, "falling")
        return
    result = integrate_window(captured, "falling")
    expected = (1000 * 2e-3 + 40_000 * 12e-3) * 3.3 / FakeJoulescopeDriver.RATE
    assert result.seconds == pytest.approx(0.41) and result.joules == pytest.approx(expected, rel=1e-6)


def test_missing_joulescope_library_says_how_to_install_it():
    from edgeperf.errors import ConfigError
    from edgeperf.monitors import open_monitor

    try:
        import pyjoulescope_driver  # noqa: F401
        pytest.skip("pyjoulescope_driver is installed here")
    except ImportError:
        pass
    with pytest.raises(ConfigError, match=r"edgeperf\[joulescope\]"):
        open_monitor("joulescope:first")


def test_ppk2_realigns_after_a_lost_byte_so_later_windows_are_clean():
    monitor = ppk2()
    stream = ppk2_words(400)
    monitor._consume(stream[:801] + stream[802:1200])  # one byte lost inside a transfer
    monitor.recorder.disarm()
    monitor.recorder.arm()
    monitor._consume(stream[1200:])
    later = monitor.recorder.disarm()
    assert later.faults == [] and later.count == (len(stream) - 1200) // 4


def test_lpm01a_sample_above_full_scale_is_a_corrupted_line():
    monitor = lpm(b"")
    monitor._max_sample = 0.05 * 1.8 / 1000  # energy output, 1.8 V, 1 kHz
    monitor._consume(b"6409-08\r\n6409-03\r\n")  # a flipped exponent digit: 6.4 mJ in one millisecond
    armed = monitor.recorder.disarm()
    assert any("above the LPM01A's full scale" in f for f in armed.faults)
    assert np.isnan(np.concatenate(armed.chunks)).sum() == 1


class TickingOtiiServer:
    """MOCK of the Otii server's recording replies on a clock that advances 3 ms per request, as on a busy machine.

    GPI1 transitions and main-current samples are both reported up to the clock's present,
    so the order in which a client asks decides whether an edge can fall between two requests.
    """

    RATE = 4000.0

    def __init__(self, edges: list[tuple[float, bool]]) -> None:
        self.now = 0.0
        self.edges = edges

    def _transitions(self) -> list[dict]:
        return [{"timestamp": 0.0, "value": True}] + [{"timestamp": t, "value": v} for t, v in self.edges if t <= self.now]

    def request(self, cmd: str, data: dict | None = None, timeout: float = 10.0) -> dict:
        self.now += 0.003
        assert data is not None
        if cmd == "recording_get_channel_data_count":
            return {"count": len(self._transitions()) if data["channel"] == "i1" else int(self.now * self.RATE)}
        if data["channel"] == "i1":
            return {"values": self._transitions()[data["index"]: data["index"] + data["count"]]}
        return {"values": [1e-3] * data["count"]}


def test_otii_poll_never_loses_an_edge_between_its_requests():
    """The CI flake: GPI1 was read before the sample count, so an edge in between was dropped."""
    from edgeperf.monitors.base import PowerMonitor
    from edgeperf.monitors.otii import Otii

    times = [0.0105 + 0.0071 * k for k in range(40)]
    edges = [(t, k % 2 == 1) for k, t in enumerate(times)]
    monitor = Otii.__new__(Otii)  # no server: only the polling logic
    PowerMonitor.__init__(monitor, None, url="otii:mock")
    monitor.connection = TickingOtiiServer(edges)  # type: ignore[assignment]
    monitor.device, monitor._recording, monitor.sample_rate_hz = "arc-1", 1, TickingOtiiServer.RATE
    monitor._done = monitor._digital_done = 0
    monitor._pending_edges, monitor._level = [], None
    monitor.recorder.arm()
    while monitor.connection.now < times[-1] + 0.05:  # type: ignore[attr-defined]
        monitor.poll()
    armed = monitor.recorder.disarm()
    assert armed.faults == []
    assert [e.index for e in armed.edges] == [round(t * TickingOtiiServer.RATE) for t in times]
