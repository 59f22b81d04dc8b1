"""Audio front ends of the MLPerf Tiny references, in numpy: KWS MFCCs (TensorFlow's signal ops) and AD log-mels (librosa's)."""

from __future__ import annotations

import functools
import wave
from pathlib import Path

import numpy as np

from ..errors import DatasetError


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono PCM samples as float64 in [-1, 1) and the sample rate (first channel of a multi-channel file)."""
    try:
        with wave.open(str(path), "rb") as handle:
            width, channels, rate = handle.getsampwidth(), handle.getnchannels(), handle.getframerate()
            raw = handle.readframes(handle.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise DatasetError(f"{path}: not a readable PCM WAV file ({exc})") from exc
    if width == 2:
        samples = np.frombuffer(raw, "<i2").astype(np.float64) / 32768.0
    elif width == 4:
        samples = np.frombuffer(raw, "<i4").astype(np.float64) / 2**31
    elif width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128) / 128.0
    else:
        raise DatasetError(f"{path}: {8 * width}-bit samples are not supported")
    return samples.reshape(-1, channels)[:, 0], rate


def _frames(signal: np.ndarray, length: int, step: int) -> np.ndarray:
    count = 1 + (len(signal) - length) // step
    index = np.arange(length)[None, :] + step * np.arange(count)[:, None]
    return signal[index]


def _periodic_hann(length: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)


# ---- keyword spotting: tf.signal.stft -> HTK-mel matrix -> log -> DCT-II, as the KWS reference builds its MFCCs

KWS_RATE, KWS_SAMPLES, KWS_WINDOW, KWS_STRIDE = 16000, 16000, 480, 320
KWS_MEL_BINS, KWS_LOWER_HZ, KWS_UPPER_HZ, KWS_COEFFICIENTS = 40, 20.0, 4000.0, 10


def _htk_mel(hz: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(hz / 700.0)


def tf_mel_matrix(bins: int, rate: int, mel_bins: int, lower_hz: float, upper_hz: float) -> np.ndarray:
    """Triangular filters on the HTK mel scale over the linear bins; the DC bin gets no weight."""
    linear = np.linspace(0.0, rate / 2, bins)[1:]
    mel = _htk_mel(linear)[:, None]
    edges = np.linspace(_htk_mel(np.array(lower_hz)), _htk_mel(np.array(upper_hz)), mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((mel - lower) / (center - lower), (upper - mel) / (upper - center)))
    return np.vstack([np.zeros((1, mel_bins)), weights])


def kws_mfcc(samples: np.ndarray) -> np.ndarray:
    """49x10 MFCCs of a 1 s clip: peak-normalised, zero-padded to 16000 samples, 30 ms windows every 20 ms."""
    peak = samples.max() if len(samples) else 0.0
    audio = samples / peak if peak > 0 else samples
    audio = np.pad(audio[:KWS_SAMPLES], (0, max(0, KWS_SAMPLES - len(audio))))
    fft_length = 1 << (KWS_WINDOW - 1).bit_length()
    spectrum = np.abs(np.fft.rfft(_frames(audio, KWS_WINDOW, KWS_STRIDE) * _periodic_hann(KWS_WINDOW), fft_length))
    mel = spectrum @ tf_mel_matrix(spectrum.shape[1], KWS_RATE, KWS_MEL_BINS, KWS_LOWER_HZ, KWS_UPPER_HZ)
    log_mel = np.log(mel + 1e-6)
    n = log_mel.shape[1]
    basis = 2.0 * np.cos(np.pi * np.outer(2 * np.arange(n) + 1, np.arange(n)) / (2 * n))  # unnormalised DCT-II
    return (log_mel @ basis / np.sqrt(2.0 * n))[:, :KWS_COEFFICIENTS]


# ---- anomaly detection: librosa-style log-mel spectrogram (Slaney mel scale and area normalisation)

AD_FFT, AD_HOP, AD_MELS, AD_FIRST_FRAME, AD_FRAMES = 1024, 512, 128, 50, 200


def _slaney_mel(hz: np.ndarray | float) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_region = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_region, linear)


def _slaney_hz(mel: np.ndarray) -> np.ndarray:
    linear = mel * (200.0 / 3)
    log_region = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_region, linear)


def slaney_mel_matrix(rate: int, n_fft: int, mels: int) -> np.ndarray:
    """(1 + n_fft/2, mels) triangular filters spaced on the Slaney mel scale, each normalised to unit area."""
    fft_hz = np.linspace(0.0, rate / 2, 1 + n_fft // 2)
    points = _slaney_hz(np.linspace(_slaney_mel(0.0), _slaney_mel(rate / 2), mels + 2))
    widths = np.diff(points)
    ramps = points[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (points[2:] - points[:-2]))[:, None]
    return weights.T


def ad_log_mel(samples: np.ndarray, rate: int) -> np.ndarray:
    """The 200x128 float32 log-mel block of the AD reference: frames 50..249, time-major."""
    padded = np.pad(samples, AD_FFT // 2)  # centred frames, zero padding at the ends
    power = np.abs(np.fft.rfft(_frames(padded, AD_FFT, AD_HOP) * _periodic_hann(AD_FFT), AD_FFT)) ** 2
    mel = power @ slaney_mel_matrix(rate, AD_FFT, AD_MELS)
    log_mel = 10.0 * np.log10(mel + np.finfo(np.float64).eps)
    if log_mel.shape[0] < AD_FIRST_FRAME + AD_FRAMES:
        raise DatasetError(f"clip too short: {log_mel.shape[0]} frames, the AD reference keeps frames "
                           f"{AD_FIRST_FRAME}..{AD_FIRST_FRAME + AD_FRAMES - 1}")
    return log_mel[AD_FIRST_FRAME: AD_FIRST_FRAME + AD_FRAMES].astype(np.float32)


# ---- streaming wake word: the reference's log filterbank energies (pre-emphasis, Hamming, power, 40 mels, dB)

SWW_RATE, SWW_WINDOW, SWW_STRIDE, SWW_MEL_BINS, SWW_FRAMES = 16000, 1024, 512, 40, 30
SWW_PREEMPHASIS, SWW_POWER_OFFSET_DB = 1 - 2 ** -5, 52.0


@functools.cache
def _sww_tables() -> tuple[np.ndarray, np.ndarray]:
    """The periodic Hamming window (the firmware's table) and the mel matrix, built once: the virtual board calls
    sww_rows for every frame."""
    window = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(SWW_WINDOW) / SWW_WINDOW)
    return window, tf_mel_matrix(SWW_WINDOW // 2 + 1, SWW_RATE, SWW_MEL_BINS, 0.0, SWW_RATE / 2)


def sww_rows(emphasised_frames: np.ndarray) -> np.ndarray:
    """Feature rows of pre-emphasised 1024-sample frames: periodic Hamming window, power, 40 mels, dB, scaled to
    [0, 1]."""
    window, mel_matrix = _sww_tables()
    power = np.abs(np.fft.rfft(emphasised_frames * window, axis=-1)) ** 2 / SWW_WINDOW
    mel = power @ mel_matrix
    return np.clip((10 * np.log10(np.maximum(mel, 1e-30)) + SWW_POWER_OFFSET_DB) / 64.0, 0.0, 1.0)


def sww_features(samples: np.ndarray) -> np.ndarray:
    """(frames, 40) features in [0, 1] of 16 kHz audio in [-1, 1): one row per 1024-sample frame every 512.

    Pre-emphasis (the sample before the clip counts as 0), a periodic Hamming window
    0.54 - 0.46 cos(2 pi n / 1024), power spectrum over the window length, 40 mel filters over
    0..8 kHz, 10 log10, then (dB + 52) / 64 clipped to [0, 1]: the reference firmware's front end of
    the sww01 benchmark. The reference training pipeline differs in one point, its window, which is
    symmetric (cos(2 pi n / 1023)). The firmware's frames start 512 samples earlier (its first frame is
    512 zeros and the first 512 samples): its rows are these of the clip with 512 zeros in front.
    """
    emphasised = samples - SWW_PREEMPHASIS * np.concatenate([[0.0], samples[:-1]])
    return sww_rows(_frames(emphasised, SWW_WINDOW, SWW_STRIDE))
