"""The numbers the Coach's rules compare against, each with why it has its value. Every one can be changed in
``coach.json`` in NeuralForge's data folder (``{"dead_relu_fraction": 0.9}``): a field of :class:`Thresholds`
by name. A name the file does not know is refused, naming the key, so a typo never silently does nothing."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError

FILE_NAME = "coach.json"

# -- learning rate ---------------------------------------------------------------------------------------------
# ‖Δw‖/‖w‖ per step: ~1e-3 is the usual healthy value (Karpathy's rule of thumb). 100× above it, a step
# rewrites a tenth of a layer's weights: the optimizer jumps around instead of descending.
UPDATE_RATIO_HIGH = 0.1
# 100× below the rule of thumb the weights barely change; only reported when the loss barely moves too.
UPDATE_RATIO_LOW = 1e-5
# A step loss this many times the first logged one (or than a uniform guess's loss, ln K) is a divergence: a
# healthy run's loss only falls from its start, and noise alone rarely doubles it, let alone this.
LOSS_SPIKE_FACTOR = 3.0
# The loss of the last part of the run above this many times its lowest (smoothed) value: it climbs back.
LOSS_RISE_FACTOR = 1.5
# … and by at least this share of the reference loss (ln K, or the first loss): near the end of a good run the
# loss is small, and mini-batch noise alone moves 0.05 to 0.08, a 1.5× "rise" that means nothing.
LOSS_RISE_MIN_SHARE = 0.1
# Less than this relative fall of the loss over the whole run counts as "barely moving" (lr_too_low).
LOSS_BARELY_MOVING = 0.05

# -- gradients -------------------------------------------------------------------------------------------------
# Early layers' gradient norms this many times smaller than the last layer's, typically: three orders of
# magnitude, far beyond the spread per-layer sizes alone give (usually within 10–30×).
VANISHING_RATIO = 1e-3
# A layer's gradient norm above this: healthy networks with a mean loss sit around 0.01–10.
EXPLODING_NORM = 1e3
# Gradient norms that grow this many times from the first records to the last: two orders of magnitude.
EXPLODING_GROWTH = 100.0

# -- activations -----------------------------------------------------------------------------------------------
# A ReLU layer normally outputs 40–60 % zeros; ~all zeros means its units no longer learn (dead).
DEAD_RELU_FRACTION = 0.95
# Sigmoid/tanh outputs pinned at their bounds in most samples: their gradient is ~0 there.
SATURATED_FRACTION = 0.6
# Records a layer statistic must hold for over consecutive samples, so one odd batch is not a finding.
MIN_RECORDS = 3

# -- generalisation --------------------------------------------------------------------------------------------
# Validation loss this share above its best while training loss keeps falling: beyond epoch-to-epoch noise.
OVERFIT_VAL_RISE = 0.1
# Epochs since the best validation loss before calling it overfitting (one bad epoch is noise).
OVERFIT_PATIENCE = 2
# Training accuracy within this of chance (the larger of 1/K and the biggest class's share) is "not learning".
UNDERFIT_MARGIN = 0.05
# Epochs before underfitting is judged: the first epoch of a slow start is not a verdict.
UNDERFIT_MIN_EPOCHS = 2
# …and optimizer steps: two epochs of a small dataset are a few dozen steps, too few for any model to learn.
UNDERFIT_MIN_STEPS = 200
# …unless it has had this many epochs: a small table's whole run can be fewer steps, and eight passes over
# every example at chance is a verdict all the same.
UNDERFIT_ENOUGH_EPOCHS = 6

# -- plateau ---------------------------------------------------------------------------------------------------
# Logged step losses a plateau needs (fitting a line to fewer is noise).
PLATEAU_MIN_POINTS = 15
# Less than this relative fall over the plateau's window (by a fitted line, so batch noise averages out).
PLATEAU_MIN_DROP = 0.02
# A plateau is reported when it covers at least this share of the run (the run stopped learning early). A
# shorter flat stretch at the end is how a run that converged looks, and was the one false plateau on the
# healthy runs the thresholds were tuned on.
PLATEAU_WARN_SHARE = 0.5
# A loss flat below this share of its reference (ln K for K classes, else its first value) has converged: a
# classifier at a tenth of a uniform guess's loss is right on almost every example.
PLATEAU_CONVERGED_SHARE = 0.1
# … or a classifier right on this share of its training examples: little is left to learn (an easy binary
# task's loss stays near 0.1 once it has converged, above the share above).
PLATEAU_CONVERGED_ACC = 0.97

# -- data ------------------------------------------------------------------------------------------------------
# Inputs as the model sees them: normalised data has mean ≈ 0 and std ≈ 1. These limits leave [0, 1] pixels
# and mildly scaled columns alone, and catch raw 0–255 pixels (mean ≈ 33–130, std ≈ 75) or raw prices.
INPUT_MEAN_LIMIT = 5.0
INPUT_STD_LIMIT = 10.0
INPUT_ABS_LIMIT = 100.0
# Largest class over smallest: at 10× a model can score well by ignoring the small classes.
CLASS_IMBALANCE_RATIO = 10.0
# Above this share of validation examples copied from training, the validation score means little: an error.
LEAK_ERROR_SHARE = 0.05

# -- settings --------------------------------------------------------------------------------------------------
# BatchNorm's batch statistics are noisy below ~8 examples (Wu & He, Group Normalization, 2018).
BATCHNORM_MIN_BATCH = 8


@dataclass(frozen=True)
class Thresholds:
    update_ratio_high: float = UPDATE_RATIO_HIGH
    update_ratio_low: float = UPDATE_RATIO_LOW
    loss_spike_factor: float = LOSS_SPIKE_FACTOR
    loss_rise_factor: float = LOSS_RISE_FACTOR
    loss_rise_min_share: float = LOSS_RISE_MIN_SHARE
    loss_barely_moving: float = LOSS_BARELY_MOVING
    vanishing_ratio: float = VANISHING_RATIO
    exploding_norm: float = EXPLODING_NORM
    exploding_growth: float = EXPLODING_GROWTH
    dead_relu_fraction: float = DEAD_RELU_FRACTION
    saturated_fraction: float = SATURATED_FRACTION
    min_records: int = MIN_RECORDS
    overfit_val_rise: float = OVERFIT_VAL_RISE
    overfit_patience: int = OVERFIT_PATIENCE
    underfit_margin: float = UNDERFIT_MARGIN
    underfit_min_epochs: int = UNDERFIT_MIN_EPOCHS
    underfit_min_steps: int = UNDERFIT_MIN_STEPS
    underfit_enough_epochs: int = UNDERFIT_ENOUGH_EPOCHS
    plateau_min_points: int = PLATEAU_MIN_POINTS
    plateau_min_drop: float = PLATEAU_MIN_DROP
    plateau_warn_share: float = PLATEAU_WARN_SHARE
    plateau_converged_share: float = PLATEAU_CONVERGED_SHARE
    plateau_converged_acc: float = PLATEAU_CONVERGED_ACC
    input_mean_limit: float = INPUT_MEAN_LIMIT
    input_std_limit: float = INPUT_STD_LIMIT
    input_abs_limit: float = INPUT_ABS_LIMIT
    class_imbalance_ratio: float = CLASS_IMBALANCE_RATIO
    leak_error_share: float = LEAK_ERROR_SHARE
    batchnorm_min_batch: int = BATCHNORM_MIN_BATCH

    def with_overrides(self, values: dict[str, Any], source: str = FILE_NAME) -> Thresholds:
        """These thresholds with ``values`` (name → number) in place; a ThresholdsError names a wrong key."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise ThresholdsError(f"{source}: {key!r} is not a Coach threshold; known: {', '.join(known)}")
            wants_int = isinstance(getattr(self, key), int)
            ok = (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
                  and value >= 0 and (not wants_int or float(value).is_integer()))
            if not ok:
                kind = "a whole number" if wants_int else "a number"
                raise ThresholdsError(f"{source}: {key!r} must be {kind} ≥ 0, got {json.dumps(value)}")
            changes[key] = int(value) if wants_int else float(value)
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class ThresholdsError(UserError, ValueError):
    """``coach.json`` holds a key that is no threshold, or a value that is not a number."""


