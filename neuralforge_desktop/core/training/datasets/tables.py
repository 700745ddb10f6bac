"""Tables (CSV, TSV, Parquet) and ``.npz`` archives.

Tables: the target is ``options["target"]``, else a column named label/target/class/y, else the last column.
Features are the other numeric (and boolean) columns; text columns are left out and named in the notes. A
text, boolean or integer target is a classification target; a float target is a regression target
(``options["task"]`` overrides). Rows with missing values are an error unless ``options["dropna"]``.

``.npz``: inputs and targets come from keys ``options["x_key"]``/``options["y_key"]``, else x/y (or X/y),
else x_train/y_train (with x_test/y_test as the test split), else the first two arrays; the notes say which.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npformat

from neuralforge_desktop.core.training.datasets.limits import Limits
from neuralforge_desktop.core.training.datasets.types import DatasetError, Kind, RawData, Task

TABLE_SUFFIXES = {".csv", ".tsv", ".parquet", ".pq"}
_TARGET_NAMES = ("label", "target", "class", "y")
_PAIRS = (("x", "y"), ("X", "y"), ("X", "Y"), ("x_train", "y_train"), ("X_train", "y_train"))


def _task_option(options: dict[str, Any]) -> Task | None:
    task = options.get("task")
    if task not in (None, "classification", "regression"):
        raise DatasetError(f"option task must be 'classification' or 'regression', got {task!r}")
    return task


def encode_targets(values: np.ndarray, task: Task | None, label: str
                   ) -> tuple[Task, np.ndarray, int | None, list[str] | None, list[str]]:
    """(task, targets, num_classes, class_names, notes) for a target array.

    Non-negative integer labels are kept as they are (num_classes = max + 1) so that ids mean what the user
    gave them; text, booleans and negative integers become ids in sorted order, with their names kept.
    """
    values = np.asarray(values)
    notes: list[str] = []
    if values.ndim == 2 and values.shape[1] > 1 and task != "regression" and values.dtype.kind in "iufb":
        binary = np.isin(values, (0, 1)).all() and (values.sum(axis=1) == 1).all()
        if binary:
            values = values.argmax(axis=1)
            notes.append(f"{label}: one-hot rows converted to class ids")
    numeric = values.dtype.kind in "iuf"
    if task == "regression" or (task is None and values.dtype.kind == "f"):
        if not numeric:
            raise DatasetError(f"{label}: a regression target must be numeric, got {values.dtype}")
        return "regression", values.astype(np.float32), None, None, notes
    if values.ndim != 1:
        raise DatasetError(f"{label}: class labels must be one per example, got shape {values.shape}")
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or not np.all(values == np.rint(values)):
            raise DatasetError(f"{label}: task is classification but the target has non-integer values")
        values = values.astype(np.int64)
    if values.dtype.kind in "iu" and (len(values) == 0 or values.min() >= 0):
        return "classification", values.astype(np.int64), int(values.max(initial=-1)) + 1, None, notes
    uniques, ids = np.unique(values.astype(str) if values.dtype.kind == "O" else values, return_inverse=True)
    names = [str(u) for u in uniques]
    notes.append(f"{label}: {len(names)} classes ({', '.join(names[:10])}{' …' if len(names) > 10 else ''})")
    return "classification", ids.astype(np.int64), len(names), names, notes


def _check_table_size(path: Path, limits: Limits) -> None:
    """A CSV is read as it is, so its size on disk bounds its arrays; a Parquet file is compressed, so its
    row and column counts (from the footer, read without the data) say what it becomes in memory."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DatasetError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    if path.suffix.lower() not in (".parquet", ".pq"):
        limits.check_bytes(path.name, "the file is", size)
        return
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        meta = pq.read_metadata(path)
    except ImportError as exc:
        raise DatasetError(f"{path.name}: reading it needs {exc.name or 'pyarrow'} (pip install pyarrow)") from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path.name}: expected a PARQUET table ({exc})") from None
    decoded = max(meta.num_rows * meta.num_columns * 8,
                  sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)))
    limits.check_bytes(path.name, f"{meta.num_rows:,} rows × {meta.num_columns} columns decode to", decoded)


def _read_table(path: Path, options: dict[str, Any], limits: Limits) -> Any:
    import pandas as pd

    _check_table_size(path, limits)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        sep = options.get("sep", "\t" if path.suffix.lower() == ".tsv" else ",")
        return pd.read_csv(path, sep=sep)
    except ImportError as exc:
        raise DatasetError(f"{path.name}: reading it needs {exc.name or 'pyarrow'} (pip install pyarrow)") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DatasetError(f"{path.name}: expected a {path.suffix.lstrip('.').upper()} table ({exc})") from None


