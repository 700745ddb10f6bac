"""A node's live preview: a small picture of its output, hung under the card.

It is a child of the :class:`~.node_item.NodeItem`, not part of the card: the card keeps its size, so wires,
ports and the layout stay exactly as they are with previews off. Everything is prepared in
:meth:`PreviewItem.set_preview` (tile images, bar rectangles); painting only blits them, and the item is cached
in device coordinates like the card.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from neuralforge_desktop.core.analysis.previews import NodePreview
from neuralforge_desktop.ui.canvas.style import Style

GAP = 6.0  # between the card and its preview
HEIGHT = 56.0  # fits in the 80 px a wrapped layout leaves between rows
PAD = 4.0
TILE_GAP = 1.0
LOD_FLAT = 0.12  # as the card: below this zoom, a flat rectangle
# A perceptual colour map (viridis' anchors): a feature map's structure reads better than in grey.
_ANCHORS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def _color_table() -> list[int]:
    table = []
    for i in range(256):
        x = i / 255 * (len(_ANCHORS) - 1)
        k = min(int(x), len(_ANCHORS) - 2)
        f = x - k
        r, g, b = (round(a + (b - a) * f) for a, b in zip(_ANCHORS[k], _ANCHORS[k + 1], strict=True))
        table.append(QColor(r, g, b).rgb())
    return table


COLOR_TABLE = _color_table()


def tile_grid(count: int, aspect: float, width: float, height: float) -> tuple[int, int, float]:
    """(columns, rows, tile width) that show ``count`` tiles of ``aspect`` (height / width) as large as
    ``width`` × ``height`` allows."""
    best = (count, 1, 0.0)
    for rows in range(1, count + 1):
        cols = math.ceil(count / rows)
        tile = min((width - (cols - 1) * TILE_GAP) / cols, ((height - (rows - 1) * TILE_GAP) / rows) / aspect)
        if tile > best[2]:
            best = (cols, rows, tile)
    return best


def to_image(tile: np.ndarray) -> QImage:
    """One ``uint8`` tile as an indexed image in the colour map (copied: the image owns its pixels)."""
    data = np.ascontiguousarray(tile)
    height, width = data.shape
    image = QImage(data.tobytes(), width, height, width, QImage.Format.Format_Indexed8).copy()
    image.setColorTable(COLOR_TABLE)
    return image


class PreviewItem(QGraphicsItem):
    """The preview under one node's card: feature-map tiles or a histogram."""

    def __init__(self, style: Style, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.style = style
        self.preview: NodePreview | None = None
        self.source = ""
        self._rect = QRectF()
        self._tiles: list[tuple[QRectF, QImage]] = []
        self._bars: list[QRectF] = []
        self._zero: float | None = None  # y of the histogram's zero, when zero lies inside its range
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks reach what lies beneath

    def boundingRect(self) -> QRectF:  # Qt names this
        return self._rect.adjusted(-1.0, -1.0, 1.0, 1.0)

    def set_preview(self, preview: NodePreview, card_width: float, card_height: float, source: str) -> None:
        """Show ``preview`` under a card of this size; ``source`` says what sample went in (tooltip)."""
        self.prepareGeometryChange()
        self.preview, self.source = preview, source
        self.setPos(0.0, card_height + GAP)
        self._rect = QRectF(0.0, 0.0, card_width, HEIGHT)
        inner = self._rect.adjusted(PAD, PAD, -PAD, -PAD)
        self._tiles, self._bars, self._zero = [], [], None
        if preview.tiles is not None and len(preview.tiles):
            self._layout_tiles(preview.tiles, inner)
        elif preview.counts:
            self._layout_bars(preview, inner)
        self.setToolTip(f"{preview.describe()}\n{source}")
        self.update()

    def follow_card(self, card_width: float, card_height: float, expanded: bool) -> None:
        """The card changed (a param, Concept Mode, the theme): stay under it, at its width, in its colours;
        hidden while it is an opened block's frame."""
        self.setVisible(not expanded)
        if self.preview is not None and (card_width, card_height + GAP) != (self._rect.width(), self.y()):
            self.set_preview(self.preview, card_width, card_height, self.source)
        else:
            self.update()

    def _layout_tiles(self, tiles: np.ndarray, inner: QRectF) -> None:
        count, height, width = tiles.shape
        aspect = height / width
        cols, rows, tile = tile_grid(count, aspect, inner.width(), inner.height())
        used = cols * tile + (cols - 1) * TILE_GAP
        left = inner.left() + (inner.width() - used) / 2.0
        top = inner.top() + (inner.height() - (rows * tile * aspect + (rows - 1) * TILE_GAP)) / 2.0
        for index in range(count):
            row, col = divmod(index, cols)
            rect = QRectF(left + col * (tile + TILE_GAP), top + row * (tile * aspect + TILE_GAP), tile,
                          tile * aspect)
            self._tiles.append((rect, to_image(tiles[index])))

    def _layout_bars(self, preview: NodePreview, inner: QRectF) -> None:
        counts = preview.counts
        tallest = max(counts) or 1
        step = inner.width() / len(counts)
        for i, count in enumerate(counts):
            if count:
                # At least a pixel: a lone value in a wide range must not vanish.
                h = max(1.0, inner.height() * count / tallest)
                self._bars.append(QRectF(inner.left() + i * step, inner.bottom() - h, max(1.0, step - 1.0), h))
        lo, hi = preview.minimum, preview.maximum
        if lo < 0.0 < hi:
            self._zero = inner.left() + inner.width() * (0.0 - lo) / (hi - lo)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        theme = self.style.theme
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < LOD_FLAT and not self.style.exporting:
            painter.fillRect(self._rect, theme.node_fill)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(theme.node_fill)
        painter.setPen(theme.pens["border"])
        painter.drawRoundedRect(self._rect, 4.0, 4.0)
        # Nearest-neighbour scaling: a feature map's pixels stay pixels, as in every activation viewer.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        for rect, image in self._tiles:
            painter.drawImage(rect, image)
        if self._bars:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.accent)
            for bar in self._bars:
                painter.drawRect(bar)
        if self._zero is not None:
            pen = QPen(theme.text_faint, 1.0, Qt.PenStyle.DotLine)
            painter.setPen(pen)
            top, bottom = self._rect.top() + PAD, self._rect.bottom() - PAD
            painter.drawLine(QPointF(self._zero, top), QPointF(self._zero, bottom))

    @property
    def tile_count(self) -> int:
        return len(self._tiles)

    @property
    def bar_count(self) -> int:
        return len(self._bars)
