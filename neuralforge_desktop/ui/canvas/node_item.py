"""A layer on the canvas: title, type, parameter summary, ports, category stripe, error outline.

Everything a node shows is computed in :meth:`NodeItem.refresh` into an immutable :class:`NodeLook`; the
paint method only draws that look with the theme's ready-made pens and fonts, and the item is cached in
device coordinates, so panning blits pixmaps instead of running Python per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QStyleOptionGraphicsItem, QWidget

from neuralforge_desktop.core.analysis.describe import param_summary, wrap
from neuralforge_desktop.core.analysis.level import Level
from neuralforge_desktop.core.analysis.shapes import deep_revision
from neuralforge_desktop.core.catalog.mathtext import to_plain
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT
from neuralforge_desktop.ui.canvas.card_text import MAX_WIDTH, TEXT_PAD, WIDTH, Measure, card_text
from neuralforge_desktop.ui.canvas.port_item import PortItem, draw_port
from neuralforge_desktop.ui.canvas.style import GRID, Style
from neuralforge_desktop.ui.formula import FormulaLayout
from neuralforge_desktop.ui.formula import layout as formula_layout

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.edge_item import EdgeItem
    from neuralforge_desktop.ui.canvas.preview_item import PreviewItem

CONCEPT_WIDTH = 210.0  # the narrowest Concept Mode card; it widens to fit its formula, up to CONCEPT_MAX
CONCEPT_MAX = 320.0  # wider formulas wrap (at a relation or an operator) instead
FORMULA_PX = 14.0  # formula size on a Concept Mode card: as legible as the title at normal zoom
CONCEPT_LINE = 14.0  # line height of the plain-language description
STRIPE = 4.0
TEXT_X = STRIPE + 8.0
PORT_Y = 23.0  # single ports sit level with the title, so a chain of nodes gives straight wires
ROW = 16.0  # one named port row
MARGIN = 9.0  # bounding-rect slack for the port rings and the selection ring
RADIUS = 6.0
BODY_PAD = 18.0
BODY_HEADER = 34.0
LOD_TEXT = 0.4  # below this zoom a node shows only its name, drawn larger so it still reads
LOD_FLAT = 0.12  # below this, a flat rectangle
NAME_PX = 10.0  # the on-screen size a zoomed-out node's name aims for
NAME_MAX_PX = 28.0  # as large as the smallest card holds, so every name is drawn at one size


Shift = tuple[float, float, float, float, float]  # opened block's x, y, collapsed width; push right, push down


def room_shifts(opened: list[tuple[tuple[float, float], NodeItem]]) -> list[Shift]:
    """How much room each opened block needs beyond the card it replaces (rounded to the grid)."""
    shifts: list[Shift] = []
    for (x, y), item in opened:
        look = item.look
        if look is not None and look.expanded:
            collapsed, folded_height = look.card
            dx = math.ceil(max(0.0, look.width - collapsed) / GRID) * GRID
            dy = math.ceil(max(0.0, look.height - folded_height) / GRID) * GRID
            shifts.append((x, y, collapsed, dx, dy))
    return shifts


def shift_at(shifts: list[Shift], x: float, y: float) -> tuple[float, float]:
    """Where an opened block pushes a node at (x, y): right if it starts right of the block's middle, down
    if it is in the block's column below it. View state: the graph keeps its positions."""
    ox = oy = 0.0
    for bx, by, width, dx, dy in shifts:
        if x >= bx + width / 2.0:
            ox += dx
        elif x > bx - width and y > by + 1.0:
            oy += dy
    return ox, oy


@dataclass(frozen=True)
class NodeLook:
    """What one node shows; compared on refresh so an unchanged node keeps its cached pixmap."""

    width: float
    height: float
    card: tuple[float, float]  # its size as a card: an opened block's frame folds back to this
    title: str
    type_text: str
    summary: str
    summary_row: bool  # the summary did not fit beside the type, so it has its own row
    concept: tuple[str, ...]
    math: tuple[str, ...]  # the formula as plain text (tooltips, tests, accessibility)
    formula: FormulaLayout | None  # the typeset formula drawn under the description
    ins: tuple[tuple[str, float, bool], ...]  # name, y, connected
    outs: tuple[tuple[str, float, bool], ...]
    optional_ins: frozenset[str]  # inputs the layer does without (a figure leaves them out when free)
    in_names: bool
    out_names: bool
    color: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    repeat: int
    block: bool
    expanded: bool


