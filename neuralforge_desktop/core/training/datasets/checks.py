"""Checks of a loaded dataset's contents, run before it is split: that there are examples, that targets have
the dtype and rank the task needs and class labels lie in range, and that inputs are finite.

Each problem raises :class:`DatasetError` naming the dataset, the field (an npz key, a table column, a batch's
key) and the range or position at fault, so that it is fixed in the data before a run starts, not found as a
NaN loss or a CUDA assert in the middle of one. Whether the model fits the data is checked in
``training.setup``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralforge_desktop.core.training.datasets.limits import Limits, human_bytes, too_large
from neuralforge_desktop.core.training.datasets.types import DatasetError, RawData

_ROWS = 4096  # examples per step of the finiteness scan, to bound its float32 temporaries
_FLOAT_KINDS = ("image", "features", "series")


def check_raw(raw: RawData) -> None:
    """Raise a DatasetError if ``raw`` cannot be trained on as it is."""
    if len(raw.y) == 0:
        raise DatasetError(f"dataset {raw.name}: {raw.y_field} is empty; there are no examples to train on")
    check_targets(raw, np.asarray(raw.y), raw.y_field)
    if raw.y_test is not None:
        check_targets(raw, np.asarray(raw.y_test), raw.y_test_field or f"{raw.y_field} of the test split")
    check_inputs(raw, raw.x, raw.x_field)
    if raw.x_test is not None:
        check_inputs(raw, raw.x_test, raw.x_test_field or f"{raw.x_field} of the test split")


def check_targets(raw: RawData, y: np.ndarray, name: str) -> None:
    field = f"dataset {raw.name}: {name}"
    if raw.task == "classification":
        if y.dtype.kind not in "iu" or y.ndim != 1:
            raise DatasetError(f"{field}: class labels must be one integer per example, got {y.dtype} of shape "
                               f"{y.shape}")
        if len(y) == 0:
            return
        low, high = int(y.min()), int(y.max())
        classes = raw.num_classes
        if low < 0 or (classes is not None and high >= classes):
            named = f" ({', '.join(raw.class_names[:5])}{' …' if len(raw.class_names) > 5 else ''})" \
                if raw.class_names else ""
            allowed = f"0‥{classes - 1}" if classes else "≥ 0"
            raise DatasetError(f"{field}: labels range {low}‥{high}, but the dataset has {classes} classes"
                               f"{named}, so labels must lie in {allowed}")
        return
    if y.dtype.kind not in "iuf":
        raise DatasetError(f"{field}: regression targets must be numbers, got {y.dtype}")
    _check_finite(y, field, "targets")


def check_inputs(raw: RawData, x: Any, name: str) -> None:
    if not isinstance(x, np.ndarray):
        return  # text: token lists, built into ids later
    field = f"dataset {raw.name}: {name}"
    if raw.kind == "tokens":
        if x.dtype.kind not in "iu":
            raise DatasetError(f"{field}: token ids must be integers, got {x.dtype}")
        if x.size and int(x.min()) < 0:
            raise DatasetError(f"{field}: token ids range {int(x.min())}‥{int(x.max())}; ids must be ≥ 0")
        return
    if raw.kind in _FLOAT_KINDS and x.dtype.kind == "f":
        columns = raw.settings.get("features") if raw.kind == "features" else None
        _check_finite(x, field, "values", columns)


def _check_finite(x: np.ndarray, field: str, what: str, columns: list[str] | None = None) -> None:
    """NaN, ±Inf, and values too large for float32 (the trainer's dtype, where they would become Inf)."""
    bad_total = 0
    first: tuple[int, ...] | None = None
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(x), _ROWS):
            bad = ~np.isfinite(np.asarray(x[start:start + _ROWS], dtype=np.float32))
            count = int(bad.sum())
            if count and first is None:
                at = np.argwhere(bad)[0]
                first = (int(at[0]) + start, *(int(i) for i in at[1:]))
            bad_total += count
    if first is None:
        return
    where = f"example {first[0]}"
    if columns is not None and len(first) == 2 and first[1] < len(columns):
        where += f", column {columns[first[1]]}"
    elif len(first) > 1:
        where += f", index {first[1:] if len(first) > 2 else first[1]}"
    raise DatasetError(f"{field}: {bad_total:,} {what} are NaN or infinite (or beyond float32's range), the first "
                       f"at {where}; clean or drop those examples")


def check_converted_size(raw: RawData, n: int, example_shape: tuple[int, ...], itemsize: int,
                         limits: Limits) -> None:
    """The arrays the trainer gets (float32 or int64) must be within ``max_bytes`` too: a uint8 image
    dataset grows four times when converted."""
    nbytes = n * int(np.prod(example_shape, dtype=np.int64)) * itemsize
    if nbytes > limits.max_bytes:
        dims = "×".join(map(str, example_shape)) or "1"
        raise too_large(f"dataset {raw.name}", f"{n:,} examples of {dims} × {itemsize} bytes =", human_bytes(nbytes),
                        human_bytes(limits.max_bytes), "max_bytes")
