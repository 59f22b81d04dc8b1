"""Turn the public raw datasets into the MLPerf Tiny layout (`<out>/<model>/y_labels.csv` + `.bin` files).

Each converter follows the reference preprocessing of its benchmark:
* kws01: Speech Commands WAVs -> 49x10 MFCCs, quantized with the model's input scale and zero
  point as the reference does (`int(x / scale + zero_point)`, i.e. truncated; clipped to int8);
* ic01: CIFAR-10 python batches (planar R, G, B) -> uint8 HWC 32x32x3;
* vww01: Visual Wake Words images (`person/`, `non_person/`) -> uint8 RGB 96x96x3 (needs Pillow);
* ad01: ToyADMOS WAVs -> float32 200x128 log-mels (102400 B), rows with window 2560 B, stride 512 B.
"""

from __future__ import annotations

import csv
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..benchmarks import IC_CLASSES, KWS_CLASSES, get_benchmark
from ..errors import ConfigError, DatasetError
from ..modelinfo import inspect_model
from .audio import ad_log_mel, kws_mfcc, read_wav
from .manifest import manifest_for, write_manifest

Row = tuple[str, bytes, int, int]

#: What each converter reads, as the dataset manifest names its source.
SOURCES = {"kws01": "Speech Commands WAVs", "ic01": "CIFAR-10 python batch", "vww01": "Visual Wake Words images",
           "ad01": "ToyADMOS WAVs"}


def _write(out: Path, name: str, rows: Iterator[Row], extra: list[str] | None = None) -> int:
    folder = out / name
    if (folder / "y_labels.csv").exists():
        raise ConfigError(f"{folder} already holds a dataset; choose an empty output folder")
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    bench = get_benchmark(name)
    with (folder / "y_labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for file_name, data, classes, label in rows:
            if len(data) != bench.file_bytes:
                raise DatasetError(f"{file_name}: produced {len(data)} bytes, {name} needs {bench.file_bytes}")
            (folder / file_name).write_bytes(data)
            writer.writerow([file_name, classes, label] + (extra or []))
            count += 1
    if not count:
        raise DatasetError(f"no input files found for {name}")
    return count


def _limited(rows: Iterator[Row], limit: int | None) -> Iterator[Row]:
    for index, row in enumerate(rows):
        if limit is not None and index >= limit:
            return
        yield row


def speech_commands(raw: Path, model: Path) -> Iterator[Row]:
    """`<raw>/<word>/*.wav` (the test split if `testing_list.txt` exists); unknown words -> 11, `_silence_` -> 10."""
    params = inspect_model(model).inputs[0]
    if params.shape != (1, 49, 10, 1) or params.dtype != "int8" or not params.scale:
        raise ConfigError(f"{model} does not take an int8 49x10 MFCC input; pass the kws01 model flashed on the board")
    listing = raw / "testing_list.txt"
    paths = ([raw / line.strip() for line in listing.read_text().splitlines() if line.strip()] if listing.exists()
             else sorted(p for p in raw.glob("*/*.wav") if p.parent.name != "_background_noise_"))
    words = [c.lower() for c in KWS_CLASSES[:10]]
    for index, path in enumerate(paths):
        word = path.parent.name.lower()
        label = words.index(word) if word in words else 10 if word in ("_silence_", "silence") else 11
        samples, rate = read_wav(path)
        if rate != 16000:
            raise DatasetError(f"{path}: {rate} Hz, Speech Commands clips are 16 kHz")
        quantized = np.trunc(kws_mfcc(samples) / params.scale + params.zero_point)
        data = np.clip(quantized, -128, 127).astype(np.int8).tobytes()
        yield f"tst_{index:06d}_{KWS_CLASSES[label]}_{label}.bin", data, 12, label


def cifar10(raw: Path) -> Iterator[Row]:
    """The python-pickled `test_batch` (or a batch file given directly): planar rows -> HWC images."""
    batch = raw / "test_batch" if raw.is_dir() else raw
    try:
        with batch.open("rb") as handle:
            content = pickle.load(handle, encoding="bytes")
        data, labels = np.asarray(content[b"data"], np.uint8), content[b"labels"]
    except (OSError, pickle.UnpicklingError, KeyError, TypeError, EOFError) as exc:
        raise DatasetError(f"{batch}: not a CIFAR-10 python batch ({exc})") from exc
    if data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetError(f"{batch}: rows of {data.shape[1:]} values, CIFAR-10 rows hold 3072")
    for index, (row, label) in enumerate(zip(data, labels)):
        hwc = row.reshape(3, 32, 32).transpose(1, 2, 0)
        yield f"{IC_CLASSES[label]}_{index:05d}.bin", hwc.tobytes(), 10, int(label)


def visual_wake_words(raw: Path) -> Iterator[Row]:
    """Images under `person/` (label 1) and `non_person/` (label 0), resized to 96x96 RGB."""
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError("reading images needs Pillow: pip install 'edgeperf[datasets]'") from None
    folders = [(raw / "non_person", 0), (raw / "person", 1)]
    if not any(folder.is_dir() for folder, _ in folders):
        raise DatasetError(f"{raw} has neither person/ nor non_person/")
    index = 0
    for folder, label in folders:
        for path in sorted(p for p in folder.glob("*") if p.is_file()):
            try:
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert("RGB").resize((96, 96), Image.Resampling.BILINEAR), np.uint8)
            except OSError as exc:
                raise DatasetError(f"{path}: not a readable image ({exc})") from exc
            yield f"{'person' if label else 'notperson'}_{index:06d}.bin", pixels.tobytes(), 2, label
            index += 1


def toyadmos(raw: Path) -> Iterator[Row]:
    """`normal_*.wav` (0) and `anomaly_*.wav` (1), as in the DCASE 2020 task 2 ToyCar test folder."""
    paths = sorted(p for p in raw.glob("*.wav") if p.name.startswith(("normal_", "anomaly_")))
    for path in paths:
        samples, rate = read_wav(path)
        try:
            spectrogram = ad_log_mel(samples, rate)
        except DatasetError as exc:
            raise DatasetError(f"{path}: {exc}") from exc
        label = 1 if path.name.startswith("anomaly_") else 0
        yield f"{path.stem}_hist_librosa.bin", spectrogram.astype("<f4").tobytes(), 2, label


def preprocess(name: str, raw: Path, out: Path, model: Path | None = None, limit: int | None = None) -> int:
    """Convert `raw` into `<out>/<name>/` with its manifest; returns the number of files written."""
    if not raw.exists():
        raise DatasetError(f"{raw} does not exist")
    name = get_benchmark(name).data_name  # ic02 is scored on ic01's files
    if name == "kws01" and model is None:
        raise ConfigError("kws01 inputs are quantized with the model's input parameters: pass --model")
    sources: dict[str, Callable[[], Iterator[Row]]] = {
        "kws01": lambda: speech_commands(raw, model),  # type: ignore[arg-type]
        "ic01": lambda: cifar10(raw),
        "vww01": lambda: visual_wake_words(raw),
        "ad01": lambda: toyadmos(raw),
    }
    if name not in sources:
        raise ConfigError(f"no preprocessing for {name!r}")
    bench = get_benchmark(name)
    extra = [str(bench.input_bytes), str(bench.window_stride)] if bench.window_stride else None
    count = _write(out, name, _limited(sources[name](), limit), extra)
    write_manifest(out / name, manifest_for(name, f"{SOURCES[name]} at {raw}", model if name == "kws01" else None))
    return count
