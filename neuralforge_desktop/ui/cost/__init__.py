"""The Cost & Capacity view: spend over time, totals, accuracy against compute, and host capacity."""

from neuralforge_desktop.ui.cost.view import CostView, open_cost_view

__all__ = ["CostView", "open_cost_view"]
