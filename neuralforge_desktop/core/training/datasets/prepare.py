"""Turn a loader's ``RawData`` into a ``DatasetBundle``: limit, split, convert, normalise, fingerprint.

Everything random here draws from ``numpy.random.default_rng([seed, purpose])`` so that the subset picked by
``limit`` and the split do not depend on each other's draws, and the same seed always gives the same arrays.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from neuralforge_desktop.core.training.datasets.checks import check_converted_size, check_raw
from neuralforge_desktop.core.training.datasets.limits import LIMIT_OPTIONS, Limits
from neuralforge_desktop.core.training.datasets.tokenizer import WordTokenizer
from neuralforge_desktop.core.training.datasets.types import DatasetBundle, DatasetError, RawData, Split

_LIMIT, _SPLIT, _LIMIT_TEST = 1, 2, 3  # second half of the rng seed, one per purpose
_CHUNK = 4096  # rows per step when summing statistics, to bound the float64 temporaries
_MIN_STD = 1e-8  # a constant column keeps std 1 so that normalising does not divide by ~0
PAD, UNK = "<pad>", "<unk>"


def check_fractions(val_fraction: float, test_fraction: float | None) -> None:
    if not 0.0 <= val_fraction < 1.0:
        raise DatasetError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if test_fraction is not None:
        if not 0.0 <= test_fraction < 1.0:
            raise DatasetError(f"test_fraction must be in [0, 1) or None, got {test_fraction}")
        if val_fraction + test_fraction >= 1.0:
            raise DatasetError(f"val_fraction + test_fraction must leave examples to train on, "
                               f"got {val_fraction} + {test_fraction}")


def _take(x: Any, idx: np.ndarray) -> Any:
    if isinstance(x, np.ndarray):
        return x[idx]
    return [x[i] for i in idx]


def _subset(n: int, limit: int | None, seed: int, ordered: bool, purpose: int = _LIMIT) -> np.ndarray | None:
    """Indices of at most ``limit`` examples (a seeded random pick, or the first ones for a series)."""
    if limit is None or limit >= n:
        return None
    if limit < 1:
        raise DatasetError(f"limit must be at least 1, got {limit}")
    if ordered:
        return np.arange(limit)
    return np.sort(np.random.default_rng([seed, purpose]).choice(n, size=limit, replace=False))


def _allocate(sizes: np.ndarray, fraction: float) -> np.ndarray:
    """Per-group counts that add up to round(fraction × total) and follow each group's share (largest
    remainders get the leftover units), so a stratified split has the size a plain one would."""
    quota = sizes * fraction
    out = np.floor(quota).astype(np.int64)
    short = int(round(fraction * sizes.sum())) - int(out.sum())
    if short > 0:
        out[np.argsort(-(quota - out), kind="stable")[:short]] += 1
    return out


def split_indices(y: np.ndarray, *, task: str, val_fraction: float, test_fraction: float, seed: int,
                  ordered: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train/val/test index arrays over ``len(y)`` examples.

    Classification splits are stratified (each class contributes its share to every split) so that small
    sets such as iris keep every class in validation. Ordered data (a time series) is cut chronologically,
    train first, so that the model is never validated on the past of what it trained on.
    """
    n = len(y)
    if ordered:
        n_test = int(round(test_fraction * n))
        n_val = int(round(val_fraction * n))
        n_train = n - n_val - n_test
        if n_train < 1:
            raise DatasetError(f"{n} examples leave none to train on with these fractions")
        idx = np.arange(n)
        return idx[:n_train], idx[n_train:n_train + n_val], idx[n_train + n_val:]
    rng = np.random.default_rng([seed, _SPLIT])
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if task == "classification" else [np.arange(n)]
    sizes = np.array([len(g) for g in groups])
    tests = _allocate(sizes, test_fraction)
    vals = np.minimum(_allocate(sizes, val_fraction), sizes - tests)
    # A tiny class can be claimed whole by test and val; move the validation units it lacks to classes
    # with examples to spare so the split keeps its size.
    for _ in range(int(round(val_fraction * n)) - int(vals.sum())):
        spare = np.flatnonzero(sizes - tests - vals > 1)
        if len(spare) == 0:
            break
        vals[spare[np.argmax((sizes - tests - vals)[spare])]] += 1
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for group, n_test, n_val in zip(groups, tests, vals, strict=True):
        group = rng.permutation(group)
        parts[2].append(group[:n_test])
        parts[1].append(group[n_test:n_test + n_val])
        parts[0].append(group[n_test + n_val:])
    train, val, test = (rng.permutation(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts)
    if len(train) == 0:
        raise DatasetError(f"{n} examples leave none to train on with these fractions")
    return train, val, test


def _channel_stats(x: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over ``axes`` (which include axis 0), summed in float64 chunks of rows."""
    keep = [a for a in range(x.ndim) if a not in axes]
    total = np.zeros([x.shape[a] for a in keep], np.float64)
    total_sq = np.zeros_like(total)
    count = 0
    for start in range(0, len(x), _CHUNK):
        block = x[start:start + _CHUNK].astype(np.float64)
        total += block.sum(axis=axes)
        total_sq += np.square(block).sum(axis=axes)
        count += block.size // max(total.size, 1)
    if count == 0:
        raise DatasetError("the training split is empty; nothing to compute normalisation statistics on")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    std = np.where(std < _MIN_STD, 1.0, std)
    return mean, std


def _images(x: Any, scale: float) -> np.ndarray:
    out = np.array(x, dtype=np.float32)  # a copy: normalising works in place and must not touch the source
    if scale != 1.0:
        out /= np.float32(scale)
    return out


def _build_vocab(docs: Sequence[Sequence[str]], size: int) -> list[str]:
    counts: Counter[str] = Counter()
    for doc in docs:
        counts.update(doc)
    # Ties are broken alphabetically so that the vocabulary does not depend on file order.
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: max(size - 2, 0)]
    return [PAD, UNK, *(token for token, _ in ranked)]


def encode(docs: Sequence[Sequence[str]], vocab: Sequence[str], max_len: int) -> np.ndarray:
    """Token ids N×max_len: unknown tokens → 1 (<unk>), truncated to the first ``max_len``, padded with 0."""
    index = {token: i for i, token in enumerate(vocab)}
    out = np.zeros((len(docs), max_len), np.int64)
    for row, doc in enumerate(docs):
        ids = [index.get(token, 1) for token in doc[:max_len]]
        out[row, : len(ids)] = ids
    return out


def bert_fields(ids: np.ndarray) -> dict[str, np.ndarray]:
    """The inputs a BERT-style model takes beside the token ids: one segment (token type 0 everywhere) and
    an attention mask of 1 on the tokens and 0 on the padding."""
    return {"token_type_ids": np.zeros_like(ids), "attention_mask": (ids != 0).astype(np.int64)}


def _check_extra(raw: RawData, extra: dict[str, np.ndarray], n: int, which: str) -> dict[str, np.ndarray]:
    """A loader's other named inputs: arrays of numbers with one row per example, named unlike ``x``."""
    out = {}
    for name, array in extra.items():
        array = np.asarray(array)
        field = f"dataset {raw.name}: input {name}{which}"
        if name == raw.input_name:
            raise DatasetError(f"{field}: the main input is called {name} already")
        if array.dtype.kind not in "iufb" or array.ndim == 0 or len(array) != n:
            raise DatasetError(f"{field}: expected numbers with one row per example ({n}), got {array.dtype} "
                               f"of shape {array.shape}")
        out[name] = array
    return out


def _convert_extra(extras: dict[str, dict[str, np.ndarray]], normalize: bool
                   ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """Integer fields become int64 (ids, masks); the others float32, normalised per feature with the train
    split's statistics when ``normalize`` is on. Returns the fields by split and those statistics by field."""
    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in extras}
    stats: dict[str, Any] = {}
    for key, train in extras["train"].items():
        floats = train.dtype.kind == "f"
        converted: dict[str, np.ndarray] = {
            name: np.array(split[key], dtype=np.float32 if floats else np.int64) for name, split in extras.items()}
        if floats and normalize:
            mean, std = _channel_stats(converted["train"], (0,))
            m32, s32 = mean.astype(np.float32), std.astype(np.float32)
            converted = {name: (array - m32) / s32 for name, array in converted.items()}
            stats[key] = {"mean": mean.tolist(), "std": std.tolist(), "over": "per feature"}
        for name, array in converted.items():
            out[name][key] = array
    return out, stats


def _fingerprint(splits: dict[str, Split], settings: dict[str, Any], vocab: list[str] | None) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for name, split in splits.items():
        for part, array in (("x", split.x), ("y", split.y), *split.extra.items()):
            array = np.ascontiguousarray(array)
            digest.update(f"{name}.{part}:{array.dtype.str}:{array.shape}".encode())
            digest.update(array.reshape(-1).view(np.uint8))  # type: ignore[arg-type]  # numpy declares __buffer__ for 3.12+ only
    if vocab is not None:
        digest.update("\n".join(vocab).encode())
    return digest.hexdigest()


def prepare(raw: RawData, *, val_fraction: float, test_fraction: float | None, seed: int, normalize: bool,
            limit: int | None, options: dict[str, Any]) -> DatasetBundle:
    check_fractions(val_fraction, test_fraction)
    if raw.kind == "corpus":  # running text: cut and tokenised in order, not split by example
        from neuralforge_desktop.core.training.datasets.corpus import prepare_corpus

        return prepare_corpus(raw, val_fraction=val_fraction, test_fraction=test_fraction, limit=limit,
                              options=options)
    check_raw(raw)
    x, y = raw.x, np.asarray(raw.y)
    extra = _check_extra(raw, raw.extra, len(y), "")
    test_count = len(raw.y_test) if raw.y_test is not None else 0
    extra_test = _check_extra(raw, raw.extra_test, test_count, " of the test split")
    if raw.x_test is not None and test_fraction is None and set(extra_test) != set(extra):
        missing = sorted(set(extra) ^ set(extra_test))
        raise DatasetError(f"dataset {raw.name}: the training and test splits must have the same inputs; "
                           f"{', '.join(missing)} is in only one of them")
    pick = _subset(len(y), limit, seed, raw.ordered)
    if pick is not None:
        x, y = _take(x, pick), y[pick]
        extra = {name: array[pick] for name, array in extra.items()}
    _check_converted(raw, x, raw.x_test if test_fraction is None else None, limit, options)
    try:
        train_i, val_i, test_i = split_indices(y, task=raw.task, val_fraction=val_fraction, seed=seed,
                                               test_fraction=test_fraction or 0.0, ordered=raw.ordered)
    except DatasetError as exc:
        raise DatasetError(f"dataset {raw.name}: {exc}") from None
    parts: dict[str, tuple[Any, np.ndarray]] = {"train": (_take(x, train_i), y[train_i]),
                                                "val": (_take(x, val_i), y[val_i])}
    extras = {"train": {k: a[train_i] for k, a in extra.items()}, "val": {k: a[val_i] for k, a in extra.items()}}
    notes = list(raw.notes)
    if test_fraction is None and raw.x_test is not None and raw.y_test is not None:
        xt, yt = raw.x_test, np.asarray(raw.y_test)
        cap = _subset(len(yt), limit, seed, raw.ordered, _LIMIT_TEST)
        if cap is not None:
            xt, yt = _take(xt, cap), yt[cap]
            extra_test = {name: array[cap] for name, array in extra_test.items()}
        parts["test"] = (xt, yt)
        extras["test"] = extra_test
    elif test_fraction:
        parts["test"] = (_take(x, test_i), y[test_i])
        extras["test"] = {k: a[test_i] for k, a in extra.items()}
        if raw.x_test is not None:
            notes.append("test_fraction was given, so the dataset's own test split is not used")

    if not len(val_i):
        why = ("val_fraction is 0" if val_fraction == 0 else
               f"{len(y)} examples are too few for val_fraction {val_fraction}")
        notes.append(f"no validation split ({why}): val metrics are not computed")

    vocab: list[str] | None = None
    tokenizer: str | None = None
    normalization: dict[str, Any] | None = None
    arrays: dict[str, np.ndarray] = {}
    if raw.kind == "text":
        max_len = int(raw.settings["max_len"])
        vocab = _build_vocab(parts["train"][0], int(raw.settings["vocab_size"]))
        tokenizer = WordTokenizer(vocab, max_len).to_json()
        for name, (px, _) in parts.items():
            arrays[name] = encode(px, vocab, max_len)
            extras[name] = bert_fields(arrays[name])
    elif raw.kind == "tokens":
        arrays = {name: np.asarray(px, dtype=np.int64) for name, (px, _) in parts.items()}
    else:
        arrays = {name: (_images(px, raw.scale) if raw.kind == "image" else np.array(px, dtype=np.float32))
                  for name, (px, _) in parts.items()}
        if normalize:
            normalization = _normalize(raw, arrays, parts)

    if raw.kind != "text":
        extras, field_stats = _convert_extra(extras, normalize)
        if field_stats:
            normalization = {**(normalization or {}), "fields": field_stats}
    targets = {name: _targets(raw, py) for name, (_, py) in parts.items()}
    splits = {name: Split(_writable(arrays[name]), _writable(targets[name]),
                          {k: _writable(a) for k, a in extras[name].items()}) for name in parts}
    # Size limits change no array, so they stay out of the fingerprint.
    kept = {k: v for k, v in options.items() if k not in LIMIT_OPTIONS}
    settings = {"raw": raw.settings, "val_fraction": val_fraction, "test_fraction": test_fraction, "seed": seed,
                "normalize": normalize, "limit": limit, "options": kept}
    train = splits["train"]
    return DatasetBundle(
        name=raw.name, task=raw.task, train=train, val=splits["val"], test=splits.get("test"),
        num_classes=raw.num_classes, input_shape=tuple(int(d) for d in train.x.shape[1:]),
        input_dtype="int64" if train.x.dtype == np.int64 else "float32", class_names=raw.class_names,
        source=raw.source, fingerprint=_fingerprint(splits, settings, vocab), normalization=normalization,
        vocab=vocab, notes=notes, input_name=raw.input_name, tokenizer=tokenizer,
        vocab_size=len(vocab) if vocab is not None else None)


def _check_converted(raw: RawData, x: Any, x_test: Any, limit: int | None, options: dict[str, Any]) -> None:
    """The float32/int64 arrays about to be made must fit the limit (before they are made)."""
    n = len(x) + (min(len(x_test), limit or len(x_test)) if x_test is not None else 0)
    if raw.kind == "text":
        shape: tuple[int, ...] = (int(raw.settings["max_len"]),)
    elif isinstance(x, np.ndarray):
        shape = tuple(int(d) for d in x.shape[1:])
    else:
        return
    itemsize = 8 if raw.kind in ("text", "tokens") else 4
    check_converted_size(raw, n, shape, itemsize, Limits.from_options(options))


def _writable(array: np.ndarray) -> np.ndarray:
    # Arrays read straight from a file buffer are read-only, and torch.from_numpy warns about those.
    return array if array.flags.writeable else array.copy()


def _targets(raw: RawData, y: np.ndarray) -> np.ndarray:
    if raw.task == "classification":
        return np.asarray(y, dtype=np.int64)
    y = np.asarray(y, dtype=np.float32)
    # N×k, so that it lines up with a model's N×k output (k is explicit: -1 fails on an empty split)
    return y.reshape(len(y), int(np.prod(y.shape[1:], dtype=np.int64)))


def _normalize(raw: RawData, arrays: dict[str, np.ndarray],
               parts: dict[str, tuple[Any, np.ndarray]]) -> dict[str, Any]:
    """Normalise every split in place with statistics of the training split only (so nothing about the
    validation or test examples leaks into training) and say what was done."""
    train = arrays["train"]
    if raw.kind == "image":
        axes = (0, *range(2, train.ndim))  # per channel
        how = "per channel"
    elif raw.kind == "series":
        axes = tuple(range(train.ndim))  # one mean/std for the whole series, shared with the target
        how = "whole series"
    else:
        axes = (0,)
        how = "per feature"
    mean, std = _channel_stats(train, axes)
    shape = [1] * train.ndim
    for a in range(train.ndim):
        if a not in axes:
            shape[a] = train.shape[a]
    m32, s32 = mean.astype(np.float32).reshape(shape), std.astype(np.float32).reshape(shape)
    for array in arrays.values():
        array -= m32
        array /= s32
    info: dict[str, Any] = {"mean": mean.tolist(), "std": std.tolist(), "over": how, "applies_to": "x"}
    if raw.kind == "image":
        info["scale"] = raw.scale  # pixels were divided by this before mean/std were applied
    if raw.kind == "series":
        # Targets are values of the same series: scale them alike so that predictions map back with
        # value = prediction * std + mean.
        info["applies_to"] = "x and y"
        for name, (px, py) in parts.items():
            parts[name] = (px, (np.asarray(py, dtype=np.float64) - mean) / std)
    return info
