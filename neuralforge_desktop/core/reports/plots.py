"""Curves for reports, drawn with matplotlib's Agg backend (no display, no Qt): one figure per metric with
every run of the experiment overlaid."""

from __future__ import annotations

import io

from neuralforge_desktop.core.store.entities import MetricSeries

# The first colours of matplotlib's default cycle, fixed here so a test can look for the first run's colour.
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")
MAX_POINTS_PER_CURVE = 5_000  # a 1M-step curve is thinned evenly: the PNG looks the same and stays small


def plain_label(text: str) -> str:
    """A run name as matplotlib shows it literally ('$' would start mathtext, and a bad formula raises)."""
    return text.replace("\\", "\\\\").replace("$", r"\$")


def metric_figure_png(metric: str, curves: list[tuple[str, MetricSeries]], *, width: float = 6.4,
                      height: float = 3.4, dpi: int = 110) -> bytes:
    """A PNG of ``metric`` against step, one line per ``(run name, points)``."""
    # A bare Figure draws with Agg when saved: no pyplot, so no GUI backend is chosen for the process.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    axes = figure.add_subplot()
    for index, (name, series) in enumerate(curves):
        stride = max(1, len(series) // MAX_POINTS_PER_CURVE)
        axes.plot(series.steps[::stride], series.values[::stride], color=RUN_COLOURS[index % len(RUN_COLOURS)],
                  linewidth=2.0, label=plain_label(name))
    axes.set_title(plain_label(metric))
    axes.set_xlabel("step")
    axes.grid(True, alpha=0.3)
    if curves:
        axes.legend(fontsize="small", loc="best")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
