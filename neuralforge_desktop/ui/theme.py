"""The two application themes, dark (the default: long sessions on a canvas) and light (printing, bright rooms).

Each theme is one table of named colour roles (:class:`Roles`). Everything the app shows in colour is derived
from it: the Qt palette and stylesheet (standard widgets), the colours the dock panels paint themselves, the
canvas's pens and brushes (:class:`CanvasTheme`) and the training plots (:class:`PlotColors`). Widgets that paint
get ``set_theme(name)``; a new colour is a new role here, never a literal in a widget.

Colours are ``#rrggbb`` strings, or ``#rrggbbaa`` (CSS order) where a role is translucent; :func:`qcolor` reads
both (``QColor`` alone reads an 8-digit string as ``#aarrggbb``).
"""

from __future__ import annotations

import colorsys
import zlib
from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light")
DEFAULT_THEME = "dark"


@dataclass(frozen=True)
class Roles:
    """One theme's colours by role. Surfaces go from the window outwards; text from strongest to faintest."""

    name: str
    window: str  # docks, menu bar, the canvas
    base: str  # what is read or typed into: fields, lists, tables, the code editor, the plots
    raised: str  # dock titles, status bar, menus, tooltips, alternate rows, a heat map's empty cell
    control: str  # buttons
    card: str  # a node on the canvas
    card_header: str  # a node's header strip, a block's ×1 badge
    border: str
    text: str
    text_dim: str  # secondary text that must stay readable when small: node types, shapes on wires
    muted: str  # labels, units, descriptions, axes, section headings
    faint: str  # port names on nodes
    accent: str  # selection, focus, links, the wire being dragged
    on_accent: str  # text on the accent colour
    selection: str  # selected text in the code editor
    ok: str
    warning: str
    error: str
    hint: str  # best-practice advice: softer than a warning
    wire: str  # a valid wire on the canvas (warning and error wires use those roles)
    grid_minor: str
    grid_major: str
    shadow: str
    backdrop_alpha: int  # how strongly a group backdrop tints the canvas
    curve_train: str  # live training curves
    curve_val: str
    code_line: str  # background of the selected node's generated lines
    code_keyword: str
    code_builtin: str
    code_string: str
    code_number: str
    code_comment: str
    code_self: str
    code_decorator: str
    code_definition: str


DARK = Roles(
    name="dark", window="#1e1f22", base="#16181c", raised="#23262c", control="#2a2e35", card="#2b2d31",
    card_header="#313338", border="#3c3f45", text="#e3e6eb", text_dim="#a4a8b0", muted="#8b929c",
    faint="#7b808a", accent="#3070ea", on_accent="#ffffff", selection="#2e436e", ok="#98c379",
    warning="#e3a33b", error="#f25e58", hint="#61afef", wire="#7d8590", grid_minor="#ffffff07",
    grid_major="#ffffff0f", shadow="#0000005a", backdrop_alpha=38, curve_train="#61afef", curve_val="#e5a050",
    code_line="#2c3b5a", code_keyword="#c678dd", code_builtin="#56b6c2", code_string="#98c379",
    code_number="#d19a66", code_comment="#7f848e", code_self="#e06c75", code_decorator="#e5c07b",
    code_definition="#61afef",
)

LIGHT = Roles(
    name="light", window="#f4f5f7", base="#ffffff", raised="#eef0f3", control="#e8eaee", card="#ffffff",
    card_header="#f7f8fa", border="#cfd3da", text="#1d2026", text_dim="#57606a", muted="#606a76",
    faint="#8c959f", accent="#3070ea", on_accent="#ffffff", selection="#d4e2ff", ok="#337a25",
    warning="#946000", error="#c93630", hint="#2b69c7", wire="#8c959f", grid_minor="#00000009",
    grid_major="#00000012", shadow="#00000028", backdrop_alpha=46, curve_train="#1d5fc4", curve_val="#c45f00",
    code_line="#e3ecff", code_keyword="#8b2fb5", code_builtin="#0b7b86", code_string="#3f7f2f",
    code_number="#a6551c", code_comment="#8c8c8c", code_self="#b8323f", code_decorator="#8a6a00",
    code_definition="#1d5fc4",
)

