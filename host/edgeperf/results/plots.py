"""Plots of a results document, as PNG bytes (matplotlib, headless)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ..benchmarks import get_benchmark


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _plain_numbers(axis) -> None:
    """Show values as they are: narrow ranges otherwise get matplotlib's '+1.935e2' offset notation."""
    axis.get_major_formatter().set_useOffset(False)


def throughput_per_window(perf: dict) -> bytes:
    """Each window's throughput on a scale of a few percent, so the run-to-run noise is visible."""
    windows = perf["windows"]
    values = np.array([w["throughput"] for w in windows])
    median = perf["median_throughput"]["value"]
    deviation = float(np.max(np.abs(values / median - 1)))
    half_range = median * max(0.02, 1.5 * deviation)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.axhspan(median * 0.99, median * 1.01, color="#dddddd", label="median ± 1 %")
    ax.plot([w["index"] for w in windows], values, "o-", color="#4878a8", label="window")
    ax.axhline(median, color="#c44e52", linestyle="--", label=f"median {median:.3f}")
    ax.set_ylim(median - half_range, median + half_range)
    ax.set_xticks([w["index"] for w in windows])
    _plain_numbers(ax.yaxis)
    ax.set_xlabel("window")
    ax.set_ylabel("inferences / s (device timer)")
    ax.set_title(f"{perf['benchmark']}: throughput per window (spread {100 * deviation:.2f} % of median)")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def latency_distribution(perf: dict) -> bytes:
    """The windows' mean latency (device timer) as offsets from the reported latency, in µs: the spread is tiny."""
    reported = perf["latency"]["value"]
    offsets = np.array([w["elapsed_us"] / w["iterations"] - 1e3 * reported for w in perf["windows"]])
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.boxplot(offsets, orientation="horizontal", widths=0.5, showfliers=False, medianprops={"color": "#4878a8"})
    ax.plot(offsets, np.ones(len(offsets)), "o", color="#4878a8", alpha=0.7, label="window mean latency")
    ax.axvline(0, color="#c44e52", linestyle="--", label=f"1000 / median throughput = {reported:.3f} ms")
    pad = max(0.3 * float(np.ptp(offsets)), 1.0)
    ax.set_xlim(min(offsets.min(), 0) - pad, max(offsets.max(), 0) + pad)
    ax.set_yticks([])
    ax.set_xlabel(f"µs from {reported:.3f} ms per inference (device timer)")
    ax.set_title(f"{perf['benchmark']}: latency of {len(offsets)} windows (spread {np.ptp(offsets):.1f} µs)")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


