"""Dock panels around the canvas: palette, inspector, summary, code view and problems.

Each panel talks to the rest of the app only through the document bridge, the selection model and (for
the inspector) the edit stack, so panels never depend on one another or on the main window.
"""

from neuralforge_desktop.ui.panels.code_view import CodeView
from neuralforge_desktop.ui.panels.inspector import Inspector
from neuralforge_desktop.ui.panels.palette import Palette
from neuralforge_desktop.ui.panels.problems import ProblemsPanel
from neuralforge_desktop.ui.panels.summary import SummaryPanel

__all__ = ["CodeView", "Inspector", "Palette", "ProblemsPanel", "SummaryPanel"]
