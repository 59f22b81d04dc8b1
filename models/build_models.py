"""Build edgeperf's bundled benchmark models from synthetic data generated here.

The architectures and I/O contracts are those of the MLPerf Tiny v1.4 reference models
(DS-CNN, MobileNetV1 0.25, ResNet-8, the larger ic02 ResNet, FC autoencoder, and the sww01
streaming DS-CNN over log filterbank energies). The data is synthetic but the tasks
are real: each model is trained on generated data, converted to a full-integer int8
.tflite, and checked with TFLite Micro on freshly generated held-out data against the
MLPerf Tiny quality target before anything is written. Outputs (default: next to this file):

    <model>.tflite                   int8 input, int8 output, batch 1
    samples/<model>/y_labels.csv     held-out labelled samples in the MLPerf Tiny dataset layout
    samples/<model>/*.bin            (never seen in training; ic02 uses ic01's, as MLPerf Tiny does;
                                     sww01's test stream is generated at first use from
                                     host/edgeperf/datasets/sww_synth.py)

TensorFlow is needed only for this script:   pip install 'edgeperf[build-models]'
Usage:   python models/build_models.py [--only kws01 vww01 ...] [--epochs-scale 1.0] [--out DIR]

Everything is seeded: a rebuild on the same TensorFlow version gives the same models.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 7411

# Label orders and target metrics of the MLPerf Tiny workloads.
KWS_CLASSES = ["Down", "Go", "Left", "No", "Off", "On", "Right", "Stop", "Up", "Yes", "Silence", "Unknown"]
IC_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TARGETS = {"kws01": 90.0, "vww01": 80.0, "ic01": 85.0, "ic02": 91.0, "ad01": 0.85}

INSTALL_HINT = "pip install 'edgeperf[build-models]'"


def _tensorflow() -> ModuleType:
    """TensorFlow, imported on first use so the data generators stay importable without it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep the build log readable
    try:
        import tensorflow as tf
    except ImportError:
        sys.exit(f"models/build_models.py needs TensorFlow, an optional extra of edgeperf.\n"
                 f"Install it with:  {INSTALL_HINT}")
    return tf


def _keras() -> ModuleType:
    return _tensorflow().keras


# =============================================================== synthetic data (numpy only)
#
# Every generator takes a numpy Generator and returns float data in the model's input units
# plus integer labels. Training and held-out data come from different generator streams.


# ---------------------------------------------------------------- kws01: MFCC-like keywords

# Typical magnitude of each of the 10 MFCC coefficients (c0 carries the energy).
_MFCC_SCALE = np.array([14.0, 8.0, 6.5, 5.5, 5.0, 4.5, 4.0, 3.5, 3.2, 3.0])


@dataclass
class KwsLexicon:
    """A syllable inventory and the words built from it.

    Each syllable is a spectral shape (10 coefficients) with a linear glide over its
    duration. A keyword is an ordered pair of syllables; several keywords share a syllable,
    so a word is told apart only by the combination and its order. "Unknown" utterances
    string together syllables of a separate pool, sometimes with one keyword syllable.
    """

    shapes: np.ndarray   # [syllables, 10]
    glides: np.ndarray   # [syllables, 10]
    words: list[tuple[int, int]]
    other: np.ndarray    # syllable ids only used by non-keywords

    @classmethod
    def create(cls, rng: np.random.Generator) -> KwsLexicon:
        count = 18
        shapes = rng.normal(0, 1, (count, 10)) * _MFCC_SCALE
        shapes[:, 0] = rng.uniform(0.6, 1.4, count) * 2.5 * _MFCC_SCALE[0]  # voiced: energy up
        glides = rng.normal(0, 0.7, (count, 10)) * _MFCC_SCALE
        # Ten keywords over syllables 0..9; every syllable is used by two words.
        words = [(0, 1), (2, 1), (3, 4), (5, 6), (5, 7), (8, 7), (9, 0), (4, 3), (6, 2), (8, 9)]
        return cls(shapes, glides, words, np.arange(10, count))


def _kws_background(rng: np.random.Generator, level: float) -> np.ndarray:
    """Room noise: a per-utterance channel offset plus temporally correlated frame noise."""
    offset = rng.normal(0, 0.25, 10) * _MFCC_SCALE
    offset[0] -= 30.0  # quiet: low energy
    noise = rng.normal(0, 1, (52, 10))
    noise = (noise[:-3] + noise[1:-2] + noise[2:-1] + noise[3:]) / 2  # short smoothing over time
    return offset + level * noise[:49] * _MFCC_SCALE / 5.0


def _kws_utterance(rng: np.random.Generator, lex: KwsLexicon, syllables: list[int]) -> np.ndarray:
    """Render syllables in sequence with a random onset, speaking rate, loudness and timbre."""
    t = np.arange(49, dtype=np.float64)[:, None]
    total = rng.uniform(16, 30)                       # speaking rate (time stretch), frames
    start = rng.uniform(2, 47 - total)                # random time shift
    weights = rng.uniform(0.7, 1.3, len(syllables))
    bounds = start + total * np.concatenate([[0], np.cumsum(weights) / weights.sum()])
    gain = rng.uniform(0.55, 1.25)                    # loudness
    timbre = rng.normal(0, 0.18, 10) * _MFCC_SCALE    # speaker colouring shared by all syllables
    out = np.zeros((49, 10))
    for index, syl in enumerate(syllables):
        lo, hi = bounds[index], bounds[index + 1]
        mid, half = (lo + hi) / 2, (hi - lo) / 2 + 1.5
        phase = np.clip((t - mid) / half, -1, 1)
        envelope = np.cos(phase * np.pi / 2) ** 2
        out += envelope * (lex.shapes[syl] + timbre + lex.glides[syl] * phase * rng.uniform(0.6, 1.4))
    return gain * out


