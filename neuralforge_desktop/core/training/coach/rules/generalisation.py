"""Epoch metrics: overfitting (validation loss climbs while training loss falls) and underfitting (training
accuracy still near chance after several epochs)."""

from __future__ import annotations

import math

from neuralforge_desktop.core.training.coach.context import CoachContext
from neuralforge_desktop.core.training.coach.findings import Finding
from neuralforge_desktop.core.training.coach.rules.common import (
    NotApplicable,
    chance_accuracy,
    evidence,
    finite,
    metric,
    round_sig,
    rule,
    set_config,
)
from neuralforge_desktop.core.training.coach.thresholds import Thresholds


@rule("overfitting", needs=("metrics",), summary="validation loss rises past its best while training loss "
      "keeps falling")
def overfitting(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    val, train = finite(metric(ctx, "val/loss")), finite(metric(ctx, "train/loss"))
    if not val:
        raise NotApplicable("no validation loss (the run has no validation split)")
    if len(val) < t.overfit_patience + 1:
        raise NotApplicable(f"judged after {t.overfit_patience + 1} epochs with a validation loss")
    best_index = min(range(len(val)), key=lambda i: val[i][1])
    best_step, best = val[best_index]
    last_step, last = val[-1]
    train_at = {s: v for s, v in train}
    train_then, train_now = train_at.get(best_step), train_at.get(last_step)
    if (len(val) - 1 - best_index < t.overfit_patience or last <= best * (1 + t.overfit_val_rise)
            or train_then is None or train_now is None or train_now >= train_then):
        return []
    decay = getattr(ctx.config, "weight_decay", 0.0) or 0.0
    fix = set_config("Stop early and add weight decay", early_stopping=t.overfit_patience,
                     weight_decay=round_sig(decay * 10) if decay else 1e-4)
    return [Finding(
        "overfitting", "warning", "The model is overfitting",
        f"Validation loss was lowest ({best:.3g}) at epoch {best_index + 1} and has risen to {last:.3g} since, "
        f"while training loss kept falling ({train_then:.3g} → {train_now:.3g}): the model is memorising the "
        "training examples. Stop at the best epoch, add weight decay or dropout, or train on more data.",
        evidence({"best_val_loss": round_sig(best, 4), "val_loss": round_sig(last, 4),
                  "train_loss": round_sig(train_now, 4), "gap": round_sig(last - train_now, 3),
                  "best_epoch": best_index + 1}, None, [best_step, last_step],
                 {"val/loss": metric(ctx, "val/loss"), "train/loss": metric(ctx, "train/loss")}),
        fix, last_step)]


@rule("underfitting", needs=("metrics",), summary="training accuracy still near chance after several epochs")
def underfitting(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    acc = metric(ctx, "train/acc")
    chance = chance_accuracy(ctx)
    if not acc or chance is None:
        raise NotApplicable("needs a classification's training accuracy")
    if len(acc) < t.underfit_min_epochs:
        raise NotApplicable(f"judged after {t.underfit_min_epochs} epochs")
    step, now = acc[-1]
    if step < t.underfit_min_steps and len(acc) < t.underfit_enough_epochs:
        raise NotApplicable(f"judged after {t.underfit_min_steps} training steps or {t.underfit_enough_epochs} "
                            f"epochs (the run has taken {step} steps)")
    if not math.isfinite(now) or now > chance + t.underfit_margin:
        return []
    losses = finite(metric(ctx, "train/loss"))
    val_acc = metric(ctx, "val/acc")
    numbers: dict[str, object] = {"train_acc": round(now, 4), "chance": round(chance, 4), "epochs": len(acc)}
    if val_acc:
        numbers["val_acc"] = round(val_acc[-1][1], 4)
    if losses:
        numbers["train_loss"] = round_sig(losses[-1][1], 4)
    return [Finding(
        "underfitting", "warning", "The model is not learning",
        f"After {len(acc)} epochs the training accuracy is {now:.1%}, about what guessing gives ({chance:.1%}). "
        "Look at the other findings first (learning rate, dead units, inputs); otherwise the model may be too "
        "small, or the labels may not follow from the inputs.",
        evidence(numbers, None, [acc[0][0], step], {"train/acc": acc, **({"val/acc": val_acc} if val_acc else {})}),
        None, step)]