def _port_rows_width(measure: Measure, ins: list[str], outs: list[str]) -> float:
    """The widest row of named ports: an input's name on the left, the output's on the same row at the right."""
    widest = 0.0
    for i in range(max(len(ins), len(outs))):
        left = measure("port", ins[i]) if i < len(ins) else 0.0
        right = measure("port", outs[i]) if i < len(outs) else 0.0
        widest = max(widest, left + right + (12.0 if left and right else 0.0))
    return widest


class NodeItem(QGraphicsRectItem):
    """One node of a :class:`Level`; editable (movable, selectable, wireable) only at the top level."""

    def __init__(self, style: Style, level: Level, node_id: str, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.style = style
        self.level = level
        self.node_id = node_id
        self.edges: set[EdgeItem] = set()
        self.ports: dict[tuple[str, bool], PortItem] = {}
        self.look: NodeLook | None = None
        self.highlight: tuple[str, bool] | None = None
        # Live previews (ui/canvas/previews.py) hang a picture under the card and add a line to the tooltip.
        self.preview_item: PreviewItem | None = None
        self.preview_tip = ""
        self.body_nodes: dict[str, NodeItem] = {}
        self._body_items: list[QGraphicsItem] = []
        self._body_key: tuple | None = None
        self._body_geometry_cache: tuple[float, float, tuple, tuple] | None = None
        self._stripe = QPainterPath()
        self._band = QPainterPath()
        self._rect = QRectF()
        self._color = self._type_color = self._tint = QColor()
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        flags = QGraphicsItem.GraphicsItemFlag
        if level.editable:
            self.setFlags(flags.ItemIsMovable | flags.ItemIsSelectable | flags.ItemSendsGeometryChanges)
        else:
            self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # a body is for looking; clicks reach the frame
        self.refresh()

    # -- data ----------------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self.level.path(self.node_id)

    @property
    def expanded(self) -> bool:
        return bool(self.look and self.look.expanded)

    def refresh(self, force: bool = False) -> bool:
        """Re-read the node; repaint and re-place ports only when what it shows changed. True if it did."""
        look = self._compute_look(force)
        if look == self.look and not force:
            return False
        geometry = self.look is None or (look.width, look.height, look.ins, look.outs, look.expanded) != (
            self.look.width, self.look.height, self.look.ins, self.look.outs, self.look.expanded)
        body = force or look.expanded != (self.look.expanded if self.look else False)
        if geometry or body:
            self.prepareGeometryChange()
        self.look = look
        self.setToolTip(self._tooltip())
        # Everything paint needs is prepared here, so painting allocates no colours, pens or paths.
        dark = self.style.theme.name == "dark"
        self._color = QColor(look.color)
        self._type_color = self._color.lighter(125) if dark else self._color.darker(135)
        self._tint = QColor(self._color)
        self._tint.setAlpha(60)
        if geometry or body:
            self._rect = QRectF(0.0, 0.0, look.width, look.height)
            self.setRect(QRectF(-MARGIN, -MARGIN, look.width + 2 * MARGIN, look.height + 2 * MARGIN))
            rounded = QPainterPath()
            rounded.addRoundedRect(self._rect, RADIUS, RADIUS)
            strip = QPainterPath()
            strip.addRect(QRectF(0, 0, STRIPE, look.height))
            self._stripe = rounded.intersected(strip)
            frame = QPainterPath()
            frame.addRoundedRect(self._rect, RADIUS + 2, RADIUS + 2)
            band = QPainterPath()
            band.addRect(QRectF(0.0, 0.0, look.width, BODY_HEADER - 8.0))
            self._band = frame.intersected(band)
            self._place_ports()
            for edge in list(self.edges):
                edge.update_path()
        self._port_tooltips()
        # An opened frame sits under the top level's wires (-1), so a wire passing it stays visible.
        self.setZValue(-2.0 if look.expanded else (0.0 if self.level.editable else 0.5))
        # An opened frame can be thousands of pixels wide; caching it costs more than drawing a few rects.
        self.setCacheMode(QGraphicsItem.CacheMode.NoCache if look.expanded else
                          QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if self.preview_item is not None:  # it hangs under the card: follow its size, colours, opening
            self.preview_item.follow_card(look.width, look.height, look.expanded)
        self.update()
        return True

    def _compute_look(self, force: bool = False) -> NodeLook:
        level, style = self.level, self.style
        theme = style.theme
        node = level.node(self.node_id)
        layer = level.layer(node)
        params = level.params(node)
        ins, outs = level.ports(node)
        expanded = node.type == BLOCK and node.body is not None and self.path in style.expanded
        least, most = WIDTH, MAX_WIDTH
        natural: FormulaLayout | None = None
        if style.concept and layer is not None:
            natural = formula_layout(layer.math, FORMULA_PX)
            least = min(CONCEPT_MAX, max(CONCEPT_WIDTH, math.ceil(natural.width + TEXT_X + 12.0)))
            most = CONCEPT_MAX
        elif style.concept:
            least, most = CONCEPT_WIDTH, CONCEPT_MAX
        type_text = node.type
        summary = param_summary(node, layer, params)
        repeat = node.repeat if node.type == BLOCK else 1
        badge = theme.width("badge", f"×{repeat}") + 12.0 if node.type == BLOCK else 0.0
        in_names, out_names = len(ins) > 1, len(outs) > 1
        port_rows = _port_rows_width(theme.width, [p.name for p in ins] if in_names else [],
                                     [p.name for p in outs] if out_names else []) if in_names or out_names else 0.0
        width, summary_row = card_text(theme.width, node.display_name, badge, type_text, summary, port_rows,
                                       least, most)
        text_w = width - TEXT_PAD
        formula: FormulaLayout | None = None
        if natural is not None and layer is not None:
            formula = formula_layout(layer.math, FORMULA_PX, text_w)
        title = theme.elided("title", node.display_name, text_w - badge)
        if summary_row:
            summary = theme.elided("summary", summary, text_w)
        y = 8.0 + 17.0 + 14.0 + (14.0 if summary_row else 0.0)
        concept: tuple[str, ...] = ()
        formula_text: tuple[str, ...] = ()
        if formula is not None and layer is not None:
            # The whole description, wrapped: Concept Mode is for reading, so nothing is cut short.
            concept = tuple(wrap(layer.description, text_w, lambda t: theme.width("concept", t), 1000))
            formula_text = (to_plain(layer.math),)
            y += 8.0 + CONCEPT_LINE * len(concept) + 6.0 + formula.height + 4.0
        rows_top = y + 4.0
        incoming = level.graph.incoming(self.node_id)
        used = {e.src_port for e in level.graph.outgoing(self.node_id)}
        in_rows = tuple((p.name, rows_top + ROW * (i + 0.5) if in_names else PORT_Y, p.name in incoming)
                        for i, p in enumerate(ins))
        out_rows = tuple((p.name, rows_top + ROW * (i + 0.5) if out_names else PORT_Y, p.name in used)
                         for i, p in enumerate(outs))
        rows = max(len(ins) if in_names else 0, len(outs) if out_names else 0)
        height = max(46.0, y + 6.0 + (ROW * rows + 2.0 if rows else 0.0))
        if node.type in (INPUT, OUTPUT) and not summary_row and not concept:
            height = 46.0
        card_size = (width, height)
        if expanded:
            width, height, in_rows, out_rows = self._body_geometry(node, in_rows, out_rows, force)
        elif self._body_items:
            self._clear_body()
        errors = tuple(d.message for d in level.errors(self.node_id))
        if not errors and node.type == BLOCK and not expanded:
            errors = tuple(d.message for d in level.inner_errors(self.node_id)[:3])
        optional = frozenset(p.name for p in ins if p.optional)
        return NodeLook(width, height, card_size, title, type_text, summary, summary_row, concept, formula_text,
                        formula, in_rows, out_rows, optional, in_names, out_names,
                        theme.category_color(layer.category if layer else None).name(),
                        errors, tuple(level.warnings(self.node_id)), repeat, node.type == BLOCK, expanded)

    def _tooltip(self) -> str:
        look = self.look
        assert look is not None
        node = self.level.node(self.node_id)
        layer = self.level.layer(node)
        lines = list(look.errors) + list(look.warnings)
        if not lines:
            lines = [f"{node.display_name} — {layer.display_name if layer else node.type}"]
            if layer is not None:
                lines.append(f"{layer.description}\n{to_plain(layer.math)}")
            if node.notes:
                lines.append(node.notes)
        if self.preview_tip:
            lines.append(self.preview_tip)
        return "\n".join(lines)

    def set_preview_tip(self, text: str) -> None:
        self.preview_tip = text
        if self.look is not None:
            self.setToolTip(self._tooltip())

    # -- an expanded block: its body drawn inside an enlarged frame ------------------------------------
    def _body_geometry(self, node: Any, in_rows: tuple, out_rows: tuple,
                       force: bool) -> tuple[float, float, tuple, tuple]:
        body_level = self.level.body_level(self.node_id)
        assert body_level is not None and node.body is not None
        # Rebuild the body's items only when the body, its shapes or the node style changed.
        key = (deep_revision(node.body), id(body_level.shapes), self.style.concept, in_rows, out_rows)
        if key == self._body_key and not force and self._body_geometry_cache is not None:
            return self._body_geometry_cache
        self._clear_body()
        from neuralforge_desktop.ui.canvas.edge_item import EdgeItem  # edge_item imports this module

        items = {nid: NodeItem(self.style, body_level, nid, self) for nid in node.body.nodes}
        xs = [n.position[0] for n in node.body] or [0.0]
        ys = [n.position[1] for n in node.body] or [0.0]
        left, top = min(xs), min(ys)
        width, height = 260.0, BODY_HEADER + 60.0
        # Opened blocks inside the body make room the same way as at the top level.
        shifts = room_shifts([(node.body.nodes[n].position, i) for n, i in items.items()])
        for nid, item in items.items():
            x, y = node.body.nodes[nid].position
            ox, oy = shift_at(shifts, x, y)
            item.setPos(BODY_PAD + x - left + ox, BODY_HEADER + BODY_PAD + y - top + oy)
            assert item.look is not None
            width = max(width, item.pos().x() + item.look.width + BODY_PAD)
            height = max(height, item.pos().y() + item.look.height + BODY_PAD)
        self.body_nodes = items
        self._body_items = list(items.values())
        for edge in node.body.edges:
            if edge.src in items and edge.dst in items:
                wire = EdgeItem(self.style, body_level, edge, items[edge.src], items[edge.dst], self)
                self._body_items.append(wire)
                height = max(height, wire.boundingRect().bottom() + BODY_PAD)  # skip wires dip below the row
        # The block's own ports line up with the body's Input and Output nodes they stand for.
        ins = tuple((name, items[name].pos().y() + PORT_Y if name in items else y, c) for name, y, c in in_rows)
        outs = tuple((name, items[name].pos().y() + PORT_Y if name in items else y, c) for name, y, c in out_rows)
        self._body_key = key
        self._body_geometry_cache = (width, height, ins, outs)
        return self._body_geometry_cache

    def _clear_body(self) -> None:
        scene = self.scene()
        for item in self._body_items:
            if scene is not None:
                scene.removeItem(item)
            else:
                item.setParentItem(None)
        self._body_items = []
        self.body_nodes = {}
        self._body_key = None
        self._body_geometry_cache = None

    # -- ports ---------------------------------------------------------------------------------------
    def _place_ports(self) -> None:
        look = self.look
        assert look is not None
        wanted = {(name, False): QPointF(0.0, y) for name, y, _ in look.ins}
        wanted.update({(name, True): QPointF(look.width, y) for name, y, _ in look.outs})
        for key in [k for k in self.ports if k not in wanted]:
            port = self.ports.pop(key)
            if port.scene() is not None:
                port.scene().removeItem(port)
            else:
                port.setParentItem(None)
        for key, center in wanted.items():
            port = self.ports.get(key)
            if port is None:
                self.ports[key] = PortItem(self, key[0], key[1], center, self.level.editable)
            else:
                port.setPos(center)

    def _port_tooltips(self) -> None:
        result = self.level.result(self.node_id)
        for (name, output), port in self.ports.items():
            specs = None if result is None else (result.outputs if output else result.inputs)
            spec = None if specs is None else specs.get(name)
            shape = f": {spec}" if spec is not None else ""
            tip = f"{name} ({'output' if output else 'input'}){shape}"
            if self.level.editable:
                tip += " — drag to an input to connect" if output else " — drag to an output to connect"
            port.setToolTip(tip)

    def port_scene_pos(self, name: str, output: bool) -> QPointF:
        port = self.ports.get((name, output))
        if port is None:  # a port that no longer exists (params changed): attach to the node's side
            look = self.look
            return self.mapToScene(QPointF(look.width if (look and output) else 0.0, PORT_Y))
        return port.scenePos()

    def set_highlight(self, key: tuple[str, bool] | None) -> None:
        if key != self.highlight:
            self.highlight = key
            self.update()

    # -- Qt hooks ------------------------------------------------------------------------------------
    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:  # Qt names this
        kind = QGraphicsItem.GraphicsItemChange
        if change == kind.ItemPositionChange and self.style.snap and not self.style.syncing:
            return QPointF(round(value.x() / GRID) * GRID, round(value.y() / GRID) * GRID)
        if change == kind.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        look = self.look
        if look is None:
            return
        theme = self.style.theme
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        rect = self._rect
        color = self._color
        selected = self.isSelected() and not self.style.exporting
        if lod < LOD_FLAT and not self.style.exporting:
            # A speck at this zoom: one flat rectangle in the category colour, red when broken.
            painter.fillRect(rect, theme.edge_error if look.errors else (theme.accent if selected else color))
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if look.expanded:
            self._paint_frame(painter, rect, color, selected)
            return
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.shadow)
        painter.drawRoundedRect(rect.translated(0.0, 2.0), RADIUS, RADIUS)
        if look.block:  # a second card behind says "there is more inside"
            painter.setBrush(theme.node_header)
            painter.setPen(theme.pens["border"])
            painter.drawRoundedRect(rect.translated(4.0, -4.0), RADIUS, RADIUS)
        painter.setBrush(theme.node_fill)
        painter.setPen(theme.pens["error"] if look.errors else
                       theme.pens["warning"] if look.warnings else theme.pens["border"])
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPath(self._stripe)
        if selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(theme.pens["selected"])
            painter.drawRoundedRect(rect.adjusted(-3.0, -3.0, 3.0, 3.0), RADIUS + 2, RADIUS + 2)
        if lod >= LOD_TEXT or self.style.exporting:
            self._paint_text(painter, look, color)
        else:
            self._paint_name(painter, look, lod)
        self._paint_ports(painter, look, color)

    def _paint_name(self, painter: QPainter, look: NodeLook, lod: float) -> None:
        """Zoomed out: the node's name alone, as large as the card allows, so a whole model still reads."""
        font = QFont(self.style.theme.fonts["title"])
        size = min(NAME_PX / lod, NAME_MAX_PX)
        font.setPixelSize(max(12, round(size)))
        room = look.width - TEXT_X - 6.0
        name = self.level.node(self.node_id).display_name
        wide = QFontMetricsF(font).horizontalAdvance(name)
        if wide > room:  # a long name: smaller (to two thirds) before it is cut short
            font.setPixelSize(max(12, round(size * max(room / wide, 0.66))))
        text = QFontMetricsF(font).elidedText(name, Qt.TextElideMode.ElideRight, room)
        painter.setFont(font)
        painter.setPen(self.style.theme.text)
        painter.drawText(QRectF(TEXT_X, 0.0, room, look.height),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)

    def _paint_text(self, painter: QPainter, look: NodeLook, color: QColor) -> None:
        theme = self.style.theme
        w = look.width
        painter.setFont(theme.fonts["title"])
        painter.setPen(theme.text)
        painter.drawText(QPointF(TEXT_X, 8.0 + 12.0), look.title)
        painter.setFont(theme.fonts["type"])
        painter.setPen(self._type_color)
        painter.drawText(QPointF(TEXT_X, 25.0 + 11.0), look.type_text)
        painter.setFont(theme.fonts["summary"])
        painter.setPen(theme.text_dim)
        if look.summary_row:
            painter.drawText(QPointF(TEXT_X, 39.0 + 11.0), look.summary)
        elif look.summary:
            sw = theme.width("summary", look.summary)
            painter.drawText(QPointF(w - 10.0 - sw, 25.0 + 11.0), look.summary)
        y = 39.0 + (14.0 if look.summary_row else 0.0) + 4.0
        if look.formula is not None:
            self._paint_concept(painter, look, y)
        if look.block:
            text = f"×{look.repeat}"
            bw = theme.width("badge", text) + 8.0
            pill = QRectF(w - 8.0 - bw, 7.0, bw, 15.0)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.node_header if look.repeat == 1 else color.darker(150))
            painter.drawRoundedRect(pill, 7.0, 7.0)
            painter.setFont(theme.fonts["badge"])
            painter.setPen(theme.text)
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        elif look.errors:
            dot = QPointF(w - 13.0, 14.0)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.edge_error)
            painter.drawEllipse(dot, 6.0, 6.0)
            painter.setFont(theme.fonts["badge"])
            painter.setPen(Qt.GlobalColor.white)
            painter.drawText(QRectF(dot.x() - 6.0, dot.y() - 7.0, 12.0, 14.0), Qt.AlignmentFlag.AlignCenter, "!")
        painter.setFont(theme.fonts["port"])
        painter.setPen(theme.text_faint)
        if look.in_names:
            for name, py, _ in look.ins:
                painter.drawText(QPointF(TEXT_X - 2.0, py + 3.5), name)
        if look.out_names:
            for name, py, _ in look.outs:
                nw = theme.width("port", name)
                painter.drawText(QPointF(w - 10.0 - nw, py + 3.5), name)

    def _paint_concept(self, painter: QPainter, look: NodeLook, y: float) -> None:
        """Concept Mode: the plain-language description, then the typeset formula."""
        theme = self.style.theme
        painter.setPen(theme.pens["divider"])
        painter.drawLine(QPointF(TEXT_X, y), QPointF(look.width - 10.0, y))
        y += 4.0
        painter.setFont(theme.fonts["concept"])
        painter.setPen(theme.text_dim)
        for line in look.concept:
            painter.drawText(QPointF(TEXT_X, y + 11.0), line)
            y += CONCEPT_LINE
        if look.formula is not None:
            look.formula.draw(painter, TEXT_X, y + 6.0, theme.text)

    def _paint_ports(self, painter: QPainter, look: NodeLook, color: QColor) -> None:
        fill = self.style.theme.port_fill
        # A figure shows how data flows, so it leaves out the free ports that are only there to start a wire
        # from in the editor (a loss's output, an attention's optional key): rings that lead nowhere would
        # read as something missing. A free input the layer needs is a real gap and stays drawn.
        figure = self.style.exporting
        for name, py, connected in look.ins:
            if connected or not (figure and name in look.optional_ins):
                draw_port(painter, QPointF(0.0, py), color, fill, connected, self.highlight == (name, False))
        for name, py, connected in look.outs:
            if connected or not figure:
                draw_port(painter, QPointF(look.width, py), color, fill, connected, self.highlight == (name, True))

    def _paint_frame(self, painter: QPainter, rect: QRectF, color: QColor, selected: bool) -> None:
        theme = self.style.theme
        look = self.look
        assert look is not None
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.shadow)
        painter.drawRoundedRect(rect.translated(0.0, 3.0), RADIUS + 2, RADIUS + 2)
        painter.setBrush(theme.body_fill)
        painter.setPen(theme.pens["selected"] if selected else
                       theme.pens["error"] if look.errors else theme.pens["body_border"])
        painter.drawRoundedRect(rect, RADIUS + 2, RADIUS + 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._tint)
        painter.drawPath(self._band)
        painter.setFont(theme.fonts["title"])
        painter.setPen(theme.text)
        painter.drawText(QPointF(12.0, 18.0), look.title)
        tw = theme.width("title", look.title)
        painter.setFont(theme.fonts["type"])
        painter.setPen(theme.text_dim)
        repeat = f" ×{look.repeat}" if look.repeat > 1 else ""
        painter.drawText(QPointF(22.0 + tw, 18.0), f"Block{repeat} · {look.summary} · read-only view")
        for name, py, _ in look.ins:  # tie each outer port to the body Input it feeds
            inner = self.body_nodes.get(name)
            if inner is not None:
                painter.setPen(theme.pens["body_border"])
                painter.drawLine(QPointF(0.0, py), QPointF(inner.pos().x(), py))
        for name, py, _ in look.outs:
            inner = self.body_nodes.get(name)
            if inner is not None and inner.look is not None:
                painter.setPen(theme.pens["body_border"])
                painter.drawLine(QPointF(inner.pos().x() + inner.look.width, py), QPointF(look.width, py))
        self._paint_ports(painter, look, color)

    def display_lines(self) -> list[str]:
        """The texts this node shows, in reading order (tests and accessibility read them)."""
        look = self.look
        if look is None:
            return []
        lines = [look.title, look.type_text]
        if look.summary:
            lines.append(look.summary)
        lines += list(look.concept) + list(look.math)
        return lines
