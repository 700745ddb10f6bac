"""MNIST-style idx files (``train-images-idx3-ubyte`` …), raw or gzip-compressed.

An idx file is a big-endian header — two zero bytes, a type code (0x08 = unsigned byte), the number of
dimensions — then one 32-bit size per dimension, then the values. Image files are idx3 (magic 0x00000803),
label files idx1 (0x00000801).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import re
import zlib
from pathlib import Path

import numpy as np

from neuralforge_desktop.core.training.datasets.limits import GZIP_MAX_RATIO, Limits
from neuralforge_desktop.core.training.datasets.types import DatasetError, RawData

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
_CHUNK = 1 << 20  # bytes inflated per read
_NAME = re.compile(r"^(?P<split>.+?)-(?P<what>images|labels)[.-]idx(?P<dims>[13])-ubyte(?P<gz>\.gz)?$")


def _read_exactly(stream: io.BufferedIOBase, out: memoryview) -> int:
    """Fill ``out`` from ``stream`` in chunks; the number of bytes read (less than ``len(out)`` at EOF)."""
    done = 0
    while done < len(out):
        got = stream.readinto(out[done:done + _CHUNK])
        if not got:
            break
        done += got
    return done


def read_idx(path: Path, magic: int, limits: Limits | None = None) -> np.ndarray:
    """The uint8 array in an idx file whose magic number must be ``magic``.

    The header's dimensions are checked against the limit and against what the file can hold before any
    value is read, and a gzip file is inflated in chunks that stop where the header says the values end, so
    a small file claiming (or inflating to) gigabytes is refused without reading it.
    """
    limits = limits or Limits()
    what = f"idx{magic & 0xFF} ubyte"
    try:
        with path.open("rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            # Decide by content, not by name: renamed or already-unpacked files are common.
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream: io.BufferedIOBase = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
            return _read_values(stream, path, magic, what, size, gz, limits)
    except OSError as exc:
        if isinstance(exc, gzip.BadGzipFile) or not exc.strerror:
            raise DatasetError(f"{path.name}: corrupt gzip data ({exc})") from None
        raise DatasetError(f"{path.name}: cannot read ({exc.strerror})") from None
    except (EOFError, zlib.error) as exc:
        raise DatasetError(f"{path.name}: corrupt gzip data ({exc})") from None


def _read_values(stream: io.BufferedIOBase, path: Path, magic: int, what: str, size: int, gz: bool,
                 limits: Limits) -> np.ndarray:
    head = stream.read(4)
    if len(head) < 4:
        raise DatasetError(f"{path.name}: {len(head)} bytes is too short for an idx header; expected {what}")
    found = int.from_bytes(head, "big")
    if found != magic:
        raise DatasetError(f"{path.name}: bad magic number 0x{found:08x}, expected 0x{magic:08x} ({what})")
    ndim = magic & 0xFF
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DatasetError(f"{path.name}: truncated header; expected {ndim} dimension sizes")
    shape = tuple(int.from_bytes(dims[4 * i: 4 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)  # a Python int: no overflow however large the header's claim
    declared = "×".join(map(str, shape))
    limits.check_bytes(path.name, f"the header declares {declared} =", expected)
    header = 4 + 4 * ndim
    if not gz and size - header != expected:
        raise DatasetError(f"{path.name}: header says {declared} = {expected} bytes of values, "
                           f"the file holds {size - header}")
    if gz and expected > size * GZIP_MAX_RATIO:
        raise DatasetError(f"{path.name}: header says {declared} = {expected} bytes of values, more than a "
                           f"gzip file of {size} bytes can hold")
    values = np.empty(expected, np.uint8)
    got = _read_exactly(stream, values.data)
    if got < expected:
        raise DatasetError(f"{path.name}: header says {declared} = {expected} bytes of values, "
                           f"the file holds {got}")
    if gz and stream.read(1):  # stop at one byte past the promise: a bomb is never inflated further
        raise DatasetError(f"{path.name}: header says {declared} = {expected} bytes of values, "
                           f"the file holds more")
    return values.reshape(shape)


def read_pair(images: Path, labels: Path, limits: Limits | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images N×1×H×W and labels N from a matching pair of idx files."""
    x = read_idx(images, IMAGES_MAGIC, limits)
    y = read_idx(labels, LABELS_MAGIC, limits)
    if len(x) != len(y):
        raise DatasetError(f"{images.name} holds {len(x)} images but {labels.name} holds {len(y)} labels")
    return x[:, None, :, :], y


def find_pairs(folder: Path) -> dict[str, tuple[Path, Path]]:
    """{split prefix ("train", "t10k" …): (images file, labels file)} for the idx files in ``folder``."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = _NAME.match(path.name)
        if match and path.is_file():
            found.setdefault(match["split"], {}).setdefault(match["what"], path)
    pairs: dict[str, tuple[Path, Path]] = {}
    for split, files in found.items():
        if "images" not in files or "labels" not in files:
            have, missing = ("images", "labels") if "images" in files else ("labels", "images")
            raise DatasetError(f"{files[have].name}: found no matching {missing} file "
                               f"({split}-{missing}-idx{1 if missing == 'labels' else 3}-ubyte[.gz]) in {folder}")
        pairs[split] = (files["images"], files["labels"])
    return pairs


def is_idx_name(name: str) -> bool:
    return bool(_NAME.match(name))


def load_idx(path: Path, *, name: str | None = None, class_names: list[str] | None = None,
             limits: Limits | None = None) -> RawData:
    """An idx folder (train-* and t10k-* pairs) or one images/labels file (its partner is found by name)."""
    if path.is_file():
        match = _NAME.match(path.name)
        if not match:
            raise DatasetError(f"{path.name}: expected an idx file named like train-images-idx3-ubyte[.gz]")
        pairs = {k: v for k, v in find_pairs(path.parent).items() if k == match["split"]}
    else:
        pairs = find_pairs(path)
    if not pairs:
        raise DatasetError(f"{path}: no idx files (train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])")
    train_key = "train" if "train" in pairs else sorted(pairs)[0]
    x, y = read_pair(*pairs[train_key], limits)
    x_test = y_test = None
    test_key = next((k for k in ("t10k", "test") if k in pairs and k != train_key), None)
    if test_key is not None:
        x_test, y_test = read_pair(*pairs[test_key], limits)
        if x_test.shape[1:] != x.shape[1:]:
            raise DatasetError(f"{pairs[test_key][0].name}: images are {x_test.shape[2:]}, "
                               f"but the training images are {x.shape[2:]}")
    top = int(max(y.max(initial=0), y_test.max(initial=0) if y_test is not None else 0))
    files = ", ".join(p.name for pair in pairs.values() for p in pair)
    return RawData(name=name or path.name, task="classification", kind="image", x=x, y=y, x_test=x_test,
                   y_test=y_test, num_classes=len(class_names) if class_names else top + 1,
                   class_names=class_names, source=f"idx files in {path if path.is_dir() else path.parent}: {files}",
                   x_field=f"images ({pairs[train_key][0].name})", y_field=f"labels ({pairs[train_key][1].name})",
                   x_test_field=f"images ({pairs[test_key][0].name})" if test_key else None,
                   y_test_field=f"labels ({pairs[test_key][1].name})" if test_key else None)
