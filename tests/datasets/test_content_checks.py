"""Bad contents — labels out of range, the wrong label dtype or rank, NaN/Inf inputs, an empty dataset — are
refused when the dataset is loaded, with the dataset, the field and the range or position named; and a
dataset too small for a validation split says so."""

from __future__ import annotations

import re

import numpy as np
import pytest

from neuralforge_desktop.core.training.datasets import DatasetError, builtins, load_dataset

from .makers import digit_images, write_idx


def fails(spec, match: str, **kwargs) -> str:
    with pytest.raises(DatasetError, match=match) as info:
        load_dataset(str(spec), **kwargs)
    return str(info.value)


def test_labels_beyond_the_named_classes_are_refused_naming_file_and_range(tmp_path, monkeypatch):
    # Fashion-MNIST names 10 classes; a label file with a 12 in it cannot be trained on.
    x, y = digit_images(30, seed=2)
    y[7] = 12
    write_idx(tmp_path, "train", x, y, gz=True)
    write_idx(tmp_path, "t10k", x[:5], y[:5] % 10, gz=True)
    monkeypatch.setattr(builtins, "FASHION_DIR", tmp_path)
    message = fails("fashion-mnist", re.escape("dataset fashion-mnist: labels (train-labels-idx1-ubyte.gz): "
                                               "labels range 0‥12, but the dataset has 10 classes"))
    assert "labels must lie in 0‥9" in message and "T-shirt/top" in message


def test_class_labels_of_the_wrong_rank_name_the_key(tmp_path):
    path = tmp_path / "rank.npz"
    np.savez(path, x=np.zeros((6, 3), np.float32), y=np.arange(18).reshape(6, 3) % 4)
    fails(path, re.escape("rank.npz: y: class labels must be one per example, got shape (6, 3)"))


def test_non_integer_class_labels_name_the_column(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("a,b,label\n1,2,0.5\n3,4,1.0\n5,6,0.0\n")
    fails(path, "labels.csv: column label: task is classification but the target has non-integer values",
          options={"task": "classification"})


def test_nan_inputs_name_the_dataset_key_example_and_position(tmp_path):
    path = tmp_path / "nan.npz"
    x = np.ones((20, 4), np.float64)
    x[5, 2] = np.nan
    x[9, 0] = np.inf
    np.savez(path, x=x, y=np.arange(20) % 2)
    fails(path, re.escape("dataset nan: x: 2 values are NaN or infinite (or beyond float32's range), the first at "
                          "example 5, index 2"))


def test_inf_and_float32_overflow_in_a_table_name_the_column(tmp_path):
    path = tmp_path / "inf.csv"
    path.write_text("a,b,label\n1,2,0\n3,inf,1\n5,1e300,0\n7,8,1\n")
    fails(path, re.escape("dataset inf: feature columns a, b: 2 values are NaN or infinite (or beyond float32's "
                          "range), the first at example 1, column b"))


def test_nan_regression_targets_are_refused(tmp_path):
    path = tmp_path / "target.npz"
    y = np.linspace(0, 1, 10)
    y[3] = np.nan
    np.savez(path, x=np.ones((10, 2), np.float32), y=y)
    fails(path, re.escape("dataset target: y: 1 targets are NaN or infinite (or beyond float32's range), the "
                          "first at example 3"))


def test_negative_token_ids_are_refused(tmp_path):
    path = tmp_path / "tokens.npz"
    ids = np.arange(40, dtype=np.int32).reshape(10, 4)
    ids[2, 1] = -3
    np.savez(path, x=ids, y=np.arange(10) % 2)
    fails(path, re.escape("dataset tokens: x: token ids range -3‥39; ids must be ≥ 0"))


def test_an_empty_dataset_is_refused_naming_the_field(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, x=np.zeros((0, 4), np.float32), y=np.zeros(0, np.int64))
    fails(path, re.escape("dataset empty: y is empty; there are no examples to train on"))


def test_a_split_that_leaves_nothing_to_train_on_names_the_dataset(tmp_path):
    path = tmp_path / "tiny.npz"
    np.savez(path, x=np.ones((1, 3), np.float32), y=np.array([0]))
    fails(path, "dataset tiny: 1 examples leave none to train on", val_fraction=0.9)


def test_no_validation_split_is_said_in_the_notes(tmp_path):
    path = tmp_path / "few.npz"
    np.savez(path, x=np.ones((4, 3), np.float32), y=np.array([0, 1, 0, 1]))
    bundle = load_dataset(str(path), val_fraction=0.1)
    assert len(bundle.val) == 0
    assert "no validation split (4 examples are too few for val_fraction 0.1): val metrics are not computed" \
        in bundle.notes
    assert "no validation split (val_fraction is 0): val metrics are not computed" in \
        load_dataset("iris", val_fraction=0.0).notes
    assert not any("validation" in n for n in load_dataset("iris").notes)
