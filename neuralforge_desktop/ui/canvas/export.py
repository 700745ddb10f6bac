"""Diagrams of a graph for papers and slides: PNG (at any scale), SVG or PDF.

A diagram is drawn from a copy of the graph in a scene of its own, never from the canvas on screen: the
canvas's zoom (which hides shape labels and thins wires when far out), its selection and its positions stay
out of the picture, and laying the copy out never moves the user's nodes. Every node is drawn in full detail,
every wire with its shape (unless shapes are turned off).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QMarginsF, QRect, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import MoveNodes
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.layout import COLUMN_GAP, Spacing, layout_positions
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.canvas.scene import BACKDROPS, GraphScene
from neuralforge_desktop.ui.theme import DEFAULT_THEME, THEMES, canvas_theme

Background = Literal["white", "theme", "transparent"]
DiagramLayout = Literal["wrapped", "horizontal", "vertical", "canvas"]
BACKGROUNDS: tuple[Background, ...] = ("white", "theme", "transparent")
LAYOUTS: tuple[DiagramLayout, ...] = ("wrapped", "horizontal", "vertical", "canvas")
FORMATS = {".png": "PNG image", ".svg": "SVG drawing", ".pdf": "PDF document"}
RASTER = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
MARGIN = 24.0
SLIDE_AREA = (1600.0, 1000.0)  # a wrapped diagram fits this at full size where it can: a 16:10 slide
LABEL_ROOM = 16.0  # between a shape label and the nodes on either side of it
MAX_SCALE = 8.0
MAX_PIXELS = 20000  # per side of a PNG: past this, image viewers and slide programs give up


class ExportError(UserError, ValueError):
    """A diagram that cannot be written as asked (an unknown format or option)."""

    status = 2


@dataclass(frozen=True)
class ExportOptions:
    """How a diagram is drawn.

    ``scale``: PNG pixels per canvas pixel (2 is crisp on slides; the file says ``96 × scale`` dpi, so it
    prints at the same size at any scale). ``background``: white (with the light theme unless ``theme``
    says otherwise), the theme's own colour, or transparent. ``layout``: how the copy is arranged ("canvas"
    keeps the positions, and opened blocks, as on screen). ``theme``: None picks light on white or
    transparent, the canvas's theme on its own background. ``concept``: Concept Mode cards (None: as the
    canvas shows them)."""

    scale: float = 2.0
    background: Background = "white"
    shapes: bool = True
    layout: DiagramLayout = "wrapped"
    theme: str | None = None
    concept: bool | None = None

    def __post_init__(self) -> None:
        if not 0.1 <= self.scale <= MAX_SCALE:
            raise ExportError(f"scale must be between 0.1 and {MAX_SCALE:g}, got {self.scale:g}")
        if self.background not in BACKGROUNDS:
            raise ExportError(f"background must be one of {', '.join(BACKGROUNDS)}, got {self.background!r}")
        if self.layout not in LAYOUTS:
            raise ExportError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.theme is not None and self.theme not in THEMES:
            raise ExportError(f"theme must be one of {', '.join(THEMES)}, got {self.theme!r}")

    @property
    def dpi(self) -> float:
        return 96.0 * self.scale


@dataclass(frozen=True)
class Diagram:
    """A written diagram: its file and its size (pixels for a PNG, canvas pixels, i.e. points, otherwise)."""

    path: Path
    width: int
    height: int


def check_target(path: str | Path) -> Path:
    """``path`` if its suffix names a format diagrams are written in; else an :class:`ExportError`."""
    target = Path(path)
    if target.suffix.lower() not in RASTER | {".svg", ".pdf"}:
        raise ExportError(f"cannot export to {target.name!r}: use .png, .svg or .pdf")
    return target


def export_graph(graph: Graph, path: str | Path, options: ExportOptions = ExportOptions(), *,
                 canvas: GraphScene | None = None) -> Diagram:
    """Write a diagram of ``graph`` to ``path`` (the suffix picks the format). ``canvas``, the scene on
    screen, lends its theme, Concept Mode and opened blocks; the graph itself is never changed."""
    target = check_target(path)
    scene = diagram_scene(graph, options, canvas)
    try:
        width, height = render_scene(scene, target, options)
    finally:
        scene.clear()
    return Diagram(target, width, height)


def diagram_scene(graph: Graph, options: ExportOptions, canvas: GraphScene | None = None) -> GraphScene:
    """A scene of its own over a copy of ``graph``, styled and laid out as ``options`` say."""
    copied = copy.deepcopy(graph)
    if options.layout != "canvas":
        copied.meta.pop(BACKDROPS, None)  # titled frames around nodes that will be elsewhere
    document = Document(copied)
    scene = GraphScene(DocumentBridge(document))
    style = scene.style
    if options.theme is not None:
        theme = options.theme
    elif options.background == "theme" and canvas is not None:
        theme = canvas.style.theme.name
    else:
        theme = "light" if options.background != "theme" else DEFAULT_THEME
    style.theme = canvas_theme(theme)
    style.concept = options.concept if options.concept is not None else bool(canvas and canvas.style.concept)
    if options.layout == "canvas" and canvas is not None:
        style.expanded.update(canvas.style.expanded)
    scene.restyle(geometry=True)
    if options.layout != "canvas" and len(copied):
        spacing = Spacing(column=max(COLUMN_GAP, _widest_label(scene) + 2 * LABEL_ROOM) if options.shapes
                          else COLUMN_GAP)
        positions = layout_positions(copied, sizes=scene.node_sizes(), orientation=options.layout,
                                     area=SLIDE_AREA, spacing=spacing)
        document.apply(MoveNodes(positions, label="Lay out the diagram"))
    scene.flush_refresh()
    scene.set_detail(labels=options.shapes, far=False, wires=True)
    return scene


def _widest_label(scene: GraphScene) -> float:
    theme = scene.style.theme
    return max((theme.width("label", e.look.text) + 10.0 for e in scene.edges.values() if e.look is not None),
               default=0.0)


def render_scene(scene: GraphScene, target: Path, options: ExportOptions) -> tuple[int, int]:
    """Draw every item of ``scene`` (nothing else: no grid, no selection) into ``target``; returns the
    picture's width and height (pixels for a raster, canvas pixels otherwise)."""
    suffix = target.suffix.lower()
    drawn = scene.itemsBoundingRect()
    if drawn.isEmpty():
        drawn = QRectF(0.0, 0.0, 200.0, 120.0)
    source = drawn.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    background = None if options.background == "transparent" else (
        QColor("#ffffff") if options.background == "white" else scene.style.theme.background)
    # Vector output must get real strokes and text, not the cached pixmaps items use on screen.
    cached = [(item, item.cacheMode()) for item in scene.items()
              if item.cacheMode() != QGraphicsItem.CacheMode.NoCache]
    for item, _ in cached:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    scene.clearSelection()
    scene.style.exporting = True
    try:
        if suffix in RASTER:
            return _raster(scene, source, target, options, background)
        if suffix == ".svg":
            _svg(scene, source, target, background)
        else:
            _pdf(scene, source, target, background)
        return round(source.width()), round(source.height())
    finally:
        scene.style.exporting = False
        for item, mode in cached:
            item.setCacheMode(mode)