def kws_sample(rng: np.random.Generator, lex: KwsLexicon, label: int) -> np.ndarray:
    """One 49x10 float 'MFCC' map of class `label` (see KWS_CLASSES)."""
    if label == 10:  # silence: low-level noise only
        return _kws_background(rng, rng.uniform(0.3, 0.9))
    background = _kws_background(rng, rng.uniform(1.0, 2.6))
    if label == 11:  # unknown: two or three syllables that never form a keyword
        count = int(rng.integers(2, 4))
        syllables = list(rng.choice(lex.other, count))
        if rng.random() < 0.5:  # mix in one keyword syllable
            syllables[int(rng.integers(count))] = int(rng.integers(10))
        return background + _kws_utterance(rng, lex, syllables)
    return background + _kws_utterance(rng, lex, list(lex.words[label]))


def kws_data(rng: np.random.Generator, lex: KwsLexicon, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % 12
    rng.shuffle(labels)
    x = np.stack([kws_sample(rng, lex, int(label)) for label in labels]).astype(np.float32)
    return x[..., None], labels


# ---------------------------------------------------------------- image drawing helpers

def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid, bilinearly upsampled to size x size."""
    grid = rng.random((cells + 1, cells + 1))
    pos = np.linspace(0, cells, size)
    i0 = np.minimum(pos.astype(int), cells - 1)
    f = pos - i0
    rows = grid[i0] * (1 - f)[:, None] + grid[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


class Canvas:
    """A float RGB image in [0, 1] with anti-aliased primitives (coverage from a signed distance).

    Each primitive is evaluated only inside its bounding box (plus a pixel of margin).
    """

    def __init__(self, image: np.ndarray):
        self.image = image
        h, w, _ = image.shape
        self.yy, self.xx = np.mgrid[:h, :w].astype(np.float64) + 0.5

    def _box(self, ymin: float, ymax: float, xmin: float, xmax: float) -> tuple[slice, slice] | None:
        h, w, _ = self.image.shape
        y0, y1 = max(int(np.floor(ymin)) - 1, 0), min(int(np.ceil(ymax)) + 2, h)
        x0, x1 = max(int(np.floor(xmin)) - 1, 0), min(int(np.ceil(xmax)) + 2, w)
        return (slice(y0, y1), slice(x0, x1)) if y0 < y1 and x0 < x1 else None

    def _paint(self, box: tuple[slice, slice], distance: np.ndarray, color: np.ndarray) -> None:
        alpha = np.clip(0.5 - distance, 0, 1)[..., None]
        self.image[box] = self.image[box] * (1 - alpha) + np.asarray(color) * alpha

    def ellipse(self, cy: float, cx: float, ry: float, rx: float, color: np.ndarray, angle: float = 0.0) -> None:
        rx, ry = max(rx, 0.6), max(ry, 0.6)
        reach = max(rx, ry)
        box = self._box(cy - reach, cy + reach, cx - reach, cx + reach)
        if box is None:
            return
        c, s = np.cos(angle), np.sin(angle)
        dy, dx = self.yy[box] - cy, self.xx[box] - cx
        u, v = dx * c + dy * s, -dx * s + dy * c
        self._paint(box, (np.sqrt((u / rx) ** 2 + (v / ry) ** 2) - 1) * min(rx, ry), color)

    def segment(self, y0: float, x0: float, y1: float, x1: float, width: float, color: np.ndarray) -> None:
        half = width / 2
        box = self._box(min(y0, y1) - half, max(y0, y1) + half, min(x0, x1) - half, max(x0, x1) + half)
        if box is None:
            return
        yy, xx = self.yy[box], self.xx[box]
        dy, dx = y1 - y0, x1 - x0
        t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / (dy * dy + dx * dx + 1e-9), 0, 1)
        self._paint(box, np.hypot(yy - y0 - t * dy, xx - x0 - t * dx) - half, color)

    def rectangle(self, cy: float, cx: float, h: float, w: float, angle: float, color: np.ndarray) -> None:
        reach = np.hypot(h, w) / 2
        box = self._box(cy - reach, cy + reach, cx - reach, cx + reach)
        if box is None:
            return
        c, s = np.cos(angle), np.sin(angle)
        dy, dx = self.yy[box] - cy, self.xx[box] - cx
        u, v = np.abs(dx * c + dy * s) - w / 2, np.abs(-dx * s + dy * c) - h / 2
        self._paint(box, np.maximum(u, v), color)

    def polygon(self, points: np.ndarray, color: np.ndarray) -> None:
        """Convex polygon, vertices (y, x) in counter-clockwise order on screen."""
        box = self._box(points[:, 0].min(), points[:, 0].max(), points[:, 1].min(), points[:, 1].max())
        if box is None:
            return
        yy, xx = self.yy[box], self.xx[box]
        distance = np.full(yy.shape, -np.inf)
        for (y0, x0), (y1, x1) in zip(points, np.roll(points, -1, axis=0)):
            ny, nx = x1 - x0, -(y1 - y0)  # outward normal for this winding
            distance = np.maximum(distance, ((yy - y0) * ny + (xx - x0) * nx) / (np.hypot(ny, nx) + 1e-9))
        self._paint(box, distance, color)


def _random_color(rng: np.random.Generator, avoid: np.ndarray | None = None, distance: float = 0.35) -> np.ndarray:
    while True:
        color = rng.uniform(0, 1, 3)
        if avoid is None or np.abs(color - avoid).sum() >= distance:
            return color


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


# ---------------------------------------------------------------- vww01: person / not person

def _vww_background(rng: np.random.Generator, size: int) -> Canvas:
    """A textured scene: value-noise texture, a gradient, stripes or blocks, then clutter."""
    base, other = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    style = rng.integers(0, 4)
    if style == 0:
        mix = _smooth_noise(rng, size, int(rng.integers(2, 9)))
    elif style == 1:
        yy, xx = np.mgrid[:size, :size] / size
        angle = rng.uniform(0, np.pi)
        mix = (np.cos(angle) * yy + np.sin(angle) * xx + 1) / 2 + 0.15 * _smooth_noise(rng, size, 4)
    elif style == 2:
        yy, xx = np.mgrid[:size, :size]
        angle, period = rng.uniform(0, np.pi), rng.uniform(6, 24)
        mix = 0.5 + 0.5 * np.sin((np.cos(angle) * yy + np.sin(angle) * xx) * 2 * np.pi / period)
    else:
        cells = int(rng.integers(2, 6))
        mix = np.kron(rng.random((cells, cells)), np.ones((size // cells + 1, size // cells + 1)))[:size, :size]
    mix = np.clip(mix, 0, 1)[..., None]
    image = base * (1 - mix) + other * mix + 0.08 * (_smooth_noise(rng, size, 16)[..., None] - 0.5)
    canvas = Canvas(image)
    for _ in range(int(rng.integers(1, 6))):
        _distractor(rng, canvas, size)
    return canvas


def _distractor(rng: np.random.Generator, canvas: Canvas, size: int) -> None:
    """Shapes a person detector must ignore: blobs, boxes, poles, triangles, a ball on a stick."""
    color = rng.uniform(0, 1, 3)
    cy, cx = rng.uniform(0, size, 2)
    kind = rng.integers(0, 5)
    if kind == 0:
        canvas.ellipse(cy, cx, rng.uniform(3, 16), rng.uniform(3, 16), color, rng.uniform(0, np.pi))
    elif kind == 1:
        canvas.rectangle(cy, cx, rng.uniform(4, 40), rng.uniform(4, 40), rng.uniform(0, np.pi), color)
    elif kind == 2:
        angle, length = rng.uniform(0, np.pi), rng.uniform(10, 70)
        canvas.segment(cy, cx, cy + length * np.sin(angle), cx + length * np.cos(angle), rng.uniform(1.5, 6), color)
    elif kind == 3:
        r = rng.uniform(5, 18)
        angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2.1, 4.2]) + rng.uniform(-0.3, 0.3, 3)
        canvas.polygon(np.stack([cy - r * np.sin(angles), cx + r * np.cos(angles)], axis=1), color)
    else:  # a round thing on a pole: head-like, but no body or limbs
        r = rng.uniform(3, 8)
        canvas.segment(cy, cx, cy + rng.uniform(15, 45), cx + rng.uniform(-4, 4), rng.uniform(1.5, 4), color)
        canvas.ellipse(cy, cx, r, r, rng.uniform(0, 1, 3))


def _person(rng: np.random.Generator, canvas: Canvas, size: int) -> None:
    """An articulated figure: head, neck, torso, two-segment arms and legs, random pose and colours."""
    height = rng.uniform(42, 88)              # head to feet, pixels
    u = height / 8.0                          # body unit (about one head)
    cx = rng.uniform(0.15, 0.85) * size
    top = rng.uniform(-0.05 * height, size - 0.92 * height)
    lean = rng.normal(0, 0.12)                # whole-body tilt, radians
    # Clothes stand out from the scene behind the figure (a person can still blend in partly).
    behind = canvas.image[max(int(top), 0):max(int(top + height), 1), max(int(cx - 2 * u), 0):int(cx + 2 * u) + 1]
    scene = behind.reshape(-1, 3).mean(axis=0)
    skin = np.array([rng.uniform(0.35, 1.0), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.65)])
    shirt, trousers = _random_color(rng, scene, 0.45), _random_color(rng, scene, 0.45)
    hair = rng.uniform(0, 0.5, 3)

    def at(dy: float, dx: float) -> tuple[float, float]:  # body coordinates -> image (tilted about the hip)
        hip = 4.2 * u
        y, x = dy - hip, dx
        c, s = np.cos(lean), np.sin(lean)
        return top + hip + y * c - x * s, cx + y * s + x * c

    def limb(start: tuple[float, float], a1: float, a2: float, l1: float, l2: float, width: float,
             color: np.ndarray) -> None:
        y0, x0 = at(*start)
        y1 = y0 + l1 * np.cos(a1 + lean)
        x1 = x0 + l1 * np.sin(a1 + lean)
        y2, x2 = y1 + l2 * np.cos(a2 + lean), x1 + l2 * np.sin(a2 + lean)
        canvas.segment(y0, x0, y1, x1, width, color)
        canvas.segment(y1, x1, y2, x2, width * 0.85, color)
        canvas.ellipse(y2, x2, width * 0.55, width * 0.55, color)

    shoulder_w, hip_w = rng.uniform(0.85, 1.15) * u, rng.uniform(0.55, 0.8) * u
    # legs (behind the torso)
    for side in (-1, 1):
        thigh = side * rng.uniform(0.0, 0.45)
        knee = thigh + rng.uniform(-0.35, 0.35)
        limb((4.0 * u, side * hip_w * 0.6), thigh, knee, 2.0 * u, 2.0 * u, 0.75 * u, trousers)
    # torso and neck
    ty, tx = at(2.65 * u, 0)
    canvas.ellipse(ty, tx, 1.75 * u, shoulder_w, shirt, angle=lean)
    ny, nx = at(1.05 * u, 0)
    canvas.segment(ny - 0.3 * u, nx, ny + 0.4 * u, nx, 0.45 * u, skin)
    # arms: upper arm in shirt colour, forearm skin
    for side in (-1, 1):
        upper = side * rng.uniform(0.15, 2.6)      # hanging down .. raised
        lower = upper + side * rng.uniform(-1.2, 1.2)
        y0, x0 = at(1.45 * u, side * shoulder_w * 0.9)
        y1, x1 = y0 + 1.5 * u * np.cos(upper + lean), x0 + 1.5 * u * np.sin(upper + lean)
        y2, x2 = y1 + 1.4 * u * np.cos(lower + lean), x1 + 1.4 * u * np.sin(lower + lean)
        canvas.segment(y0, x0, y1, x1, 0.55 * u, shirt)
        canvas.segment(y1, x1, y2, x2, 0.42 * u, skin)
        canvas.ellipse(y2, x2, 0.27 * u, 0.27 * u, skin)
    # head with hair
    hy, hx = at(0.5 * u, 0)
    canvas.ellipse(hy, hx, 0.55 * u, 0.45 * u, skin)
    if rng.random() < 0.7:
        canvas.ellipse(hy - 0.25 * u, hx, 0.32 * u, 0.46 * u, hair)


def vww_image(rng: np.random.Generator, person: bool, size: int = 96) -> np.ndarray:
    """One 96x96 uint8 RGB scene; a person figure is drawn when `person`."""
    canvas = _vww_background(rng, size)
    if person:
        _person(rng, canvas, size)
    image = canvas.image * rng.uniform(0.7, 1.2) + rng.uniform(-0.1, 0.1)  # exposure
    return _to_uint8(image + rng.normal(0, rng.uniform(0.01, 0.05), image.shape))


def vww_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    return np.stack([vww_image(rng, bool(label)) for label in labels]), labels


# ---------------------------------------------------------------- ic01: ten pattern classes

def _ic_mask(rng: np.random.Generator, label: int, canvas: Canvas) -> np.ndarray:
    """Coverage (0..1) of the class pattern on a 32x32 grid."""
    yy, xx = canvas.yy, canvas.xx
    cy, cx = rng.uniform(11, 21, 2)
    r = rng.uniform(6, 11)
    angle = rng.uniform(0, np.pi)
    period, phase = rng.uniform(4.5, 8), rng.uniform(0, 8)
    c, s = np.cos(angle), np.sin(angle)
    u, v = (xx - cx) * c + (yy - cy) * s, -(xx - cx) * s + (yy - cy) * c
    soft = lambda d: np.clip(0.5 - d, 0, 1)  # noqa: E731 - distance to coverage
    if label == 0:    # disc
        return soft(np.hypot(u, v) - r)
    if label == 1:    # square, any rotation
        return soft(np.maximum(np.abs(u), np.abs(v)) - 0.8 * r)
    if label == 2:    # triangle, any rotation
        d = np.full(u.shape, -np.inf)
        for k in range(3):
            a = 2 * np.pi * k / 3
            d = np.maximum(d, u * np.cos(a) + v * np.sin(a) - 0.5 * r)
        return soft(d)
    if label == 3:    # ring
        return soft(np.abs(np.hypot(u, v) - 0.8 * r) - rng.uniform(1.0, 2.0))
    if label == 4:    # plus / cross, any rotation
        arm = rng.uniform(1.2, 2.2)
        return soft(np.minimum(np.maximum(np.abs(u) - arm, np.abs(v) - r), np.maximum(np.abs(v) - arm, np.abs(u) - r)))
    if label in (5, 6):  # straight stripes, roughly horizontal (5) or vertical (6)
        tilt = rng.uniform(-0.35, 0.35) + (0 if label == 5 else np.pi / 2)
        coord = yy * np.cos(tilt) - xx * np.sin(tilt) + phase
        return (np.sin(coord * 2 * np.pi / period) > 0).astype(np.float64)
    if label == 7:    # checkerboard
        cell = period / 1.6
        return ((np.floor((u + 40) / cell) + np.floor((v + 40) / cell)) % 2).astype(np.float64)
    if label == 8:    # grid of dots
        du = (u + 40) % period - period / 2
        dv = (v + 40) % period - period / 2
        return soft(np.hypot(du, dv) - period * rng.uniform(0.18, 0.28))
    # 9: wavy stripes
    coord = v + rng.uniform(1.5, 3) * np.sin(u * 2 * np.pi / rng.uniform(8, 14))
    return (np.sin(coord * 2 * np.pi / period) > 0).astype(np.float64)


def ic_image(rng: np.random.Generator, label: int) -> np.ndarray:
    """One 32x32 uint8 RGB image of pattern class `label` with random colours, texture and noise."""
    bg = rng.uniform(0, 1, 3)
    fg = _random_color(rng, avoid=bg, distance=0.6)
    canvas = Canvas(np.zeros((32, 32, 3)))
    texture = _smooth_noise(rng, 32, int(rng.integers(2, 6)))[..., None] - 0.5
    background = bg + rng.uniform(0, 0.35) * texture
    foreground = fg + rng.uniform(0, 0.2) * (_smooth_noise(rng, 32, 4)[..., None] - 0.5)
    mask = _ic_mask(rng, label, canvas)[..., None]
    image = background * (1 - mask) + foreground * mask
    return _to_uint8(image + rng.normal(0, rng.uniform(0.02, 0.08), image.shape))


def ic_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    return np.stack([ic_image(rng, int(label)) for label in labels]), labels


# ---------------------------------------------------------------- ad01: machine-sound log-mel

AD_FRAMES, AD_MELS = 200, 128


def _mel_bin(hz: np.ndarray | float) -> np.ndarray:
    """Position on a 128-band mel axis spanning 0..8 kHz (16 kHz audio)."""
    mel = 2595 * np.log10(1 + np.asarray(hz, dtype=np.float64) / 700)
    return mel / (2595 * np.log10(1 + 8000 / 700)) * (AD_MELS - 1)


@dataclass(frozen=True)
class Machine:
    """The normal machine: a rotation fundamental with harmonics and two body resonances (levels in dB)."""

    f0: float = 172.0
    harmonics: tuple[float, ...] = (8.0, 4.0, 12.0, -1.0, 3.0, -7.0, -3.0, -13.0, -9.0, -17.0)
    # (Hz, dB, width in mel bins)
    resonances: tuple[tuple[float, float, float], ...] = ((2300.0, -10.0, 6.0), (5200.0, -16.0, 9.0))


def ad_spectrogram(rng: np.random.Generator, machine: Machine, anomaly: int = 0) -> np.ndarray:
    """200 frames x 128 mels of log-mel 'machine sound' in dB (float32, roughly -60..+20).

    anomaly 0 = normal; 1 = a foreign tone series (a worn bearing), 2 = detuned harmonics
    (wrong speed), 3 = broadband knocks, 4 = a rattle (periodic high-frequency clicks).
    Strengths vary, so some anomalies are subtle.
    """
    t = np.arange(AD_FRAMES, dtype=np.float64)[:, None]
    m = np.arange(AD_MELS, dtype=np.float64)[None, :]
    drift = 1 + 0.006 * np.sin(2 * np.pi * t / rng.uniform(60, 200) + rng.uniform(0, 2 * np.pi))
    f0 = machine.f0 * rng.uniform(0.985, 1.015) * drift
    floor_db = -56 + 14 * np.exp(-m / 30) + rng.normal(0, 1.0)
    power = 10 ** (floor_db / 10)
    level = rng.normal(0, 1.5) + 1.0 * np.sin(2 * np.pi * t / rng.uniform(80, 300) + rng.uniform(0, 6.3))

    def tone(hz: np.ndarray, db: np.ndarray | float, width: float = 1.1) -> np.ndarray:
        return 10 ** ((np.asarray(db) + level) / 10) * np.exp(-0.5 * ((m - _mel_bin(hz)) / width) ** 2)

    for k, db in enumerate(machine.harmonics, start=1):
        power = power + tone(k * f0, db + rng.normal(0, 0.8))
    for hz, db, width in machine.resonances:
        power = power + tone(np.array(hz), db + rng.normal(0, 1.0), width)

    strength = rng.uniform(0.3, 1.0)
    if anomaly == 1:
        ratio = rng.uniform(1.3, 1.7)
        for k in range(1, 4):
            power = power + tone(k * ratio * f0, 12 * strength - 6 - 5 * k)
    elif anomaly == 2:
        power = 10 ** (floor_db / 10)
        shift = 1 + rng.choice([-1, 1]) * rng.uniform(0.04, 0.12) * strength
        for k, db in enumerate(machine.harmonics, start=1):
            power = power + tone(k * f0 * shift, db)
        for hz, db, width in machine.resonances:
            power = power + tone(np.array(hz), db, width)
    elif anomaly == 3:
        hits = rng.random((AD_FRAMES, 1)) < rng.uniform(0.08, 0.25)
        shape = 10 ** ((20 * strength - 40 + level - m / rng.uniform(25, 80)) / 10)
        power = power + hits * shape
    elif anomaly == 4:
        period = int(rng.integers(3, 9))
        clicks = (np.arange(AD_FRAMES)[:, None] % period) == int(rng.integers(period))
        band = np.exp(-0.5 * ((m - rng.uniform(70, 115)) / rng.uniform(6, 15)) ** 2)
        power = power + clicks * 10 ** ((14 * strength - 18 + level) / 10) * band
    db = 10 * np.log10(power) + rng.normal(0, 1.2, (AD_FRAMES, AD_MELS))
    return db.astype(np.float32)


def ad_windows(spectrogram: np.ndarray) -> np.ndarray:
    """The 196 windows of 5 consecutive frames, flattened frame-major (640 floats each)."""
    return np.stack([spectrogram[i:i + 5].reshape(-1) for i in range(AD_FRAMES - 4)])


# ---------------------------------------------------------------- sww01: streaming wake word

SWW_FRAMES, SWW_HOP, SWW_FFT = 30, 512, 1024
SWW_WINDOW_SAMPLES = (SWW_FRAMES - 1) * SWW_HOP + SWW_FFT   # the audio one model input sees (~1 s)


def _sww_features() -> Callable[[np.ndarray], np.ndarray]:
    """The virtual sww board's front end (float features in the model's input units), shared so that the
    bundled model is trained on exactly what the board computes."""
    sys.path.insert(0, str(HERE.parent / "host"))
    from edgeperf.datasets.audio import sww_features
    return sww_features


def sww_clip(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One model window of audio and its class, in the reference model's order: 0 wake word, 1 other
    sound, 2 silence.

    A wake word counts only when all of it is inside the window; one cut by the window's start is
    "other", which teaches the model to fire once the word has ended (as a streaming detector must).
    """
    from edgeperf.datasets import sww_synth

    n = SWW_WINDOW_SAMPLES
    audio = sww_synth.background(rng, n, rng.uniform(0.003, 0.04))
    kind = rng.choice(["wake", "cut", "other", "silence"], p=[0.35, 0.15, 0.3, 0.2])
    if kind == "silence":
        return audio, 2
    word = sww_synth.wake_word(rng) if kind in ("wake", "cut") else sww_synth.look_alike(rng)
    gain = rng.uniform(0.15, 0.7)
    if kind == "cut":  # the word started before the window: only its last 30..70 % is in it
        keep = int(len(word) * rng.uniform(0.3, 0.7))
        audio[:keep] += gain * word[-keep:]
        return audio, 1
    start = int(rng.integers(0, n - len(word)))
    audio[start: start + len(word)] += gain * word
    return audio, 0 if kind == "wake" else 1


