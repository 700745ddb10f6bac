"""Colours, fonts and pens of the canvas, built once per theme so painting never allocates them."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPen

GRID = 20.0  # snap and minor grid spacing, scene pixels
MAJOR_GRID = 5  # every fifth grid line is drawn stronger

# Category stripe colours. Hues are spread so neighbouring layers (conv → norm → activation) differ at a
# glance; none is the error red or the warning amber, which must keep their meaning.
CATEGORY_COLORS: dict[str, str] = {
    "Input / Output": "#3fb68b",
    "Convolution": "#4c8dff",
    "Dense": "#9b72f2",
    "Pooling": "#22b8c7",
    "Normalization": "#d4b13f",
    "Activation": "#f08a4b",
    "Regularization": "#8b95a5",
    "Reshape": "#5fa8d3",
    "Merge": "#d867a8",
    "Math": "#b392f0",
    "Split & select": "#6cc4a1",
    "Recurrent": "#7ac74f",
    "Embedding": "#e7787f",
    "Attention": "#ef6fbd",
    "Resize": "#3cc9b0",
    "Loss": "#c98b5b",
    "Structure": "#a3acb9",
}
UNKNOWN_COLOR = "#6b7280"


def _font(pixels: int, bold: bool = False, mono: bool = False) -> QFont:
    font = QFont()
    # Prefer the platform's UI face; DejaVu is the fallback every Linux box has.
    families = (["JetBrains Mono", "SF Mono", "Consolas", "DejaVu Sans Mono", "Monospace"] if mono else
                ["Inter", "Segoe UI", "SF Pro Text", "Helvetica Neue", "Cantarell", "Noto Sans", "DejaVu Sans"])
    font.setFamilies(families)
    font.setPixelSize(pixels)  # scene units, not points: the same size on every screen's DPI
    font.setBold(bold)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)  # text scales smoothly with zoom
    return font


@dataclass
class Theme:
    name: str
    background: QColor
    grid_minor: QColor
    grid_major: QColor
    node_fill: QColor
    node_header: QColor
    node_border: QColor
    body_fill: QColor  # an expanded block's frame
    text: QColor
    text_dim: QColor
    text_faint: QColor
    accent: QColor  # selection, the wire being dragged
    edge: QColor
    edge_warning: QColor
    edge_error: QColor
    label_fill: QColor
    port_fill: QColor
    shadow: QColor
    backdrop_alpha: int
    # derived, filled in __post_init__
    pens: dict[str, QPen] = field(default_factory=dict)
    fonts: dict[str, QFont] = field(default_factory=dict)
    metrics: dict[str, QFontMetricsF] = field(default_factory=dict)
    _widths: dict[tuple[str, str], float] = field(default_factory=dict)
    _elided: dict[tuple[str, str, float], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
            p = QPen(color, width, style)
            p.setCosmetic(False)
            p.setCapStyle(Qt.PenCapStyle.RoundCap)
            return p

        self.pens = {
            "grid_minor": QPen(self.grid_minor, 0),
            "grid_major": QPen(self.grid_major, 0),
            "border": pen(self.node_border, 1.0),
            "divider": pen(self.node_border, 1.0),
            "label_ok": pen(self.node_border, 1.0),
            "label_warning": pen(self.edge_warning, 1.0),
            "label_error": pen(self.edge_error, 1.0),
            "selected": pen(self.accent, 2.0),
            "error": pen(self.edge_error, 2.0),
            "warning": pen(self.edge_warning, 1.6),
            "edge": pen(self.edge, 2.0),
            "edge_hover": pen(self.edge.lighter(140), 3.0),
            "edge_selected": pen(self.accent, 2.6),
            "edge_warning": pen(self.edge_warning, 2.0),
            "edge_error": pen(self.edge_error, 2.2),
            "edge_missing": pen(self.edge_error, 2.0, Qt.PenStyle.DashLine),
            "wire": pen(self.accent, 2.0, Qt.PenStyle.DashLine),
            "wire_refused": pen(self.edge_error, 2.4),
            "port": pen(self.node_fill.darker(130) if self.name == "dark" else self.node_border, 1.2),
            "body_border": pen(self.node_border.lighter(130) if self.name == "dark" else self.node_border, 1.2,
                               Qt.PenStyle.DashLine),
        }
        # Zoomed far out, wires are hairlines: a cosmetic 1 px pen takes the rasteriser's fast path.
        for name in ("edge", "edge_hover", "edge_selected", "edge_warning", "edge_error", "edge_missing"):
            far = QPen(self.pens[name])
            far.setCosmetic(True)
            far.setWidthF(1.0)
            self.pens[name + "_far"] = far
        self.fonts = {
            "title": _font(12, bold=True),
            "type": _font(10),
            "summary": _font(10),
            "port": _font(9),
            "concept": _font(9),
            "math": _font(10, mono=True),
            "label": _font(9),
            "badge": _font(10, bold=True),
            "backdrop": _font(14, bold=True),
        }
        self.metrics = {name: QFontMetricsF(font) for name, font in self.fonts.items()}

    def width(self, font: str, text: str) -> float:
        """Advance width of ``text`` in one of the theme's fonts, memoised: the same shapes and type names
        recur all over a graph, and measuring is the costliest part of refreshing a node."""
        key = (font, text)
        width = self._widths.get(key)
        if width is None:
            if len(self._widths) > 20_000:
                self._widths.clear()
            width = self._widths[key] = self.metrics[font].horizontalAdvance(text)
        return width

    def elided(self, font: str, text: str, width: float) -> str:
        key = (font, text, width)
        found = self._elided.get(key)
        if found is None:
            if len(self._elided) > 20_000:
                self._elided.clear()
            found = self._elided[key] = self.metrics[font].elidedText(text, Qt.TextElideMode.ElideRight, width)
        return found

    def category_color(self, category: str | None) -> QColor:
        return QColor(CATEGORY_COLORS.get(category or "", UNKNOWN_COLOR))


def _dark() -> Theme:
    return Theme(
        name="dark",
        background=QColor("#1e1f22"),
        grid_minor=QColor(255, 255, 255, 7),
        grid_major=QColor(255, 255, 255, 15),
        node_fill=QColor("#2b2d31"),
        node_header=QColor("#313338"),
        node_border=QColor("#3c3f45"),
        body_fill=QColor(36, 38, 42, 235),
        text=QColor("#e6e7ea"),
        text_dim=QColor("#a4a8b0"),
        text_faint=QColor("#7b808a"),
        accent=QColor("#4c9aff"),
        edge=QColor("#7d8590"),
        edge_warning=QColor("#e3a33b"),
        edge_error=QColor("#f0554f"),
        label_fill=QColor(30, 31, 34, 225),
        port_fill=QColor("#1e1f22"),
        shadow=QColor(0, 0, 0, 90),
        backdrop_alpha=38,
    )


def _light() -> Theme:
    return Theme(
        name="light",
        background=QColor("#f4f5f7"),
        grid_minor=QColor(0, 0, 0, 9),
        grid_major=QColor(0, 0, 0, 18),
        node_fill=QColor("#ffffff"),
        node_header=QColor("#f7f8fa"),
        node_border=QColor("#d3d7de"),
        body_fill=QColor(250, 251, 252, 240),
        text=QColor("#1f2328"),
        text_dim=QColor("#57606a"),
        text_faint=QColor("#8c959f"),
        accent=QColor("#2f74e0"),
        edge=QColor("#8c959f"),
        edge_warning=QColor("#c98a12"),
        edge_error=QColor("#d93a34"),
        label_fill=QColor(255, 255, 255, 235),
        port_fill=QColor("#ffffff"),
        shadow=QColor(0, 0, 0, 40),
        backdrop_alpha=46,
    )


_THEMES: dict[str, Theme] = {}


def theme(name: str) -> Theme:
    """The named theme ("dark" or "light"), built on first use (fonts need a running QGuiApplication)."""
    if name not in ("dark", "light"):
        raise ValueError(f"unknown theme {name!r}; use 'dark' or 'light'")
    if name not in _THEMES:
        _THEMES[name] = _dark() if name == "dark" else _light()
    return _THEMES[name]


@dataclass
class Style:
    """Shared by every item of one scene: the theme plus the view switches that change how nodes look."""

    theme: Theme
    concept: bool = False
    snap: bool = False
    exporting: bool = False  # full detail, no selection, no hover while rendering to a file
    far: bool = False  # zoomed far out: hairline wires, no antialiasing
    syncing: bool = False  # positions are being set from the document: no snapping, no move edits
    expanded: set[str] = field(default_factory=set)  # paths of blocks whose body is shown inline
