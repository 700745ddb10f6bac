"""CIFAR-10 "python version" batches: ``data_batch_1`` … ``data_batch_5``, ``test_batch``, ``batches.meta``.

Each batch is a pickled dict with ``data`` (N×3072 uint8, the red, green and blue 32×32 planes in turn) and
``labels``. The official files were written by Python 2, so they are read with ``encoding="latin1"``, and
their keys may come back as bytes or str depending on who wrote them; both are accepted.

Unpickling can run arbitrary code, so only the few numpy functions an array needs are allowed to load, each
wrapped to refuse an array larger than a batch can be; and a file larger than a batch can be is refused
before it is unpickled at all (see ``limits.CIFAR_MAX_BATCH_BYTES``).
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np

# numpy >= 2 (the project's floor) keeps these in numpy._core; older pickles name numpy.core, mapped below.
from numpy._core.multiarray import _reconstruct as _np_reconstruct
from numpy._core.multiarray import scalar as _np_scalar
from numpy._core.numeric import _frombuffer as _np_frombuffer  # type: ignore[attr-defined]

from neuralforge_desktop.core.training.datasets.limits import CIFAR_MAX_BATCH_BYTES, human_bytes, too_large
from neuralforge_desktop.core.training.datasets.types import DatasetError, RawData

TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
META = "batches.meta"
_EXPECTED = "a CIFAR-10 python batch (a pickled dict with 'data' and 'labels')"

def _capped_bytes(shape: Any, dtype: Any) -> None:
    """Refuse an array of ``shape`` × ``dtype`` larger than a batch file may be, before it is allocated."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(isinstance(d, int) and d >= 0 for d in dims):
        raise pickle.UnpicklingError(f"array shape {shape!r} is not a tuple of sizes")
    nbytes = math.prod(dims) * np.dtype(dtype).itemsize
    if nbytes > CIFAR_MAX_BATCH_BYTES:
        raise _TooLarge(f"an array of {'×'.join(map(str, dims))} {np.dtype(dtype)} =", nbytes)


class _TooLarge(pickle.UnpicklingError):
    def __init__(self, what: str, nbytes: int) -> None:
        super().__init__(what)
        self.what, self.nbytes = what, nbytes


class _CappedArray(np.ndarray):
    """What ``numpy.ndarray`` resolves to in a batch: creating one, or restoring its state (the step that
    allocates the array's memory), is refused past the cap. Results are turned back into plain arrays."""

    def __new__(cls, shape: Any, dtype: Any = float, *args: Any, **kwargs: Any) -> Any:
        _capped_bytes(shape, dtype)
        return np.ndarray.__new__(np.ndarray, shape, dtype, *args, **kwargs)

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 5:  # (version, shape, dtype, is_fortran, data)
            _capped_bytes(state[1], state[2])
        elif isinstance(state, tuple) and len(state) == 4:  # (shape, dtype, is_fortran, data)
            _capped_bytes(state[0], state[1])
        super().__setstate__(state)


def _reconstruct(cls: Any, shape: Any, dtype: Any) -> Any:
    _capped_bytes(shape, np.uint8 if isinstance(dtype, bytes | str) else dtype)
    return _np_reconstruct(_CappedArray, shape, dtype)


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> Any:
    _capped_bytes(shape, dtype)
    return _np_frombuffer(buf, dtype, shape, order)


def _latin1(text: str, encoding: str = "utf-8") -> bytes:
    # Python 3 pickles bytes at protocol 2 as _codecs.encode(text, "latin1"); no other codec is needed.
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing to encode with {encoding!r}")
    return str(text).encode("latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _CappedArray, ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct, ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): _np_scalar, ("numpy._core.multiarray", "scalar"): _np_scalar,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer, ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _latin1,
}


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that can build dicts, lists, strings, numbers and numpy arrays of a bounded size, and
    nothing else: no other class or function a pickle names is ever looked up, so none can run."""

    def find_class(self, module: str, name: str) -> Any:
        # Only the few numpy callables above, each wrapped to check sizes before allocating.
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return _ALLOWED[(module, name)]


def _label(path: Path, root: Path) -> str:
    return path.relative_to(root.parent).as_posix() if path.is_relative_to(root.parent) else path.name


def _unpickle(path: Path, root: Path) -> dict[str, Any]:
    label = _label(path, root)
    limit, why = human_bytes(CIFAR_MAX_BATCH_BYTES), "fixed: a real CIFAR-10 batch is about 31 MB"
    try:
        with path.open("rb") as fh:
            size = path.stat().st_size
            if size > CIFAR_MAX_BATCH_BYTES:  # checked before a byte is unpickled
                raise too_large(label, "the file is", human_bytes(size), limit, None, why)
            # trusted: _ArraysOnly resolves only the size-checked numpy callables in _ALLOWED; nothing else runs
            obj = _ArraysOnly(fh, encoding="latin1").load()
    except OSError as exc:
        raise DatasetError(f"{label}: cannot read ({exc.strerror or exc})") from None
    except _TooLarge as exc:
        raise too_large(label, exc.what, human_bytes(exc.nbytes), limit, None, why) from None
    except DatasetError:
        raise
    except Exception as exc:  # a pickle can fail in many ways; all mean "not a batch file"
        raise DatasetError(f"{label}: expected {_EXPECTED}, but it does not unpickle ({exc})") from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{label}: expected {_EXPECTED}, got a {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): _plain(v) for k, v in obj.items()}


def _plain(value: Any) -> Any:
    return value.view(np.ndarray) if isinstance(value, _CappedArray) else value


def read_batch(path: Path, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 N×3×32×32 images, int64 N labels) from one batch file."""
    batch = _unpickle(path, root)
    label = _label(path, root)
    if "data" not in batch or "labels" not in batch:
        keys = ", ".join(sorted(batch)) or "none"
        raise DatasetError(f"{label}: expected {_EXPECTED}, got a dict with keys {keys}")
    try:
        data = np.asarray(batch["data"])
        labels = np.asarray(batch["labels"])
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise DatasetError(f"{label}: expected {_EXPECTED}; 'data' and 'labels' are not arrays ({exc})") from None
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