def sww_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    features = _sww_features()
    clips = [sww_clip(rng) for _ in range(n)]
    x = np.stack([features(audio) for audio, _ in clips]).astype(np.float32)
    return x[:, :, None, :], np.array([label for _, label in clips])


# =============================================================== architectures (MLPerf Tiny v1)

def _bn() -> object:
    # Faster-moving statistics than Keras' default 0.99: short trainings otherwise convert
    # with stale batch-norm statistics.
    return _keras().layers.BatchNormalization(momentum=0.9)


def ds_cnn(batch_size: int | None = None) -> object:
    """DS-CNN (kws01): conv 10x4/2 x64, 4 x (depthwise 3x3 + pointwise 64), avg-pool, FC 12."""
    layers = _keras().layers
    inputs = _keras().Input((49, 10, 1), batch_size=batch_size)
    x = layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same")(inputs)
    x = layers.ReLU()(_bn()(x))
    x = layers.Dropout(0.1)(x)
    for _ in range(4):
        x = layers.ReLU()(_bn()(layers.DepthwiseConv2D((3, 3), padding="same")(x)))
        x = layers.ReLU()(_bn()(layers.Conv2D(64, (1, 1))(x)))
    x = layers.Dropout(0.2)(x)
    x = layers.Flatten()(layers.AveragePooling2D((25, 5))(x))
    return _keras().Model(inputs, layers.Dense(12, activation="softmax")(x))