def default_thresholds_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / FILE_NAME


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The defaults with the user's ``coach.json`` applied (the defaults alone when there is no file)."""
    path = path or default_thresholds_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Thresholds()
    except OSError as exc:
        raise ThresholdsError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ThresholdsError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ThresholdsError(f"{path}: expected a JSON object of threshold name → number")
    return Thresholds().with_overrides(data, str(path))


def save_thresholds(thresholds: Thresholds, path: Path | None = None) -> Path:
    """Write the thresholds that differ from the defaults to ``coach.json`` (the settings dialog's "save"); a
    file with only the changes keeps later improvements of the other defaults."""
    from neuralforge_desktop.core.ir.atomic import write_text_atomic

    path = path or default_thresholds_path()
    defaults = Thresholds().to_json()
    changed = {k: v for k, v in thresholds.to_json().items() if v != defaults[k]}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(changed, indent=2) + "\n")
    return path


def reasons() -> dict[str, str]:
    """Each threshold's reason, as the comment above its constant in this module says it (threshold name →
    text), for the settings dialog; empty where the source cannot be read (a frozen app without .py files)."""
    import inspect
    import re
    import sys

    try:
        source = inspect.getsource(sys.modules[__name__])
    except (OSError, TypeError):
        return {}
    known = {f.name for f in fields(Thresholds)}
    found: dict[str, str] = {}
    comment: list[str] = []
    after_constant = False  # constants one under another share the comment above the first
    for line in source.splitlines():
        text = line.strip()
        if text.startswith("# --"):
            comment, after_constant = [], False
        elif text.startswith("#"):
            comment = [] if after_constant else comment
            comment.append(text.lstrip("#").strip())
            after_constant = False
        elif (match := re.match(r"([A-Z][A-Z_]*) = ", text)) and match.group(1).lower() in known:
            found[match.group(1).lower()] = " ".join(comment)
            after_constant = True
        else:
            comment, after_constant = [], False
    return found