ROLES: dict[str, Roles] = {"dark": DARK, "light": LIGHT}

# Category colours, the same in both themes (a layer keeps its colour when the theme changes). Hues are spread
# so neighbouring layers (conv → norm → activation) differ at a glance; none is the error red or the warning
# amber, which must keep their meaning. A category not listed (a plugin's) gets a hue from its name.
CATEGORY_COLORS: dict[str, str] = {  # keyed by catalog category (LayerDef.category), never by layer type
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
UNKNOWN_COLOR = "#6b7280"  # a node whose type is not in the catalog

# Colours offered for group backdrops, in order: category hues, so a group can echo the layers it holds.
BACKDROP_COLORS: tuple[str, ...] = tuple(CATEGORY_COLORS[c] for c in (
    "Convolution", "Input / Output", "Normalization", "Merge", "Dense", "Activation"))

# One colour per overlaid run in the Runs panel, chosen to stay apart from each other on both backgrounds.
RUN_COLORS: tuple[str, ...] = ("#4c9aff", "#f0883e", "#56c271", "#e06c75", "#b48ead", "#e5c07b", "#56b6c2",
                               "#d19a66", "#9aa0ff", "#ff7fbf")


def roles(name: str = DEFAULT_THEME) -> Roles:
    """The roles of theme ``name``; an unknown name falls back to the default rather than failing a repaint."""
    return ROLES.get(name, ROLES[DEFAULT_THEME])


def qcolor(value: str) -> QColor:
    """A ``QColor`` from ``#rrggbb`` or CSS-order ``#rrggbbaa``."""
    if len(value) == 9 and value.startswith("#"):
        color = QColor(value[:7])
        color.setAlpha(int(value[7:], 16))
        return color
    return QColor(value)


def category_color(category: str | None) -> str:
    """The stripe and port colour of a layer of ``category`` (the catalog's ``LayerDef.category``)."""
    if not category:
        return UNKNOWN_COLOR
    known = CATEGORY_COLORS.get(category)
    if known is not None:
        return known
    # Stable across runs (crc32, not hash()), kept between green and pink: away from error red and amber.
    hue = (150 + zlib.crc32(category.encode()) % 180) / 360.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.6, 0.6)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


# -- standard widgets: palette and stylesheet --------------------------------------------------------------
def palette(name: str = DEFAULT_THEME) -> QPalette:
    c = roles(name)
    p = QPalette()
    colors = {
        QPalette.ColorRole.Window: c.window, QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.base, QPalette.ColorRole.AlternateBase: c.raised,
        QPalette.ColorRole.Text: c.text, QPalette.ColorRole.Button: c.control,
        QPalette.ColorRole.ButtonText: c.text, QPalette.ColorRole.ToolTipBase: c.raised,
        QPalette.ColorRole.ToolTipText: c.text, QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: c.on_accent, QPalette.ColorRole.Link: c.accent,
        QPalette.ColorRole.PlaceholderText: c.muted, QPalette.ColorRole.BrightText: c.error,
        QPalette.ColorRole.Mid: c.border, QPalette.ColorRole.Dark: c.base, QPalette.ColorRole.Light: c.control,
    }
    for role, value in colors.items():
        p.setColor(role, QColor(value))
    # Disabled text must stay readable but clearly inactive in both themes.
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    return p


