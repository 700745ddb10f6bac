"""The loss curve and the size of the steps: a learning rate too high (the loss jumps, climbs or turns NaN) or
too low (the weights barely move and neither does the loss), and a loss that stopped falling."""

from __future__ import annotations

import math

from neuralforge_desktop.core.training.coach.context import CoachContext, Series
from neuralforge_desktop.core.training.coach.findings import Finding, Fix
from neuralforge_desktop.core.training.coach.rules.common import (
    NotApplicable,
    classes,
    epochs_done,
    evidence,
    finite,
    last_step,
    median,
    metric,
    relative_drop,
    round_sig,
    rule,
    set_config,
    smooth,
    span,
)
from neuralforge_desktop.core.training.coach.thresholds import Thresholds

STEP_LOSS = "train/loss_step"
LOSS_METRICS = (STEP_LOSS, "train/loss", "val/loss")


def step_losses(ctx: CoachContext) -> Series:
    """The logged step losses, or the epoch losses when no step was logged (a run shorter than log_every)."""
    return metric(ctx, STEP_LOSS) or metric(ctx, "train/loss")


def _update_ratio(ctx: CoachContext, recent: int = 10) -> float | None:
    """The median, over the layers with weights, of each one's median update/weight ratio in the last records."""
    if ctx.diagnostics is None or not ctx.diagnostics.layers:
        return None
    per_layer: dict[str, list[float]] = {}
    for record in ctx.diagnostics.layers[-recent:]:
        for name, value in zip(record.layers, record.update_ratio, strict=False):
            if value is not None and math.isfinite(value):
                per_layer.setdefault(name, []).append(value)
    if not per_layer:
        return None
    return median([median(values) for values in per_layer.values()])


# Learning rates that train most models from a default init, per optimizer: the Coach lowers a rate that is
# too high to at most this, since a rate 100× too high is still 10× too high after one "divide by 10".
SAFE_LR = {"sgd": 0.01, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3}


def _lr_fix(ctx: CoachContext, factor: float, label: str) -> tuple[Fix | None, float | None]:
    """The fix that scales the run's learning rate by ``factor``, and that learning rate (None if unknown)."""
    lr = getattr(ctx.config, "lr", None)
    if not isinstance(lr, float | int):
        return None, None
    return set_config(label, lr=round_sig(lr * factor)), float(lr)


def lowered_lr(ctx: CoachContext, lr: float) -> float:
    """A learning rate found too high, lowered: 10× lower, and no higher than the optimizer's safe start."""
    safe = SAFE_LR.get(str(getattr(ctx.config, "optimizer", "")), lr * 0.1)
    return round_sig(min(lr * 0.1, safe))


@rule("lr_too_high", needs=("metrics",), summary="the loss jumps far above its start, climbs back up, or the "
      "update/weight ratio is far above 1e-3")
