"""Build the four edgeperf benchmark models from synthetic data this script generates itself.

The architectures and I/O contracts are those of MLPerf Tiny v1 (DS-CNN, MobileNetV1 0.25,
ResNet-8, FC autoencoder); the tasks are synthetic but real: each model is trained on
generated data and must solve held-out data. Outputs (next to this file):

    <model>.tflite                   full-integer int8 model (int8 input and output)
    samples/<model>/y_labels.csv     held-out labelled samples in the MLPerf Tiny layout
    samples/<model>/*.bin

TensorFlow is needed only here:  pip install 'edgeperf[build-models]'
Usage:  python models/build_models.py [--only kws01 ...] [--epochs-scale 1.0]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
KWS_CLASSES = ["Down", "Go", "Left", "No", "Off", "On", "Right", "Stop", "Up", "Yes", "Silence", "Unknown"]
IC_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

try:
    import tensorflow as tf
    from tensorflow import keras
except ImportError:  # pragma: no cover - depends on the optional extra
    sys.exit("build_models.py needs TensorFlow, which is an optional extra: pip install 'edgeperf[build-models]'")


# ---------------------------------------------------------------- synthetic data

def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise: a coarse random grid upsampled bilinearly (a cheap texture)."""
    coarse = rng.random((cells + 1, cells + 1))
    ys = np.linspace(0, cells, shape[0])
    xs = np.linspace(0, cells, shape[1])
    y0 = np.floor(ys).astype(int).clip(0, cells - 1)
    x0 = np.floor(xs).astype(int).clip(0, cells - 1)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    a = coarse[y0][:, x0]
    b = coarse[y0][:, x0 + 1]
    c = coarse[y0 + 1][:, x0]
    d = coarse[y0 + 1][:, x0 + 1]
    return a * (1 - fy) * (1 - fx) + b * (1 - fy) * fx + c * fy * (1 - fx) + d * fy * fx


