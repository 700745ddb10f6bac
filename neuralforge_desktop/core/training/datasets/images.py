"""A folder of images with one sub-folder per class (``cats/1.png``, ``dogs/7.jpg`` …).

A folder holding ``train/`` (and optionally ``test/``), each with the class sub-folders, gives the dataset its
own test split. Images become 1 channel when every image is greyscale and 3 (RGB; alpha dropped) otherwise,
unless ``options["channels"]`` says which. All images must share one size unless ``options["size"]``
(an int for squares, or [height, width]) asks for them to be resized.

Each image's width × height is read from its header and checked against ``max_image_pixels`` before it is
decoded, and the decoded images together against ``max_bytes`` (see ``limits``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.training.datasets.limits import Limits, too_large
from neuralforge_desktop.core.training.datasets.types import DatasetError, RawData

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())


def class_folders(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` that hold at least one image, sorted by name."""
    if not folder.is_dir():
        return []
    return [d for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".") and _images_in(d)]


def looks_like_image_folder(path: Path) -> bool:
    return bool(class_folders(path)) or bool(class_folders(path / "train"))


def _size_option(options: dict[str, Any]) -> tuple[int, int] | None:
    size = options.get("size")
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size, size
    if (isinstance(size, list | tuple) and len(size) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)):
        return int(size[0]), int(size[1])
    raise DatasetError(f"option size must be a positive int or [height, width], got {size!r}")


class _Tally:
    """Bytes of decoded images so far, across the train and test trees: they become one array."""

    def __init__(self, limits: Limits, root: Path) -> None:
        self.limits, self.root, self.nbytes = limits, root, 0

    def add(self, nbytes: int) -> None:
        self.nbytes += nbytes
        self.limits.check_bytes(f"{self.root.name}/", "the decoded images add up to", self.nbytes)


def _open_checked(file: Path, rel: str, limits: Limits) -> Any:
    """The opened (not yet decoded) image, once its header's width × height is within the limit."""
    from PIL import Image

    # Pillow warns past its own MAX_IMAGE_PIXELS and refuses past twice that; ours is checked below.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            opened = Image.open(file)
        except Image.DecompressionBombError as exc:
            raise DatasetError(f"{rel}: too large: {exc} (Pillow's limit, PIL.Image.MAX_IMAGE_PIXELS; "
                               f"this loader's is {limits.max_image_pixels:,} pixels, max_image_pixels)") from None
    width, height = opened.size
    if width * height > limits.max_image_pixels:
        opened.close()
        raise too_large(rel, f"its header declares {width}×{height} =", f"{width * height:,} pixels",
                        f"{limits.max_image_pixels:,} pixels per image", "max_image_pixels")
    return opened


def _read_tree(folder: Path, classes: list[str], size: tuple[int, int] | None, root: Path, tally: _Tally
               ) -> tuple[list[np.ndarray], list[int], list[str]]:
    from PIL import Image, UnidentifiedImageError

    arrays: list[np.ndarray] = []
    labels: list[int] = []
    names: list[str] = []
    for sub in class_folders(folder):
        if sub.name not in classes:
            raise DatasetError(f"{sub.relative_to(root)}/: class {sub.name!r} is not among the training classes "
                               f"({', '.join(classes)})")
        for file in _images_in(sub):
            rel = file.relative_to(root).as_posix()
            try:
                with _open_checked(file, rel, tally.limits) as opened:
                    grey = opened.mode in _GREY_MODES
                    out_w, out_h = (size[1], size[0]) if size is not None else opened.size
                    tally.add(out_w * out_h * (1 if grey else 3))  # before decoding
                    img = opened.convert("L" if grey else "RGB")
                    if size is not None and img.size != (size[1], size[0]):
                        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                    arrays.append(np.asarray(img, dtype=np.uint8))
            except (OSError, UnidentifiedImageError, ValueError) as exc:
                raise DatasetError(f"{rel}: expected an image PIL can read ({exc})") from None
            labels.append(classes.index(sub.name))
            names.append(rel)
    return arrays, labels, names


def _stack(arrays: list[np.ndarray], names: list[str], channels: int) -> np.ndarray:
    """N×C×H×W uint8; every image must have the size of the first."""
    first = arrays[0].shape[:2]
    for array, name in zip(arrays, names, strict=True):
        if array.shape[:2] != first:
            raise DatasetError(f"{name} is {array.shape[0]}×{array.shape[1]} but {names[0]} is {first[0]}×{first[1]}; "
                               f"pass options={{'size': [height, width]}} to resize them to one size")
    out = np.empty((len(arrays), channels, *first), np.uint8)
    for i, array in enumerate(arrays):
        if array.ndim == 2:
            out[i] = array  # a greyscale image fills every channel, so it can mix with colour ones
        elif channels == 1:
            # ITU-R 601 luma, the weights PIL uses for convert("L")
            out[i, 0] = np.rint(array @ np.array([0.299, 0.587, 0.114])).clip(0, 255).astype(np.uint8)
        else:
            out[i] = array.transpose(2, 0, 1)
    return out


def load_image_folder(path: Path, options: dict[str, Any], limits: Limits | None = None) -> RawData:
    size = _size_option(options)
    tally = _Tally(limits or Limits(), path)
    channels = options.get("channels")
    if channels not in (None, 1, 3):
        raise DatasetError(f"option channels must be 1 or 3, got {channels!r}")
    split_layout = not class_folders(path) and bool(class_folders(path / "train"))
    train_dir = path / "train" if split_layout else path
    classes = [d.name for d in class_folders(train_dir)]
    if not classes:
        raise DatasetError(f"{path}: expected one sub-folder per class holding images "
                           f"({', '.join(sorted(EXTENSIONS))})")
    arrays, labels, names = _read_tree(train_dir, classes, size, path, tally)
    test_arrays: list[np.ndarray] = []
    test_labels: list[int] = []
    test_names: list[str] = []
    if split_layout and class_folders(path / "test"):
        test_arrays, test_labels, test_names = _read_tree(path / "test", classes, size, path, tally)
    if channels is None:
        channels = 3 if any(a.ndim == 3 for a in arrays + test_arrays) else 1
    x = _stack(arrays + test_arrays, names + test_names, channels)
    n = len(arrays)
    settings = {"size": list(x.shape[2:]), "channels": channels}
    notes = [f"{len(classes)} classes from sub-folder names; images {channels}×{x.shape[2]}×{x.shape[3]}"]
    return RawData(name=path.name, task="classification", kind="image", x=x[:n],
                   y=np.asarray(labels, np.int64), x_test=x[n:] if test_arrays else None,
                   y_test=np.asarray(test_labels, np.int64) if test_arrays else None, num_classes=len(classes),
                   class_names=classes, source=f"image folder {path}", settings=settings, notes=notes)