def mobilenet_v1_025(batch_size: int | None = None) -> object:
    """MobileNetV1 alpha 0.25 at 96x96 (vww01): 14 convolutions, 13 depthwise, avg-pool, FC 2."""
    layers = _keras().layers
    inputs = _keras().Input((96, 96, 3), batch_size=batch_size)
    x = layers.ReLU()(_bn()(layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)))
    for filters, stride in [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1),
                            (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)]:
        x = layers.ReLU()(_bn()(layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)))
        x = layers.ReLU()(_bn()(layers.Conv2D(filters, 1, use_bias=False)(x)))
    x = layers.Flatten()(layers.AveragePooling2D(3)(x))
    return _keras().Model(inputs, layers.Dense(2, activation="softmax")(x))


def resnet8(batch_size: int | None = None, width: int = 16) -> object:
    """ResNet-8 (ic01): conv 16, three residual stacks 16/32/64 (1x1 projections), avg-pool, FC 10.

    `width` is the first stack's filter count; the other two stacks double it each time.
    """
    layers = _keras().layers
    l2 = _keras().regularizers.l2(1e-4)

    def stack(x: object, filters: int, stride: int) -> object:
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", kernel_regularizer=l2)(x)
        y = layers.ReLU()(_bn()(y))
        y = _bn()(layers.Conv2D(filters, 3, padding="same", kernel_regularizer=l2)(y))
        if stride != 1:
            x = layers.Conv2D(filters, 1, strides=stride, kernel_regularizer=l2)(x)
        return layers.ReLU()(layers.Add()([x, y]))

    inputs = _keras().Input((32, 32, 3), batch_size=batch_size)
    x = layers.ReLU()(_bn()(layers.Conv2D(width, 3, padding="same", kernel_regularizer=l2)(inputs)))
    x = stack(x, width, 1)
    x = stack(x, 2 * width, 2)
    x = stack(x, 4 * width, 2)
    x = layers.Flatten()(layers.AveragePooling2D(8)(x))
    return _keras().Model(inputs, layers.Dense(10, activation="softmax")(x))


