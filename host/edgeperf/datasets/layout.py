"""Reader for the MLPerf Tiny dataset layout, checked against the benchmark's input contract."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..benchmarks import Benchmark
from ..errors import DatasetError


@dataclass(frozen=True)
class DatasetFile:
    path: Path
    num_classes: int
    label: int

    def read(self) -> bytes:
        return self.path.read_bytes()


def read_dataset(root: Path, benchmark: Benchmark) -> list[DatasetFile]:
    """Read `<root>/<benchmark>/y_labels.csv` in order, validating every file before anything is sent.

    The label file has no header: `file,classes,class` (+ `bytes_to_send,stride` for ad01).
    """
    folder = Path(root) / benchmark.data_name
    labels = folder / "y_labels.csv"
    if not labels.is_file():
        raise DatasetError(f"{labels} not found: a dataset root must hold <model>/y_labels.csv (MLPerf Tiny layout)")
    files: list[DatasetFile] = []
    raw = labels.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as spreadsheet tools write, is accepted
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DatasetError(f"{labels}:{line}: not UTF-8 text (byte "
                           f"{raw[exc.start]:#04x}); save the label file as UTF-8") from None
    for row_no, row in enumerate(csv.reader(io.StringIO(text, newline=""), skipinitialspace=True), start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 3:
            raise DatasetError(f"{labels}:{row_no}: expected 'file,classes,class', got {row!r}")
        name, classes, label = row[0].strip(), row[1].strip(), row[2].strip()
        try:
            num_classes, label_no = int(classes), int(label)
        except ValueError:
            raise DatasetError(f"{labels}:{row_no}: classes and class must be integers, got {row!r}") from None
        # ad01's labels are normal (0) / anomalous (1); a classifier's count is its output size.
        expected_classes = len(benchmark.classes) or 2
        if num_classes != expected_classes:
            raise DatasetError(
                f"{labels}:{row_no}: {num_classes} classes, but {benchmark.name} has {expected_classes}; "
                f"is this the label file of another benchmark? Give the dataset root that holds {benchmark.data_name}/"
            )
        if not 0 <= label_no < num_classes:
            raise DatasetError(f"{labels}:{row_no}: class {label_no} is outside 0..{num_classes - 1}")
        if benchmark.window_stride is not None and len(row) >= 5:
            try:
                window, stride = int(row[3]), int(row[4])
            except ValueError:
                raise DatasetError(f"{labels}:{row_no}: bytes_to_send and stride must be integers, got "
                                   f"{row!r}") from None
            if (window, stride) != (benchmark.input_bytes, benchmark.window_stride):
                raise DatasetError(
                    f"{labels}:{row_no}: window {window} B / stride {stride} B differ from {benchmark.name}'s "
                    f"{benchmark.input_bytes} B / {benchmark.window_stride} B"
                )
        path = folder / name
        if not path.is_file():
            raise DatasetError(f"{labels}:{row_no}: input file {path} is missing")
        size = path.stat().st_size
        if size != benchmark.file_bytes:
            raise DatasetError(
                f"{path}: {size} bytes, but a {benchmark.name} input is {benchmark.file_bytes} bytes "
                f"({benchmark.input_format}); is this the right dataset for {benchmark.name}?"
            )
        files.append(DatasetFile(path, num_classes, label_no))
    if not files:
        raise DatasetError(f"{labels} lists no files")
    return files
