"""The virtual board returns what the TFLite Micro interpreter computes for the same model and input.

Runs with the bundled kws01 model, and with a user's own official reference model when
EDGEPERF_REFERENCE_KWS_MODEL and EDGEPERF_REFERENCE_KWS_INPUT name the official
kws_ref_model.tflite and a 490-byte int8 input.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from tflite_micro import runtime

from edgeperf.dut import DutSession
from edgeperf.links import open_link

from conftest import MODELS

CASES = [pytest.param(MODELS / "kws01.tflite", MODELS / "samples" / "kws01" / "tst_000007_Stop_7.bin", id="bundled")]
if os.environ.get("EDGEPERF_REFERENCE_KWS_MODEL") and os.environ.get("EDGEPERF_REFERENCE_KWS_INPUT"):
    CASES.append(pytest.param(Path(os.environ["EDGEPERF_REFERENCE_KWS_MODEL"]),
                              Path(os.environ["EDGEPERF_REFERENCE_KWS_INPUT"]), id="official"))


@pytest.mark.parametrize(("model", "sample"), CASES)
def test_kws_board_equals_interpreter(model: Path, sample: Path, start_board):
    data = sample.read_bytes()
    interpreter = runtime.Interpreter.from_file(str(model))
    details = interpreter.get_output_details(0)["quantization_parameters"]
    interpreter.set_input(np.frombuffer(data, np.int8).reshape(1, 49, 10, 1), 0)
    interpreter.invoke()
    q = interpreter.get_output(0).reshape(-1).astype(np.int32)
    expected = (q - int(details["zero_points"][0])) * np.float32(details["scales"][0])

    board = start_board("kws01", model=model)
    session = DutSession(open_link(board.url, 115200))
    try:
        assert session.identify().model == "kws01"
        session.upload(data)
        reply = session.infer(1, 0, 30.0)
    finally:
        session.link.close()
    assert int(np.argmax(reply.results)) == int(np.argmax(expected))
    # The firmware prints three truncated digits; the interpreter's values must give exactly those digits.
    assert reply.results == [int(v * 1000) / 1000 for v in expected]