def _paint(painter: QPainter, scene: GraphScene, target: QRectF, source: QRectF, background: QColor | None) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    if background is not None:
        painter.fillRect(target, background)
    scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)


def _raster(scene: GraphScene, source: QRectF, target: Path, options: ExportOptions,
            background: QColor | None) -> tuple[int, int]:
    size = QSize(max(1, round(source.width() * options.scale)), max(1, round(source.height() * options.scale)))
    if max(size.width(), size.height()) > MAX_PIXELS:
        raise ExportError(f"a {size.width()}×{size.height()} picture is too large (at most {MAX_PIXELS} pixels a "
                          "side): lower the scale, or export SVG or PDF")
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(background if background is not None else QColor(Qt.GlobalColor.transparent))
    dots_per_meter = round(options.dpi / 0.0254)
    image.setDotsPerMeterX(dots_per_meter)
    image.setDotsPerMeterY(dots_per_meter)
    painter = QPainter(image)
    try:
        _paint(painter, scene, QRectF(0.0, 0.0, size.width(), size.height()), source, background)
    finally:
        painter.end()
    if not image.save(str(target)):
        raise OSError(f"could not write {target}")
    return size.width(), size.height()


def _svg(scene: GraphScene, source: QRectF, target: Path, background: QColor | None) -> None:
    generator = QSvgGenerator()
    generator.setFileName(str(target))
    size = QSize(round(source.width()), round(source.height()))
    generator.setSize(size)
    generator.setResolution(96)  # one canvas pixel per CSS pixel
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle(scene.graph.name)
    generator.setDescription("NeuralForge graph")
    painter = QPainter(generator)
    try:
        _paint(painter, scene, QRectF(0.0, 0.0, size.width(), size.height()), source, background)
    finally:
        painter.end()


def _pdf(scene: GraphScene, source: QRectF, target: Path, background: QColor | None) -> None:
    writer = QPdfWriter(str(target))
    writer.setTitle(scene.graph.name)
    writer.setCreator("NeuralForge")
    writer.setResolution(72)  # one scene pixel per PDF point: the page is exactly the graph's size
    writer.setPageLayout(QPageLayout(QPageSize(QSizeF(source.width(), source.height()), QPageSize.Unit.Point),
                                     QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    painter = QPainter(writer)
    try:
        page = QRectF(painter.viewport())
        _paint(painter, scene, page, source, background)
    finally:
        painter.end()

