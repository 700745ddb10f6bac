"""A missing or malformed dataset raises DatasetError naming the file and what was expected."""

from __future__ import annotations

import gzip
import pickle
import re

import numpy as np
import pytest

from neuralforge_desktop.core.training.datasets import DatasetError, load_dataset

from .makers import digit_images, idx_bytes, write_cifar, write_idx, write_image_folder, write_imdb


def fails(spec, match: str, **kwargs) -> str:
    with pytest.raises(DatasetError, match=match) as info:
        load_dataset(str(spec), **kwargs)
    return str(info.value)


def test_unknown_name_lists_the_builtins_and_mentions_paths():
    message = fails("mnist-60k", "no built-in dataset 'mnist-60k'")
    assert "mnist-10k" in message and "iris" in message and "path" in message


def test_missing_path():
    fails("./nowhere/data.csv", re.escape("nowhere/data.csv: no such file or folder"))


def test_idx_bad_magic_number(tmp_path):
    x, y = digit_images(5, seed=0)
    write_idx(tmp_path, "train", x, y, gz=True)
    bad = bytearray(idx_bytes(x))
    bad[:4] = b"\0\0\0\0"
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(bytes(bad)))
    fails(tmp_path, re.escape("train-images-idx3-ubyte.gz: bad magic number 0x00000000, expected 0x00000803 "
                              "(idx3 ubyte)"))


def test_idx_labels_file_given_where_images_are_expected(tmp_path):
    x, y = digit_images(5, seed=0)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(y))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(y))
    fails(tmp_path, "bad magic number 0x00000801, expected 0x00000803")


def test_idx_truncated_and_mismatched_counts(tmp_path):
    x, y = digit_images(5, seed=0)
    write_idx(tmp_path, "train", x, y, gz=False)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(x)[:-10])
    fails(tmp_path, r"train-images-idx3-ubyte: header says 5×28×28 = 3920 bytes of values, the file holds 3910")
    write_idx(tmp_path, "train", x, y[:4], gz=False)
    fails(tmp_path, "holds 5 images but train-labels-idx1-ubyte holds 4 labels")


def test_idx_images_without_labels(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(digit_images(2, seed=0)[0]))
    fails(tmp_path, "found no matching labels file")


def test_cifar_batch_that_is_a_list(tmp_path):
    folder = tmp_path / "cifar"
    write_cifar(folder, per_batch=4, bytes_keys=True)
    (folder / "data_batch_3").write_bytes(pickle.dumps([1, 2, 3]))
    fails(folder, re.escape("cifar/data_batch_3: expected a CIFAR-10 python batch (a pickled dict with 'data' "
                            "and 'labels'), got a list"))


def test_cifar_batch_with_wrong_keys_or_garbage(tmp_path):
    folder = tmp_path / "cifar"
    write_cifar(folder, per_batch=4, bytes_keys=False)
    (folder / "data_batch_2").write_bytes(pickle.dumps({"images": np.zeros(3)}))
    fails(folder, "data_batch_2: expected a CIFAR-10 python batch .* got a dict with keys images")
    (folder / "data_batch_2").write_bytes(b"not a pickle at all")
    fails(folder, "data_batch_2: expected a CIFAR-10 python batch .* does not unpickle")


def test_cifar_pickle_that_would_run_code_is_refused(tmp_path):
    folder = tmp_path / "cifar"
    write_cifar(folder, per_batch=4, bytes_keys=False)

    class Evil:
        def __reduce__(self):
            return (print, ("this must not run",))

    (folder / "data_batch_1").write_bytes(pickle.dumps({"data": Evil(), "labels": []}))
    fails(folder, "refusing to load builtins.print")


def test_table_target_column_not_found(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n")
    fails(path, re.escape("table.csv: target column 'label' not found; columns are a, b, c"),
          options={"target": "label"})


def test_table_missing_values_and_no_numeric_features(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,b,label\n1,,x\n2,3,y\n4,5,x\n")
    fails(path, r"gaps.csv: 1 rows have missing values \(columns b\); .*dropna")
    assert len(load_dataset(str(path), val_fraction=0.0, options={"dropna": True}).train) == 2
    words = tmp_path / "words.csv"
    words.write_text("name,label\nann,x\nbob,y\n")
    fails(words, "words.csv: no numeric feature columns besides the target 'label'")


def test_npz_problems(tmp_path):
    np.savez(tmp_path / "one.npz", x=np.zeros((3, 2)))
    fails(tmp_path / "one.npz", "one.npz: expected two arrays .*; keys are x")
    np.savez(tmp_path / "len.npz", x=np.zeros((3, 2)), y=np.zeros(4))
    fails(tmp_path / "len.npz", r"len.npz: x has shape \(3, 2\) and y \(4,\)")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    fails(tmp_path / "obj.npz", "obj.npz: .*allow_pickle")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    fails(tmp_path / "junk.npz", "junk.npz: expected a numpy .npz archive")
    np.savez(tmp_path / "keys.npz", a=np.zeros((2, 2)), b=np.zeros(2))
    fails(tmp_path / "keys.npz", "keys.npz: no array 'x'; keys are a, b", options={"x_key": "x", "y_key": "b"})


def test_image_folder_sizes_differ(tmp_path):
    write_image_folder(tmp_path / "small", {"a": 1}, size=(8, 8))
    write_image_folder(tmp_path / "big", {"b": 1}, size=(10, 12))
    (tmp_path / "small" / "a").rename(tmp_path / "a")
    (tmp_path / "big" / "b").rename(tmp_path / "b")
    (tmp_path / "small").rmdir()
    (tmp_path / "big").rmdir()
    fails(tmp_path, r"b/0.png is 10×12 but a/0.png is 8×8; pass options=\{'size'")


def test_image_folder_with_a_broken_image(tmp_path):
    write_image_folder(tmp_path, {"a": 2})
    (tmp_path / "a" / "1.png").write_bytes(b"not a png")
    fails(tmp_path, "a/1.png: expected an image PIL can read")


def test_imdb_without_neg_folder_and_unknown_folder(tmp_path):
    top = write_imdb(tmp_path, with_test=False)
    for f in (top / "train" / "neg").iterdir():
        f.unlink()
    (top / "train" / "neg").rmdir()
    (top / "train" / "neg").mkdir()
    (top / "test" / "pos").mkdir(parents=True)
    fails(top, "test/: expected sub-folders pos/ and neg/ .*; neg/ is missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("hi")
    fails(empty, "found no dataset in this folder; expected MNIST idx files")
    (empty / "readme.txt").write_text("hi")  # a folder of .txt files is a text corpus, here one too short
    fails(empty, r"dataset empty \(text corpus readme.txt\): its training text is too short", val_fraction=0.0)


def test_unknown_file_type_and_bad_arguments(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\0")
    fails(tmp_path / "model.bin", "model.bin: unknown dataset file")
    fails("iris", r"val_fraction must be in \[0, 1\)", val_fraction=1.5)
    fails("iris", "must leave examples to train on", val_fraction=0.5, test_fraction=0.5)
    fails("sunspots", "option window must be an integer", options={"window": 1000})
    fails("mnist-10k", "limit must be at least 1", limit=0)
