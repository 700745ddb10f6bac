"""The two application themes: a dark one (the default: long sessions on a canvas) and a light one (printing,
bright rooms). Each is a QPalette plus a small stylesheet for what the palette cannot reach (dock titles,
the status bar, splitters); widgets that draw themselves (canvas, code view) get ``set_theme(name)``."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light")
DEFAULT_THEME = "dark"


@dataclass(frozen=True)
class Colors:
    window: str
    base: str
    alternate: str
    text: str
    muted: str
    button: str
    border: str
    accent: str
    accent_text: str
    error: str
    warning: str


COLORS: dict[str, Colors] = {
    "dark": Colors(window="#1f2227", base="#16181c", alternate="#23262c", text="#e3e6eb", muted="#8b929c",
                   button="#2a2e35", border="#363b44", accent="#4c8dff", accent_text="#ffffff",
                   error="#ff6b6b", warning="#f0b429"),
    "light": Colors(window="#f4f5f7", base="#ffffff", alternate="#eef0f3", text="#1d2026", muted="#66707c",
                    button="#e8eaee", border="#c9ced6", accent="#2f6fdf", accent_text="#ffffff",
                    error="#c92a2a", warning="#b7791f"),
}


def colors(name: str) -> Colors:
    return COLORS.get(name, COLORS[DEFAULT_THEME])


def palette(name: str) -> QPalette:
    c = colors(name)
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.window, QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.base, QPalette.ColorRole.AlternateBase: c.alternate,
        QPalette.ColorRole.Text: c.text, QPalette.ColorRole.Button: c.button,
        QPalette.ColorRole.ButtonText: c.text, QPalette.ColorRole.ToolTipBase: c.alternate,
        QPalette.ColorRole.ToolTipText: c.text, QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: c.accent_text, QPalette.ColorRole.Link: c.accent,
        QPalette.ColorRole.PlaceholderText: c.muted, QPalette.ColorRole.BrightText: c.error,
        QPalette.ColorRole.Mid: c.border, QPalette.ColorRole.Dark: c.base, QPalette.ColorRole.Light: c.button,
    }
    for role, value in roles.items():
        p.setColor(role, QColor(value))
    # Disabled text must stay readable but clearly inactive in both themes.
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    return p


def stylesheet(name: str) -> str:
    c = colors(name)
    return f"""
QMainWindow::separator {{ background: {c.border}; width: 1px; height: 1px; }}
QDockWidget {{ color: {c.text}; }}
QDockWidget::title {{ background: {c.alternate}; padding: 4px 8px; border-bottom: 1px solid {c.border}; }}
QStatusBar {{ background: {c.alternate}; border-top: 1px solid {c.border}; color: {c.text}; }}
QStatusBar QLabel {{ padding: 0 8px; color: {c.muted}; }}
QStatusBar QLabel[role="errors"][active="true"] {{ color: {c.error}; font-weight: 600; }}
QStatusBar QLabel[role="warnings"][active="true"] {{ color: {c.warning}; }}
QMenuBar {{ background: {c.window}; border-bottom: 1px solid {c.border}; }}
QMenu {{ background: {c.alternate}; border: 1px solid {c.border}; }}
QMenu::item:selected {{ background: {c.accent}; color: {c.accent_text}; }}
QMenu::separator {{ height: 1px; background: {c.border}; margin: 4px 8px; }}
QTabBar::tab {{ background: {c.window}; color: {c.muted}; padding: 5px 12px; border: 1px solid {c.border};
               border-bottom: none; }}
QTabBar::tab:selected {{ background: {c.alternate}; color: {c.text}; }}
QToolTip {{ background: {c.alternate}; color: {c.text}; border: 1px solid {c.border}; }}
QTreeWidget, QListWidget, QTableWidget, QUndoView {{ border: 1px solid {c.border}; }}
QHeaderView::section {{ background: {c.alternate}; color: {c.muted}; border: none; padding: 4px; }}
QLabel[role="heading"] {{ font-size: 15px; font-weight: 600; }}
QLabel[role="muted"] {{ color: {c.muted}; }}
"""


def apply_theme(name: str, app: QApplication | None = None) -> str:
    """Apply ``name`` app-wide (unknown names fall back to the default); returns the name applied."""
    name = name if name in THEMES else DEFAULT_THEME
    app = app or QApplication.instance()  # type: ignore[assignment]
    if app is None:
        return name
    # Fusion draws every control from the palette, so both themes look the same on every platform.
    app.setStyle("Fusion")
    app.setPalette(palette(name))
    app.setStyleSheet(stylesheet(name))
    return name