def stylesheet(name: str = DEFAULT_THEME) -> str:
    """What the palette cannot reach: dock titles, the status bar, menus, tabs, splitters."""
    c = roles(name)
    return f"""
QMainWindow::separator {{ background: {c.border}; width: 1px; height: 1px; }}
QDockWidget {{ color: {c.text}; }}
QDockWidget::title {{ background: {c.raised}; padding: 4px 8px; border-bottom: 1px solid {c.border}; }}
QStatusBar {{ background: {c.raised}; border-top: 1px solid {c.border}; color: {c.text}; }}
QStatusBar QLabel {{ padding: 0 8px; color: {c.muted}; }}
QStatusBar QLabel[role="errors"][active="true"] {{ color: {c.error}; font-weight: 600; }}
QStatusBar QLabel[role="warnings"][active="true"] {{ color: {c.warning}; }}
QMenuBar {{ background: {c.window}; border-bottom: 1px solid {c.border}; }}
QMenu {{ background: {c.raised}; border: 1px solid {c.border}; }}
QMenu::item:selected {{ background: {c.accent}; color: {c.on_accent}; }}
QMenu::separator {{ height: 1px; background: {c.border}; margin: 4px 8px; }}
QTabBar::tab {{ background: {c.window}; color: {c.muted}; padding: 5px 12px; border: 1px solid {c.border};
               border-bottom: none; }}
QTabBar::tab:selected {{ background: {c.raised}; color: {c.text}; }}
QToolTip {{ background: {c.raised}; color: {c.text}; border: 1px solid {c.border}; }}
QTreeWidget, QListWidget, QTableWidget, QUndoView {{ border: 1px solid {c.border}; }}
QHeaderView::section {{ background: {c.raised}; color: {c.muted}; border: none; padding: 4px; }}
QLabel[role="heading"] {{ font-size: 15px; font-weight: 600; }}
QLabel[role="muted"] {{ color: {c.muted}; }}
"""


def apply_theme(name: str, app: QApplication | None = None) -> str:
    """Apply ``name`` app-wide (unknown names fall back to the default); returns the name applied."""
    name = name if name in THEMES else DEFAULT_THEME
    app = app or QApplication.instance()  # type: ignore[assignment]
    if app is None:
        return name
    # Fusion draws every control from the palette, so both themes look the same on every platform. Set once:
    # setStyle destroys the previous style object, which a widget being torn down may still reach.
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(palette(name))
    app.setStyleSheet(stylesheet(name))
    return name


# -- what the dock panels paint themselves ----------------------------------------------------------------
@lru_cache(maxsize=32)
def dot_icon(color: str, size: int = 12, glyph: str = "") -> QIcon:
    """A filled circle (optionally with a one-character glyph): severity markers without image files."""
    pixmap = QPixmap(size * 2, size * 2)  # drawn at 2× so it stays crisp on high-DPI screens
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(QColor(color)))
    painter.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    if glyph:
        font = painter.font()
        font.setBold(True)
        font.setPixelSize(max(6, size - 4))
        painter.setFont(font)
        painter.setPen(QPen(QColor(DARK.window)))  # the dots are bright in both themes: dark glyphs read best
        painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, glyph)
    painter.end()
    return QIcon(pixmap)


def severity_icon(severity: str, theme: str = DEFAULT_THEME) -> QIcon:
    """Icon for ``"error"``, ``"warning"`` or ``"hint"``."""
    c = roles(theme)
    color, glyph = {"error": (c.error, "!"), "warning": (c.warning, "!"), "hint": (c.hint, "i")}.get(
        severity, (c.muted, ""))
    return dot_icon(color, 12, glyph)


def section_style(theme: str = DEFAULT_THEME) -> str:
    """Style of a section heading label (small caps-like, muted) used by the inspector and summary."""
    return f"color: {roles(theme).muted}; font-weight: 600; letter-spacing: 0.5px; padding-top: 6px;"


# -- training plots ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlotColors:
    """The colours the training widgets paint (plots, heat map, run statuses), taken from the roles."""

    background: str  # plot and heat-map background
    text: str
    muted: str  # axes, grid, secondary text
    border: str
    accent: str
    on_accent: str
    ok: str
    warning: str
    error: str
    train: str  # live curves: training series
    train_step: str  # per-step training loss: many points, drawn thin and translucent
    val: str  # live curves: validation series
    heat_low: str  # heat map: empty cell
    heat_high: str  # heat map: the largest count


def plot_colors(name: str = DEFAULT_THEME) -> PlotColors:
    c = roles(name)
    return PlotColors(background=c.base, text=c.text, muted=c.muted, border=c.border, accent=c.accent,
                      on_accent=c.on_accent, ok=c.ok, warning=c.warning, error=c.error, train=c.curve_train,
                      train_step=c.curve_train + "80", val=c.curve_val, heat_low=c.raised, heat_high=c.accent)