def resnet_large(batch_size: int | None = None) -> object:
    """The v1.4 ic02 ResNet: ResNet-8's layout at 2.5x the width (stacks of 40/80/160 filters)."""
    return resnet8(batch_size, width=40)


def sww_dscnn(batch_size: int | None = None) -> object:
    """The sww01 reference layout: four depthwise (3, 5, 10, 15 frames, no padding) + pointwise stages over
    time on 30x1x40 features, pointwise 128/128/128/32, FC 3, softmax."""
    layers = _keras().layers
    inputs = _keras().Input((SWW_FRAMES, 1, 40), batch_size=batch_size)
    x = inputs
    for kernel, filters in ((3, 128), (5, 128), (10, 128), (15, 32)):
        x = layers.ReLU()(_bn()(layers.DepthwiseConv2D((kernel, 1), padding="valid")(x)))
        x = layers.ReLU()(_bn()(layers.Conv2D(filters, 1)(x)))
    x = layers.Flatten()(layers.Dropout(0.1)(x))
    return _keras().Model(inputs, layers.Dense(3, activation="softmax")(x))


def fc_autoencoder(batch_size: int | None = None) -> object:
    """FC autoencoder (ad01): 640-128-128-128-128-8-128-128-128-128-640, BN + ReLU between."""
    layers = _keras().layers
    inputs = _keras().Input((640,), batch_size=batch_size)
    x = inputs
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = layers.ReLU()(_bn()(layers.Dense(units)(x)))
    return _keras().Model(inputs, layers.Dense(640)(x))


