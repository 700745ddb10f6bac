"""The executive portfolio report (``neuralforge report portfolio --period 2026-Q4``): one self-contained HTML page
(charts embedded as PNG data) or the same page as a PDF, laid out by Qt in a child process exactly as model cards
are (:func:`neuralforge_desktop.core.cards.pdf.write_pdf`).

The HTML keeps to what both a browser and Qt's rich-text layout draw alike: tables with cell colours for the
tiles and the budget column, no scripts, no flex boxes."""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from neuralforge_desktop.core.ir.atomic import write_text_atomic
from neuralforge_desktop.core.reports.portfolio_charts import (
    NEAR,
    OVER,
    UNDER,
    spend_per_month_png,
    spend_vs_budget_png,
)
from neuralforge_desktop.core.reports.portfolio_data import PortfolioReportData, gather
from neuralforge_desktop.core.team.budgets import money
from neuralforge_desktop.core.team.spend import Period

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

_CSS = """
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #1d2733; font-size: 10pt; }
h2 { font-size: 13pt; color: #1f3a5f; margin-top: 18px; margin-bottom: 6px; }
table.grid { border-collapse: collapse; }
table.grid th { background-color: #e8edf3; color: #1f3a5f; text-align: left; font-size: 9pt; }
table.grid td { font-size: 9pt; border-bottom: 1px solid #d5dbe3; }
td.num, th.num { text-align: right; }
.muted { color: #5b6b7c; font-size: 8.5pt; }
.tile { font-size: 8.5pt; color: #5b6b7c; }
.title { font-size: 22pt; font-weight: bold; color: #ffffff; }
.subtitle { font-size: 10pt; color: #c9d6e6; }
.big { font-size: 16pt; font-weight: bold; color: #1f3a5f; }
"""
_SEVERITY_COLOURS = {"high": OVER, "medium": NEAR, "low": UNDER}


def _e(text: object) -> str:
    return html.escape(str(text))


def _day(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp).strftime("%d %b %Y")


