"""IMDB movie reviews in the ``aclImdb/{train,test}/{pos,neg}/*.txt`` layout, as token id sequences.

Reviews are lower-cased, the ``<br />`` line breaks dropped, and split into words (letters and digits, with
an apostrophe suffix kept: "don't"). ``prepare`` then builds the vocabulary from the training split only —
the ``vocab_size`` − 2 most frequent words after <pad> = 0 and <unk> = 1 — and pads or truncates every
review to ``max_len`` ids (the first ``max_len`` words are kept; padding goes at the end).

A text dataset has the three named inputs of a BERT-style model: ``input_ids`` (the main one, which a graph
with a single Input reads whatever its name), ``token_type_ids`` (all 0: one segment) and ``attention_mask``
(1 on words, 0 on padding). Graphs with several Inputs name them after the fields they read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.training.datasets.limits import Limits
from neuralforge_desktop.core.training.datasets.types import DatasetError, RawData

CLASSES = ["neg", "pos"]
DEFAULT_VOCAB_SIZE = 20_000
DEFAULT_MAX_LEN = 256
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def tokenize(text: str) -> list[str]:
    return _WORD.findall(_BREAK.sub(" ", text.lower()))


def find_root(path: Path) -> Path | None:
    """``path`` if it is an aclImdb folder (holding train/pos and train/neg), or its ``aclImdb`` sub-folder."""
    for folder in (path, path / "aclImdb"):
        if (folder / "train" / "pos").is_dir() and (folder / "train" / "neg").is_dir():
            return folder
    return None


def _read_split(folder: Path) -> tuple[list[list[str]], np.ndarray]:
    docs: list[list[str]] = []
    labels: list[int] = []
    for label, cls in enumerate(CLASSES):
        sub = folder / cls
        if not sub.is_dir():
            raise DatasetError(f"{folder.name}/: expected sub-folders pos/ and neg/ of .txt reviews; {cls}/ is missing")
        for file in sorted(sub.glob("*.txt")):
            try:
                docs.append(tokenize(file.read_text(encoding="utf-8", errors="replace")))
            except OSError as exc:
                raise DatasetError(f"{folder.name}/{cls}/{file.name}: cannot read ({exc.strerror or exc})") from None
            labels.append(label)
    if not docs:
        raise DatasetError(f"{folder.name}/: no .txt reviews in pos/ or neg/")
    return docs, np.asarray(labels, np.int64)


def _positive_int(options: dict[str, Any], key: str, default: int, low: int) -> int:
    value = options.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise DatasetError(f"option {key} must be an integer ≥ {low}, got {value!r}")
    return value


def _check_size(root: Path, limits: Limits) -> None:
    """The reviews' total size on disk, before any is read (tokens take memory in proportion)."""
    total = 0
    for file in root.glob("*/*/*.txt"):
        try:
            total += file.stat().st_size
        except OSError:
            continue  # an unreadable file is reported by name when it is read
        limits.check_bytes(f"{root.name}/", "the reviews' .txt files add up to", total)


def load_imdb(path: Path, options: dict[str, Any], limits: Limits | None = None) -> RawData:
    root = find_root(path)
    if root is None:
        raise DatasetError(f"{path}: expected an aclImdb folder with train/pos/*.txt and train/neg/*.txt")
    _check_size(root, limits or Limits())
    vocab_size, max_len = text_options(options)
    x, y = _read_split(root / "train")
    x_test = y_test = None
    if (root / "test").is_dir():
        x_test, y_test = _read_split(root / "test")
    return text_raw(root.name, x, y, x_test, y_test, f"IMDB reviews in {root}", vocab_size, max_len)


def text_raw(name: str, docs: list[list[str]], labels: np.ndarray, test_docs: list[list[str]] | None,
             test_labels: np.ndarray | None, source: str, vocab_size: int, max_len: int,
             class_names: list[str] | None = None) -> RawData:
    """RawData for tokenised documents with class labels (negative/positive unless ``class_names`` says)."""
    names = list(class_names or CLASSES)
    return RawData(name=name, task="classification", kind="text", x=docs, y=labels, x_test=test_docs,
                   y_test=test_labels, num_classes=len(names), class_names=names, source=source,
                   settings={"vocab_size": vocab_size, "max_len": max_len}, input_name="input_ids",
                   notes=[f"vocabulary: top {vocab_size} tokens of the training split; sequences of {max_len}; "
                          f"fields input_ids, token_type_ids (all 0), attention_mask (1 on words, 0 on padding)"])


def text_options(options: dict[str, Any], default_max_len: int = DEFAULT_MAX_LEN) -> tuple[int, int]:
    """(vocab_size, max_len) from the options, checked."""
    return (_positive_int(options, "vocab_size", DEFAULT_VOCAB_SIZE, 3),
            _positive_int(options, "max_len", default_max_len, 1))
