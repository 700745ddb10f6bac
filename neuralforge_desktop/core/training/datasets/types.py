"""The records datasets are described and delivered in, and the error every loader raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from neuralforge_desktop.core.errors import UserError

Task = Literal["classification", "regression", "language-modeling"]
# How the inputs of a raw dataset are to be turned into float/int arrays (see prepare.py); a "corpus" is running
# text cut into token sequences (see corpus.py).
Kind = Literal["image", "features", "series", "tokens", "text", "corpus"]
DType = Literal["float32", "int64"]
# Targets a language model's loss skips (padding after the last token): torch's cross-entropy default.
IGNORE_INDEX = -100


class DatasetError(UserError):
    """A dataset is missing, unreadable or not in the expected layout; the message names the file and what
    was expected, and is meant to be shown to the user as it is."""


@dataclass(frozen=True)
class InputField:
    """One named input of a dataset, per example: a graph's data Input of the same name reads it."""

    name: str
    shape: tuple[int, ...]
    dtype: DType | None = None  # None: not known before loading (a built-in's listing may not say)

    def describe(self) -> str:
        dims = "×".join(map(str, self.shape)) or "scalar"
        return f"{self.name} ({dims}{f' {self.dtype}' if self.dtype else ''})"


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
    # The named inputs with the default options (the first is the main one, ``input_shape``); None when
    # the dataset has one unnamed input.
    fields: tuple[InputField, ...] | None = None


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (first axis: examples) and targets ``y`` of one split; ``extra`` holds the dataset's other
    named input fields (token type ids, an attention mask …), each with the same first axis."""

    x: np.ndarray
    y: np.ndarray
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class DatasetBundle:
    """A loaded dataset, split and ready for the trainer.

    ``x`` arrays are float32 (images N×C×H×W, features N×F, series windows) or int64 token ids N×T, as
    ``input_dtype`` says; ``y`` is int64 class ids N for classification, float32 N×k for regression, and the
    next token ids N×T for language modelling (``IGNORE_INDEX`` after the text ends).

    ``x`` is the field named ``input_name``; a dataset with several named inputs keeps the others in each
    split's ``extra`` (see :meth:`fields`). ``tokenizer`` is the JSON text of what turned text into ids, saved
    with a run so that its model can be used on new text.
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
    input_name: str = "inputs"
    tokenizer: str | None = None
    vocab_size: int | None = None  # token ids lie in 0 … vocab_size − 1 (token datasets)

    def fields(self) -> list[InputField]:
        """The named inputs, the main one (``x``) first."""
        main = InputField(self.input_name, self.input_shape, self.input_dtype)
        extra = [InputField(name, tuple(int(d) for d in array.shape[1:]),
                            "int64" if array.dtype == np.int64 else "float32")
                 for name, array in self.train.extra.items()]
        return [main, *extra]

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
    # The name a graph's data Input has to read ``x`` when the dataset has several named inputs, and those
    # other inputs (arrays with one row per example of ``x`` / ``x_test``). Text datasets get theirs in prepare.
    input_name: str = "inputs"
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    extra_test: dict[str, np.ndarray] = field(default_factory=dict)