def status_color(status: str, colors: PlotColors) -> str:
    """The colour a run's status is written in."""
    return {"finished": colors.ok, "running": colors.accent, "paused": colors.warning, "stopped": colors.warning,
            "failed": colors.error, "crashed": colors.error, "queued": colors.muted}.get(status, colors.text)


# -- the canvas -------------------------------------------------------------------------------------------
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


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(False)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(round(a.red() + (b.red() - a.red()) * t), round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


class CanvasTheme:
    """The canvas's colours, pens and fonts for one theme, built once so painting never allocates them."""

    def __init__(self, table: Roles) -> None:
        self.roles = table
        self.name = table.name
        self.background = QColor(table.window)
        self.node_fill = QColor(table.card)
        self.node_header = QColor(table.card_header)
        self.node_border = QColor(table.border)
        # An expanded block's frame: halfway between the canvas and a node, slightly see-through.
        self.body_fill = _mix(self.background, self.node_fill, 0.5)
        self.body_fill.setAlpha(235 if table.name == "dark" else 240)
        self.text, self.text_dim, self.text_faint = QColor(table.text), QColor(table.text_dim), QColor(table.faint)
        self.accent = QColor(table.accent)
        self.edge, self.edge_warning, self.edge_error = QColor(table.wire), QColor(table.warning), QColor(table.error)
        self.label_fill = QColor(table.window)  # shape labels sit on wires: canvas-coloured, so the wire stops at them
        self.label_fill.setAlpha(230)
        self.port_fill = QColor(table.window)  # an unconnected port is hollow
        self.shadow = qcolor(table.shadow)
        self.backdrop_alpha = table.backdrop_alpha
        self._widths: dict[tuple[str, str], float] = {}
        self._elided: dict[tuple[str, str, float], str] = {}
        dark = table.name == "dark"
        self.pens: dict[str, QPen] = {
            "grid_minor": QPen(qcolor(table.grid_minor), 0),
            "grid_major": QPen(qcolor(table.grid_major), 0),
            "border": _pen(self.node_border, 1.0),
            "divider": _pen(self.node_border, 1.0),
            "label_ok": _pen(self.node_border, 1.0),
            "label_warning": _pen(self.edge_warning, 1.0),
            "label_error": _pen(self.edge_error, 1.0),
            "selected": _pen(self.accent, 2.0),
            "error": _pen(self.edge_error, 2.0),
            "warning": _pen(self.edge_warning, 1.6),
            "edge": _pen(self.edge, 2.0),
            "edge_hover": _pen(self.edge.lighter(140), 3.0),
            "edge_selected": _pen(self.accent, 2.6),
            "edge_warning": _pen(self.edge_warning, 2.0),
            "edge_error": _pen(self.edge_error, 2.2),
            "edge_missing": _pen(self.edge_error, 2.0, Qt.PenStyle.DashLine),
            "wire": _pen(self.accent, 2.0, Qt.PenStyle.DashLine),
            "wire_refused": _pen(self.edge_error, 2.4),
            "port": _pen(self.node_fill.darker(130) if dark else self.node_border, 1.2),
            "body_border": _pen(self.node_border.lighter(130) if dark else self.node_border, 1.2,
                                Qt.PenStyle.DashLine),
        }
        # Zoomed far out, wires are hairlines: a cosmetic 1 px pen takes the rasteriser's fast path.
        for name in ("edge", "edge_hover", "edge_selected", "edge_warning", "edge_error", "edge_missing"):
            far = QPen(self.pens[name])
            far.setCosmetic(True)
            far.setWidthF(1.0)
            self.pens[name + "_far"] = far
        self.fonts: dict[str, QFont] = {
            "title": _font(12, bold=True),
            "type": _font(10),
            "summary": _font(10),
            "port": _font(9),
            "concept": _font(11),  # Concept Mode's plain-language lines (the formula has its own typesetting)
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
        return QColor(category_color(category))


_CANVAS_THEMES: dict[str, CanvasTheme] = {}


def canvas_theme(name: str) -> CanvasTheme:
    """The canvas look of theme ``name``, built on first use (fonts need a running QGuiApplication)."""
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; use 'dark' or 'light'")
    if name not in _CANVAS_THEMES:
        _CANVAS_THEMES[name] = CanvasTheme(roles(name))
    return _CANVAS_THEMES[name]