def _iso_day(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d")


def _png_img(data: bytes, alt: str, width: int = 600) -> str:  # 600: the A4 page's text width in Qt's layout
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" width="{width}" alt="{_e(alt)}">'


def whole_money(amount: float) -> str:
    """``$2,820`` for a tile: cents would only make the figure wrap."""
    text = money(round(amount))
    return text[:-3] if text.endswith(".00") else text.replace(".00 ", " ")


def used_colour(percent: float | None) -> str:
    """Green under 80 % of the budget, amber from 80 % to 100 %, red over (the thresholds' default levels)."""
    if percent is None:
        return "#f4f6f8"
    return OVER if percent > 100 else NEAR if percent >= 80 else UNDER


def _tiles(data: PortfolioReportData) -> str:
    budget = data.total_budget
    used = f"{100 * data.total_spend / budget:.0f}% of {whole_money(budget)}" if budget else "no budgets set"
    high = sum(1 for r in data.risks if r.severity == "high")
    tiles = [
        (str(len(data.portfolio.projects)), f"projects, {data.portfolio.active} active"),
        (whole_money(data.total_spend), f"spent in {data.period.label}, {used}"),
        (f"{math.fsum(data.gpu_hours.values()):,.0f}", "GPU-hours in the period"),
        (str(len(data.shipped)), "models shipped to production"),
        (str(data.portfolio.in_production), "models in production now"),
        (str(high), f"high risks ({len(data.risks)} listed)"),
    ]
    cells = [f'<td bgcolor="#eef2f7" width="33%"><span class="big">{_e(value)}</span><br>'
             f'<span class="tile">{_e(label)}</span></td>' for value, label in tiles]
    rows = "".join(f"<tr>{''.join(cells[i:i + 3])}</tr>" for i in range(0, len(cells), 3))
    return f'<table width="100%" cellspacing="6" cellpadding="8">{rows}</table>'


def _spend_table(data: PortfolioReportData) -> str:
    head = "".join(f'<th class="num">{_e(m.label)}</th>' for m in data.months)
    out = [f'<table class="grid" width="100%" cellpadding="4" cellspacing="0"><tr><th>Project</th><th>Owner</th>'
           f'{head}<th class="num">Total</th><th class="num">Budget</th><th class="num">Used</th></tr>']
    owners = {p.name: p.owner for p in data.portfolio.projects}
    for project, values in data.spend.items():
        total, budget = data.project_total(project), data.period_budget(project)
        percent = None if not budget else 100 * total / budget
        months = "".join(f'<td class="num">{_e(money(v))}</td>' for v in values)
        used = "—" if percent is None else f"{percent:.0f}%"
        colour = "#ffffff" if percent is None else used_colour(percent)
        text = "#1d2733" if percent is None else "#ffffff"
        out.append(f'<tr><td><b>{_e(project)}</b></td><td>{_e(owners.get(project, "?"))}</td>{months}'
                   f'<td class="num"><b>{_e(money(total))}</b></td>'
                   f'<td class="num">{_e(money(budget) if budget else "—")}</td>'
                   f'<td class="num" bgcolor="{colour}"><span style="color:{text}"><b>{_e(used)}</b></span></td></tr>')
    totals = "".join(f'<td class="num"><b>{_e(money(math.fsum(v[i] for v in data.spend.values())))}</b></td>'
                     for i in range(len(data.months)))
    out.append(f'<tr><td><b>All projects</b></td><td></td>{totals}<td class="num"><b>{_e(money(data.total_spend))}'
               f'</b></td><td class="num">{_e(money(data.total_budget))}</td><td></td></tr></table>')
    return "".join(out)


def _portfolio_table(data: PortfolioReportData) -> str:
    out = ['<table class="grid" width="100%" cellpadding="4" cellspacing="0"><tr><th>Project</th><th>Status</th>'
           '<th>Best result</th><th>Production</th><th>Staging</th><th>Last activity</th></tr>']
    for p in data.portfolio.projects:
        best = f"{p.metric} {p.best:.3f}" if p.metric and p.best is not None else "—"
        out.append(f"<tr><td><b>{_e(p.name)}</b></td><td>{_e(p.status)}</td><td>{_e(best)}</td>"
                   f"<td>{_e(', '.join(p.production) or '—')}</td><td>{_e(', '.join(p.staging) or '—')}</td>"
                   f"<td>{_e(_day(p.last_activity) if p.last_activity else '—')}</td></tr>")
    return "".join(out) + "</table>"


def _shipped(data: PortfolioReportData) -> str:
    if not data.shipped:
        return '<p class="muted">No version reached production in the period.</p>'
    rows = "".join(f"<tr><td><b>{_e(s.ref)}</b></td><td>{_e(s.project)}</td><td>{_e(_day(s.when))}</td>"
                   f"<td>{_e(s.who)}</td></tr>" for s in data.shipped)
    return (f'<table class="grid" width="100%" cellpadding="4" cellspacing="0"><tr><th>Model version</th>'
            f"<th>Project</th><th>Promoted</th><th>By</th></tr>{rows}</table>")


def _risks(data: PortfolioReportData) -> str:
    if not data.risks:
        return '<p class="muted">No failed gates, fairness flags, monitoring or budget alerts in the period.</p>'
    rows = "".join(f'<tr><td bgcolor="{_SEVERITY_COLOURS.get(r.severity, "#999999")}"><span style="color:#ffffff">'
                   f"<b>{_e(r.severity)}</b></span></td><td>{_e(r.kind)}</td><td><b>{_e(r.subject)}</b></td>"
                   f"<td>{_e(r.text)}</td><td>{_e(_iso_day(r.when))}</td></tr>" for r in data.risks)
    return (f'<table class="grid" width="100%" cellpadding="4" cellspacing="0"><tr><th>Severity</th><th>Kind</th>'
            f'<th>Subject</th><th width="45%">What</th><th>When</th></tr>{rows}</table>')


def _users(data: PortfolioReportData) -> str:
    rows = "".join(f'<tr><td><b>{_e(u.key)}</b></td><td class="num">{u.runs}</td>'
                   f'<td class="num">{u.gpu_hours:,.1f}</td><td class="num">{_e(money(u.cost))}</td></tr>'
                   for u in data.users)
    return (f'<table class="grid" width="60%" cellpadding="4" cellspacing="0"><tr><th>User</th><th class="num">Runs'
            f'</th><th class="num">GPU-hours</th><th class="num">Spend</th></tr>{rows}</table>')


def render_html(data: PortfolioReportData) -> str:
    per_month = spend_per_month_png([m.label for m in data.months], data.spend)
    vs_budget = spend_vs_budget_png([(p, data.project_total(p), data.period_budget(p)) for p in data.spend])
    span = f"{_day(data.period.start)} – {_day(data.period.end - 1)}"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Portfolio report {_e(data.period.label)}</title><style>{_CSS}</style></head>
<body>
<table width="100%" cellpadding="12" cellspacing="0"><tr><td bgcolor="#1f3a5f">
<span class="title">Portfolio report · {_e(data.period.label)}</span><br>
<span class="subtitle">{_e(span)} · NeuralForge · generated {_e(_day(data.generated))}</span>
</td></tr></table>
{_tiles(data)}
<h2>Spend against budget</h2>
{_spend_table(data)}
<p class="muted">Spend counts each run in the month it started (GPU-hours × the host's rate). The period's budget is
each project's monthly budget × {len(data.months)} month(s).</p>
<p>{_png_img(per_month, "Spend per month by project")}<br>{_png_img(vs_budget, "Spend against budget")}</p>
<h2>Top risks</h2>
{_risks(data)}
<h2 style="page-break-before: always">Models shipped in the period</h2>
{_shipped(data)}
<h2>Projects now</h2>
{_portfolio_table(data)}
<h2>Spend per person</h2>
{_users(data)}
</body></html>
"""


def write_portfolio_report(store: Store, period: Period, output: str | os.PathLike[str], *, fmt: str = "html",
                           now: float | None = None) -> tuple[Path, int]:
    """Write the report for ``period`` as ``fmt`` (html or pdf); returns the path and the page count (1 for html)."""
    page = render_html(gather(store, period, now=now))
    path = Path(output)
    if fmt == "pdf":
        from neuralforge_desktop.core.cards.pdf import write_pdf

        return path, write_pdf(page, path, title=f"Portfolio report {period.label}")
    write_text_atomic(path, page)
    return path, 1
