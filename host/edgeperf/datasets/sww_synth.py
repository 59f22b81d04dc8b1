"""Synthetic streaming-wakeword audio: a made-up wake word, look-alike words and room noise (numpy only).

The bundled sww01 model is trained on this audio (models/build_models.py), and the bundled test
stream is made from it at first use, so both are reproducible from a seed with no download.

The "voice" is a harmonic source (a glottal-like pulse train's first harmonics) shaped by two
formant resonances that glide, i.e. vowel-like syllables. The wake word is one fixed sequence of
three syllables; look-alikes reuse one or two of its syllables in another order or with a foreign
one, so the model must learn the whole word, not a single sound.
"""

from __future__ import annotations

import json
import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000

# Syllables as (F1 start, F1 end, F2 start, F2 end) in Hz, plus a pitch contour factor (end / start).
_SYLLABLES: dict[str, tuple[float, float, float, float, float]] = {
    "ka": (750, 650, 1200, 1700, 1.05),
    "li": (350, 300, 2100, 2500, 0.95),
    "mo": (550, 450, 900, 800, 0.85),
    "tu": (330, 320, 900, 1200, 1.0),
    "re": (500, 520, 1900, 1700, 1.1),
    "sa": (700, 750, 1500, 1300, 0.9),
}
WAKE_WORD = ("ka", "li", "mo")
_FOREIGN = ("tu", "re", "sa")


def _syllable(rng: np.random.Generator, name: str, seconds: float, f0: float, formant_jitter: float) -> np.ndarray:
    f1a, f1b, f2a, f2b, contour = _SYLLABLES[name]
    n = int(seconds * RATE)
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    shift = 1 + rng.normal(0, formant_jitter, 2)  # speaker: vocal-tract length
    f1 = (f1a + (f1b - f1a) * t) * shift[0]
    f2 = (f2a + (f2b - f2a) * t) * shift[1]
    pitch = f0 * (1 + (contour - 1) * t) * (1 + 0.01 * np.sin(2 * np.pi * 5 * t * seconds))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    out = np.zeros(n)
    for k in range(1, 30):
        hz = k * pitch
        gain = (np.exp(-0.5 * ((hz - f1) / 90.0) ** 2) + 0.6 * np.exp(-0.5 * ((hz - f2) / 120.0) ** 2)
                + 0.02) / k ** 0.5
        out += np.where(hz < RATE / 2 - 200, gain, 0.0) * np.sin(k * phase)
    attack = np.minimum(1.0, np.minimum(t, 1 - t) * seconds / 0.03)
    return out * attack


def utterance(rng: np.random.Generator, syllables: tuple[str, ...]) -> np.ndarray:
    """A spoken sequence at a random rate, pitch, loudness and timbre, normalised to peak ~1."""
    f0 = rng.uniform(95, 240)
    rate = rng.uniform(0.8, 1.25)
    parts = []
    for name in syllables:
        parts.append(_syllable(rng, name, rng.uniform(0.15, 0.22) * rate, f0, 0.05))
        parts.append(np.zeros(int(rng.uniform(0.0, 0.04) * RATE)))
    audio = np.concatenate(parts[:-1])
    return audio / (np.abs(audio).max() + 1e-9)


def wake_word(rng: np.random.Generator) -> np.ndarray:
    return utterance(rng, WAKE_WORD)


def look_alike(rng: np.random.Generator) -> np.ndarray:
    """A word that is not the wake word: its syllables reordered, cut short, or mixed with foreign ones."""
    kind = int(rng.integers(0, 4))
    if kind == 0:
        order = tuple(rng.permutation(WAKE_WORD))
        if order == WAKE_WORD:
            order = order[::-1]
        return utterance(rng, order)
    if kind == 1:
        return utterance(rng, WAKE_WORD[:2] if rng.random() < 0.5 else WAKE_WORD[1:])
    if kind == 2:
        word = list(WAKE_WORD)
        word[int(rng.integers(3))] = str(rng.choice(_FOREIGN))
        return utterance(rng, tuple(word))
    count = int(rng.integers(1, 4))
    return utterance(rng, tuple(str(s) for s in rng.choice(list(_SYLLABLES), count)))


def background(rng: np.random.Generator, n: int, level: float) -> np.ndarray:
    """Room noise: coloured noise (a random spectral tilt), mains hum, and now and then a click."""
    white = rng.normal(0, 1, n)
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum *= 1 / np.maximum(freqs, 30.0) ** rng.uniform(0.3, 1.0)
    noise = np.fft.irfft(spectrum, n)
    noise /= noise.std() + 1e-12
    t = np.arange(n) / RATE
    noise += rng.uniform(0, 0.3) * np.sin(2 * np.pi * rng.choice([50.0, 60.0]) * t)
    clicks = rng.random(n) < 2e-5
    noise += clicks * rng.normal(0, 6, n)
    return level * noise


def to_int16(audio: np.ndarray) -> np.ndarray:
    return np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16)


def write_wav(path: Path, audio: np.ndarray, channels: int = 2) -> None:
    """16-bit PCM at 16 kHz; the interface board plays 2-channel files, so the signal is duplicated."""
    pcm = to_int16(audio)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(np.repeat(pcm[:, None], channels, axis=1).tobytes())


@dataclass(frozen=True)
class StreamPlan:
    """What a generated stream holds: its length and where each wake word and look-alike is."""

    length_s: float
    words: list[tuple[float, float]]        # wake words: (start s, end s)
    look_alikes: list[tuple[float, float]]


def make_stream(seed: int, length_s: float, words: int, look_alikes: int) -> tuple[np.ndarray, StreamPlan]:
    """A stream of room noise with `words` wake words and `look_alikes` other words at random, non-overlapping
    places at least 3 s apart (so detection windows never touch)."""
    rng = np.random.default_rng(seed)
    n = int(length_s * RATE)
    audio = background(rng, n, rng.uniform(0.01, 0.03))
    kinds = ["wake"] * words + ["other"] * look_alikes
    rng.shuffle(kinds)
    slot = (length_s - 2.0) / max(len(kinds), 1)
    if slot < 3.0:
        raise ValueError(f"{len(kinds)} words do not fit in {length_s:g} s at 3 s apart")
    plan = StreamPlan(length_s, [], [])
    for index, kind in enumerate(kinds):
        sound = wake_word(rng) if kind == "wake" else look_alike(rng)
        start = 1.0 + index * slot + rng.uniform(0.2, slot - len(sound) / RATE - 1.0)
        begin = int(start * RATE)
        audio[begin: begin + len(sound)] += sound * rng.uniform(0.25, 0.6)
        span = (round(begin / RATE, 4), round((begin + len(sound)) / RATE, 4))
        (plan.words if kind == "wake" else plan.look_alikes).append(span)
    return audio, plan


def write_stream(folder: Path, name: str, seed: int, length_s: float, words: int, look_alikes: int) -> Path:
    """Write `<name>.wav` and the truth file `<name>.json` in the MLCommons runner's format; returns the JSON path.

    Each file is written beside its place and renamed into it, the truth file last: a reader never sees half
    a stream, and two processes building the same stream at once both end with the same complete files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    audio, plan = make_stream(seed, length_s, words, look_alikes)
    wav = folder / f"{name}.wav"
    partial = wav.with_name(f".{wav.name}.{os.getpid()}")
    write_wav(partial, audio)
    os.replace(partial, wav)
    truth = [{"wav_file": wav.name, "sample_rate": RATE, "length_sec": plan.length_s,
              "detection_windows": [list(span) for span in plan.words]}]
    path = folder / f"{name}.json"
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path
