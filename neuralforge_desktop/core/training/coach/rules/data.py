"""The data: inputs far from mean 0 / std 1, classes of very different sizes, and validation examples copied
from the training set."""

from __future__ import annotations

import math

from neuralforge_desktop.core.training.coach.context import CoachContext
from neuralforge_desktop.core.training.coach.findings import Finding
from neuralforge_desktop.core.training.coach.rules.common import (
    NotApplicable,
    evidence,
    rule,
    set_config,
)
from neuralforge_desktop.core.training.coach.thresholds import Thresholds


def _input_stats(ctx: CoachContext) -> tuple[list[float], list[float], float | None, float | None, int | None]:
    """Per-channel mean and std, min and max of the inputs as the model sees them, and the step they were
    measured at: the data facts, else the latest captured input record."""
    data = ctx.data
    if data is not None and data.channel_mean:
        return list(data.channel_mean), list(data.channel_std or []), data.input_min, data.input_max, None
    if ctx.diagnostics is not None and ctx.diagnostics.inputs:
        last = ctx.diagnostics.inputs[-1]
        return list(last.channel_mean), list(last.channel_std), last.min, last.max, last.step
    raise NotApplicable("no statistics of the inputs (neither from the dataset nor captured)")


@rule("unnormalized_inputs", needs=(), summary="inputs far from mean 0 / std 1 (e.g. raw 0–255 pixels)")
def unnormalized_inputs(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    if ctx.data is not None and ctx.data.kind == "text":
        raise NotApplicable("the inputs are token ids, which are looked up, not scaled")
    means, stds, low, high, step = _input_stats(ctx)
    worst_mean = max((abs(m) for m in means), default=0.0)
    worst_std = max(stds, default=0.0)
    extreme = max(abs(low or 0.0), abs(high or 0.0))
    problems = []
    if worst_mean > t.input_mean_limit:
        problems.append(f"a channel's mean is {worst_mean:.3g}")
    if worst_std > t.input_std_limit:
        problems.append(f"a channel's standard deviation is {worst_std:.3g}")
    if extreme > t.input_abs_limit:
        problems.append(f"values reach {extreme:.3g}")
    if not problems:
        return []
    normalize_off = getattr(ctx.config, "normalize", True) is False
    fix = set_config("Normalise the inputs", normalize=True) if normalize_off else None
    shown = len(means) <= 16  # per-channel numbers for images and small tables, not for 500 columns
    return [Finding(
        "unnormalized_inputs", "warning", "The inputs are not normalised",
        "; ".join(problems).capitalize() + " (normalised inputs have mean ≈ 0 and standard deviation ≈ 1). "
        "Large inputs make the first layer's outputs and gradients large, so training needs a far smaller "
        "learning rate and is fragile." + ("" if normalize_off else " Normalisation is on, yet some inputs "
                                          "stay large: look at the columns or channels named here."),
        evidence({"max_abs_mean": round(worst_mean, 4), "max_std": round(worst_std, 4), "min": low, "max": high,
                  **({"channel_mean": [round(m, 4) for m in means], "channel_std": [round(s, 4) for s in stds]}
                     if shown else {})}, None, [step, step] if step is not None else None),
        fix, step)]


@rule("class_imbalance", needs=("data",), summary="the largest class has many times the examples of the smallest")
def class_imbalance(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    assert ctx.data is not None
    counts = ctx.data.label_counts
    if counts is None and ctx.diagnostics is not None and ctx.diagnostics.inputs:
        counts = ctx.diagnostics.inputs[-1].label_counts
    if ctx.data.task != "classification" or not counts:
        raise NotApplicable("needs the class counts of a classification dataset")
    biggest, smallest = max(counts), min(counts)
    ratio = biggest / smallest if smallest else math.inf
    if ratio < t.class_imbalance_ratio:
        return []
    big, small = counts.index(biggest), counts.index(smallest)
    empty = [i for i, c in enumerate(counts) if c == 0]
    what = (f"class {empty[0]} has no training examples" if empty else
            f"class {big} has {biggest:,} training examples, class {small} only {smallest:,} ({ratio:.0f}×)")
    weighted = bool(getattr(ctx.config, "class_weights", False))  # already weighted: worth knowing, no more
    return [Finding(
        "class_imbalance", "info" if weighted else "warning", "The classes are imbalanced",
        f"{what.capitalize()}. A model can score well by mostly predicting the big classes and ignoring the "
        "small ones; accuracy then hides it. " + ("The loss is weighted by class frequency, which makes every "
                                                  "class count; " if weighted else
                                                  "Weighting the loss by inverse class frequency makes every class "
                                                  "count; ") + "per-class accuracy (or F1) shows what happens.",
        evidence({"largest_class": big, "largest": biggest, "smallest_class": small, "smallest": smallest,
                  "ratio": round(ratio, 2) if math.isfinite(ratio) else "inf", "label_counts": list(counts)}),
        None if weighted else set_config("Weight the loss by class frequency", class_weights=True), None)]


@rule("data_leakage", needs=("data",), summary="validation examples byte-identical to training examples")
def data_leakage(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    assert ctx.data is not None
    leaked = ctx.data.leaked
    if leaked is None:
        raise NotApplicable("the validation split was not compared with the training split")
    if leaked == 0:
        return []
    share = leaked / max(ctx.data.val_size, 1)
    severity = "error" if share >= t.leak_error_share else "warning"
    return [Finding(
        "data_leakage", severity, "Validation examples also appear in training",
        f"{leaked:,} of the {ctx.data.val_size:,} validation examples ({share:.1%}) are identical to a training "
        "example, so the validation score partly measures memory, not generalisation. Remove the duplicates from "
        "the dataset before it is split.",
        evidence({"leaked": leaked, "val_size": ctx.data.val_size, "share": round(share, 4)},
                 examples=list(ctx.data.leaked_examples)),
        None, None)]
