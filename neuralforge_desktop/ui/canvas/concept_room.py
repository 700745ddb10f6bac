"""Room for Concept Mode's larger cards, so they never cover each other and every wire keeps its shape label.

A Concept Mode card carries a description and a typeset formula, so it is wider and taller than the normal
card the graph was laid out for. Rather than let cards overlap (and wires shrink until their labels no longer
fit), the view spreads the columns and rows of the layout apart by just what the larger cards take: the gap
between two columns stays what it was with normal cards (up to :data:`LABEL_GAP`), and so does the gap between
two rows (up to :data:`ROW_GAP`). This is view state only, like the room made for opened blocks: the graph
keeps its positions, items sit at (graph position + spread), and moves subtract it again. Free of Qt.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

LABEL_GAP = 110.0  # horizontal room kept between columns: a shape label such as "N×512×7×7" with its margins
ROW_GAP = 40.0  # vertical room kept between rows

Box = tuple[float, float, float, float]  # graph x, graph y, drawn width, drawn height


@dataclass(frozen=True)
class Spread:
    """How far each column (by graph x) moves right and each row (by graph y) moves down."""

    columns: tuple[float, ...]  # where each column starts (graph x), ascending
    dx: tuple[float, ...]
    rows: tuple[float, ...]
    dy: tuple[float, ...]

    def at(self, x: float, y: float) -> tuple[float, float]:
        column = bisect_right(self.columns, x) - 1
        row = bisect_right(self.rows, y) - 1
        return (self.dx[column] if column >= 0 else 0.0), (self.dy[row] if row >= 0 else 0.0)


def _bands(starts_sizes: list[tuple[float, float]], normal: float, most_gap: float) -> tuple[tuple[float, ...],
                                                                                          tuple[float, ...]]:
    """Group positions into bands (nodes less than half a normal card apart share one) and give each band the
    push that keeps the gap before it what it was with ``normal``-sized cards (at most ``most_gap``)."""
    starts: list[float] = []
    ends: list[float] = []  # the band's far edge as drawn now
    normal_ends: list[float] = []  # … and as it was with normal cards
    for start, size in sorted(starts_sizes):
        if not starts or start >= starts[-1] + normal / 2.0:
            starts.append(start)
            ends.append(start + size)
            normal_ends.append(start + normal)
        else:
            ends[-1] = max(ends[-1], start + size)
            normal_ends[-1] = max(normal_ends[-1], start + normal)
    pushes = [0.0]
    for i in range(1, len(starts)):
        wanted = min(max(starts[i] - normal_ends[i - 1], 0.0), most_gap)
        have = starts[i] - ends[i - 1]
        pushes.append(pushes[-1] + max(0.0, wanted - have))
    return tuple(starts), tuple(pushes)


def concept_spread(boxes: Iterable[Box], normal_width: float, normal_height: float) -> Spread | None:
    """The spread for cards drawn at these sizes; None when no card needs more room than a normal one."""
    placed = list(boxes)
    if not placed:
        return None
    columns, dx = _bands([(x, w) for x, _, w, _ in placed], normal_width, LABEL_GAP)
    rows, dy = _bands([(y, h) for _, y, _, h in placed], normal_height, ROW_GAP)
    if not any(dx) and not any(dy):
        return None
    return Spread(columns, dx, rows, dy)
