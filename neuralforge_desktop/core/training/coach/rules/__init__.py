"""The Coach's rules: one per finding kind (``findings.KINDS``), grouped by what they read.

    from neuralforge_desktop.core.training.coach.rules import evaluate
    report = evaluate(context)             # CoachReport: findings, and the rules not applied with the reason

Each rule declares what it needs (``graph``, ``config``, ``data``, ``metrics``, ``diagnostics``, ``finished``);
a rule whose needs the context lacks, or that finds it cannot judge (no validation split, too few epochs),
is listed in ``not_applied`` with the reason instead of being silently skipped. The numbers a rule compares
against are in ``thresholds.py``.

Modules: ``learning_rate`` (lr_too_high, lr_too_low, loss_nan, plateau), ``gradients`` (vanishing_gradients,
exploding_gradients), ``activations`` (dead_relu, saturated_activations), ``generalisation`` (overfitting,
underfitting), ``data`` (unnormalized_inputs, class_imbalance, data_leakage), ``graph_checks``
(softmax_before_cross_entropy, wrong_loss_for_task, batchnorm_small_batch).

Fix actions the rules emit (``Fix.kind`` / ``Fix.action`` / ``Fix.args``), the complete list that
``fixes.py`` applies. Node paths are ``/``-separated for nodes inside blocks (``block1/relu``):

* ``config`` / ``set_config`` — ``args``: TrainConfig field → new value. Fields used: ``lr`` (float),
  ``grad_clip`` (float), ``schedule`` ("cosine"), ``batch_size`` (int), ``normalize`` (True),
  ``early_stopping`` (int), ``weight_decay`` (float), ``class_weights`` (True: weight the loss by inverse
  class frequency). Rules: lr_too_high {lr}, lr_too_low {lr}, loss_nan
  {grad_clip, lr}, exploding_gradients {grad_clip}, plateau {schedule}, batchnorm_small_batch {batch_size},
  unnormalized_inputs {normalize}, overfitting {early_stopping, weight_decay}, class_imbalance
  {class_weights}.
* ``graph`` / ``remove_node`` — ``args``: ``node`` (path). Remove it and connect its input to whatever it
  fed (softmax_before_cross_entropy).
* ``graph`` / ``replace_type`` — ``args``: ``node`` (path), ``type`` (the new layer type, default params):
  "LeakyReLU" for a dead ReLU (dead_relu), "ReLU" for a Sigmoid/Tanh/Hardsigmoid (saturated_activations,
  vanishing_gradients).
* ``graph`` / ``insert_after`` — ``args``: ``node`` (path), ``type`` ("BatchNorm2d" after a Conv2d,
  "BatchNorm1d" after a Linear), ``params`` (dict, may be empty: the new node's params beyond those shape
  inference fills in, e.g. num_features). The new node takes over the node's outgoing edges
  (vanishing_gradients).
* ``graph`` / ``replace_loss`` — ``args``: ``node`` (the loss node's id), ``type`` ("CrossEntropyLoss" or
  "MSELoss"): the same connections, the new loss type (wrong_loss_for_task).

underfitting and data_leakage have no one-click fix (the finding says what to do).
"""

from __future__ import annotations

from neuralforge_desktop.core.training.coach.context import CoachContext
from neuralforge_desktop.core.training.coach.findings import KINDS
from neuralforge_desktop.core.training.coach.report import CoachReport, NotApplied
from neuralforge_desktop.core.training.coach.rules import (  # noqa: F401  (each module registers its rules)
    activations,
    data,
    generalisation,
    gradients,
    graph_checks,
    learning_rate,
)
from neuralforge_desktop.core.training.coach.rules.common import RULES, NotApplicable, Rule, missing_need
from neuralforge_desktop.core.training.coach.thresholds import Thresholds

__all__ = ["RULES", "Rule", "evaluate"]

assert set(RULES) == set(KINDS), f"rules and kinds differ: {set(RULES) ^ set(KINDS)}"


def evaluate(context: CoachContext, thresholds: Thresholds | None = None,
             kinds: tuple[str, ...] = KINDS) -> CoachReport:
    """Every rule (or those of ``kinds``) on ``context``: the findings, most severe first, and the rules not
    applied with the reason."""
    t = thresholds or Thresholds()
    report = CoachReport()
    for kind in kinds:
        rule = RULES[kind]
        reason = next((why for need in rule.needs if (why := missing_need(context, need)) is not None), None)
        if reason is None:
            try:
                report.findings.extend(rule.check(context, t))
            except NotApplicable as exc:
                reason = str(exc)
        if reason is not None:
            report.not_applied.append(NotApplied(kind, reason))
    order = ("error", "warning", "info")
    report.findings.sort(key=lambda f: order.index(f.severity))
    return report
