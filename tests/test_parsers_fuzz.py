"""Every host parser against random bytes: only edgeperf's documented errors may escape, never a crash.

One home for these properties: the DUT's ASCII protocol (line reader, reply parsing, infer
and results lines), the binary deframer, the LPM01A (ASCII and bin_hexa), the PPK2 (words
and metadata), the Otii client (JSON lines and recording replies) and the IO-manager relay.
Random bytes alone rarely get past the first check, so each strategy also mixes in valid
tokens, mutated just enough to reach the deeper branches.
"""

from __future__ import annotations

import socket
import threading
import time

from hypothesis import HealthCheck, given, settings, strategies as st

from edgeperf.errors import EdgeperfError, ProtocolError
from edgeperf.monitors.base import PowerMonitor
from edgeperf.monitors.lpm01a import Lpm01a
from edgeperf.monitors.otii import Otii, OtiiConnection
from edgeperf.monitors.ppk2 import Modifiers
from edgeperf.protocol import binary
from edgeperf.protocol.eembc import EembcClient, parse_infer, parse_results
from edgeperf.protocol.iomanager import IoManager, PassthroughLink
from edgeperf.protocol.lines import LineReader
from edgeperf.protocol.eembc import check_energy_reply
from stream_support import ScriptedLink, SilentLink, lpm, ppk2

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DUT_LINES = ["m-ready", "m-name-dut-[x]", "m-profile-[p]", "m-model-[kws01]", "m-results-[0.1,0.9,]",
             "m-infer-start-10", "m-infer-done", "m-warmup-start-1", "m-warmup-done", "m-lap-us-42",
             "m-timestamp-mode-energy", "m-init-done", "e-[Unknown command: x]", "Input db has 0 bytes",
             "m-load-done", "m-[Expecting 490 bytes]", "[dut]: m-ready", "m-dut-passthrough(name)",
             "m-dut-passthrough(infer 10 0)", "m-name-io-[IoTConnect IO Manager 1.0.3]"]


def near_valid_lines(valid: list[str]) -> st.SearchStrategy[list[str]]:
    """Lists of valid lines, arbitrary text, and valid prefixes with random tails."""
    line = st.one_of(st.sampled_from(valid), st.text(max_size=40),
                     st.tuples(st.sampled_from(valid), st.text(max_size=12)).map(lambda t: t[0][: len(t[0]) // 2] + t[1]))
    return st.lists(line, max_size=30)


def as_stream(lines: list[str], tail: bytes, endings: str = "\r\n") -> bytes:
    return (endings.join(lines) + endings).encode("utf-8", errors="replace") + tail


# -- DUT ASCII


@FUZZ
@given(near_valid_lines(DUT_LINES), st.binary(max_size=200), st.integers(1, 64))
def test_dut_line_reader_and_reply_parsers_survive_any_bytes(lines, tail, step):
    client = EembcClient(LineReader(ScriptedLink(as_stream(lines, tail), step)))
    for ask in (lambda: client.name(0.02), lambda: client.profile(0.02), lambda: client.timestamp_mode(0.02)):
        try:
            ask()
        except EdgeperfError:
            pass


@FUZZ
@given(near_valid_lines(DUT_LINES), st.integers(1, 5), st.integers(0, 3))
def test_infer_results_and_energy_replies_parse_or_raise_documented_errors(lines, iterations, warmups):
    for parse in (lambda: parse_infer(lines, iterations, warmups), lambda: check_energy_reply(lines, iterations),
                  lambda: EembcClient.mode_from_banner(lines), *[lambda l=l: parse_results(l) for l in lines]):
        try:
            parse()
        except EdgeperfError:
            pass


# -- binary frames


@FUZZ
@given(st.binary(max_size=600), st.integers(1, 64))
def test_binary_deframer_survives_any_bytes(data, step):
    client = binary.BinaryClient(ScriptedLink(data, step), timeout=0.01)
    while (frame := client._read_frame(time.monotonic() + 0.002)) is not None or client.link.data:  # type: ignore[attr-defined]
        if frame is not None:
            try:
                binary.parse_reply(frame)
            except ProtocolError:
                pass


@FUZZ
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=80))
def test_well_framed_replies_with_any_payload_parse_or_raise_protocol_error(msg_type, seq, payload):
    frame = binary.decode_frame(binary.encode_frame(msg_type, seq, payload)[:-1])
    try:
        binary.parse_reply(frame)
    except ProtocolError:
        pass


# -- power monitors

LPM_LINES = ["6409-07", "0000+00", "event 1 ris", "event 7 fal", "TimeStamp: 001s 000ms, buff 00%",
             "PowerShield > ack start", "PowerShield > error start", "PowerShield > Acquisition completed",
             "end", "9999-01", "1234+05"]


@FUZZ
@given(near_valid_lines(LPM_LINES), st.binary(max_size=300), st.integers(0, 600))
def test_lpm01a_ascii_parser_survives_any_bytes(lines, tail, cut):
    data = as_stream(lines, tail)
    monitor = lpm(data[:cut])
    monitor._consume(data[cut:])
    monitor.recorder.disarm()
    PowerMonitor.close(monitor)  # the stream reader only: no device to release


@FUZZ
@given(st.binary(max_size=600))
def test_lpm01a_binary_parser_survives_any_bytes(data):
    monitor = Lpm01a(SilentLink(), output="current", data_format="bin_hexa")
    monitor._binary = True
    monitor._consume(data)
    PowerMonitor.close(monitor)


@FUZZ
@given(st.binary(max_size=800), st.integers(min_value=0, max_value=800))
def test_ppk2_parser_survives_any_bytes(data, cut):
    monitor = ppk2()
    monitor._consume(data[:cut])
    monitor._consume(data[cut:])
    armed = monitor.recorder.disarm()
    PowerMonitor.close(monitor)
    # Every byte is accounted for: whole words as samples, or bytes skipped to realign (a fault).
    assert sum(len(c) for c in armed.chunks) <= len(data) // 4


@FUZZ
@given(near_valid_lines(["Calibrated: 1", "R0: 1031.64", "GS1: -nan", "O2: 1e308", "HW: 9173", "END", "R4: x"]))
def test_ppk2_metadata_parser_survives_any_text(lines):
    try:
        Modifiers.parse("\n".join(lines))
    except EdgeperfError:
        pass


JSON_ISH = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                        max_leaves=12)


