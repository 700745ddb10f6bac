"""A self-contained HTML report on one experiment: one file, no scripts, nothing fetched.

Inline CSS; plots embedded as base64 PNG (matplotlib); the runs table with params and final metrics; the
notes rendered from Markdown; each distinct graph as an inline SVG diagram and a table of layers.

Everything from the store (run names, params, tags, notes) is data: it is escaped on the way into the page,
notes go through a Markdown renderer with raw HTML off, and the page's Content-Security-Policy forbids
scripts altogether, so a run named ``<script>…</script>`` is shown as text and can run nothing.
"""

from __future__ import annotations

import base64
import math
import os
import time
from html import escape
from pathlib import Path

from neuralforge_desktop.core.reports.data import ReportData, collect, final_value
from neuralforge_desktop.core.reports.graph_svg import graph_svg
from neuralforge_desktop.core.reports.markdown_html import markdown_to_html
from neuralforge_desktop.core.reports.plots import metric_figure_png
from neuralforge_desktop.core.store.sqlite_store import Store

# default-src 'none' blocks scripts, frames, fonts and fetches; images only from data: URLs; inline CSS only.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSS = """
body { font-family: -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; color: #1d2733; margin: 24px auto;
       max-width: 1180px; padding: 0 16px; background: #fff; }
h1 { font-size: 26px; margin-bottom: 2px; } h2 { font-size: 19px; margin-top: 30px; border-bottom: 1px solid #d8dee6;
padding-bottom: 4px; } h3 { font-size: 15px; }
.meta { color: #5b6776; font-size: 13px; }
.plots { display: flex; flex-wrap: wrap; gap: 14px; }
.plot { border: 1px solid #d8dee6; border-radius: 6px; padding: 6px; background: #fff; margin: 0; }
.plot img { display: block; width: 550px; max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #d8dee6; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f6fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { border-left: 4px solid #7b93b8; background: #f7f9fc; padding: 6px 12px; margin: 10px 0; }
.note.hypothesis { border-color: #d18b1f; } .note.observation { border-color: #2c9a5a; }
.note-head { font-size: 12px; color: #5b6776; } .kind { font-weight: 600; text-transform: uppercase; }
.graph { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
code, pre { background: #eef1f5; border-radius: 3px; } pre { padding: 6px; overflow-x: auto; }
"""


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.4g}"


def _when(stamp: float | None) -> str:
    return "" if stamp is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _plots(data: ReportData) -> str:
    if not data.series:
        return "<p>No metrics were logged.</p>"
    figures = []
    for metric in data.metric_names():
        curves = [(run.name, data.series[metric][run.id]) for run in data.runs if run.id in data.series[metric]]
        png = base64.b64encode(metric_figure_png(metric, curves)).decode("ascii")
        figures.append(f'<figure class="plot"><img alt="{escape(metric)} by step" '
                       f'src="data:image/png;base64,{png}"></figure>')
    return f'<div class="plots">{"".join(figures)}</div>'


def _runs_table(data: ReportData) -> str:
    params, metrics = data.param_names(), data.metric_names()
    head = ["run", "status", "created", *params, *metrics]
    rows = []
    for run in data.runs:
        cells = [f"<td>{escape(run.name)}<br><span class=meta>{escape(run.id)}</span></td>",
                 f"<td>{escape(run.status)}</td>", f"<td>{escape(_when(run.created))}</td>"]
        cells += [f"<td>{escape(str(run.params.get(name, '')))}</td>" for name in params]
        cells += [f'<td class="num">{escape(_number(final_value(run, name)))}</td>' for name in metrics]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _notes(data: ReportData) -> str:
    if not data.notes:
        return "<p>No notes yet (<code>neuralforge notes add</code>, or Runs ▸ Notes… in the app).</p>"
    blocks = []
    for note in data.notes:
        about = f"run {data.run_name(note.run_id)}" if note.run_id else "experiment"
        edited = f" · edited {_when(note.updated)}" if note.updated - note.created > 1 else ""
        blocks.append(f'<div class="note {escape(note.kind)}"><div class="note-head"><span class="kind">'
                      f'{escape(note.kind)}</span> · {escape(about)} · {escape(_when(note.created))}{escape(edited)}'
                      f"</div>{markdown_to_html(note.text)}</div>")
    return "".join(blocks)


def _graphs(data: ReportData) -> str:
    if not data.graphs:
        return "<p>No run of this experiment has its graph attached.</p>"
    sections = []
    for graph in data.graphs:
        rows = "".join(f"<tr><td>{escape(layer.name)}</td><td>{escape(layer.type)}</td>"
                       f"<td>{escape(layer.output_shape)}</td><td class=num>"
                       f"{'' if layer.params is None else f'{layer.params:,}'}</td></tr>" for layer in graph.layers)
        more = "<p class=meta>(only the first layers are listed)</p>" if graph.truncated else ""
        total = "" if graph.total_params is None else f" · {graph.total_params:,} parameters"
        sections.append(
            f"<h3>{escape(graph.name)} <span class=meta>{escape(graph.sha256[:12])}{total} · trained by "
            f"{escape(', '.join(graph.run_names))}</span></h3><div class=graph>{graph_svg(graph)}<div><table><thead>"
            f"<tr><th>layer</th><th>type</th><th>output</th><th>params</th></tr></thead><tbody>{rows}</tbody>"
            f"</table>{more}</div></div>")
    return "".join(sections)


def render_html(data: ReportData) -> str:
    title = f"Experiment {data.experiment.name}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=meta>{len(data.runs)} runs · report written "
            f"{escape(_when(time.time()))} by NeuralForge</p>"
            f"<h2>Curves</h2>{_plots(data)}<h2>Runs</h2>{_runs_table(data)}"
            f"<h2>Notes</h2>{_notes(data)}<h2>Graphs</h2>{_graphs(data)}</body></html>\n")


def write_html_report(store: Store, experiment: str, output: str | os.PathLike[str]) -> Path:
    """Write the report on ``experiment`` (name or id) to ``output``; returns its path."""
    target = Path(output)
    text = render_html(collect(store, experiment))
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)  # a reader never sees half a report
    return target
