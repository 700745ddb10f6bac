"""A graph as an inline SVG block diagram, drawn without Qt (the app's diagram exporter needs Qt).

Layers go top to bottom in topological order; a wire between neighbours is a short arrow, a wire that skips
layers (a residual connection, a second input) is an arc on the right. Every label is escaped.
"""

from __future__ import annotations

from html import escape

from neuralforge_desktop.core.reports.data import GraphSummary

BOX_WIDTH = 300
BOX_HEIGHT = 38
GAP = 18
MARGIN = 12
ARC_SPACE = 90  # room on the right for the arcs of skip connections


def graph_svg(graph: GraphSummary) -> str:
    index = {layer.id: i for i, layer in enumerate(graph.layers)}
    height = MARGIN * 2 + len(graph.layers) * (BOX_HEIGHT + GAP) - GAP
    width = MARGIN * 2 + BOX_WIDTH + ARC_SPACE
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="graph-diagram" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(graph.name)}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#55606e"/></marker></defs>']

    def top(i: int) -> int:
        return MARGIN + i * (BOX_HEIGHT + GAP)

    for src, dst in graph.edges:
        if src not in index or dst not in index:
            continue
        a, b = index[src], index[dst]
        if b == a + 1:
            x = MARGIN + BOX_WIDTH // 2
            parts.append(f'<line x1="{x}" y1="{top(a) + BOX_HEIGHT}" x2="{x}" y2="{top(b) - 1}" stroke="#55606e" '
                         'stroke-width="1.5" marker-end="url(#arrow)"/>')
        else:
            x = MARGIN + BOX_WIDTH
            y1, y2 = top(a) + BOX_HEIGHT // 2, top(b) + BOX_HEIGHT // 2
            bulge = x + min(ARC_SPACE - 8, 24 + 10 * abs(b - a))
            parts.append(f'<path d="M{x},{y1} C{bulge},{y1} {bulge},{y2} {x + 1},{y2}" fill="none" stroke="#8a6fd1" '
                         'stroke-width="1.5" marker-end="url(#arrow)"/>')
    for i, layer in enumerate(graph.layers):
        y = top(i)
        parts.append(f'<rect x="{MARGIN}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" fill="#eef3fb" '
                     'stroke="#7b93b8"/>')
        parts.append(f'<text x="{MARGIN + 10}" y="{y + 16}" font-size="12" font-weight="600" fill="#1d2733">'
                     f'{escape(layer.name)} <tspan font-weight="400" fill="#4a5a6e">{escape(layer.type)}</tspan>'
                     "</text>")
        counted = f"{layer.params:,} params" if layer.params else ""  # "0 params" on every activation is noise
        detail = "  ·  ".join(x for x in (layer.output_shape, counted) if x)
        if detail:
            parts.append(f'<text x="{MARGIN + 10}" y="{y + 31}" font-size="11" fill="#5b6776">{escape(detail)}</text>')
    parts.append("</svg>")
    return "".join(parts)
