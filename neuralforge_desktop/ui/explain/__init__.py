"""The Explain view: a run's validation examples, and for the one picked, why the model predicts what it does."""

from neuralforge_desktop.ui.explain.view import ExplainView, open_explain_view

__all__ = ["ExplainView", "open_explain_view"]
