"""The Fairness view (View ▸ Fairness…): per-group figures, disparities, calibration and mitigation."""

from neuralforge_desktop.ui.fairness.view import FairnessView, open_fairness_view

__all__ = ["FairnessView", "open_fairness_view"]
