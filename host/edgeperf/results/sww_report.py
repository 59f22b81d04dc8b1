"""The HTML report's sww01 section: per stream the counts, the detection timeline against the truth
windows, and the duty-cycle trace of the first frames."""

from __future__ import annotations

import base64
import html

import numpy as np

from .plots import _png, plt

#: Frames of the duty-cycle trace plotted (about 1.3 s of stream).
TRACE_FRAMES = 40


def detection_timeline(stream: dict, windows_s: list[list[float]], delay_s: float) -> bytes:
    """Truth windows (with the scoring delay) as bands, detections as ticks: found, repeated, false."""
    fig, ax = plt.subplots(figsize=(11, 2.4))
    for i, (start, end) in enumerate(windows_s):
        ax.axvspan(start, end, color="#8fbc8f", alpha=0.6, label="word" if i == 0 else None)
        ax.axvspan(end, end + delay_s, color="#d5e8d4", alpha=0.6, label=f"+{delay_s:g} s delay" if i == 0 else None)
    hits = {t for t in stream["word_hits"] if t is not None}
    false = set(stream["false_positive_s"])
    for kind, color, times in (("true positive", "#2a7a2a", hits), ("false positive", "#c44e52", false),
                               ("repeat / debounced", "#999999", set(stream["detections_s"]) - hits - false)):
        if times:
            ax.vlines(sorted(times), 0, 1, color=color, linewidth=1.5, label=kind)
    for i, (start, end) in enumerate(windows_s):
        if stream["word_hits"][i] is None:
            ax.text((start + end) / 2, 0.5, "missed", ha="center", fontsize=8, color="#c44e52")
    ax.set_xlim(0, stream["length_s"]["value"])
    ax.set_yticks([])
    ax.set_xlabel("s (stream time)")
    ax.set_title(f"{stream['wav_file']}: {stream['true_positives']} TP, {stream['false_negatives']} FN, "
                 f"{stream['false_positives']} FP")
    ax.legend(loc="upper right", fontsize=7, ncol=5)
    return _png(fig)


def duty_trace(stream: dict) -> bytes:
    """PROCESSING as a square wave over the first frames: on-time against the 32 ms frame period."""
    pairs = np.asarray(stream["trace_s"][:TRACE_FRAMES], dtype=np.float64).reshape(-1, 2)
    fig, ax = plt.subplots(figsize=(11, 2.2))
    if len(pairs):
        times = np.repeat(pairs.reshape(-1), 2)
        levels = np.tile([0, 1, 1, 0], len(pairs))
        ax.plot(times, levels, color="#4878a8", linewidth=0.8)
    ax.set_yticks([0, 1], ["idle", "PROCESSING"])
    ax.set_xlabel("s (stream time)")
    ax.set_title(f"duty cycle {stream['duty_cycle']['value']:.4f}, period {stream['mean_period_s']['value'] * 1000:.3f} ms "
                 f"(first {len(pairs)} frames)")
    return _png(fig)


def _img(png: bytes, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def streaming_section(section: dict, context: dict | None = None) -> tuple[str, list[str]]:
    """(HTML, images) for one sww01 performance or energy entry."""
    delay = float(section["settings"]["delay_s"])
    rows, images = [], []
    for s in section["streams"]:
        power = f"{s['power_mw']['value']:.3f}" if s.get("power_mw") else "-"
        rows.append(f"<tr><td>{html.escape(s['wav_file'])}</td><td>{s['words']}</td><td>{s['true_positives']}</td>"
                    f"<td>{s['false_negatives']}</td><td>{s['false_positives']}</td>"
                    f"<td>{s['duty_cycle']['value']:.4f}</td><td>{s['throughput']['value']:.2f}</td>"
                    f"<td>{power}</td></tr>")
        rows += [f"<tr><td colspan=8 class=failed>WARNING: {html.escape(w)}</td></tr>" for w in s["warnings"]]
        images += [_img(detection_timeline(s, s["truth_windows_s"], delay), "detections against the truth windows"),
                   _img(duty_trace(s), "duty-cycle trace")]
    rules = "".join(f"<li>{'met' if r['met'] else 'NOT met'}: {html.escape(r['rule'])}: {html.escape(r['detail'])}</li>"
                    for r in section["rules"])
    body = (f"<p>Detections scored within {delay:g} s after each word's end.</p><table><tr><th>stream</th>"
            "<th>words</th><th>TP</th><th>FN</th><th>FP</th><th>duty cycle</th><th>est. inf./s</th><th>power mW</th>"
            f"</tr>{''.join(rows)}</table><ul>{rules}</ul><p>{html.escape(section['verdict'])}</p>")
    return body, images



def streaming_headline(section: dict) -> str:
    """One line per sww01 entry for the report's summary table: counts, duty cycle, throughput (and power)."""
    return "; ".join(
        f"{s['true_positives']}/{s['false_negatives']}/{s['false_positives']} TP/FN/FP, duty cycle "
        f"{s['duty_cycle']['value']:.4f}, {s['throughput']['value']:.2f} inf./s"
        + (f", {s['power_mw']['value']:.3f} mW" if s.get("power_mw") else "") for s in section["streams"])
