"""The energy trace as a power-profiler view, for the HTML report: zoom, envelope, two markers.

Built with bokeh and embedded with its inline resources, so the report still needs no network.
The shaded region's two edges are the markers: drag them (or the region) and the line under
the plot gives the time between them, the mean power, the energy and the charge in between,
integrated from the trace's bucket means (exact to one bucket at the ends). They start on the
window's timestamp edges, so on opening the page they repeat the host's integration.
"""

from __future__ import annotations

import numpy as np
from bokeh.document import Document
from bokeh.embed import components
from bokeh.embed.bundle import bundle_for_objs_and_resources
from bokeh.models import ColumnDataSource, CustomJS
from bokeh.models.annotations import BoxAnnotation, Span, Title
from bokeh.plotting import figure
from bokeh.resources import Resources

#: One trace view: the plot, and the callback that fills in its marker readout.
View = tuple[figure, CustomJS]

#: The callback behind the markers: bokeh's own CustomJS hook, run on load and on every move.
MARKERS_JS = """
const t = source.data.t, mean = source.data.mean;
const a = Math.min(box.left, box.right), b = Math.max(box.left, box.right);
let mj = 0;
for (let i = 0; i < t.length; i++) {
  const hi = i + 1 < t.length ? t[i + 1] : end;
  const overlap = Math.min(b, hi) - Math.max(a, t[i]);
  if (overlap > 0 && Number.isFinite(mean[i])) { mj += mean[i] * overlap; }
}
const dt = b - a, uj = mj * 1000;
const values = {dt_s: dt, mean_mw: dt > 0 ? mj / dt : 0, energy_uj: uj, charge_uc: uj / volts};
readout.text = "markers " + a.toFixed(4) + " s .. " + b.toFixed(4) + " s: \\u0394t " + dt.toFixed(4) + " s, mean " +
  values.mean_mw.toFixed(4) + " mW, energy " + uj.toFixed(2) + " \\u00b5J, charge " + values.charge_uc.toFixed(2) +
  " \\u00b5C" + (measured ? "" : " (at the " + volts + " V supply)");
document.body.setAttribute("data-markers-" + key, JSON.stringify(values));
"""


def _column(trace: dict, key: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in trace[key]], dtype=np.float32)


def energy_view(energy: dict, key: str) -> View:
    """One energy run's trace, with its envelope, its timestamp edges and the two markers."""
    trace = energy["trace"]
    mean = _column(trace, "samples")
    t = np.arange(len(mean), dtype=np.float64) / trace["sample_rate_hz"]
    end = float(trace.get("duration_s", len(mean) / trace["sample_rate_hz"]))
    columns = {"t": t, "mean": mean, "low": _column(trace, "min") if "min" in trace else mean,
               "high": _column(trace, "max") if "max" in trace else mean}
    source = ColumnDataSource(columns)
    rate = trace.get("monitor_sample_rate_hz")
    detail = (f"monitor at {rate:g} S/s, {trace['samples_per_point']} samples per point" if rate
              else f"{trace['sample_rate_hz']:g} points/s")
    plot = figure(name=key, height=320, sizing_mode="stretch_width", tools="xpan,xwheel_zoom,box_zoom,reset",
                  active_scroll="xwheel_zoom", x_axis_label="s (power monitor clock, from arming the window)",
                  y_axis_label=trace["unit"], title=f"{energy['benchmark']}: median window's trace ({detail})")
    plot.varea(x="t", y1="low", y2="high", source=source, color="#9ab8d8", legend_label="min / max")
    plot.step(x="t", y="mean", source=source, mode="after", color="#2c5d8f", line_width=1, legend_label="mean")
    for edge in trace["edges_s"]:
        plot.add_layout(Span(location=edge, dimension="height", line_color="#c44e52", line_width=1))
    start, stop = trace["edges_s"]
    box = BoxAnnotation(left=start, right=stop, fill_color="#55a868", fill_alpha=0.15, editable=True,
                        resizable="x", movable="x")
    plot.add_layout(box)
    readout = Title(text="markers", align="left", text_font_size="11pt")
    plot.add_layout(readout, "below")
    plot.legend.location = "top_right"
    voltage = trace.get("voltage_v") or energy.get("monitor", {}).get("voltage_v") or 1.0
    measured = energy.get("monitor", {}).get("quantity") == "current"
    callback = CustomJS(args={"source": source, "box": box, "readout": readout, "end": end, "volts": float(voltage),
                              "key": key, "measured": measured}, code=MARKERS_JS)
    for side in ("left", "right"):
        box.js_on_change(side, callback)
    return plot, callback


def embed(views: list[View]) -> tuple[str, list[str], str]:
    """The bokeh script, one div per view, and the inline resources (only the bundles the views use).

    The views share one document, whose `document_ready` event runs each view's marker callback once.
    """
    if not views:
        return "", [], ""
    document = Document()
    roots = [plot for plot, _ in views]
    for plot, callback in views:
        document.add_root(plot)
        document.js_on_event("document_ready", callback)
    script, divs = components(roots)
    # Inline (no network); bokeh's own info lines would clutter the browser console.
    resources = bundle_for_objs_and_resources(roots, Resources(mode="inline", log_level="warn")).scripts()
    return script, list(divs), resources