# =============================================================== training, conversion, checks

def train(model: object, x: np.ndarray, y: np.ndarray, epochs: int, loss: str, lr: float, batch: int = 64,
          input_scale: float = 1.0, flip: bool = False, seed: int = 0) -> None:
    """Adam with a cosine-decaying learning rate; no validation split (held-out data is checked later).

    `x` may be uint8 images: each batch is converted to float times `input_scale` on the fly, and
    with `flip` every image is mirrored left-right with probability 1/2, anew in every epoch.
    (For the autoencoder the targets are the float inputs themselves: `input_scale` stays 1.)
    """
    tf, keras = _tensorflow(), _keras()
    steps = epochs * int(np.ceil(len(x) / batch))
    schedule = keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss,
                  metrics=["accuracy"] if "crossentropy" in loss else [])

    def prepare(features: object, labels: object) -> tuple[object, object]:
        features = tf.cast(features, tf.float32) * input_scale
        if flip:
            mirrored = tf.random.uniform((tf.shape(features)[0], 1, 1, 1), seed=seed) < 0.5
            features = tf.where(mirrored, tf.reverse(features, axis=[2]), features)
        return features, labels

    data = (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .batch(batch)
            .map(prepare)
            .prefetch(2))
    model.fit(data, epochs=epochs, verbose=2)


def to_int8_tflite(model: object, architecture: Callable[..., object], representative: np.ndarray) -> bytes:
    """Full-integer int8 conversion of a batch-1 copy of `model` (no dynamic-shape operators)."""
    tf = _tensorflow()
    fixed = architecture(batch_size=1)
    fixed.set_weights(model.get_weights())
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([row[None].astype(np.float32)] for row in representative)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints the whole exported signature
        return converter.convert()