def sample_latency(acc: dict) -> bytes:
    """Histogram of the device time of each sample's single inference (accuracy runs time every `infer 1 0`)."""
    latencies = 1e-3 * np.array([s["latency_us"] for s in acc["samples"]], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(latencies, bins=min(40, max(5, len(latencies) // 4)), color="#4878a8")
    ax.axvline(float(np.median(latencies)), color="#c44e52", linestyle="--",
               label=f"median {np.median(latencies):.3f} ms")
    _plain_numbers(ax.xaxis)
    ax.set_xlabel("ms per inference (device timer)")
    ax.set_ylabel("samples")
    ax.set_title(f"{acc['benchmark']}: device latency of {len(latencies)} samples")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


def _trace_arrays(trace: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Seconds and mean power of each trace point, and its min/max envelope when the trace has one."""
    def column(key: str) -> np.ndarray | None:
        return np.array([np.nan if v is None else v for v in trace[key]], dtype=np.float64) if key in trace else None

    means = column("samples")
    assert means is not None
    return np.arange(len(means)) / trace["sample_rate_hz"], means, column("min"), column("max")


def _draw_trace(ax, trace: dict) -> np.ndarray:
    seconds, means, lows, highs = _trace_arrays(trace)
    if lows is not None and highs is not None:
        ax.fill_between(seconds, lows, highs, color="#9ab8d8", linewidth=0, step="post", label="min / max")
    ax.plot(seconds, means, color="#2c5d8f", linewidth=0.6, drawstyle="steps-post", label="mean")
    return seconds


def _rate_label(trace: dict) -> str:
    """The monitor's real sample rate, and how many samples each plotted point stands for."""
    rate = trace.get("monitor_sample_rate_hz")
    if rate is None:
        return f"{trace['sample_rate_hz']:g} points/s"
    return f"monitor {rate:g} S/s, {trace['samples_per_point']} samples per point"


def energy_trace(energy: dict) -> bytes:
    """The power monitor's trace with the timestamp edges that delimit the measured windows."""
    trace = energy["trace"]
    fig, ax = plt.subplots(figsize=(11, 3.2))
    _draw_trace(ax, trace)
    for i, edge in enumerate(trace["edges_s"]):
        ax.axvline(edge, color="#c44e52", linewidth=0.8, label="timestamp edge" if i == 0 else None)
    ax.set_xlabel("s (power monitor clock)")
    ax.set_ylabel(trace["unit"])
    ax.set_title(f"{energy['benchmark']}: energy trace ({_rate_label(trace)})")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


def energy_window(trace: dict, benchmark: str, index: int, uj_per_inference: float) -> bytes:
    """One energy window: the power trace, its two timestamp edges and the integrated region between them."""
    start, stop = trace["edges_s"]
    fig, ax = plt.subplots(figsize=(11, 3.4))
    seconds, means, _, _ = _trace_arrays(trace)
    _draw_trace(ax, trace)
    inside = (seconds >= start) & (seconds <= stop)
    ax.fill_between(seconds, 0, means, where=inside, color="#55a868", alpha=0.3, step="post", label="integrated")
    for i, edge in enumerate((start, stop)):
        ax.axvline(edge, color="#c44e52", linewidth=0.9, label="timestamp edge" if i == 0 else None)
    ax.set_xlabel("s (power monitor clock, from arming the window)")
    ax.set_ylabel(trace["unit"])
    ax.set_ylim(bottom=0)
    ax.set_title(f"{benchmark} energy window {index}: {uj_per_inference:.3f} uJ/inference over {stop - start:.3f} s "
                 f"({_rate_label(trace)})")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def loadgen_latency(lg: dict) -> bytes:
    """Each LoadGen query's latency: histograms and over time, the board's timer beside the host's issue-to-reply."""
    queries = lg["per_query"]
    device = np.asarray(queries["device_ms"], dtype=np.float64)
    host = np.array([np.nan if v is None else v for v in queries.get("host_ms", [])], dtype=np.float64)
    issued = np.array([np.nan if v is None else v for v in queries.get("issued_s", [])], dtype=np.float64)
    fig, (hist, time_ax) = plt.subplots(1, 2, figsize=(11, 3.4))
    series = [("device timer", device, "#4878a8")]
    if len(host) and np.isfinite(host).any():
        series.append(("host issue to reply", host, "#dd8452"))
    finite = np.concatenate([v[np.isfinite(v)] for _, v, _ in series])
    bins = np.linspace(finite.min(), finite.max() + 1e-9, min(60, max(8, len(device) // 4)))
    for label, values, color in series:
        hist.hist(values[np.isfinite(values)], bins=bins, color=color, alpha=0.7, label=label)
        x = issued if len(issued) == len(values) and np.isfinite(issued).all() else np.arange(len(values))
        time_ax.plot(x, values, ".", markersize=3, color=color, label=label)
    _plain_numbers(hist.xaxis)
    hist.set_xlabel("ms per query")
    hist.set_ylabel("queries")
    hist.set_title(f"{lg['scenario']} {lg['mode']}: latency of {len(device)} queries")
    hist.legend(fontsize=8)
    time_ax.set_xlabel("s since the first query was issued" if len(issued) == len(device) else "query")
    time_ax.set_ylabel("ms")
    time_ax.set_title("latency over the run")
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
