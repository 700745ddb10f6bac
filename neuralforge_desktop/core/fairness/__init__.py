"""Fairness of a classifier across the groups of sensitive columns, with fairlearn: per-group accuracy,
selection rate, TPR and FPR, demographic parity and equalised odds, calibration per group, bootstrap
intervals, a plain-words reading and threshold-optimiser mitigation. ``evaluate_fairness`` is the entry point;
``example`` generates the bundled synthetic credit data with a planted disparity."""

from neuralforge_desktop.core.fairness.evaluate import ARTIFACT, evaluate_fairness, load_saved

__all__ = ["ARTIFACT", "evaluate_fairness", "load_saved"]