class Micro:
    """The converted model run by TFLite Micro, as on the device."""

    def __init__(self, tflite: bytes):
        try:
            from tflite_micro import runtime
        except ImportError:
            sys.exit("the held-out check runs TFLite Micro: pip install tflite-micro (an edgeperf dependency)")
        self.interpreter = runtime.Interpreter.from_bytes(tflite, arena_size=512 * 1024)
        params = self.interpreter.get_input_details(0)["quantization_parameters"]
        self.scale, self.zero_point = float(params["scales"][0]), int(params["zero_points"][0])
        out = self.interpreter.get_output_details(0)["quantization_parameters"]
        self.out_scale, self.out_zero_point = float(out["scales"][0]), int(out["zero_points"][0])

    def quantize(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x / self.scale) + self.zero_point, -128, 127).astype(np.int8)

    def run(self, q: np.ndarray) -> np.ndarray:
        """int8 input (one sample, no batch axis) -> dequantized output vector."""
        self.interpreter.set_input(q[None], 0)
        self.interpreter.invoke()
        out = self.interpreter.get_output(0).reshape(-1).astype(np.float64)
        return (out - self.out_zero_point) * self.out_scale


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a positive outscores a negative (ties count half)."""
    pos, neg = scores[positive][:, None], scores[~positive][None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def check(name: str, value: float, what: str) -> None:
    target = TARGETS[name]
    print(f"{name}: held-out {what} with TFLite Micro = {value:.4g} (MLPerf Tiny target {target:g})", flush=True)
    if value < target:
        sys.exit(f"{name}: the int8 model misses its quality target on held-out data; not writing it")


def expect_input(name: str, micro: Micro, scale: float, zero_point: int) -> None:
    if abs(micro.scale - scale) > 1e-6 * scale or micro.zero_point != zero_point:
        sys.exit(f"{name}: input quantization is ({micro.scale}, {micro.zero_point}), expected ({scale}, {zero_point})")


def write_samples(folder: Path, rows: list[tuple[str, bytes, list[int]]]) -> None:
    """Write .bin files, a header-less y_labels.csv (file,num_classes,label[,window,stride]) and the dataset
    manifest naming the model beside samples/ whose input quantization the files were made for."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with (folder / "y_labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for file_name, data, columns in rows:
            (folder / file_name).write_bytes(data)
            writer.writerow([file_name, *columns])
    sys.path.insert(0, str(HERE.parent / "host"))
    from edgeperf.datasets.manifest import manifest_for, write_manifest

    name = folder.name
    write_manifest(folder, manifest_for(name, f"models/build_models.py: synthetic held-out samples for the bundled "
                                              f"models/{name}.tflite", folder.parents[1] / f"{name}.tflite"))


# =============================================================== the four builds

@dataclass
class Build:
    out: Path
    epochs_scale: float
    seed: int

    def epochs(self, n: int) -> int:
        return max(1, round(n * self.epochs_scale))

    def streams(self) -> tuple[np.random.Generator, np.random.Generator]:
        """Independent generators for training data and for held-out (check + sample) data."""
        train_seq, held_seq = np.random.SeedSequence(self.seed).spawn(2)
        return np.random.default_rng(train_seq), np.random.default_rng(held_seq)


def build_kws(b: Build) -> None:
    train_rng, held_rng = b.streams()
    lexicon = KwsLexicon.create(np.random.default_rng(b.seed + 1))
    x, y = kws_data(train_rng, lexicon, 9600)
    model = ds_cnn()
    train(model, x, y, b.epochs(8), "sparse_categorical_crossentropy", 3e-3, batch=100, seed=b.seed)
    tflite = to_int8_tflite(model, ds_cnn, x[:400])
    micro = Micro(tflite)
    hx, hy = kws_data(held_rng, lexicon, 1200)
    hits = [np.argmax(micro.run(micro.quantize(sample))) == label for sample, label in zip(hx, hy)]
    check("kws01", 100 * float(np.mean(hits)), "top-1 %")
    rows = []
    for i, label in enumerate(np.tile(np.arange(12), 5)):
        q = micro.quantize(kws_sample(held_rng, lexicon, int(label))[..., None])
        rows.append((f"tst_{i:06d}_{KWS_CLASSES[label]}_{label}.bin", q.tobytes(), [12, int(label)]))
    (b.out / "kws01.tflite").write_bytes(tflite)
    write_samples(b.out / "samples" / "kws01", rows)


def build_vww(b: Build) -> None:
    train_rng, held_rng = b.streams()
    # Many scenes seen few times each: with fewer, MobileNet memorises the training set.
    x, y = vww_data(train_rng, 20000)
    model = mobilenet_v1_025()
    train(model, x, y, b.epochs(6), "sparse_categorical_crossentropy", 3e-3,
          input_scale=1 / 255, flip=True, seed=b.seed)
    representative = x[:300].astype(np.float32) / 255
    representative[0, 0, 0] = 0.0   # the input range must be exactly 0..1 (uint8 0..255):
    representative[0, 0, 1] = 1.0   # scale 1/255, zero point -128
    tflite = to_int8_tflite(model, mobilenet_v1_025, representative)
    micro = Micro(tflite)
    expect_input("vww01", micro, 1 / 255, -128)
    hx, hy = vww_data(held_rng, 600)
    # The firmware port feeds uint8 - 128, which is quantize(u8 / 255) for this input.
    hits = [np.argmax(micro.run((img.astype(np.int16) - 128).astype(np.int8))) == label for img, label in zip(hx, hy)]
    check("vww01", 100 * float(np.mean(hits)), "top-1 %")
    rows = []
    for i, label in enumerate([0, 1] * 10):
        kind = "person" if label else "notperson"
        rows.append((f"{kind}_{i:06d}.bin", vww_image(held_rng, bool(label)).tobytes(), [2, label]))
    (b.out / "vww01.tflite").write_bytes(tflite)
    write_samples(b.out / "samples" / "vww01", rows)


