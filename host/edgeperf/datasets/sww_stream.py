"""Build an sww01 test stream: wake-word clips mixed into seeded noise at known times, with its truth JSON.

The truth is known because the stream is made: each listed word's window is where its clip was
placed. Two kinds of placement make a run's score checkable beyond "all found": a `faint` word is
listed but mixed in far below the noise (no detector can find it: a false negative by design), and
a `decoy` is a loud clip placed where the truth lists nothing (a detection there is a false
positive by design). The same seed gives the same file, byte for byte.
"""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .audio import read_wav

RATE = 16000


@dataclass(frozen=True)
class Placement:
    """One clip in the stream: at `start_s`, with a gain; listed in the truth unless it is a decoy."""

    start_s: float
    gain: float = 1.0
    listed: bool = True


#: The default plan: four clear words, one faint word (a miss by design) and one decoy (a false positive by design).
DEFAULT_PLAN = (Placement(2.0), Placement(6.0), Placement(10.0, gain=0.003), Placement(14.0),
                Placement(18.0, listed=False), Placement(22.0))


def _clip(word_wav: Path) -> np.ndarray:
    samples, rate = read_wav(word_wav)
    if rate != RATE:
        raise DatasetError(f"{word_wav}: the wake word must be sampled at {RATE} Hz, not {rate}")
    return samples


def build_stream(folder: Path, word_wav: Path, name: str = "sww_test_stream", length_s: float = 26.0,
                 plan: tuple[Placement, ...] = DEFAULT_PLAN, noise_rms: float = 0.004, seed: int = 2024) -> Path:
    """Write `<name>.wav` (2-channel 16 kHz, as the interface board plays) and `<name>.json`; returns the JSON path."""
    clip = _clip(word_wav)
    rng = np.random.default_rng(seed)
    total = int(length_s * RATE)
    audio = rng.normal(0.0, noise_rms, total)
    windows = []
    for p in plan:
        first = int(p.start_s * RATE)
        if first + len(clip) > total:
            raise DatasetError(f"a clip at {p.start_s:g} s does not fit in a {length_s:g} s stream")
        audio[first: first + len(clip)] += clip * p.gain
        if p.listed:
            windows.append([round(p.start_s, 4), round(p.start_s + len(clip) / RATE, 4)])
    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")
    folder.mkdir(parents=True, exist_ok=True)
    with wave.open(str(folder / f"{name}.wav"), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(np.repeat(pcm, 2).tobytes())
    truth = folder / f"{name}.json"
    truth.write_text(json.dumps([{"wav_file": f"{name}.wav", "sample_rate": RATE, "length_sec": length_s,
                                  "detection_windows": windows}], indent=1) + "\n", encoding="utf-8")
    return truth