def load_table(path: Path, options: dict[str, Any], limits: Limits | None = None) -> RawData:
    import pandas as pd

    task = _task_option(options)
    frame = _read_table(path, options, limits or Limits())
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if len(columns) < 2:
        raise DatasetError(f"{path.name}: expected a feature column and a target column; columns are "
                           f"{', '.join(columns) or 'none'}")
    target = options.get("target")
    notes: list[str] = []
    if target is None:
        lower = {c.lower(): c for c in columns}
        target = next((lower[n] for n in _TARGET_NAMES if n in lower), columns[-1])
        notes.append(f"target column: {target} (pass options={{'target': NAME}} to choose another)")
    elif target not in columns:
        raise DatasetError(f"{path.name}: target column {target!r} not found; columns are {', '.join(columns)}")
    wanted = options.get("features")
    if wanted is not None:
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise DatasetError(f"{path.name}: feature columns {', '.join(missing)} not found; "
                               f"columns are {', '.join(columns)}")
        features = [c for c in wanted if c != target]
    else:
        features = [c for c in columns if c != target]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])]
    dropped = [c for c in features if c not in numeric]
    if dropped and wanted is not None:
        raise DatasetError(f"{path.name}: feature columns must be numeric; {', '.join(dropped)} are not")
    if dropped:
        notes.append(f"non-numeric columns left out: {', '.join(dropped)}")
    if not numeric:
        raise DatasetError(f"{path.name}: no numeric feature columns besides the target {target!r}")
    frame = frame[[*numeric, target]]
    bad = frame.isna()
    if bad.to_numpy().any():
        if not options.get("dropna"):
            cols = [c for c in frame.columns if bad[c].any()]
            raise DatasetError(f"{path.name}: {int(bad.any(axis=1).sum())} rows have missing values (columns "
                               f"{', '.join(cols)}); clean them or pass options={{'dropna': True}}")
        notes.append(f"dropped {int(bad.any(axis=1).sum())} rows with missing values")
        frame = frame.dropna()
    if len(frame) == 0:
        raise DatasetError(f"{path.name}: the table has no rows")
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, which check_raw reports by column
        x = frame[numeric].to_numpy(dtype=np.float32)
    kind, y, num_classes, names, target_notes = encode_targets(frame[target].to_numpy(), task,
                                                               f"{path.name}: column {target}")
    notes.extend(target_notes)
    return RawData(name=path.stem, task=kind, kind="features", x=x, y=y, num_classes=num_classes,
                   class_names=names, source=f"table {path} ({len(numeric)} features, target {target})",
                   notes=notes, settings={"features": numeric, "target": target},
                   x_field=f"feature columns {', '.join(numeric)}", y_field=f"column {target}")


def _x_kind(x: np.ndarray, options: dict[str, Any], label: str) -> tuple[Kind, np.ndarray, float]:
    """How to read an npz input array: (kind, array in the layout prepare expects, pixel scale)."""
    kind: Kind | None = options.get("x_kind")
    if kind not in (None, "image", "features", "tokens"):
        raise DatasetError(f"option x_kind must be 'image', 'features' or 'tokens', got {kind!r}")
    if kind is None:
        if x.dtype == np.uint8 and x.ndim in (3, 4):
            kind = "image"
        elif x.dtype.kind in "iu" and x.dtype != np.uint8 and x.ndim == 2:
            kind = "tokens"
        elif x.dtype.kind == "f" and x.ndim == 4:
            kind = "image"
        else:
            kind = "features"
    if x.dtype.kind not in "iufb":
        raise DatasetError(f"{label}: inputs must be numbers, got {x.dtype}")
    if kind == "image":
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
            x = x.transpose(0, 3, 1, 2)  # N×H×W×C (the Keras layout) → N×C×H×W
        elif x.ndim != 4:
            raise DatasetError(f"{label}: images must be N×H×W or N×C×H×W, got shape {x.shape}")
        return "image", x, 255.0 if x.dtype == np.uint8 else 1.0
    if kind == "tokens" and x.dtype.kind not in "iu":
        raise DatasetError(f"{label}: token ids must be integers, got {x.dtype}")
    return kind, x, 1.0


def _check_members(archive: Any, keys: list[str], path: Path, limits: Limits) -> None:
    """Before reading the arrays ``keys``: each member's declared uncompressed size, and the shape × item
    size its .npy header declares, must be within the limit (numpy allocates that much before reading)."""
    members = set(archive.zip.namelist())
    for key in keys:
        member = key if key in members else f"{key}.npy"
        label = f"{path.name}: {key}"
        info = archive.zip.getinfo(member)
        limits.check_bytes(label, "the archive declares it uncompresses to", info.file_size)
        try:
            with archive.zip.open(member) as fh:
                version = npformat.read_magic(fh)
                read_header = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
                shape, _, dtype = read_header(fh)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise DatasetError(f"{label}: expected a .npy array in the archive ({exc})") from None
        nbytes = math.prod(shape) * dtype.itemsize
        dims = "×".join(map(str, shape)) or "a scalar"
        limits.check_bytes(label, f"its header declares {dims} {dtype} =", nbytes)
        if nbytes > info.file_size:
            raise DatasetError(f"{label}: its header declares {dims} {dtype} = {nbytes:,} bytes, but the archive "
                               f"holds {info.file_size:,} bytes for it")


