"""Explanations of a trained run's model (Captum, SHAP, scikit-learn, attention hooks).

    from neuralforge_desktop.core.explain import explain
    found = explain(store, run_id, "ig", sample=3, output=Path("out"))            # one example
    found = explain(store, run_id, "shap", global_count=100, output=Path("out"))  # aggregated

A global explanation is kept as the run's artifact ``explanations.json`` (one entry per method), which the
model card shows. Every explanation is an audit event.
"""

from neuralforge_desktop.core.explain.local import Explanation
from neuralforge_desktop.core.explain.methods import METHODS, check_method, fitting_methods
from neuralforge_desktop.core.explain.run import ARTIFACT, explain, explain_subject, stored_summary
from neuralforge_desktop.core.explain.subject import Subject, load_subject

__all__ = ["ARTIFACT", "METHODS", "Explanation", "Subject", "check_method", "explain", "explain_subject",
           "fitting_methods", "load_subject", "stored_summary"]