def lr_too_high(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    losses = finite(step_losses(ctx))
    if not losses:
        raise NotApplicable("no finite loss logged yet")
    k = classes(ctx)
    # A fresh classifier's loss is about ln K (a uniform guess); far above it the predictions are confidently
    # wrong, which only large steps produce. Without classes, the first logged loss is the reference.
    reference = math.log(k) if k and k > 1 else losses[0][1]
    # For a classifier the epoch means count too: the worst steps of a divergence often fall between two
    # logged ones, and only the first epoch's mean loss still shows them.
    epochs = finite(metric(ctx, "train/loss")) if k and k > 1 else []
    peak_step, peak = max(losses + epochs, key=lambda p: p[1])
    at = (f"the mean loss of the epoch ending at step {peak_step} was {peak:.3g}"
          if (peak_step, peak) in epochs and (peak_step, peak) not in losses else
          f"the loss jumped to {peak:.3g} at step {peak_step}")
    reasons: list[str] = []
    numbers: dict[str, object] = {"reference_loss": round_sig(reference, 3)}
    if reference > 0 and peak > t.loss_spike_factor * reference:
        reasons.append(f"{at}, {peak / reference:.0f}× "
                       f"{'a uniform guess' if k and k > 1 else 'its first value'} ({reference:.3g})")
        numbers["peak_loss"] = round_sig(peak, 3)
    values = smooth([v for _, v in losses])
    if len(values) >= 8:
        lowest = min(values[: -len(values) // 4])
        recent = sum(values[-len(values) // 4:]) / len(values[-len(values) // 4:])
        rise = recent - lowest
        if lowest > 0 and recent > t.loss_rise_factor * lowest and rise > t.loss_rise_min_share * reference:
            reasons.append(f"the loss climbed back from {lowest:.3g} to {recent:.3g}")
            numbers["lowest_loss"], numbers["recent_loss"] = round_sig(lowest, 3), round_sig(recent, 3)
    ratio = _update_ratio(ctx)
    if ratio is not None and ratio > t.update_ratio_high:  # (a dead network's tiny updates are no evidence here)
        numbers["update_ratio"] = round_sig(ratio, 2)
        reasons.append(f"each step changes the weights by {ratio:.2g} of their size (about 1e-3 is healthy)")
    if not reasons:
        return []
    lr = getattr(ctx.config, "lr", None)
    fix = None
    if isinstance(lr, float | int):
        numbers["lr"] = float(lr)
        fix = set_config(f"Lower the learning rate to {lowered_lr(ctx, lr):g}", lr=lowered_lr(ctx, lr))
    return [Finding(
        "lr_too_high", "warning", "The learning rate looks too high",
        "; ".join(reasons).capitalize() + ". Steps this large overshoot the minimum the optimizer is looking "
        "for. Lower the learning rate (about 10× lower), or warm it up over the first steps.",
        evidence(numbers, None, span(losses), _loss_series(ctx, reference, k)),
        fix, losses[-1][0])]


def _loss_series(ctx: CoachContext, reference: float, classes_: int | None) -> dict[str, Series]:
    """The plot beside a learning-rate finding: the logged step losses, each epoch's mean loss (where a
    divergence between two logged steps shows), and the loss of a uniform guess for a classifier."""
    steps = step_losses(ctx)
    series: dict[str, Series] = {"step loss": steps}
    epochs = metric(ctx, "train/loss")
    if epochs:
        series["epoch mean loss"] = epochs
    if classes_ and classes_ > 1 and steps:
        series[f"uniform guess (ln {classes_})"] = [(steps[0][0], reference), (steps[-1][0], reference)]
    return series


@rule("lr_too_low", needs=("metrics", "diagnostics"), summary="the update/weight ratio is far below 1e-3 and "
      "the loss barely moves")
def lr_too_low(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    losses = finite(step_losses(ctx))
    if len(losses) < t.plateau_min_points and epochs_done(ctx) < 2:
        raise NotApplicable("too early: judged after two epochs or enough logged steps")
    ratio = _update_ratio(ctx)
    if ratio is None:
        raise NotApplicable("the diagnostics hold no update/weight ratio")
    drop = relative_drop(losses) if len(losses) >= 3 else 0.0
    if ratio >= t.update_ratio_low or drop >= t.loss_barely_moving:
        return []
    fix, lr = _lr_fix(ctx, 10.0, "Multiply the learning rate by 10")
    return [Finding(
        "lr_too_low", "warning", "The learning rate looks too low",
        f"Each step changes the weights by only {ratio:.1e} of their size (about 1e-3 is healthy), and the loss "
        f"fell by {max(drop, 0):.1%} over the run. Training this slowly wastes time; raise the learning rate.",
        evidence({"update_ratio": round_sig(ratio), "loss_drop": round(drop, 4), "lr": lr}, None,
                 span(losses), {"loss": losses}),
        fix, last_step(ctx))]


@rule("loss_nan", needs=(), summary="the loss (or a layer's output or gradient) became NaN or infinite")
def loss_nan(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    if not ctx.trained:
        raise NotApplicable("needs a training run: checked before training there is no loss")
    first: tuple[int, str] | None = None
    for name in LOSS_METRICS:
        for step, value in metric(ctx, name):
            if not math.isfinite(value):
                if first is None or step < first[0]:
                    first = (step, name)
                break
    where, layer = "loss", None
    if ctx.diagnostics is not None and ctx.diagnostics.nonfinite:
        record = ctx.diagnostics.nonfinite[0]
        if first is None or record.step <= first[0]:
            first, where, layer = (record.step, "diagnostics"), record.where, record.layer
    if first is None:
        return []
    step = first[0]
    place = {"loss": "the loss", "activation": f"the output of layer {layer}",
             "gradient": f"the gradients of layer {layer}"}.get(where, "the loss")
    lr = getattr(ctx.config, "lr", None)
    settings: dict[str, object] = {"grad_clip": 1.0}
    if isinstance(lr, float | int):
        settings["lr"] = lowered_lr(ctx, lr)
    losses = step_losses(ctx)
    return [Finding(
        "loss_nan", "error", "The loss became NaN",
        f"At step {step} {place} became NaN or infinite; from then on nothing is learned. Usually the learning "
        "rate is too high (the weights blow up), or an operation gets an invalid value (log of 0, division by "
        "0). Lower the learning rate and clip the gradients.",
        evidence({"step": step, "lr": lr, "where": where}, layer, [step, step], {"loss": losses} if losses else None),
        set_config("Lower the learning rate and clip gradients at 1", **settings), step)]


@rule("plateau", needs=("metrics",), summary="the training loss stopped falling for many steps")
def plateau(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    losses = finite(step_losses(ctx))
    if len(losses) < t.plateau_min_points:
        raise NotApplicable(f"needs at least {t.plateau_min_points} logged losses, the run has {len(losses)}")
    points = _buckets(losses, 200)
    start = _flat_since(points, t)
    if start is None:
        return []
    flat = [p for p in losses if p[0] >= points[start][0]]
    if len(flat) < t.plateau_min_points:
        return []
    first, last = losses[0][0], losses[-1][0]
    share = (flat[-1][0] - flat[0][0]) / max(last - first, 1)
    if share < t.plateau_warn_share:
        return []
    k = classes(ctx)
    reference = math.log(k) if k and k > 1 else losses[0][1]
    level = sum(v for _, v in flat) / len(flat)
    if reference > 0 and level < t.plateau_converged_share * reference:
        return []  # flat near zero: the run converged, it did not get stuck
    accuracy = finite(metric(ctx, "train/acc"))
    if accuracy and accuracy[-1][1] >= t.plateau_converged_acc:
        return []
    severity = "warning"
    return [Finding(
        "plateau", severity, "The loss has stopped falling",
        f"The training loss has stayed near {sum(v for _, v in flat) / len(flat):.3g} since step {flat[0][0]} "
        f"({share:.0%} of the run). More epochs at this setting are unlikely to help; a learning rate that "
        "decays (cosine schedule) often gets it moving again.",
        evidence({"since_step": flat[0][0], "share_of_run": round(share, 3),
                  "relative_drop": round(relative_drop(flat), 4)}, None, span(flat), {"loss": losses}),
        set_config("Use a cosine learning-rate schedule", schedule="cosine"), last)]


def _buckets(series: Series, count: int) -> Series:
    """``series`` averaged into at most ``count`` buckets (a long run's thousands of points made few)."""
    if len(series) <= count:
        return series
    size = len(series) / count
    out: Series = []
    for i in range(count):
        chunk = series[int(i * size):int((i + 1) * size)]
        out.append((chunk[-1][0], sum(v for _, v in chunk) / len(chunk)))
    return out


def _flat_since(points: Series, t: Thresholds) -> int | None:
    """The earliest index from which the rest of ``points`` is flat (no fitted fall of ``plateau_min_drop``).
    Every start is tried: on a noisy loss one window can fit a slope that the longer windows around it do not."""
    flat = [start for start in range(len(points) - t.plateau_min_points + 1)
            if abs(relative_drop(points[start:])) < t.plateau_min_drop]
    return flat[0] if flat else None