def load_npz(path: Path, options: dict[str, Any], limits: Limits | None = None) -> RawData:
    limits = limits or Limits()
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path.name}: expected a numpy .npz archive ({exc})") from None
    if not hasattr(archive, "files"):
        raise DatasetError(f"{path.name}: expected an .npz archive of named arrays, got a single .npy array")
    with archive:
        keys = list(archive.files)
        xk, yk = options.get("x_key"), options.get("y_key")
        extra_keys: list[str] = []
        if isinstance(xk, list):  # several named inputs: the first is the main one
            if not xk or not all(isinstance(k, str) for k in xk):
                raise DatasetError(f"option x_key must be a key or a list of keys, got {xk!r}")
            xk, extra_keys = xk[0], list(dict.fromkeys(xk[1:]))
        if (xk is None) != (yk is None):
            raise DatasetError("options x_key and y_key go together; pass both")
        if xk is None:
            xk, yk = next(((a, b) for a, b in _PAIRS if a in keys and b in keys), (None, None))
        if xk is None:
            if len(keys) < 2:
                raise DatasetError(f"{path.name}: expected two arrays (inputs and targets); keys are "
                                   f"{', '.join(keys) or 'none'}")
            xk, yk = keys[0], keys[1]
        for key in (xk, yk, *extra_keys):
            if key not in keys:
                raise DatasetError(f"{path.name}: no array {key!r}; keys are {', '.join(keys)}")
        assert yk is not None  # set together with xk above
        test_keys = None
        extra_test_keys: list[str] = []
        if xk.endswith("_train"):
            tk = (xk[:-6] + "_test", yk[:-6] + "_test")
            test_keys = tk if tk[0] in keys and tk[1] in keys else None
            if test_keys:
                extra_test_keys = [_test_key(path, k, keys) for k in extra_keys]
        wanted = [xk, yk, *(test_keys or ()), *extra_keys, *extra_test_keys]
        _check_members(archive, wanted, path, limits)
        try:
            arrays = {k: archive[k] for k in wanted}
        except ValueError as exc:  # object arrays need pickle, which stays off for files from anywhere
            raise DatasetError(f"{path.name}: {exc}") from None
    x, y = arrays[xk], arrays[yk]
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise DatasetError(f"{path.name}: {xk} has shape {x.shape} and {yk} {y.shape}; "
                           f"expected one target per input along the first axis")
    kind, x, scale = _x_kind(x, options, f"{path.name}: {xk}")
    x_test = y_test = None
    if test_keys:
        x_test, y_test = arrays[test_keys[0]], arrays[test_keys[1]]
        if len(x_test) != len(y_test):
            raise DatasetError(f"{path.name}: {test_keys[0]} and {test_keys[1]} differ in length")
        _, x_test, _ = _x_kind(x_test, options, f"{path.name}: {test_keys[0]}")
        if x_test.shape[1:] != x.shape[1:]:
            raise DatasetError(f"{path.name}: {test_keys[0]} examples are {x_test.shape[1:]}, "
                               f"{xk} examples {x.shape[1:]}")
    both = y if y_test is None else np.concatenate([y, y_test])
    task, encoded, num_classes, names, notes = encode_targets(both, _task_option(options), f"{path.name}: {yk}")
    used = f"keys {', '.join([xk, *extra_keys])}, {yk}" + (f" (test: {test_keys[0]}, {test_keys[1]})"
                                                            if test_keys else "")
    notes.insert(0, f"{path.name}: used {used}")
    settings: dict[str, Any] = {"x_key": xk, "y_key": yk, "kind": kind}
    if extra_keys:
        settings["x_key"] = [xk, *extra_keys]
    return RawData(name=path.stem, task=task, kind=kind, x=x, y=encoded[: len(y)], x_test=x_test,
                   y_test=encoded[len(y):] if y_test is not None else None, num_classes=num_classes,
                   class_names=names, source=f"npz {path} ({used})", notes=notes, scale=scale,
                   settings=settings, x_field=xk, y_field=yk, input_name=_field_name(xk),
                   extra={_field_name(k): arrays[k] for k in extra_keys},
                   extra_test={_field_name(k): arrays[_test_key(path, k, keys)] for k in extra_keys} if test_keys
                   else {})


def _field_name(key: str) -> str:
    """What a graph's Input is called to read the array ``key``: ``ids_train`` is read as ``ids``."""
    return key[:-6] if key.endswith("_train") else key


def _test_key(path: Path, key: str, keys: list[str]) -> str:
    """The test array of the input ``key`` (``a_train`` → ``a_test``), which a test split must have."""
    test = _field_name(key) + "_test"
    if not key.endswith("_train") or test not in keys:
        raise DatasetError(f"{path.name}: the test split needs {test} beside {key}; keys are {', '.join(keys)}")
    return test