def kws_data(rng: np.random.Generator, n: int, templates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MFCC-like 49x10 maps: each keyword is a spectro-temporal template, shifted in time, scaled and noisy."""
    x = np.empty((n, 49, 10), np.float32)
    y = rng.integers(0, 12, n)
    for i, label in enumerate(y):
        base = rng.normal(0, 5.0, (49, 10))
        if label == 10:  # silence: background only
            x[i] = base * 0.8
            continue
        if label == 11:  # unknown: pieces of random words that are not one of the ten keywords
            parts = rng.choice(np.arange(12, templates.shape[0]), 2, replace=False)
            word = np.concatenate([templates[parts[0]][:25], templates[parts[1]][25:]])
        else:
            word = templates[label]
        shifted = np.roll(word, int(rng.integers(-6, 7)), axis=0)
        x[i] = base + shifted * rng.uniform(0.4, 1.2)
    return x[..., None], y


def kws_templates(rng: np.random.Generator) -> np.ndarray:
    """Ten keywords plus six non-keywords, each a smooth random time-frequency envelope."""
    t = np.arange(49)[:, None]
    out = []
    for _ in range(16):
        envelope = np.exp(-0.5 * ((t - rng.uniform(15, 34)) / rng.uniform(5, 10)) ** 2)
        spectrum = rng.normal(0, 12, (1, 10))
        sweep = np.sin(t / rng.uniform(3, 8) + rng.uniform(0, 6.28)) * rng.normal(0, 6, (1, 10))
        out.append(envelope * (spectrum + sweep))
    return np.array(out, np.float32)


def _draw_ellipse(img: np.ndarray, cy: float, cx: float, ry: float, rx: float, color: np.ndarray) -> None:
    h, w, _ = img.shape
    yy, xx = np.ogrid[:h, :w]
    mask = ((yy - cy) / max(ry, 0.5)) ** 2 + ((xx - cx) / max(rx, 0.5)) ** 2 <= 1
    img[mask] = color


def _draw_line(img: np.ndarray, y0: float, x0: float, y1: float, x1: float, width: float, color: np.ndarray) -> None:
    h, w, _ = img.shape
    yy, xx = np.mgrid[:h, :w]
    dy, dx = y1 - y0, x1 - x0
    length2 = dy * dy + dx * dx + 1e-6
    t = (((yy - y0) * dy + (xx - x0) * dx) / length2).clip(0, 1)
    dist = np.hypot(yy - (y0 + t * dy), xx - (x0 + t * dx))
    img[dist <= width] = color


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    tint = rng.uniform(0, 1, 3)
    tex = _smooth_noise(rng, (size, size), int(rng.integers(2, 8)))[..., None]
    img = (0.25 + 0.5 * tex) * tint + 0.25 * _smooth_noise(rng, (size, size), 12)[..., None]
    for _ in range(int(rng.integers(0, 4))):  # clutter that a person detector must ignore
        color = rng.uniform(0, 1, 3)
        if rng.random() < 0.5:
            _draw_ellipse(img, rng.uniform(0, size), rng.uniform(0, size), rng.uniform(3, 14), rng.uniform(3, 14), color)
        else:
            _draw_line(img, rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0, size),
                       rng.uniform(1, 4), color)
    return img


def _person(img: np.ndarray, rng: np.random.Generator) -> None:
    """A figure: head over torso with arms and legs, at a random place, scale and pose."""
    size = img.shape[0]
    s = rng.uniform(0.5, 1.0) * size / 96
    cx, top = rng.uniform(20, size - 20), rng.uniform(5, size - 75 * s)
    skin = np.array([rng.uniform(0.45, 1.0), rng.uniform(0.3, 0.8), rng.uniform(0.2, 0.6)])
    cloth = rng.uniform(0, 1, 3)
    legs = rng.uniform(0, 1, 3)
    head_r = 7 * s
    _draw_ellipse(img, top + head_r, cx, head_r, head_r * 0.85, skin)
    torso_top, torso_bottom = top + 2 * head_r, top + 2 * head_r + 28 * s
    _draw_ellipse(img, (torso_top + torso_bottom) / 2, cx, (torso_bottom - torso_top) / 2, 9 * s, cloth)
    for side in (-1, 1):
        _draw_line(img, torso_top + 3 * s, cx + side * 7 * s, torso_top + rng.uniform(12, 26) * s,
                   cx + side * rng.uniform(10, 20) * s, 2.2 * s, cloth)
        _draw_line(img, torso_bottom - 2 * s, cx + side * 4 * s, torso_bottom + 26 * s,
                   cx + side * rng.uniform(4, 14) * s, 2.8 * s, legs)


def vww_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """96x96 RGB uint8 scenes; label 1 when a person figure is in the picture."""
    x = np.empty((n, 96, 96, 3), np.uint8)
    y = rng.integers(0, 2, n)
    for i, label in enumerate(y):
        img = _background(rng, 96)
        if label:
            _person(img, rng)
        img += rng.normal(0, 0.03, img.shape)
        x[i] = (img.clip(0, 1) * 255).round().astype(np.uint8)
    x[0, 0, 0] = 0  # make sure the representative range reaches both ends
    x[0, 0, 1] = 255
    return x, y


def ic_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """32x32 RGB uint8 images of ten procedural pattern classes with random colours and placement."""
    x = np.empty((n, 32, 32, 3), np.uint8)
    y = rng.integers(0, 10, n)
    yy, xx = np.mgrid[:32, :32].astype(np.float32)
    for i, label in enumerate(y):
        bg, fg = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        while np.abs(bg - fg).sum() < 0.6:
            fg = rng.uniform(0, 1, 3)
        cy, cx, r = rng.uniform(10, 22), rng.uniform(10, 22), rng.uniform(5, 10)
        period, phase = rng.uniform(4, 8), rng.uniform(0, 8)
        dy, dx = yy - cy, xx - cx
        masks = [
            dy ** 2 + dx ** 2 <= r ** 2,                                            # disc
            (np.abs(dy) <= r * 0.8) & (np.abs(dx) <= r * 0.8),                      # square
            (dy <= r * 0.7) & (dy >= -r * 0.7) & (np.abs(dx) <= (dy + r * 0.7) * 0.6),  # triangle
            ((yy + phase) % period) < period / 2,                                   # horizontal stripes
            ((xx + phase) % period) < period / 2,                                   # vertical stripes
            (((yy + phase) // (period / 1.5) + (xx + phase) // (period / 1.5)) % 2) == 0,  # checkerboard
            ((np.abs(dy) <= 2) | (np.abs(dx) <= 2)) & (np.abs(dy) <= r) & (np.abs(dx) <= r),  # cross
            np.abs(np.hypot(dy, dx) - r) <= 1.6,                                    # ring
            ((yy + xx + phase) % period) < period / 2,                              # diagonal stripes
            (((yy + phase) % period) < 2.2) & (((xx + phase) % period) < 2.2),      # dots
        ]
        img = np.where(masks[label][..., None], fg, bg) + rng.normal(0, 0.06, (32, 32, 3))
        x[i] = (img.clip(0, 1) * 255).round().astype(np.uint8)
    x[0, 0, 0] = 0
    x[0, 0, 1] = 255
    return x, y


def ad_spectrogram(rng: np.random.Generator, anomalous: bool, machine: dict[str, float]) -> np.ndarray:
    """A 200x128 log-mel 'machine sound': stable harmonics and resonances; anomalies add foreign energy."""
    frames, mels = 200, 128
    t = np.arange(frames)[:, None]
    m = np.arange(mels)[None, :]
    f0 = machine["f0"] * rng.uniform(0.985, 1.015)
    level = -45 + 8 * np.exp(-m / 60.0)
    spec = np.full((frames, mels), 0.0) + level
    wobble = 1 + 0.01 * np.sin(t / rng.uniform(8, 20) + rng.uniform(0, 6.28))
    for k in range(1, 7):
        spec += (28 - 3.5 * k) * np.exp(-0.5 * ((m - k * f0 * wobble) / 1.4) ** 2)
    spec += 10 * np.exp(-0.5 * ((m - machine["res"]) / 6.0) ** 2)
    if anomalous:
        kind = rng.integers(0, 3)
        if kind == 0:    # a foreign tone between the harmonics
            spec += rng.uniform(14, 24) * np.exp(-0.5 * ((m - f0 * rng.uniform(1.3, 1.7) * wobble) / 1.5) ** 2)
        elif kind == 1:  # rattling: broadband bursts
            bursts = (rng.random((frames, 1)) < 0.25) * rng.uniform(10, 18)
            spec += bursts * np.exp(-m / rng.uniform(40, 120))
        else:            # a detuned machine: harmonics shifted
            spec += 20 * np.exp(-0.5 * ((m - 2.5 * f0 * wobble) / 1.5) ** 2)
            spec += 14 * np.exp(-0.5 * ((m - 4.5 * f0 * wobble) / 1.5) ** 2)
    spec += rng.normal(0, 1.5, (frames, mels))
    return spec.astype(np.float32)


def ad_windows(spec: np.ndarray) -> np.ndarray:
    """196 windows of 5 consecutive frames, flattened frame-major (640 floats each)."""
    return np.stack([spec[i:i + 5].reshape(-1) for i in range(spec.shape[0] - 4)])


# ---------------------------------------------------------------- architectures (MLPerf Tiny v1)

def _bn() -> keras.layers.Layer:
    # A faster-moving average than Keras' 0.99: short trainings otherwise convert with stale statistics.
    return keras.layers.BatchNormalization(momentum=0.9)


def ds_cnn() -> keras.Model:
    inputs = keras.Input((49, 10, 1))
    x = keras.layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same")(inputs)
    x = keras.layers.ReLU()(_bn()(x))
    for _ in range(4):
        x = keras.layers.DepthwiseConv2D((3, 3), padding="same")(x)
        x = keras.layers.ReLU()(_bn()(x))
        x = keras.layers.Conv2D(64, (1, 1))(x)
        x = keras.layers.ReLU()(_bn()(x))
    x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.AveragePooling2D((25, 5))(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(12, activation="softmax")(x))


def mobilenet_v1_025() -> keras.Model:
    inputs = keras.Input((96, 96, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = keras.layers.ReLU()(_bn()(x))
    for filters, stride in [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1), (128, 1),
                            (128, 1), (128, 1), (256, 2), (256, 1)]:
        x = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(_bn()(x))
        x = keras.layers.Conv2D(filters, 1, use_bias=False)(x)
        x = keras.layers.ReLU()(_bn()(x))
    x = keras.layers.AveragePooling2D(3)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


def resnet8() -> keras.Model:
    def block(x: tf.Tensor, filters: int, stride: int) -> tf.Tensor:
        y = keras.layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
        y = keras.layers.ReLU()(_bn()(y))
        y = _bn()(keras.layers.Conv2D(filters, 3, padding="same")(y))
        if stride != 1:
            x = keras.layers.Conv2D(filters, 1, strides=stride)(x)
        return keras.layers.ReLU()(keras.layers.Add()([x, y]))

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(16, 3, padding="same")(inputs)
    x = keras.layers.ReLU()(_bn()(x))
    x = block(x, 16, 1)
    x = block(x, 32, 2)
    x = block(x, 64, 2)
    x = keras.layers.AveragePooling2D(8)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def fc_autoencoder() -> keras.Model:
    inputs = keras.Input((640,))
    x = inputs
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = keras.layers.ReLU()(_bn()(keras.layers.Dense(units)(x)))
    return keras.Model(inputs, keras.layers.Dense(640)(x))


# ---------------------------------------------------------------- conversion and samples

def to_int8_tflite(model: keras.Model, representative: np.ndarray) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([row[None].astype(np.float32)] for row in representative)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def input_quantization(tflite: bytes) -> tuple[float, int]:
    interpreter = tf.lite.Interpreter(model_content=tflite)
    scale, zero_point = interpreter.get_input_details()[0]["quantization"]
    return float(scale), int(zero_point)


def write_samples(name: str, rows: list[tuple[str, bytes, int, int]], extra: str = "") -> None:
    folder = HERE / "samples" / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with (folder / "y_labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for file_name, data, classes, label in rows:
            (folder / file_name).write_bytes(data)
            writer.writerow([file_name, classes, label] + ([*extra.split(",")] if extra else []))


def train(model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int, loss: str, lr: float = 3e-3) -> None:
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss,
                  metrics=["accuracy"] if "crossentropy" in loss else [])
    model.fit(x, y, batch_size=64, epochs=epochs, validation_split=0.1, verbose=2,
              callbacks=[keras.callbacks.ReduceLROnPlateau(patience=2, factor=0.3)])


def build_kws(rng: np.random.Generator, scale: float) -> None:
    templates = kws_templates(rng)
    x, y = kws_data(rng, 12000, templates)
    model = ds_cnn()
    train(model, x, y, max(1, round(12 * scale)), "sparse_categorical_crossentropy")
    tflite = to_int8_tflite(model, x[:300])
    (HERE / "kws01.tflite").write_bytes(tflite)
    q_scale, zp = input_quantization(tflite)
    rows = []
    for i, label in enumerate(np.tile(np.arange(12), 5)):
        sample = _kws_one(rng, templates, int(label))
        q = np.clip(np.round(sample / q_scale) + zp, -128, 127).astype(np.int8)
        rows.append((f"tst_{i:06d}_{KWS_CLASSES[label]}_{label}.bin", q.tobytes(), 12, int(label)))
    write_samples("kws01", rows)


def _kws_one(rng: np.random.Generator, templates: np.ndarray, label: int) -> np.ndarray:
    while True:
        x, y = kws_data(rng, 1, templates)
        if y[0] == label:
            return x[0]


def build_vww(rng: np.random.Generator, scale: float) -> None:
    x, y = vww_data(rng, 6000)
    model = mobilenet_v1_025()
    train(model, x.astype(np.float32) / 255.0, y, max(1, round(12 * scale)), "sparse_categorical_crossentropy")
    (HERE / "vww01.tflite").write_bytes(to_int8_tflite(model, x[:200].astype(np.float32) / 255.0))
    rows = []
    for i, label in enumerate([0, 1] * 10):
        img = _background(rng, 96)
        if label:
            _person(img, rng)
        img += rng.normal(0, 0.03, img.shape)
        data = (img.clip(0, 1) * 255).round().astype(np.uint8).tobytes()
        rows.append((f"{'person' if label else 'notperson'}_{i:06d}.bin", data, 2, label))
    write_samples("vww01", rows)


def build_ic(rng: np.random.Generator, scale: float) -> None:
    x, y = ic_data(rng, 8000)
    model = resnet8()
    train(model, x.astype(np.float32), y, max(1, round(12 * scale)), "sparse_categorical_crossentropy", lr=2e-3)
    (HERE / "ic01.tflite").write_bytes(to_int8_tflite(model, x[:300].astype(np.float32)))
    rows = []
    for i in range(50):
        label = i % 10
        while True:
            xs, ys = ic_data(rng, 1)
            if ys[0] == label:
                break
        rows.append((f"{IC_CLASSES[label]}_{i:06d}.bin", xs[0].tobytes(), 10, label))
    write_samples("ic01", rows)


def build_ad(rng: np.random.Generator, scale: float) -> None:
    machine = {"f0": 11.0, "res": 70.0}
    train_windows = np.concatenate([ad_windows(ad_spectrogram(rng, False, machine)) for _ in range(60)])
    model = fc_autoencoder()
    train(model, train_windows, train_windows, max(1, round(20 * scale)), "mse", lr=1e-3)
    (HERE / "ad01.tflite").write_bytes(to_int8_tflite(model, train_windows[rng.choice(len(train_windows), 500)]))
    rows = []
    for i in range(20):
        anomalous = i >= 10
        spec = ad_spectrogram(rng, anomalous, machine)
        kind = "anomaly" if anomalous else "normal"
        rows.append((f"{kind}_id_01_{i:08d}_hist_librosa.bin", spec.astype("<f4").tobytes(), 2, int(anomalous)))
    write_samples("ad01", rows, extra="2560,512")


BUILDERS: dict[str, Callable[[np.random.Generator, float], None]] = {
    "kws01": build_kws, "vww01": build_vww, "ic01": build_ic, "ad01": build_ad,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=list(BUILDERS), help="models to rebuild (default: all)")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every training length")
    args = parser.parse_args()
    for index, name in enumerate(BUILDERS):
        if args.only and name not in args.only:
            continue
        start = time.time()
        rng = np.random.default_rng(1000 + index)
        tf.keras.utils.set_random_seed(1000 + index)
        BUILDERS[name](rng, args.epochs_scale)
        print(f"{name}: built in {time.time() - start:.0f} s", flush=True)
    print("now run: python models/describe_models.py  (updates models/README.md)")


if __name__ == "__main__":
    main()
