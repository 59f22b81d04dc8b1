"""Raw public-dataset formats -> MLPerf Tiny layout, on small raw files the tests write themselves."""

from __future__ import annotations

import pickle
import wave
from pathlib import Path

import numpy as np
import pytest

from edgeperf.benchmarks import get_benchmark
from edgeperf.datasets import read_dataset
from edgeperf.datasets.audio import ad_log_mel, kws_mfcc, slaney_mel_matrix
from edgeperf.datasets.preprocess import preprocess
from edgeperf.errors import ConfigError, DatasetError
from edgeperf.modelinfo import inspect_model

from conftest import model_path


def _wav(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def _tone(hz: float, seconds: float, rate: int = 16000) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)


def test_speech_commands_to_quantized_mfcc(tmp_path):
    raw = tmp_path / "speech"
    _wav(raw / "yes" / "a.wav", _tone(440, 1.0))
    _wav(raw / "stop" / "b.wav", _tone(1000, 0.7))          # shorter clips are zero-padded
    _wav(raw / "marvin" / "c.wav", _tone(300, 1.0))         # not a keyword: unknown
    (raw / "testing_list.txt").write_text("yes/a.wav\nstop/b.wav\nmarvin/c.wav\n")
    assert preprocess("kws01", raw, tmp_path / "out", model_path("kws01")) == 3
    files = read_dataset(tmp_path / "out", get_benchmark("kws01"))
    assert [f.label for f in files] == [9, 7, 11]
    params = inspect_model(model_path("kws01")).inputs[0]
    samples = _tone(440, 1.0)
    expected = np.clip(np.trunc(kws_mfcc(np.trunc(samples * 32767) / 32768) / params.scale + params.zero_point),
                       -128, 127).astype(np.int8)
    assert files[0].read() == expected.tobytes()


def test_kws_mfcc_puts_a_tone_in_its_mel_band():
    mfcc = kws_mfcc(_tone(1000, 1.0))
    assert mfcc.shape == (49, 10)
    assert np.allclose(mfcc[5:-5], mfcc[5], atol=1e-6)  # a steady tone: every frame alike


def test_kws_needs_a_model_with_an_mfcc_input(tmp_path):
    _wav(tmp_path / "raw" / "yes" / "a.wav", _tone(440, 1.0))
    with pytest.raises(ConfigError, match="int8 49x10"):
        preprocess("kws01", tmp_path / "raw", tmp_path / "out", model_path("ic01"))


def test_cifar10_planar_batch_to_hwc(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    (tmp_path / "cifar").mkdir()
    with (tmp_path / "cifar" / "test_batch").open("wb") as handle:
        pickle.dump({b"data": data, b"labels": [3, 8, 0, 9]}, handle)
    assert preprocess("ic01", tmp_path / "cifar", tmp_path / "out") == 4
    files = read_dataset(tmp_path / "out", get_benchmark("ic01"))
    assert [f.label for f in files] == [3, 8, 0, 9]
    image = np.frombuffer(files[1].read(), np.uint8).reshape(32, 32, 3)
    assert image[0, 0, 0] == data[1, 0] and image[0, 0, 1] == data[1, 1024] and image[0, 0, 2] == data[1, 2048]
    assert image[0, 1, 0] == data[1, 1]


def test_visual_wake_words_images_resized(tmp_path):
    from PIL import Image

    for folder, color in (("person", (200, 10, 10)), ("non_person", (10, 10, 200))):
        (tmp_path / "vww" / folder).mkdir(parents=True)
        Image.new("RGB", (160, 120), color).save(tmp_path / "vww" / folder / "img.png")
    assert preprocess("vww01", tmp_path / "vww", tmp_path / "out") == 2
    files = read_dataset(tmp_path / "out", get_benchmark("vww01"))
    assert [f.label for f in files] == [0, 1]
    assert np.frombuffer(files[1].read(), np.uint8).reshape(96, 96, 3)[50, 50].tolist() == [200, 10, 10]


def test_toyadmos_log_mel_files(tmp_path):
    rng = np.random.default_rng(2)
    _wav(tmp_path / "toy" / "normal_id_01_00000000.wav", _tone(500, 10.0) + rng.normal(0, 0.01, 160000))
    _wav(tmp_path / "toy" / "anomaly_id_01_00000000.wav", _tone(2500, 10.0) + rng.normal(0, 0.01, 160000))
    assert preprocess("ad01", tmp_path / "toy", tmp_path / "out") == 2
    files = read_dataset(tmp_path / "out", get_benchmark("ad01"))
    assert [(f.path.name, f.label) for f in files] == [("anomaly_id_01_00000000_hist_librosa.bin", 1),
                                                        ("normal_id_01_00000000_hist_librosa.bin", 0)]
    assert (tmp_path / "out" / "ad01" / "y_labels.csv").read_text().splitlines()[0].endswith(",2,1,2560,512")
    spec = np.frombuffer(files[1].read(), "<f4").reshape(200, 128)
    centers = np.argmax(slaney_mel_matrix(16000, 1024, 128), axis=1)
    assert int(np.argmax(spec.mean(axis=0))) == int(centers[round(500 / 8000 * 512)])


def test_toyadmos_too_short_clip_names_the_file(tmp_path):
    _wav(tmp_path / "toy" / "normal_short.wav", _tone(500, 2.0))
    with pytest.raises(DatasetError, match="normal_short.wav"):
        preprocess("ad01", tmp_path / "toy", tmp_path / "out")


def test_ad_log_mel_shape_and_scale():
    spec = ad_log_mel(_tone(1000, 10.0), 16000)
    assert spec.shape == (200, 128) and spec.dtype == np.float32
    assert -400 < spec.min() < spec.max() < 60


def test_wrong_dataset_file_is_named_before_anything_is_sent(tmp_path):
    folder = tmp_path / "kws01"
    folder.mkdir()
    (folder / "a.bin").write_bytes(bytes(3072))
    (folder / "y_labels.csv").write_text("a.bin, 12, 3\n")  # spaces after commas are accepted
    with pytest.raises(DatasetError, match="a.bin: 3072 bytes"):
        read_dataset(tmp_path, get_benchmark("kws01"))


def test_preprocess_command(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "cifar").mkdir()
    with (tmp_path / "cifar" / "test_batch").open("wb") as handle:
        pickle.dump({b"data": np.zeros((3, 3072), np.uint8), b"labels": [1, 2, 3]}, handle)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "host"))
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", "preprocess", "ic01", str(tmp_path / "cifar"),
                           str(tmp_path / "out"), "--limit", "2"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(read_dataset(tmp_path / "out", get_benchmark("ic01"))) == 2
    again = subprocess.run([sys.executable, "-m", "edgeperf.cli", "preprocess", "ic01", str(tmp_path / "cifar"),
                            str(tmp_path / "out")], env=env, capture_output=True, text=True)
    assert again.returncode == 3 and "already holds a dataset" in again.stderr  # an input error


def test_a_label_outside_the_class_count_is_named(tmp_path):
    folder = tmp_path / "kws01"
    folder.mkdir()
    (folder / "a.bin").write_bytes(bytes(490))
    (folder / "y_labels.csv").write_text("a.bin,12,12\n")
    with pytest.raises(DatasetError, match=r"y_labels.csv:1: class 12 is outside 0..11"):
        read_dataset(tmp_path, get_benchmark("kws01"))
