"""The records datasets are described and delivered in, and the error every loader raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from neuralforge_desktop.core.errors import UserError

Task = Literal["classification", "regression"]
# How the inputs of a raw dataset are to be turned into float/int arrays (see prepare.py).
Kind = Literal["image", "features", "series", "tokens", "text"]


class DatasetError(UserError):
    """A dataset is missing, unreadable or not in the expected layout; the message names the file and what
    was expected, and is meant to be shown to the user as it is."""


@dataclass(frozen=True)
class DatasetInfo:
    """One entry of ``list_datasets()``: what a built-in dataset is and whether it can be loaded here."""

    name: str
    title: str
    task: Task
    description: str
    available: bool
    source: str
    how_to_get: str
    num_examples: int | None = None
    input_shape: tuple[int, ...] | None = None
    num_classes: int | None = None


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (first axis: examples) and targets ``y`` of one split."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class DatasetBundle:
    """A loaded dataset, split and ready for the trainer.

    ``x`` arrays are float32 (images N×C×H×W, features N×F, series windows) or int64 token ids N×T, as
    ``input_dtype`` says; ``y`` is int64 class ids N for classification, float32 N×k for regression.
    """

    name: str
    task: Task
    train: Split
    val: Split
    test: Split | None
    num_classes: int | None
    input_shape: tuple[int, ...]
    input_dtype: Literal["float32", "int64"]
    class_names: list[str] | None
    source: str
    fingerprint: str
    normalization: dict[str, Any] | None
    vocab: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    def splits(self) -> dict[str, Split]:
        """The splits that exist, by name, in train/val/test order."""
        out = {"train": self.train, "val": self.val}
        if self.test is not None:
            out["test"] = self.test
        return out


@dataclass
class RawData:
    """What a loader hands to ``prepare``: the examples before limiting, splitting and normalising.

    ``x``/``y`` is the pool the train and validation splits come from; ``x_test``/``y_test`` is the dataset's
    own test split when it has one. Images stay uint8 (or float in [0, 1]) here so that only the splits
    actually used are converted to float32.
    """

    name: str
    task: Task
    kind: Kind
    x: Any
    y: np.ndarray
    source: str
    x_test: Any = None
    y_test: np.ndarray | None = None
    num_classes: int | None = None
    class_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    # What the inputs and targets are called in the files (an npz key, a table column, a batch's dict key),
    # so that a problem found in them later names the field at fault.
    x_field: str = "inputs"
    y_field: str = "labels"
    x_test_field: str | None = None  # None: the field's name plus "of the test split"
    y_test_field: str | None = None
    # Values the loader folded into the arrays (window length, image size …); part of the fingerprint.
    settings: dict[str, Any] = field(default_factory=dict)
    # Series only: keep chronological order instead of shuffling before the split.
    ordered: bool = False
    # Images only: the value that maps to 1.0 (255 for bytes, 16 for sklearn's 8×8 digits).
    scale: float = 255.0
