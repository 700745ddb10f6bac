"""Decompression bombs and oversized files end in a quick "too large" DatasetError naming the file, the size
found and the limit, never in MemoryError or a hang; and a CIFAR pickle never runs code."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import struct
import time
import zipfile
import zlib
from contextlib import contextmanager

import numpy as np
import pytest

from neuralforge_desktop.core.training.datasets import DatasetError, load_dataset
from neuralforge_desktop.core.training.datasets.limits import MAX_BYTES, MAX_IMAGE_PIXELS

from .makers import digit_images, idx_bytes, write_cifar, write_idx, write_image_folder

TEN_MB = 10 * 1000 * 1000


@contextmanager
def within(seconds: float):
    start = time.monotonic()
    yield
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s"


def too_large(spec, *parts: str, seconds: float = 5.0, **kwargs) -> str:
    with within(seconds), pytest.raises(DatasetError, match="too large") as info:
        load_dataset(str(spec), **kwargs)
    message = str(info.value)
    for part in parts:
        assert part in message, message
    return message


def zeros_idx_gz(shape: tuple[int, ...], values: int) -> bytes:
    """An idx3 file whose header says ``shape`` followed by ``values`` zero bytes, gzip-compressed."""
    header = bytes([0, 0, 0x08, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb") as gz:
        gz.write(header)
        for _ in range(values // 1_000_000):
            gz.write(bytes(1_000_000))
    return out.getvalue()


def labels_for(folder, n: int) -> None:
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(n, np.uint8)))


def test_gzip_bomb_over_a_lowered_limit_is_refused_naming_file_size_and_limit(tmp_path):
    bomb = zeros_idx_gz((10, 1000, 1000), TEN_MB)
    assert len(bomb) < 20_000  # 10 MB of zeros in ~10 KB: what a bomb looks like
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    labels_for(tmp_path, 10)
    too_large(tmp_path, "train-images-idx3-ubyte.gz", "10×1000×1000", "9.5 MiB", "over the limit of 1.0 MiB",
              "max_bytes", options={"max_bytes": 1 << 20})


def test_gzip_bomb_behind_a_small_header_stops_reading_where_the_header_ends(tmp_path):
    # The header promises 5×28×28 bytes; the stream inflates to 10 MB. Reading stops one byte past the promise.
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(zeros_idx_gz((5, 28, 28), TEN_MB))
    labels_for(tmp_path, 5)
    with within(2.0), pytest.raises(DatasetError) as info:
        load_dataset(str(tmp_path))
    assert str(info.value) == ("train-images-idx3-ubyte.gz: header says 5×28×28 = 3920 bytes of values, "
                               "the file holds more")


def test_idx_header_claiming_an_absurd_size_is_refused_at_the_default_limit_without_reading(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(zeros_idx_gz((100_000, 100_000, 100_000), 0))
    labels_for(tmp_path, 5)
    assert MAX_BYTES == 4 << 30
    too_large(tmp_path, "train-images-idx3-ubyte.gz", "100000×100000×100000", "909.5 TiB",
              "over the limit of 4.0 GiB", "max_bytes", seconds=2.0)


def test_gzip_idx_header_claiming_more_than_gzip_can_hold_is_refused(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(zeros_idx_gz((1000, 1000, 1000), 0))
    labels_for(tmp_path, 5)
    with within(2.0), pytest.raises(DatasetError, match=re.escape(
            "train-images-idx3-ubyte.gz: header says 1000×1000×1000 = 1000000000 bytes of values, more than a "
            "gzip file of")):
        load_dataset(str(tmp_path))


def test_a_real_idx_pair_still_loads_under_a_limit_it_fits(tmp_path):
    x, y = digit_images(20, seed=1)
    write_idx(tmp_path, "train", x, y, gz=True)
    bundle = load_dataset(str(tmp_path), val_fraction=0.0, options={"max_bytes": 100_000})
    assert len(bundle.train) == 20
    # The limit changes no array, so it does not change the fingerprint either.
    assert bundle.fingerprint == load_dataset(str(tmp_path), val_fraction=0.0).fingerprint


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def test_npz_bomb_over_a_lowered_limit_is_refused(tmp_path):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=np.zeros((TEN_MB // 8, 1)), y=np.zeros(TEN_MB // 8, np.int64))
    assert path.stat().st_size < 100_000
    too_large(path, "bomb.npz: x", "uncompresses to 9.5 MiB", "over the limit of 1.0 MiB", "max_bytes",
              options={"max_bytes": 1 << 20})


def test_npz_member_whose_header_claims_an_absurd_shape_is_refused_at_the_default_limit(tmp_path):
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy_header((1_000_000, 1_000_000)) + bytes(64))
        archive.writestr("y.npy", npy_header((2,), "<i8") + bytes(16))
    too_large(path, "liar.npz: x", "1000000×1000000 float64", "7.3 TiB", "over the limit of 4.0 GiB",
              seconds=2.0)


def test_npz_header_claiming_more_than_its_member_holds_is_refused_before_allocating(tmp_path):
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy_header((50_000_000,)) + bytes(64))
        archive.writestr("y.npy", npy_header((2,), "<i8") + bytes(16))
    with within(2.0), pytest.raises(DatasetError, match=r"short.npz: x: its header declares 50000000 float64 = "
                                                         r"400,000,000 bytes, but the archive holds \d+ bytes"):
        load_dataset(str(path))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width × height RGB pixels, with one tiny IDAT: a few hundred bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def test_png_declaring_more_pixels_than_the_limit_is_refused_before_decoding(tmp_path):
    write_image_folder(tmp_path, {"a": 1, "b": 1})
    (tmp_path / "b" / "huge.png").write_bytes(png_header_only(12_000, 9_000))  # 108 M pixels
    assert MAX_IMAGE_PIXELS == 100_000_000
    too_large(tmp_path, "b/huge.png", "12000×9000", "108,000,000 pixels", "over the limit of 100,000,000 pixels",
              "max_image_pixels", seconds=3.0)


def test_png_past_pillows_own_cap_is_refused_with_both_limits_named(tmp_path):
    write_image_folder(tmp_path, {"a": 1})
    (tmp_path / "a" / "bomb.png").write_bytes(png_header_only(100_000, 100_000))
    message = too_large(tmp_path, "a/bomb.png", "10000000000 pixels", "max_image_pixels", seconds=3.0)
    assert "Pillow" in message


def test_image_limits_are_options(tmp_path):
    write_image_folder(tmp_path, {"a": 2, "b": 2}, size=(12, 10))
    too_large(tmp_path, "a/0.png", "10×12 = 120 pixels", "over the limit of 100 pixels per image",
              options={"max_image_pixels": 100})
    too_large(tmp_path, "the decoded images add up to", "over the limit of 1,000 bytes",
              options={"max_bytes": 1000})
    with pytest.raises(DatasetError, match="option max_bytes must be a positive integer, got -1"):
        load_dataset(str(tmp_path), options={"max_bytes": -1})


def test_parquet_that_decodes_past_the_limit_is_refused_from_its_footer(tmp_path):
    import pandas as pd

    path = tmp_path / "zeros.parquet"
    pd.DataFrame({"a": np.zeros(2_000_000), "label": np.zeros(2_000_000, np.int64)}).to_parquet(path)
    assert path.stat().st_size < 1_000_000
    too_large(path, "zeros.parquet", "2,000,000 rows × 2 columns decode to", "30.5 MiB",
              "over the limit of 1.0 MiB", options={"max_bytes": 1 << 20})


def test_csv_larger_than_the_limit_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,label\n" + "1,0\n" * 100_000)
    too_large(path, "big.csv: too large: the file is 390.6 KiB, over the limit of 100.0 KiB",
              options={"max_bytes": 100 * 1024})


def test_arrays_the_trainer_gets_count_against_the_limit_too(tmp_path):
    # mnist-10k is 7.5 MiB of bytes on disk but 30 MiB once converted to float32
    too_large("mnist-10k", "dataset mnist-10k", "10,000 examples of 1×28×28 × 4 bytes", "29.9 MiB",
              "over the limit of 16.0 MiB", options={"max_bytes": 16 << 20})


def test_cifar_batch_larger_than_the_format_holds_is_refused_before_unpickling(tmp_path):
    folder = tmp_path / "cifar"
    write_cifar(folder, per_batch=2, bytes_keys=True)
    with (folder / "data_batch_2").open("r+b") as fh:
        fh.truncate(100 << 20)  # sparse: 100 MiB on paper, nothing written
    too_large(folder, "cifar/data_batch_2", "the file is 100.0 MiB", "over the limit of 64.0 MiB",
              "a real CIFAR-10 batch is about 31 MB", seconds=3.0)


class _HugeArray:
    """Pickles as numpy.ndarray((10**6, 10**6)): 7 TiB allocated on load by a plain unpickler."""

    def __reduce__(self):
        return (np.ndarray, ((1_000_000, 1_000_000),))


class _HugeObjectArray:
    """Pickles as an empty array whose restored state declares 10⁹ objects (8 GB allocated on load)."""

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct

        return (_reconstruct, (np.ndarray, (0,), b"b"), (1, (1_000_000_000,), np.dtype("O"), False, [1, 2]))


@pytest.mark.parametrize(("payload", "what"), [
    (_HugeArray(), "an array of 1000000×1000000 float64 = 7.3 TiB"),
    (_HugeObjectArray(), "an array of 1000000000 object = 7.5 GiB"),
])
def test_cifar_pickle_declaring_a_huge_array_is_refused_before_allocating(tmp_path, payload, what):
    folder = tmp_path / "cifar"
    write_cifar(folder, per_batch=2, bytes_keys=False)
    (folder / "data_batch_1").write_bytes(pickle.dumps({"data": payload, "labels": [0, 1]}, protocol=2))
    too_large(folder, "cifar/data_batch_1", what, "over the limit of 64.0 MiB", seconds=3.0)


class _WritesMarker:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class _RunsShell:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", [_WritesMarker, _RunsShell])
@pytest.mark.parametrize("where", ["data_batch_1", "batches.meta"])
def test_cifar_pickle_that_would_run_code_never_runs_it(tmp_path, payload, where):
    folder = tmp_path / "cifar"
    write_cifar(folder, per_batch=2, bytes_keys=False)
    marker = tmp_path / "payload-ran"
    (folder / where).write_bytes(pickle.dumps({"data": payload(marker), "labels": [0, 1],
                                               "label_names": [payload(marker)]}, protocol=2))
    try:
        load_dataset(str(folder))
        message = "loaded"
    except DatasetError as exc:
        message = str(exc)
    assert not marker.exists()
    assert re.search(rf"cifar/{re.escape(where)}: .* does not unpickle \(refusing to load ", message), message


def test_cifar_pickle_cannot_reach_other_codecs_through_codecs_encode(tmp_path):
    folder = tmp_path / "cifar"
    write_cifar(folder, per_batch=2, bytes_keys=False)
    body = b"\x80\x02c_codecs\nencode\nq\x00X\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86R."
    (folder / "data_batch_1").write_bytes(body)
    with pytest.raises(DatasetError, match="refusing to encode with 'rot13'"):
        load_dataset(str(folder))
