"""CIFAR-10 "python version" batches: ``data_batch_1`` … ``data_batch_5``, ``test_batch``, ``batches.meta``.

Each batch is a pickled dict with ``data`` (N×3072 uint8, the red, green and blue 32×32 planes in turn) and
``labels``. The official files were written by Python 2, so they are read with ``encoding="latin1"``, and
their keys may come back as bytes or str depending on who wrote them; both are accepted.

Unpickling can run arbitrary code, so only the few numpy functions an array needs are allowed to load.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.training.datasets.types import DatasetError, RawData

TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
META = "batches.meta"
_EXPECTED = "a CIFAR-10 python batch (a pickled dict with 'data' and 'labels')"

_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # how Python 3 pickles bytes at protocol 2
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _label(path: Path, root: Path) -> str:
    return path.relative_to(root.parent).as_posix() if path.is_relative_to(root.parent) else path.name


def _unpickle(path: Path, root: Path) -> dict[str, Any]:
    label = _label(path, root)
    try:
        with path.open("rb") as fh:
            obj = _ArraysOnly(fh, encoding="latin1").load()
    except OSError as exc:
        raise DatasetError(f"{label}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # a pickle can fail in many ways; all mean "not a batch file"
        raise DatasetError(f"{label}: expected {_EXPECTED}, but it does not unpickle ({exc})") from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{label}: expected {_EXPECTED}, got a {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def read_batch(path: Path, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 N×3×32×32 images, int64 N labels) from one batch file."""
    batch = _unpickle(path, root)
    label = _label(path, root)
    if "data" not in batch or "labels" not in batch:
        keys = ", ".join(sorted(batch)) or "none"
        raise DatasetError(f"{label}: expected {_EXPECTED}, got a dict with keys {keys}")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetError(f"{label}: 'data' should be N×3072 uint8, got {data.dtype} {data.shape}")
    if labels.ndim != 1 or len(labels) != len(data) or labels.dtype.kind not in "iu":
        raise DatasetError(f"{label}: 'labels' should be {len(data)} integers, got {labels.dtype} {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _names(meta: Path, root: Path) -> list[str] | None:
    if not meta.is_file():
        return None
    names = _unpickle(meta, root).get("label_names")
    if not isinstance(names, list):
        raise DatasetError(f"{_label(meta, root)}: expected a dict with 'label_names' (a list of class names)")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def find_root(path: Path) -> Path | None:
    """The folder holding the batches: ``path`` itself or its ``cifar-10-batches-py`` sub-folder."""
    for folder in (path, path / "cifar-10-batches-py"):
        if folder.is_dir() and any((folder / n).is_file() for n in [*TRAIN_BATCHES, TEST_BATCH]):
            return folder
    return None


def load_cifar(path: Path) -> RawData:
    """A CIFAR-10 folder, or one batch file (then there is no separate test split)."""
    if path.is_file():
        root, train_files, test_file = path.parent, [path], None
    else:
        found = find_root(path)
        if found is None:
            raise DatasetError(f"{path}: expected CIFAR-10 python batches (data_batch_1 … data_batch_5, test_batch)")
        root = found
        train_files = [root / n for n in TRAIN_BATCHES if (root / n).is_file()]
        test_file = root / TEST_BATCH if (root / TEST_BATCH).is_file() else None
        if not train_files and test_file is not None:
            train_files, test_file = [test_file], None
    xs, ys = zip(*(read_batch(f, root) for f in train_files), strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    x_test = y_test = None
    if test_file is not None:
        x_test, y_test = read_batch(test_file, root)
    names = _names(root / META, root)
    top = int(max(y.max(initial=0), y_test.max(initial=0) if y_test is not None else 0))
    if names is not None and top >= len(names):
        raise DatasetError(f"{_label(root / META, root)}: names {len(names)} classes, but a label is {top}")
    files = ", ".join(f.name for f in [*train_files, *([test_file] if test_file else [])])
    return RawData(name=root.name if path.is_dir() else path.name, task="classification", kind="image", x=x, y=y,
                   x_test=x_test, y_test=y_test, num_classes=len(names) if names else top + 1, class_names=names,
                   source=f"CIFAR-10 python batches in {root}: {files}")
