"""Host-side parsing of EEMBC replies: pure functions, every quirk of the reference firmware."""

import pytest

from edgeperf.errors import DeviceError, ProtocolError
from edgeperf.protocol.eembc import check_command, parse_infer, parse_results, wrap_elapsed
from edgeperf.protocol.lines import decode_line


def test_results_trailing_comma_and_digit_format():
    assert parse_results("m-results-[0.012,0.988,]") == [0.012, 0.988]
    assert parse_results("m-results-[0.000,0.996]") == [0.0, 0.996]
    assert parse_results("m-results-[11.648]") == [11.648]


def test_results_garbage_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        parse_results("m-results-[0.1,zz]")
    with pytest.raises(ProtocolError):
        parse_results("m-resu")


@pytest.mark.parametrize("bad", ["", "x" * 80, "name%", "name\r\n", "na\x00me", "caf\u00e9"])
def test_commands_the_firmware_would_mishandle_are_refused(bad):
    with pytest.raises(ProtocolError):
        check_command(bad)


def test_longest_safe_command_is_accepted():
    check_command("db " + "ab" * 38)


def test_counter_wrap():
    assert wrap_elapsed(2**32 - 1000, 500) == 1500
    assert wrap_elapsed(100, 300) == 200


def test_decode_line_strips_cr_nul_and_survives_bad_bytes():
    assert decode_line(b"m-ready\r") == "m-ready"
    assert decode_line(b"\x00m-ready") == "m-ready"
    assert decode_line(b"m-\xffready").startswith("m-")


SEQ = ["m-warmup-start-2", "m-warmup-done", "m-infer-start-10", "m-lap-us-4294967000", "m-lap-us-704",
       "m-infer-done", "m-results-[0.500,0.500,]"]


def test_infer_sequence_with_wrap():
    reply = parse_infer(SEQ, 10, 2)
    assert reply.elapsed_us == 1000
    assert reply.results == [0.5, 0.5]


def test_extra_lap_lines_are_not_misassigned():
    lines = ["m-lap-us-5", "Initialized"] + SEQ
    reply = parse_infer(lines, 10, 2)
    assert reply.extra_laps == [5]
    assert reply.elapsed_us == 1000


def test_energy_build_has_no_timestamps():
    lines = [line for line in SEQ if not line.startswith("m-lap")]
    reply = parse_infer(lines, 10, 2)
    with pytest.raises(DeviceError, match="energy-mode build"):
        reply.elapsed_us


def test_error_line_and_stale_input_are_device_errors():
    with pytest.raises(DeviceError):
        parse_infer(["e-[Inference iterations must be >0]"], 1, 0)
    with pytest.raises(DeviceError, match="stale"):
        parse_infer(["Input db has 10 elemented, expected 490"] + SEQ, 10, 2)


def test_incomplete_sequence_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        parse_infer(SEQ[:4], 10, 2)
    with pytest.raises(ProtocolError):
        parse_infer(SEQ, 11, 2)


@pytest.mark.parametrize("line, damaged", [
    ("m--ready", True), ("m-rady", True), ("m-re\ufffddy", True), ("xm-readyx", True), ("m-ready", False),
    ("m-load-done", False), ("m-lap-us-123", False), ("m-name-dut-[x]", False), ("e-[bad]", False), ("", False),
    ("ready", False), ("mready", True), ("Ready!", False),
])
def test_only_a_damaged_m_ready_ends_a_reply_early(line, damaged):
    from edgeperf.protocol.eembc import garbled_ready

    assert garbled_ready(line) is damaged
