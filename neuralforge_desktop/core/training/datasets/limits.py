"""Size limits that keep a hostile or broken dataset file from exhausting memory or hanging a load.

Every loader checks sizes before it allocates: the dimensions an idx header or a ``.npy`` header declares,
the uncompressed size a zip member declares, an image's width × height from its header, a Parquet file's row
count, the size of a CSV or a CIFAR-10 batch on disk. Compressed data is read in chunks and reading stops past
what the header promised, so a small file that inflates to gigabytes (a decompression bomb) ends in a
"too large" :class:`DatasetError` naming the file, the size found and the limit, never in ``MemoryError``.

The limits are overridable through the dataset options (``load_dataset(..., options={"max_bytes": N})``,
``TrainConfig.dataset_options``, ``neuralforge datasets show PATH -o max_bytes=N``):

- ``max_bytes`` (default :data:`MAX_BYTES`, 4 GiB): the most bytes any one array a dataset becomes may take,
  in the file after decompression and in memory after conversion to float32/int64.
- ``max_image_pixels`` (default :data:`MAX_IMAGE_PIXELS`, 100 million): pixels of one image in an image
  folder. Pillow keeps its own cap too (``PIL.Image.MAX_IMAGE_PIXELS``, an error past twice that).

CIFAR-10 batches have a fixed format, so their cap (:data:`CIFAR_MAX_BATCH_BYTES`) is not an option.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.training.datasets.types import DatasetError

MiB = 1 << 20
GiB = 1 << 30
MAX_BYTES = 4 * GiB
MAX_IMAGE_PIXELS = 100_000_000
# A real batch is 10,000 images × 3,072 bytes plus labels and file names, about 31 MB; twice that is room
# for a re-pickled batch and still far from what could hurt.
CIFAR_MAX_BATCH_BYTES = 64 * MiB
# Deflate cannot do better than about 1032:1, so a gzip file of S bytes never holds more than this × S.
GZIP_MAX_RATIO = 1032
# The dataset options that set limits; they change no array, so they are not part of a dataset's fingerprint.
LIMIT_OPTIONS = ("max_bytes", "max_image_pixels")


def human_bytes(n: int | float) -> str:
    """``4.0 GiB``, ``10.0 MiB``, ``512 bytes``: sizes as the messages show them."""
    for unit, size in (("TiB", 1 << 40), ("GiB", GiB), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{int(n):,} bytes"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_BYTES
    max_image_pixels: int = MAX_IMAGE_PIXELS

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> Limits:
        options = options or {}
        values: dict[str, int] = {}
        for key in LIMIT_OPTIONS:
            if key in options:
                value = options[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise DatasetError(f"option {key} must be a positive integer, got {value!r}")
                values[key] = value
        return cls(**values)

    def check_bytes(self, label: str, what: str, found: int) -> None:
        """Raise the "too large" error when ``found`` bytes are over ``max_bytes`` (``what`` as in too_large)."""
        if found > self.max_bytes:
            raise too_large(label, what, human_bytes(found), human_bytes(self.max_bytes), "max_bytes")


def too_large(label: str, what: str, found: str, limit: str, option: str | None,
              fixed: str = "fixed by the format") -> DatasetError:
    """``FILE: too large: WHAT FOUND, over the limit of LIMIT (how to raise it)``; ``what`` ends in "is" or
    "=", e.g. "the header declares 60000×28×28 =". ``option`` None: a limit of the format, ``fixed`` says why."""
    how = f"{option}; pass options={{'{option}': N}} to raise it" if option is not None else fixed
    return DatasetError(f"{label}: too large: {what} {found}, over the limit of {limit} ({how})")
