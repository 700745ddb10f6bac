"""The executive report's charts, drawn with matplotlib's Agg backend (no display, no Qt) as PNG bytes: spend per
month stacked by project, and each project's spend in the period against its budget for the period."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from neuralforge_desktop.core.reports.plots import RUN_COLOURS, plain_label

OVER = "#c0392b"
NEAR = "#e69f00"
UNDER = "#2e8b57"
BUDGET = "#34495e"


def _png(figure: object) -> bytes:
    out = io.BytesIO()
    # "tight" keeps a legend or a label outside the axes inside the picture
    figure.savefig(out, format="png", bbox_inches="tight", pad_inches=0.08)  # type: ignore[attr-defined]
    return out.getvalue()


def spend_per_month_png(months: Sequence[str], spend: Mapping[str, Sequence[float]], *, currency: str = "$",
                        width: float = 6.2, height: float = 2.4, dpi: int = 140) -> bytes:
    """Stacked bars: one bar per month, one colour per project (``spend[project][i]`` for ``months[i]``)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    axes = figure.add_subplot()
    bottom = [0.0] * len(months)
    for index, (project, values) in enumerate(spend.items()):
        axes.bar(months, values, bottom=bottom, width=0.55, color=RUN_COLOURS[index % len(RUN_COLOURS)],
                 label=plain_label(project))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in enumerate(bottom):
        axes.annotate(plain_label(f"{currency}{total:,.0f}"), (x, total), ha="center", va="bottom", fontsize=8,
                      xytext=(0, 2), textcoords="offset points")
    axes.set_title("Spend per month by project", fontsize=10, loc="left")
    axes.set_ylabel(plain_label(f"spend ({currency})"), fontsize=8)
    axes.set_ylim(0, max(bottom + [1.0]) * 1.15)
    axes.tick_params(labelsize=8)
    axes.grid(True, axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    if spend:
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _png(figure)


def spend_vs_budget_png(rows: Sequence[tuple[str, float, float | None]], *, currency: str = "$",
                        width: float = 6.2, height: float = 2.1, dpi: int = 140) -> bytes:
    """Horizontal bars of each ``(project, spend, budget or None)``, coloured by the share of the budget used
    (green under 80 %, amber to 100 %, red over), with the budget drawn as a dark tick."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    axes = figure.add_subplot()
    names = [plain_label(name) for name, _, _ in rows][::-1]
    spends = [spend for _, spend, _ in rows][::-1]
    budgets = [budget for _, _, budget in rows][::-1]
    colours = [UNDER if not b else OVER if s > b else NEAR if s >= 0.8 * b else UNDER
               for s, b in zip(spends, budgets, strict=True)]
    axes.barh(names, spends, color=colours, height=0.55)
    for y, (spend, budget) in enumerate(zip(spends, budgets, strict=True)):
        if budget:
            axes.plot([budget, budget], [y - 0.38, y + 0.38], color=BUDGET, linewidth=2.5)
        label = f"{currency}{spend:,.0f}" + (f" of {currency}{budget:,.0f}" if budget else " (no budget)")
        axes.annotate(plain_label(label), (max(spend, budget or 0.0), y), va="center", fontsize=7.5, xytext=(6, 0),
                      textcoords="offset points")
    top = max([s for s in spends] + [b or 0.0 for b in budgets] + [1.0])
    axes.set_xlim(0, top * 1.35)
    axes.set_title("Spend in the period against budget (dark tick: budget)", fontsize=10, loc="left")
    axes.tick_params(labelsize=8)
    axes.grid(True, axis="x", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)
