"""The report's part for a per-layer profile, a memory footprint and an emulator's timing note.

Kept out of report.py so the report's layout can change without touching this; report.py only
places what `profile_section` returns.
"""

from __future__ import annotations

import html

from .layers import layer_rows, memory_lines, profile_of
from .plots import _png, plt
from .schema import Document


def layer_bars(benchmark: str, profile: Document) -> bytes:
    """One horizontal bar per operator, in execution order, its length the board's time for one inference."""
    rows = layer_rows(profile, None)
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.28 * max(1, len(rows))))
    ax.barh([f"{r.index} {r.op}" for r in rows], [r.us for r in rows], color="#4878a8")
    ax.invert_yaxis()
    ax.set_xlabel("us per inference (device timer)")
    ax.set_title(f"{benchmark}: time per operator (sum {profile['sum_us'] / 1000:.3f} ms)")
    ax.tick_params(axis="y", labelsize=7)
    return _png(fig)


def profile_section(run: Document) -> tuple[str, list[tuple[bytes, str]]]:
    """HTML for the run's timing note, layer table and memory footprint, and the images (PNG, alt text)."""
    board = run.get("board", {})
    parts: list[str] = []
    images: list[tuple[bytes, str]] = []
    if board.get("timing_note"):
        parts.append(f"<p class=missed><b>Timing:</b> {html.escape(board['timing_note'])}</p>")
    profile = profile_of(run)
    if profile:
        body = "".join(
            f"<tr><td>{r.index}</td><td>{html.escape(r.op)}</td><td>{html.escape(r.shape)}</td><td>{r.us:.1f}</td>"
            f"<td>{r.percent:.2f}</td><td>{'-' if r.macs_per_cycle is None else f'{r.macs_per_cycle:.2f}'}</td></tr>"
            for r in layer_rows(profile, board.get("clock_mhz")))
        parts.append(f"<p><b>Per-layer profile</b> over {profile['iterations']} inferences: operators sum to "
                     f"{profile['sum_us']:.1f} us, the loop's latency is {profile['loop_latency_us']:.1f} us.</p>"
                     "<table><tr><th>#</th><th>operator</th><th>output shape</th><th>us</th><th>% of total</th>"
                     f"<th>MACs/cycle</th></tr>{body}</table>")
        images.append((layer_bars(run["benchmark"], profile), "time per operator"))
    lines = memory_lines(run.get("memory"))
    if lines:
        parts.append("<p><b>Memory:</b> " + "; ".join(html.escape(line) for line in lines) + "</p>")
    return "".join(parts), images
