"""Each on-disk layout, written by the test in its real format, loads with the right shapes and labels."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from neuralforge_desktop.core.training.datasets import load_dataset
from neuralforge_desktop.core.training.datasets.prepare import PAD, UNK
from neuralforge_desktop.core.training.datasets.text import tokenize

from .makers import CIFAR_NAMES, REVIEWS, digit_images, write_cifar, write_idx, write_image_folder, write_imdb


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_idx_folder_with_train_and_t10k(tmp_path, gz):
    x, y = digit_images(50, seed=1)
    xt, yt = digit_images(20, seed=2)
    write_idx(tmp_path, "train", x, y, gz)
    write_idx(tmp_path, "t10k", xt, yt, gz)
    b = load_dataset(str(tmp_path), val_fraction=0.2, normalize=False)
    assert b.task == "classification" and b.input_shape == (1, 28, 28) and b.input_dtype == "float32"
    assert (len(b.train), len(b.val), len(b.test)) == (40, 10, 20)
    assert b.num_classes == int(max(y.max(), yt.max())) + 1
    assert b.train.x.dtype == np.float32 and b.train.y.dtype == np.int64
    # Pixels are bytes/255, and every training image is one of the file's images with its own label.
    np.testing.assert_array_equal(b.test.x[:, 0], xt / np.float32(255))
    np.testing.assert_array_equal(b.test.y, yt)
    flat = {img.tobytes(): int(label) for img, label in zip(x, y, strict=True)}
    for img, label in zip(b.train.x[:, 0], b.train.y, strict=True):
        assert flat[np.rint(img * 255).astype(np.uint8).tobytes()] == label


def test_idx_single_file_finds_its_labels_partner(tmp_path):
    x, y = digit_images(30, seed=3, side=20)
    write_idx(tmp_path, "train", x, y, gz=True)
    b = load_dataset(str(tmp_path / "train-images-idx3-ubyte.gz"), val_fraction=0.0)
    assert b.input_shape == (1, 20, 20) and len(b.train) == 30 and b.test is None
    assert b.normalization is not None and b.normalization["over"] == "per channel"


@pytest.mark.parametrize("bytes_keys", [True, False], ids=["bytes-keys", "str-keys"])
def test_cifar_batches(tmp_path, bytes_keys):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder, per_batch=8, bytes_keys=bytes_keys)
    b = load_dataset(str(tmp_path), val_fraction=0.25, normalize=False)  # found in the sub-folder
    assert b.input_shape == (3, 32, 32) and b.num_classes == 10 and b.class_names == CIFAR_NAMES
    assert len(b.train) + len(b.val) == 40 and len(b.test) == 8
    # The first test image: red plane = the first 1024 bytes of its row, in row-major 32×32.
    raw = pickle.loads((folder / "test_batch").read_bytes())
    data = raw[b"data" if bytes_keys else "data"]
    np.testing.assert_array_equal(b.test.x[0, 0], data[0, :1024].reshape(32, 32) / np.float32(255))
    np.testing.assert_array_equal(b.test.x[0, 2], data[0, 2048:].reshape(32, 32) / np.float32(255))


def test_cifar_single_batch_file_without_meta(tmp_path):
    write_cifar(tmp_path, per_batch=6, bytes_keys=True, batches=1, meta=False)
    b = load_dataset(str(tmp_path / "data_batch_1"), val_fraction=0.0)
    assert len(b.train) == 6 and b.test is None and b.class_names is None


def test_imdb_tokens_vocab_from_train_and_padding(tmp_path):
    write_imdb(tmp_path)
    b = load_dataset(str(tmp_path), val_fraction=0.0, options={"vocab_size": 12, "max_len": 6})
    assert b.input_dtype == "int64" and b.input_shape == (6,) and b.train.x.dtype == np.int64
    assert b.class_names == ["neg", "pos"] and b.num_classes == 2
    assert len(b.train) == 8 and len(b.test) == 8
    assert b.vocab is not None and b.vocab[:2] == [PAD, UNK] and len(b.vocab) == 12
    assert "great" in b.vocab and "awful" in b.vocab and "br" not in b.vocab  # <br /> is markup, not a word
    assert b.normalization is None
    # "Awful. Just awful." has 3 tokens: padded with 0 after them.
    row = b.train.x[[i for i in range(8) if b.train.y[i] == 0 and b.train.x[i, 3] == 0][0]]
    assert row[0] != 1 and list(row[3:]) == [0, 0, 0]


def test_tokenizer_lowercases_drops_markup_and_keeps_contractions():
    assert tokenize("Don't MISS it<br /><br/>great! 10/10") == ["don't", "miss", "it", "great", "10", "10"]


def test_imdb_vocab_is_built_from_the_training_split_only(tmp_path):
    write_imdb(tmp_path, with_test=False)
    test_only = tmp_path / "aclImdb" / "test"
    for cls in ("pos", "neg"):
        (test_only / cls).mkdir(parents=True)
        (test_only / cls / "0_1.txt").write_text("zebra zebra zebra zebra zebra", encoding="utf-8")
    b = load_dataset(str(tmp_path / "aclImdb"), val_fraction=0.25, options={"max_len": 4})
    assert "zebra" not in b.vocab
    assert (b.test.x == 1).sum() == 8  # every test word is <unk>
    counts = sum(len(t.split()) for t in REVIEWS["pos"] + REVIEWS["neg"])
    assert len(b.vocab) < counts


def test_image_folder_grey_and_rgb_and_resize(tmp_path):
    root = write_image_folder(tmp_path / "pets", {"cat": 3, "dog": 4})
    b = load_dataset(str(root), val_fraction=0.0, normalize=False)
    assert b.class_names == ["cat", "dog"] and b.input_shape == (3, 12, 10) and len(b.train) == 7
    assert b.train.x.min() >= 0.0 and b.train.x.max() <= 1.0
    grey = write_image_folder(tmp_path / "grey", {"a": 2, "b": 2}, size=(9, 9), mode="L")
    b = load_dataset(str(grey), val_fraction=0.0, options={"size": 16})
    assert b.input_shape == (1, 16, 16)


def test_image_folder_with_train_and_test(tmp_path):
    write_image_folder(tmp_path / "train", {"a": 3, "b": 3}, size=(8, 8))
    write_image_folder(tmp_path / "test", {"a": 1, "b": 2}, size=(8, 8))
    b = load_dataset(str(tmp_path), val_fraction=0.0)
    assert len(b.train) == 6 and len(b.test) == 3 and sorted(b.test.y.tolist()) == [0, 1, 1]


def test_csv_categorical_target_and_numeric_features(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=30), "b": rng.integers(0, 5, 30), "city": ["x"] * 30,
                          "flag": rng.integers(0, 2, 30).astype(bool),
                          "label": rng.choice(["setosa", "virginica", "versicolor"], 30)})
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    b = load_dataset(str(path), val_fraction=0.2, options={"target": "label"})
    assert b.task == "classification" and b.class_names == ["setosa", "versicolor", "virginica"]
    assert b.input_shape == (3,)  # a, b and flag; the text column city is left out
    assert any("city" in n for n in b.notes)
    names = np.array(b.class_names)
    full = np.concatenate([b.train.y, b.val.y])
    assert sorted(names[full].tolist()) == sorted(frame["label"].tolist())


def test_parquet_regression_target_defaults_to_a_column_named_target(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"target": rng.normal(size=20), "u": rng.normal(size=20), "v": rng.normal(size=20)})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    b = load_dataset(str(path), val_fraction=0.25, normalize=False)
    assert b.task == "regression" and b.num_classes is None and b.input_shape == (2,)
    assert b.train.y.shape == (15, 1) and b.train.y.dtype == np.float32
    # Each row keeps its own target.
    lookup = {round(float(u), 5): float(t) for u, t in zip(frame["u"], frame["target"], strict=True)}
    for row, target in zip(b.train.x, b.train.y[:, 0], strict=True):
        assert lookup[round(float(row[0]), 5)] == pytest.approx(target, rel=1e-6)


def test_npz_x_y_keys_and_train_test_keys(tmp_path):
    rng = np.random.default_rng(2)
    np.savez(tmp_path / "plain.npz", x=rng.normal(size=(40, 5)), y=rng.integers(0, 4, 40))
    b = load_dataset(str(tmp_path / "plain.npz"))
    assert b.input_shape == (5,) and b.num_classes == 4 and "keys x, y" in b.source
    np.savez(tmp_path / "keras.npz", x_train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 30), x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, 10))
    b = load_dataset(str(tmp_path / "keras.npz"), val_fraction=0.0)
    assert b.input_shape == (1, 28, 28) and len(b.train) == 30 and len(b.test) == 10
    assert any("x_train, y_train" in n and "x_test, y_test" in n for n in b.notes)


def test_npz_first_two_arrays_nhwc_images_and_tokens(tmp_path):
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "nhwc.npz", images=rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8),
             classes=np.array(["cat", "dog"] * 6))
    b = load_dataset(str(tmp_path / "nhwc.npz"), val_fraction=0.0)
    assert b.input_shape == (3, 16, 16) and b.class_names == ["cat", "dog"]
    assert "keys images, classes" in b.source
    np.savez(tmp_path / "tokens.npz", seqs=rng.integers(0, 100, (10, 7)), target=rng.normal(size=10))
    b = load_dataset(str(tmp_path / "tokens.npz"), val_fraction=0.0)
    assert b.input_dtype == "int64" and b.input_shape == (7,) and b.task == "regression"
