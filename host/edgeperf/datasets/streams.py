"""Streaming wakeword truth files: JSON lists of `{wav_file, sample_rate, length_sec, detection_windows}`.

The wav files themselves sit on the interface board's SD card (on the virtual bench: its SD folder);
the host needs only the truth, so a bad truth file is refused before the board plays anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError

#: What the official long test holds: 50 wake words in 1200 s (`sww_long_test.json`).
OFFICIAL_WORDS = 50
OFFICIAL_LENGTH_S = 1200.0
OFFICIAL_TRUTH = "sww_long_test.json"


@dataclass(frozen=True)
class StreamTruth:
    wav_file: str
    sample_rate: int
    length_s: float
    windows_s: tuple[tuple[float, float], ...]
    truth_file: Path

    @property
    def official(self) -> bool:
        """The 50-word, 1200 s stream of the official truth file, the one the quality rule is written for."""
        return (self.truth_file.name == OFFICIAL_TRUTH and len(self.windows_s) == OFFICIAL_WORDS
                and abs(self.length_s - OFFICIAL_LENGTH_S) < 1.0)

    @property
    def samples(self) -> int:
        return round(self.length_s * self.sample_rate)


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DatasetError(f"{where} is {value!r}, not a number")
    return float(value)


def _entry(item: object, where: str, path: Path) -> StreamTruth:
    if not isinstance(item, dict):
        raise DatasetError(f"{where} is not an object with wav_file, sample_rate, length_sec, detection_windows")
    missing = [k for k in ("wav_file", "sample_rate", "length_sec", "detection_windows") if k not in item]
    if missing:
        raise DatasetError(f"{where} lacks {', '.join(missing)}")
    name = item["wav_file"]
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise DatasetError(f"{where}.wav_file is {name!r}: give the file name on the SD card")
    windows = item["detection_windows"]
    if not isinstance(windows, list):
        raise DatasetError(f"{where}.detection_windows is not a list of [start, end] pairs")
    pairs = []
    for index, window in enumerate(windows):
        if not isinstance(window, list | tuple) or len(window) != 2:
            raise DatasetError(f"{where}.detection_windows[{index}] is {window!r}, not [start, end]")
        start, end = (_number(v, f"{where}.detection_windows[{index}]") for v in window)
        if end < start:
            raise DatasetError(f"{where}.detection_windows[{index}] ends before it starts")
        pairs.append((start, end))
    rate = _number(item["sample_rate"], f"{where}.sample_rate")
    length = _number(item["length_sec"], f"{where}.length_sec")
    if rate != 16000 or length <= 0:
        raise DatasetError(f"{where}: sww01 streams are 16000 Hz with a positive length (got {rate:g} Hz, {length:g} s)")
    return StreamTruth(name, int(rate), length, tuple(pairs), path)


def read_truth(path: Path) -> list[StreamTruth]:
    """Every stream of one truth file, checked."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read truth file {path}: {exc}") from None
    except ValueError as exc:
        raise DatasetError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, list) or not document:
        raise DatasetError(f"{path}: a truth file is a non-empty JSON list of streams")
    return [_entry(item, f"{Path(path).name}[{i}]", Path(path)) for i, item in enumerate(document)]


def read_streams(folder: Path) -> list[StreamTruth]:
    """Every stream of every `*.json` truth file in a dataset's `sww01/` folder, in file-name order."""
    folder = Path(folder)
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise DatasetError(f"no truth file (*.json) in {folder}: an sww01 dataset holds the wav files and a JSON list "
                           "of {wav_file, sample_rate, length_sec, detection_windows}")
    return [stream for path in files for stream in read_truth(path)]
