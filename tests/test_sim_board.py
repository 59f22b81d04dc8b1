"""The virtual board process: cost model, UART accounting, start-up errors, shutdown."""

from __future__ import annotations

import json
import re
import time

import pytest

from edgeperf.device.clock import DeviceClock
from edgeperf.device.serial import SerialEndpoint
from edgeperf.dut import DutSession
from edgeperf.errors import SimulatorError
from edgeperf.links import open_link
from edgeperf.modelinfo import inspect_model
from edgeperf.sim.cost_model import CostModel
from edgeperf.sim.launcher import VirtualBoardProcess

from conftest import model_path, read_truth

#: The cost model's time exactly, the counter from 0: for tests that compare device time to the microsecond.
IDEAL = ["--timing-profile", "ideal"]


def _infer_truth(board, n: int = 3) -> dict[str, object]:
    session = DutSession(open_link(board.url, 115200))
    try:
        session.identify()
        session.upload(bytes(490))
        session.infer(n, 0, 30.0)
    finally:
        session.link.close()
    return read_truth(board)[-1]


def test_device_time_follows_the_cost_model(start_board):
    expected = CostModel().latency_us(inspect_model(model_path("kws01")))
    truth = _infer_truth(start_board("kws01", extra=IDEAL))
    assert truth["per_inference_us"] == pytest.approx(expected, rel=1e-9)
    assert abs(truth["device_us"] - 3 * expected) <= 1


def test_clock_and_cost_model_file_change_device_time(start_board, tmp_path):
    base = CostModel().latency_us(inspect_model(model_path("kws01")))
    slow = _infer_truth(start_board("kws01", extra=["--clock-mhz", "60", *IDEAL]))
    assert slow["per_inference_us"] == pytest.approx(2 * base)
    override = tmp_path / "cost.json"
    override.write_text(json.dumps({"cycles_per_op": 0, "cycles_per_output": 0,
                                    "cycles_per_mac": {"CONV_2D": 1, "CONV_2D_1x1": 1, "DEPTHWISE_CONV_2D": 1}}))
    macs = sum(op.macs for op in inspect_model(model_path("kws01")).ops if op.name != "FULLY_CONNECTED")
    fc = sum(op.macs for op in inspect_model(model_path("kws01")).ops if op.name == "FULLY_CONNECTED")
    custom = _infer_truth(start_board("kws01", extra=["--cost-model", str(override), *IDEAL]))
    assert custom["per_inference_us"] == pytest.approx((macs + fc * 4.4) / 120.0)


def test_uart_byte_times_are_charged_to_the_device_clock(start_board):
    # At 115200 baud 8N1 every byte on the wire takes 86.8 us; the device clock counts them, nothing else.
    board = start_board("kws01", baud=115200, extra=IDEAL)
    session = DutSession(open_link(board.url, 115200))
    try:
        session.identify()
        first = session.client.command("timestamp", 5.0)
        second = session.client.command("timestamp", 5.0)
    finally:
        session.link.close()
    t1 = int(re.match(r"m-lap-us-(\d+)", first[0]).group(1))
    t2 = int(re.match(r"m-lap-us-(\d+)", second[0]).group(1))
    wire = len(first[0]) + 2 + len("m-ready\r\n") + len("timestamp%")
    assert abs((t2 - t1) - wire * 1e6 * 10 / 115200) <= 2


def test_a_short_reply_takes_at_least_its_wire_time():
    # A 9-byte m-ready at 921600 baud is 97.7 us on the wire (10 bit times a byte): never less, however short.
    clock = DeviceClock()
    endpoint = SerialEndpoint("pty", 921600, clock)
    try:
        for _ in range(20):
            start = time.monotonic()
            endpoint.write(b"m-ready\r\n")
            assert time.monotonic() - start >= 9 * 10 / 921600
            time.sleep(0.001)  # the line goes idle: the next reply is not charged for this one
    finally:
        endpoint.close()
    assert clock.ns == pytest.approx(20 * 9 * 10 / 921600 * 1e9)


def _loops(board, count: int = 4, n: int = 5) -> list[dict[str, object]]:
    session = DutSession(open_link(board.url, 115200))
    try:
        session.identify()
        for index in range(count):
            session.upload(bytes([index]) * 490)
            session.infer(n, 1, 30.0)
    finally:
        session.link.close()
    return read_truth(board)


def test_realistic_board_varies_from_loop_to_loop_and_a_seed_repeats_it(start_board):
    first = _loops(start_board("kws01", extra=["--seed", "7"]))
    again = _loops(start_board("kws01", extra=["--seed", "7"]))
    other = _loops(start_board("kws01", extra=["--seed", "8"]))
    times = [t["per_inference_us"] for t in first]
    assert len(set(times)) == len(times)  # no two loops alike
    assert [t["per_inference_us"] for t in again] == times
    assert [t["per_inference_us"] for t in other] != times
    assert first[0]["t0"] != 0 and first[0]["t0"] != other[0]["t0"]  # the counter starts anywhere


def test_ideal_board_repeats_every_loop_to_the_microsecond(start_board):
    truths = _loops(start_board("kws01", extra=IDEAL))
    assert len({t["device_us"] for t in truths}) == 1


def test_a_bad_timing_override_is_a_clear_start_error(tmp_path):
    board = VirtualBoardProcess(model=model_path("kws01"), extra_args=["--timing", "jiter=0.1"])
    with pytest.raises(SimulatorError, match="timing override 'jiter=0.1': write KEY=VALUE") as caught:
        board.start()
    assert "Traceback" not in str(caught.value)


def test_a_file_that_is_not_a_model_is_a_clear_start_error(tmp_path):
    bogus = tmp_path / "model.tflite"
    bogus.write_bytes(b"definitely not a flatbuffer")
    with pytest.raises(SimulatorError, match="not a TensorFlow Lite flatbuffer"):
        with VirtualBoardProcess(model=bogus, baud=0, time_scale=0):
            pass


def test_board_stops_cleanly_on_sigterm(start_board):
    board = start_board("kws01")
    proc = board._proc
    board.stop()
    assert proc.returncode == 0
