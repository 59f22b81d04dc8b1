"""Plots of a results document, as PNG bytes (matplotlib, headless)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..benchmarks import get_benchmark  # noqa: E402


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def throughput_per_window(perf: dict) -> bytes:
    windows = perf["windows"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar([w["index"] for w in windows], [w["throughput"] for w in windows], color="#4878a8")
    ax.axhline(perf["median_throughput"]["value"], color="#c44e52", linestyle="--", label="median")
    ax.set_xlabel("window")
    ax.set_ylabel("inferences / s (device timer)")
    ax.set_title(f"{perf['benchmark']}: throughput per window")
    ax.legend(loc="lower right")
    return _png(fig)


def latency_distribution(perf: dict) -> bytes:
    """Mean latency of each window (device timer) against the reported latency."""
    windows = perf["windows"]
    latencies = [1e-3 * w["elapsed_us"] / w["iterations"] for w in windows]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(latencies, np.zeros(len(latencies)), "o", color="#4878a8", alpha=0.8, label="window mean latency")
    ax.axvline(perf["latency"]["value"], color="#c44e52", linestyle="--", label="1000 / median throughput")
    spread = max(latencies) - min(latencies)
    pad = max(spread, 0.002 * perf["latency"]["value"])
    ax.set_xlim(min(latencies) - pad, max(latencies) + pad)
    ax.set_yticks([])
    ax.set_xlabel("ms per inference")
    ax.set_title(f"{perf['benchmark']}: latency distribution over {len(latencies)} windows")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


def _scores_labels(acc: dict) -> tuple[np.ndarray, np.ndarray]:
    samples = acc["samples"]
    return np.array([s["scores"] for s in samples], dtype=np.float64), np.array([s["label"] for s in samples])


def confusion_matrix(acc: dict) -> bytes:
    scores, labels = _scores_labels(acc)
    names = get_benchmark(acc["benchmark"]).classes
    count = scores.shape[1]
    matrix = np.zeros((count, count), int)
    for truth, predicted in zip(labels, np.argmax(scores, axis=1)):
        matrix[truth, predicted] += 1
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                    color="white" if value > matrix.max() / 2 else "black")
    ax.set_xticks(range(count), names[:count], rotation=60, fontsize=8)
    ax.set_yticks(range(count), names[:count], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("label")
    ax.set_title(f"{acc['benchmark']}: confusion matrix")
    return _png(fig)


def _roc(scores: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="mergesort")
    hits = positives[order].astype(float)
    tpr = np.concatenate([[0.0], np.cumsum(hits) / max(hits.sum(), 1)])
    fpr = np.concatenate([[0.0], np.cumsum(1 - hits) / max((1 - hits).sum(), 1)])
    return fpr, tpr


def roc_curves(acc: dict) -> bytes:
    scores, labels = _scores_labels(acc)
    bench = get_benchmark(acc["benchmark"])
    fig, ax = plt.subplots(figsize=(5, 4.5))
    if scores.shape[1] == 1:
        curves = [("anomaly score", scores[:, 0], labels == 1)]
    elif scores.shape[1] == 2:
        curves = [(bench.classes[1], scores[:, 1], labels == 1)]
    else:
        totals = scores.sum(axis=1, keepdims=True)
        normalised = np.divide(scores, totals, out=np.zeros_like(scores), where=totals > 0)
        curves = [(bench.classes[c], normalised[:, c], labels == c) for c in range(scores.shape[1])
                  if 0 < np.sum(labels == c) < len(labels)]
    for name, values, positives in curves:
        fpr, tpr = _roc(values, positives)
        ax.plot(fpr, tpr, label=name, linewidth=1.2)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"{acc['benchmark']}: ROC (AUC {acc['metrics']['auc']['value']:.3f})")
    ax.legend(fontsize=7, loc="lower right", ncol=2 if len(curves) > 4 else 1)
    return _png(fig)
