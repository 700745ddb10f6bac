"""The node-graph canvas: :class:`GraphView` (the widget), its scene and items, and the :class:`Minimap`."""

from neuralforge_desktop.ui.canvas.minimap import Minimap
from neuralforge_desktop.ui.canvas.view import GraphView

__all__ = ["GraphView", "Minimap"]
