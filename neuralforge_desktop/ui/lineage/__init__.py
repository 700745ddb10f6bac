"""The Lineage view: a prediction, version, run or dataset's lineage drawn as a graph whose nodes open."""

from neuralforge_desktop.ui.lineage.view import LineageView, open_lineage_view

__all__ = ["LineageView", "open_lineage_view"]
