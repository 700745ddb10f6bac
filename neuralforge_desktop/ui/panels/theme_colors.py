"""Colours shared by the dock panels, for the dark (default) and light themes.

Panels paint a few things themselves (severity icons, code highlighting, inline errors); everything else
follows the application palette, so a theme switch only needs ``set_theme`` on the panels that paint.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPalette, QPen, QPixmap

DEFAULT_THEME = "dark"


@dataclass(frozen=True)
class ThemeColors:
    name: str
    background: str
    panel: str
    text: str
    muted: str  # secondary text: descriptions, units, shapes
    border: str
    accent: str
    error: str
    warning: str
    ok: str
    hint: str  # best-practice advice: softer than a warning
    selection: str
    code_background: str
    code_keyword: str
    code_builtin: str
    code_string: str
    code_number: str
    code_comment: str
    code_self: str
    code_decorator: str
    code_definition: str
    code_node_line: str  # background of the selected node's generated lines


DARK = ThemeColors(
    name="dark", background="#1e1f22", panel="#2b2d30", text="#dfe1e5", muted="#8c8f96", border="#43454a",
    accent="#3574f0", error="#e06c75", warning="#e5c07b", ok="#98c379", hint="#61afef", selection="#2e436e",
    code_background="#1e1f22", code_keyword="#c678dd", code_builtin="#56b6c2", code_string="#98c379",
    code_number="#d19a66", code_comment="#7f848e", code_self="#e06c75", code_decorator="#e5c07b",
    code_definition="#61afef", code_node_line="#2c3b5a",
)

LIGHT = ThemeColors(
    name="light", background="#f7f8fa", panel="#ffffff", text="#1f2329", muted="#6c707e", border="#d3d5db",
    accent="#3574f0", error="#c7374a", warning="#a86e00", ok="#3f8f2f", hint="#2f6fcf", selection="#d4e2ff",
    code_background="#ffffff", code_keyword="#8b2fb5", code_builtin="#0b7b86", code_string="#3f7f2f",
    code_number="#a6551c", code_comment="#8c8c8c", code_self="#b8323f", code_decorator="#8a6a00",
    code_definition="#1d5fc4", code_node_line="#e3ecff",
)

THEMES: dict[str, ThemeColors] = {"dark": DARK, "light": LIGHT}


def colors(name: str = DEFAULT_THEME) -> ThemeColors:
    """The colours of theme ``name``; an unknown name falls back to dark rather than failing a repaint."""
    return THEMES.get(name, DARK)


def palette(name: str = DEFAULT_THEME) -> QPalette:
    """A QPalette for the theme, for hosts (and screenshots) that do not style the application themselves."""
    c = colors(name)
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.panel, QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.background, QPalette.ColorRole.AlternateBase: c.panel,
        QPalette.ColorRole.Text: c.text, QPalette.ColorRole.Button: c.panel,
        QPalette.ColorRole.ButtonText: c.text, QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: c.panel,
        QPalette.ColorRole.ToolTipText: c.text, QPalette.ColorRole.PlaceholderText: c.muted,
        QPalette.ColorRole.Link: c.accent, QPalette.ColorRole.Mid: c.border, QPalette.ColorRole.Dark: c.border,
    }
    for role, value in roles.items():
        pal.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    return pal


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
        painter.setPen(QPen(QColor("#1e1f22")))
        painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, glyph)
    painter.end()
    return QIcon(pixmap)


def severity_icon(severity: str, theme: str = DEFAULT_THEME) -> QIcon:
    """Icon for ``"error"``, ``"warning"`` or ``"hint"``."""
    c = colors(theme)
    color, glyph = {"error": (c.error, "!"), "warning": (c.warning, "!"), "hint": (c.hint, "i")}.get(
        severity, (c.muted, ""))
    return dot_icon(color, 12, glyph)


def section_style(theme: str = DEFAULT_THEME) -> str:
    """Style of a section heading label (small caps-like, muted) used by the inspector and summary."""
    c = colors(theme)
    return f"color: {c.muted}; font-weight: 600; letter-spacing: 0.5px; padding-top: 6px;"
