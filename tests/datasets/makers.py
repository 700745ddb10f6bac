"""Small datasets written in exactly the on-disk formats the loaders read."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file: 0, 0, type 0x08 (ubyte), ndim, the sizes big-endian, then the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
        data = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def digit_images(n: int, seed: int, side: int = 28) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, side, side), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_cifar(folder: Path, per_batch: int, bytes_keys: bool, batches: int = 5, meta: bool = True) -> None:
    """CIFAR-10 python batches as Python 2 wrote them (bytes keys) or as a Python 3 re-pickle (str keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
    rng = np.random.default_rng(7)
    names = [f"data_batch_{i}" for i in range(1, batches + 1)] + ["test_batch"]
    for i, name in enumerate(names):
        batch = {key("batch_label"): key(f"batch {i}"), key("data"): rng.integers(0, 256, (per_batch, 3072),
                                                                                 dtype=np.uint8),
                 key("labels"): [int(v) for v in rng.integers(0, 10, per_batch)],
                 key("filenames"): [key(f"img{j}.png") for j in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2 if bytes_keys else 4))
    if meta:
        payload = {key("label_names"): [key(n) for n in CIFAR_NAMES], key("num_vis"): 3072}
        (folder / "batches.meta").write_bytes(pickle.dumps(payload, protocol=2))


REVIEWS = {
    "pos": ["A wonderful film.<br /><br />Great acting, great story!", "I loved it; the cast is great.",
            "Great fun and a wonderful ending", "Don't miss it: great!"],
    "neg": ["A terrible film. Awful acting.", "Boring, awful and far too long<br />Terrible.",
            "I hated it; terrible story", "Awful. Just awful."],
}


def write_imdb(root: Path, with_test: bool = True) -> Path:
    top = root / "aclImdb"
    for split in ("train", "test") if with_test else ("train",):
        for cls, texts in REVIEWS.items():
            folder = top / split / cls
            folder.mkdir(parents=True)
            for i, body in enumerate(texts):
                (folder / f"{i}_{7 if cls == 'pos' else 2}.txt").write_text(body, encoding="utf-8")
    (top / "train" / "unsup").mkdir()  # the real tree has unlabelled reviews; they are not used
    return top


def write_image_folder(root: Path, classes: dict[str, int], size: tuple[int, int] = (12, 10),
                       mode: str = "RGB") -> Path:
    from PIL import Image

    rng = np.random.default_rng(3)
    for cls, n in classes.items():
        (root / cls).mkdir(parents=True)
        for i in range(n):
            shape = (size[0], size[1], 3) if mode == "RGB" else size
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(root / cls / f"{i}.png")
    return root
