"""The streaming-wakeword front end of the virtual sww board: one 40-value log filterbank row per audio frame.

The reference firmware computes, for every 1024-sample frame (a 512-sample stride at 16 kHz), 40
log mel filterbank energies and keeps the last 30 rows as the model's [1,30,1,40] input. This is
`datasets.audio.sww_features` computed frame by frame as audio arrives, with its constants, as the
firmware's `th_compute_lfbe_f32` computes it (written out in docs/virtual-bench.md): pre-emphasis
1 - 2^-5 across frames (the sample before each frame is kept), a periodic Hamming window, power
spectrum |X|^2 / 1024, 40 HTK-mel triangles over 0..8 kHz, 10*log10, then (dB + 52) / 64 clipped to
[0, 1], quantized with the model's input scale and zero point, truncating toward zero as the
firmware's cast does. One difference is kept: the firmware casts to int8 without clipping (out of
range wraps, undefined in C); here the value is clipped to [-128, 127]. It only matters for a model
whose input scale puts 1.0 above 255 steps.
"""

from __future__ import annotations

import numpy as np

from ..datasets.audio import SWW_FRAMES, SWW_MEL_BINS, SWW_PREEMPHASIS, SWW_RATE, SWW_STRIDE, SWW_WINDOW, sww_rows

RATE = SWW_RATE
FRAME = SWW_WINDOW
STRIDE = SWW_STRIDE
MEL_BINS = SWW_MEL_BINS
ROWS = SWW_FRAMES
PREEMPHASIS = SWW_PREEMPHASIS


def frame_row(samples: np.ndarray, previous: int = 0) -> np.ndarray:
    """Float features in [0, 1] of one frame of int16 samples (1024 of them); `previous` is the sample before it."""
    audio = samples.astype(np.float64) / 32768.0
    emphasised = audio - PREEMPHASIS * np.concatenate(([previous / 32768.0], audio[:-1]))
    return sww_rows(emphasised)


class FeatureBuffer:
    """The last 30 rows, quantized for the model: what the DUT hands to TFLite Micro for each frame.

    They start as int8 0, as the firmware zeroes its model input on `start` (not the zero point, which
    for the official model is -128, the quantized 0.0): until 30 frames are in, the oldest rows stand for
    a feature of (0 - zero point) x scale (0.47 for the official model), not silence.
    """

    def __init__(self, scale: float, zero_point: int, fill: int = 0) -> None:
        self.scale = scale
        self.zero_point = zero_point
        self.rows = np.full((ROWS, MEL_BINS), fill, dtype=np.int8)

    def push(self, samples: np.ndarray, previous: int = 0) -> np.ndarray:
        """Add one frame's row; returns the [30, 40] int8 input, oldest row first."""
        quantized = np.clip(np.trunc(frame_row(samples, previous) / self.scale + self.zero_point), -128, 127)
        self.rows = np.roll(self.rows, -1, axis=0)
        self.rows[-1] = quantized.astype(np.int8)
        return self.rows