class ScriptedOtiiConnection:
    """Stands in for OtiiConnection: answers every request with the next hypothesis-drawn reply."""

    def __init__(self, replies: list) -> None:
        self.replies = replies

    def request(self, cmd: str, data: dict | None = None, timeout: float = 10.0) -> dict:
        reply = self.replies.pop(0) if self.replies else {}
        return reply if isinstance(reply, dict) else {"values": reply, "count": reply}


@FUZZ
@given(st.lists(st.one_of(JSON_ISH, st.fixed_dictionaries({"count": st.integers(-5, 50)}),
                          st.fixed_dictionaries({"values": st.lists(JSON_ISH, max_size=6)}),
                          st.fixed_dictionaries({"values": st.lists(st.fixed_dictionaries(
                              {"timestamp": JSON_ISH, "value": JSON_ISH}), max_size=4)})), max_size=12))
def test_otii_recording_replies_parse_or_raise_monitor_error(replies):
    monitor = Otii.__new__(Otii)  # no server: only the reply parsing is exercised
    PowerMonitor.__init__(monitor, None, url="otii:fuzz")
    monitor.connection = ScriptedOtiiConnection(replies)  # type: ignore[assignment]
    monitor.device, monitor._recording, monitor.sample_rate_hz = "arc-1", 1, 4000.0
    monitor._done = monitor._digital_done = 0
    monitor._pending_edges, monitor._level = [], None
    monitor.recorder.arm()
    for _ in range(3):
        try:
            monitor.poll()
        except EdgeperfError:
            break


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400), near_valid_lines(['{"type": "response", "trans_id": "1", "data": {}}',
                                                   '{"type": "information"}', '{"type": "error", "trans_id": "1"}',
                                                   '[1, 2]', '{"trans_id": "1", "data": [1]}']))
def test_otii_connection_survives_any_bytes_from_the_server(noise, lines):
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        client, _ = server.accept()
        with client:
            client.sendall(noise + as_stream(lines, b""))

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        connection = OtiiConnection("127.0.0.1", server.getsockname()[1], timeout=0.5)
        connection.request("otii_get_devices", timeout=0.5)
        connection.close()
    except EdgeperfError:
        pass
    finally:
        thread.join()
        server.close()


# -- IO manager


@FUZZ
@given(near_valid_lines(DUT_LINES + ["-?#args?", "baud is: 9600", "tinyML Enhanced Interface Board"]),
       st.binary(max_size=300), st.integers(1, 64))
def test_io_manager_relay_and_own_replies_survive_any_bytes(lines, tail, step):
    data = as_stream(lines, tail)
    link = PassthroughLink(IoManager(ScriptedLink(data, step)))
    link.write(b"name%")  # one echo is awaited, so matching and mismatching echoes are both reached
    try:
        while link.read(100, 0.001) or link.inner.data:  # type: ignore[attr-defined]
            pass
    except ProtocolError:
        pass  # an echo that does not match what was sent: the documented error
    manager = IoManager(ScriptedLink(data, step))
    try:
        manager.command("name", timeout=0.02)
    except EdgeperfError:
        pass