def _train_ic(b: Build, name: str, architecture: Callable[..., object], epochs: int) -> tuple[bytes, np.random.Generator]:
    """Train and convert an image classifier on the ten pattern classes; check it on held-out images."""
    train_rng, held_rng = b.streams()
    x, y = ic_data(train_rng, 7000)
    model = architecture()
    train(model, x, y, b.epochs(epochs), "sparse_categorical_crossentropy", 2e-3, flip=True, seed=b.seed)
    representative = x[:300].astype(np.float32)
    representative[0, 0, 0] = 0.0    # raw pixels: input range exactly 0..255, scale 1, zero point -128
    representative[0, 0, 1] = 255.0
    tflite = to_int8_tflite(model, architecture, representative)
    micro = Micro(tflite)
    expect_input(name, micro, 1.0, -128)
    hx, hy = ic_data(held_rng, 1000)
    hits = [np.argmax(micro.run((img.astype(np.int16) - 128).astype(np.int8))) == label for img, label in zip(hx, hy)]
    check(name, 100 * float(np.mean(hits)), "top-1 %")
    return tflite, held_rng


def build_ic(b: Build) -> None:
    tflite, held_rng = _train_ic(b, "ic01", resnet8, 12)
    rows = []
    for i in range(50):
        label = i % 10
        rows.append((f"{IC_CLASSES[label]}_{i:06d}.bin", ic_image(held_rng, label).tobytes(), [10, label]))
    (b.out / "ic01.tflite").write_bytes(tflite)
    write_samples(b.out / "samples" / "ic01", rows)


def build_ic2(b: Build) -> None:
    """ic02 runs on the ic01 dataset (MLPerf Tiny v1.4): only the model is written; samples/ic01 serves both."""
    tflite, _ = _train_ic(b, "ic02", resnet_large, 8)
    (b.out / "ic02.tflite").write_bytes(tflite)


def ad_score(micro: Micro, spectrogram: np.ndarray) -> float:
    """File anomaly score: mean over the 196 windows of the reconstruction MSE against the float input."""
    windows = ad_windows(spectrogram).astype(np.float64)
    return float(np.mean([np.mean((micro.run(micro.quantize(w)) - w) ** 2) for w in windows]))


def build_ad(b: Build) -> None:
    train_rng, held_rng = b.streams()
    machine = Machine()
    x = np.concatenate([ad_windows(ad_spectrogram(train_rng, machine)) for _ in range(80)])
    model = fc_autoencoder()
    train(model, x, x, b.epochs(30), "mse", 1e-3, batch=256, seed=b.seed)
    tflite = to_int8_tflite(model, fc_autoencoder, x[train_rng.choice(len(x), 600, replace=False)])
    micro = Micro(tflite)
    kinds = [0] * 40 + [1 + i % 4 for i in range(40)]
    scores = np.array([ad_score(micro, ad_spectrogram(held_rng, machine, kind)) for kind in kinds])
    check("ad01", auc(scores, np.array(kinds) > 0), "AUC")
    rows = []
    for i in range(20):
        kind = 0 if i < 10 else 1 + i % 4
        name = f"{'anomaly' if kind else 'normal'}_id_01_{i:08d}_hist_librosa.bin"
        data = ad_spectrogram(held_rng, machine, kind).astype("<f4").tobytes()
        rows.append((name, data, [2, int(kind > 0), 2560, 512]))
    (b.out / "ad01.tflite").write_bytes(tflite)
    write_samples(b.out / "samples" / "ad01", rows)


SWW_THRESHOLD = 115   # the reference firmware's DETECT_THRESHOLD on the wake-word output (int8)


def build_sww(b: Build) -> None:
    """The wake-word classifier, checked as the streaming firmware uses it: a detection is an int8
    wake-word output above SWW_THRESHOLD, so held-out words must clear it and other sounds must not."""
    train_rng, held_rng = b.streams()
    x, y = sww_data(train_rng, 12000)
    model = sww_dscnn()
    train(model, x, y, b.epochs(10), "sparse_categorical_crossentropy", 3e-3, batch=100, seed=b.seed)
    representative = x[:400].copy()
    representative[0, 0, 0, 0] = 0.0
    tflite = to_int8_tflite(model, sww_dscnn, representative)
    micro = Micro(tflite)
    hx, hy = sww_data(held_rng, 1500)
    raw = []
    for sample in hx:
        micro.interpreter.set_input(micro.quantize(sample)[None], 0)
        micro.interpreter.invoke()
        raw.append(int(micro.interpreter.get_output(0).reshape(-1)[0]))
    fired = np.array(raw) > SWW_THRESHOLD
    hit, false = float(np.mean(fired[hy == 0])), float(np.mean(fired[hy != 0]))
    print(f"sww01: held-out windows above the detection threshold: {100 * hit:.1f} % of wake words, "
          f"{100 * false:.2f} % of others", flush=True)
    if hit < 0.9 or false > 0.01:
        sys.exit("sww01: the int8 model misses its detection targets (90 % of words, 1 % false); not writing it")
    (b.out / "sww01.tflite").write_bytes(tflite)


BUILDERS: dict[str, Callable[[Build], None]] = {
    "kws01": build_kws, "vww01": build_vww, "ic01": build_ic, "ad01": build_ad, "ic02": build_ic2,
    "sww01": build_sww,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(BUILDERS), help="models to rebuild (default: all)")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every training length (default 1)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: models/)")
    args = parser.parse_args(argv)
    tf = _tensorflow()
    tf.config.experimental.enable_op_determinism()
    total = time.time()
    for index, name in enumerate(BUILDERS):
        if args.only and name not in args.only:
            continue
        start = time.time()
        seed = SEED + 100 * index
        tf.keras.backend.clear_session()  # fresh layer-name counters: tensor names in the file do not
        tf.keras.utils.set_random_seed(seed)  # depend on which models were built before
        BUILDERS[name](Build(args.out, args.epochs_scale, seed))
        print(f"{name}: built in {time.time() - start:.0f} s", flush=True)
    print(f"done in {time.time() - total:.0f} s; "
          "now run: python models/describe_models.py (refreshes models/README.md)")


if __name__ == "__main__":
    main()
