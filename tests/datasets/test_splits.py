"""Splits are seeded and deterministic, stratified, and normalised with training statistics only."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralforge_desktop.core.training.datasets import DatasetError, load_dataset
from neuralforge_desktop.core.training.datasets.prepare import split_indices


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(5)
    # Feature 0 is the row number, so a split can be read back from the arrays.
    x = np.stack([np.arange(200, dtype=np.float64), rng.normal(10, 3, 200)], axis=1)
    path = tmp_path / "rows.npz"
    np.savez(path, x=x, y=np.repeat(np.arange(4), 50))
    return path


def rows(split) -> list[int]:
    return sorted(int(v) for v in split.x[:, 0])


def test_same_seed_same_split_and_fingerprint(table):
    a = load_dataset(str(table), seed=3, normalize=False, test_fraction=0.2)
    b = load_dataset(str(table), seed=3, normalize=False, test_fraction=0.2)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    np.testing.assert_array_equal(a.val.y, b.val.y)
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 64


def test_different_seed_different_split_and_fingerprint(table):
    a = load_dataset(str(table), seed=0, normalize=False)
    b = load_dataset(str(table), seed=1, normalize=False)
    assert rows(a.val) != rows(b.val)
    assert a.fingerprint != b.fingerprint


def test_splits_partition_the_pool_and_are_stratified(table):
    b = load_dataset(str(table), val_fraction=0.1, test_fraction=0.2, normalize=False)
    assert (len(b.train), len(b.val), len(b.test)) == (140, 20, 40)
    assert sorted(rows(b.train) + rows(b.val) + rows(b.test)) == list(range(200))
    assert np.bincount(b.val.y).tolist() == [5] * 4 and np.bincount(b.test.y).tolist() == [10] * 4


def test_fingerprint_follows_options_that_change_the_arrays(table):
    base = load_dataset(str(table)).fingerprint
    assert load_dataset(str(table), normalize=False).fingerprint != base
    assert load_dataset(str(table), val_fraction=0.2).fingerprint != base
    assert load_dataset(str(table), limit=100).fingerprint != base


def test_normalisation_uses_the_train_split_only(table):
    raw = load_dataset(str(table), normalize=False, val_fraction=0.3)
    norm = load_dataset(str(table), normalize=True, val_fraction=0.3)
    mean = raw.train.x.astype(np.float64).mean(axis=0)
    std = raw.train.x.astype(np.float64).std(axis=0)
    np.testing.assert_allclose(norm.normalization["mean"], mean, rtol=1e-6)
    np.testing.assert_allclose(norm.normalization["std"], std, rtol=1e-6)
    np.testing.assert_allclose(norm.val.x, (raw.val.x - mean) / std, rtol=1e-5, atol=1e-5)
    # The validation split is not standardised to exactly 0/1: its own statistics were never used.
    assert abs(norm.val.x[:, 1].mean()) > 1e-4


def test_image_normalisation_is_per_channel_from_train(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60, 3, 4, 4), dtype=np.uint8)
    x[:, 0] //= 4  # channel 0 darker than the others
    np.savez(tmp_path / "img.npz", x=x, y=rng.integers(0, 3, 60))
    b = load_dataset(str(tmp_path / "img.npz"), val_fraction=0.25)
    raw = load_dataset(str(tmp_path / "img.npz"), val_fraction=0.25, normalize=False)
    assert b.normalization["over"] == "per channel" and len(b.normalization["mean"]) == 3
    np.testing.assert_allclose(b.normalization["mean"], raw.train.x.mean(axis=(0, 2, 3), dtype=np.float64),
                               rtol=1e-6)
    assert b.normalization["mean"][0] < b.normalization["mean"][1]
    np.testing.assert_allclose(b.train.x.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert raw.train.x.min() >= 0 and raw.train.x.max() <= 1


def test_limit_is_a_seeded_subset_and_caps_the_own_test_split(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "k.npz", x_train=rng.normal(size=(100, 3)), y_train=rng.integers(0, 2, 100),
             x_test=rng.normal(size=(50, 3)), y_test=rng.integers(0, 2, 50))
    a = load_dataset(str(tmp_path / "k.npz"), limit=20, val_fraction=0.25)
    b = load_dataset(str(tmp_path / "k.npz"), limit=20, val_fraction=0.25)
    assert len(a.train) + len(a.val) == 20 and len(a.test) == 20
    np.testing.assert_array_equal(a.train.x, b.train.x)
    c = load_dataset(str(tmp_path / "k.npz"), limit=20, val_fraction=0.25, test_fraction=0.25)
    assert len(c.test) == 5 and any("own test split is not used" in n for n in c.notes)


def test_split_indices_regression_and_ordered():
    y = np.zeros(10)
    train, val, test = split_indices(y, task="regression", val_fraction=0.2, test_fraction=0.1, seed=0,
                                     ordered=False)
    assert (len(train), len(val), len(test)) == (7, 2, 1)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(10))
    train, val, test = split_indices(y, task="regression", val_fraction=0.2, test_fraction=0.1, seed=9,
                                     ordered=True)
    assert train.tolist() == list(range(7)) and val.tolist() == [7, 8] and test.tolist() == [9]


@settings(max_examples=100, deadline=None)
@given(labels=st.lists(st.integers(0, 4), min_size=1, max_size=60), val=st.floats(0, 0.45),
       test=st.floats(0, 0.45), seed=st.integers(0, 2**31))
def test_stratified_split_partitions_with_the_requested_sizes(labels, val, test, seed):
    y = np.array(labels)
    try:
        train, v, t = split_indices(y, task="classification", val_fraction=val, test_fraction=test, seed=seed,
                                    ordered=False)
    except DatasetError:
        return  # too few examples to leave a training split
    assert sorted(np.concatenate([train, v, t]).tolist()) == list(range(len(y)))
    assert len(t) == round(test * len(y))
    assert len(v) <= round(val * len(y))
    if len(y) >= 20:
        assert len(v) == round(val * len(y))
