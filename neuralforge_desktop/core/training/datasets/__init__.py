"""Datasets for training: offline built-ins and loaders for the layouts users keep on disk.

    from neuralforge_desktop.core.training.datasets import list_datasets, load_dataset

    for info in list_datasets(): ...          # DatasetInfo per built-in, with available / how_to_get
    bundle = load_dataset("mnist-10k")        # a built-in name …
    bundle = load_dataset("~/data/cifar-10-batches-py", val_fraction=0.1, seed=1)   # … or a path
    bundle.train.x, bundle.train.y            # numpy arrays; the trainer moves them to torch

``load_dataset(spec, *, val_fraction=0.1, test_fraction=None, seed=0, normalize=True, limit=None,
options=None) -> DatasetBundle``

- ``spec``: a built-in name (see ``list_datasets()``) or a path to a file or folder.
- ``val_fraction``: share of the training pool held out for validation (stratified by class).
- ``test_fraction``: None uses the dataset's own test split when it has one (else ``bundle.test`` is None);
  a number holds out that share of the training pool as the test split instead (0: no test split).
- ``seed``: decides the subset ``limit`` picks and the split; the same seed gives the same arrays.
  Time series are cut in time order (train, val, test) and do not depend on it.
- ``normalize``: images are scaled to [0, 1], then shifted and scaled per channel; features per column; a
  series by one mean/std for inputs and targets. Statistics come from the train split only and are kept in
  ``bundle.normalization`` (mean, std, over, applies_to, and for images the pixel ``scale``).
- ``limit``: at most this many examples from the training pool (a seeded random pick; a series keeps the
  first ones) and at most this many from the dataset's own test split.
- ``options``: loader settings. Series: ``window`` (int), ``layout`` ("flat" N×T, "sequence" N×T×1,
  "channels" N×1×T). IMDB and synthetic-reviews: ``vocab_size`` (20000, including <pad> = 0 and <unk> = 1),
  ``max_len`` (256; 24 for synthetic-reviews). Text corpora (``.txt``, synthetic-stories): ``context`` (64),
  ``tokenizer`` ("bpe" or "bytes"), ``vocab_size`` (2048, bpe). Image folders: ``size`` (int or [H, W]),
  ``channels`` (1 or 3). Tables: ``target``, ``features``, ``task``, ``dropna``, ``sep``. npz: ``x_key`` (a
  key, or a list of keys: several named inputs, the first the main one), ``y_key``, ``x_kind`` ("image",
  "features", "tokens"), ``task``. Every loader: ``max_bytes`` and ``max_image_pixels``, the size limits
  (see ``limits``).

``DatasetBundle``: ``name``, ``task`` ("classification" | "regression" | "language-modeling"),
``train``/``val``/``test`` (``Split(x, y, extra)``, ``len(split)``; ``test`` may be None), ``num_classes``,
``input_shape`` (no batch axis), ``input_dtype`` ("float32" | "int64"), ``class_names``, ``source``,
``fingerprint`` (sha256 over the arrays and the settings that made them), ``normalization``, ``vocab`` (word
sequences), ``tokenizer`` (its JSON, for token sequences), ``vocab_size`` and ``notes`` (what the loader
decided: keys used, columns dropped …). Images are float32 N×C×H×W, features float32 N×F, token sequences
int64 N×T; class labels are int64 N, regression targets float32 N×k, next-token targets int64 N×T.

Named inputs: ``bundle.fields()`` lists them, the main one (``x``, called ``input_name``) first and the
others (``split.extra``) after it: text datasets give ``input_ids``, ``token_type_ids`` and
``attention_mask``; an npz archive gives one per key of a list ``x_key``. A graph's data Inputs read the
fields named like them (see ``training.binding``).

Paths are recognised by what they hold: MNIST-style idx files (``train-images-idx3-ubyte[.gz]`` …, a folder
or one file), CIFAR-10 python batches (``data_batch_1`` … ``test_batch``, ``batches.meta``), IMDB
(``aclImdb/{train,test}/{pos,neg}/*.txt``), image folders (one sub-folder per class, optionally under
``train/`` and ``test/``), tables (``.csv``, ``.tsv``, ``.parquet``), ``.npz`` archives and text corpora for
language modelling (a ``.txt`` file, or a folder with ``.txt`` files in it; see ``corpus``).

Every problem — a missing file, a wrong layout, an unknown name, a file too large for the limits, labels out
of range, NaN features, an empty split — raises ``DatasetError`` with a message naming the file (or dataset),
the field and what was expected. Augmentations for training batches are in ``augment``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuralforge_desktop.core.training.datasets import cifar, corpus, idx, images, tables, text
from neuralforge_desktop.core.training.datasets.builtins import BUILTINS
from neuralforge_desktop.core.training.datasets.limits import Limits
from neuralforge_desktop.core.training.datasets.prepare import check_fractions, prepare
from neuralforge_desktop.core.training.datasets.types import DatasetBundle, DatasetError, DatasetInfo, RawData, Split

__all__ = ["DatasetBundle", "DatasetError", "DatasetInfo", "Split", "list_datasets", "load_dataset", "read_path"]

FORMATS = ("MNIST idx files, CIFAR-10 python batches, an aclImdb folder, an image folder with one sub-folder per "
           "class, a .csv/.tsv/.parquet table, an .npz archive, or a .txt file (or a folder of them) of text")


def list_datasets() -> list[DatasetInfo]:
    """The built-in datasets, with whether each can be loaded on this machine and how to get it if not."""
    return [b.info() for b in BUILTINS.values()]


def read_path(path: Path, options: dict[str, Any]) -> RawData:
    """Pick the loader for what ``path`` holds and read it (not yet limited, split or normalised)."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    limits = Limits.from_options(options)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npz":
            return tables.load_npz(path, options, limits)
        if suffix in tables.TABLE_SUFFIXES:
            return tables.load_table(path, options, limits)
        if idx.is_idx_name(path.name):
            return idx.load_idx(path, limits=limits)
        if path.name in (*cifar.TRAIN_BATCHES, cifar.TEST_BATCH):
            return cifar.load_cifar(path)
        if suffix == corpus.TEXT_SUFFIX:
            return corpus.load_corpus(path, options, limits)
        raise DatasetError(f"{path.name}: unknown dataset file; expected {FORMATS}")
    if text.find_root(path) is not None:
        return text.load_imdb(path, options, limits)
    if cifar.find_root(path) is not None:
        return cifar.load_cifar(path)
    if any(idx.is_idx_name(p.name) for p in path.iterdir()):
        return idx.load_idx(path, limits=limits)
    if images.looks_like_image_folder(path):
        return images.load_image_folder(path, options, limits)
    if corpus.looks_like_corpus_folder(path):
        return corpus.load_corpus(path, options, limits)
    raise DatasetError(f"{path}: found no dataset in this folder; expected {FORMATS}")


def _unknown(spec: str) -> DatasetError:
    names = ", ".join(BUILTINS)
    return DatasetError(f"no built-in dataset {spec!r}; built-ins are {names}. "
                        f"A path to a dataset file or folder is also accepted.")


def load_dataset(spec: str, *, val_fraction: float = 0.1, test_fraction: float | None = None, seed: int = 0,
                 normalize: bool = True, limit: int | None = None, options: dict[str, Any] | None = None
                 ) -> DatasetBundle:
    """Load a built-in dataset by name, or the dataset at a path, split and ready to train on."""
    check_fractions(val_fraction, test_fraction)  # before any slow reading
    options = dict(options or {})
    if spec in BUILTINS:
        raw = BUILTINS[spec].load(options)
    else:
        path = Path(spec).expanduser()
        looks_like_path = any(sep in spec for sep in ("/", "\\")) or spec.startswith(("~", ".")) or bool(path.suffix)
        if not path.exists() and not looks_like_path:
            raise _unknown(spec)
        raw = read_path(path, options)
    return prepare(raw, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed, normalize=normalize,
                   limit=limit, options=options)
