"""Running text for language modelling: a ``.txt`` file, or a folder of them (read in name order, joined by
a blank line), cut into sequences whose target is the next token.

``prepare_corpus`` (called by ``prepare`` for ``kind == "corpus"``):

1. The text is cut in reading order — train first, then validation, then test — at the line break nearest
   each share of its characters (a test split of the corpus's own, if it has one, is kept instead of the
   third cut). Cutting in order keeps a passage out of validation whose neighbours were trained on; the seed
   does not change it.
2. The tokenizer (``tokenizer`` option: ``bpe``, the default, with ``vocab_size`` tokens, or ``bytes``) is
   trained on the training text alone (see ``tokenizer.py``).
3. Each split's ids are cut into sequences of ``context`` + 1 tokens that overlap by one: ``x`` is the first
   ``context``, ``y`` the last ``context`` (every position's next token). The last sequence is padded: ids
   with <pad> (0), targets with ``IGNORE_INDEX``, which the loss skips.
4. ``limit`` keeps the first ``limit`` sequences of the training pool (and of the test split).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.training.datasets.limits import LIMIT_OPTIONS, Limits
from neuralforge_desktop.core.training.datasets.tokenizer import DEFAULT_BPE_VOCAB, KINDS, Tokenizer, train_tokenizer
from neuralforge_desktop.core.training.datasets.types import (
    IGNORE_INDEX,
    DatasetBundle,
    DatasetError,
    RawData,
    Split,
)

TEXT_SUFFIX = ".txt"
DEFAULT_CONTEXT = 64
MAX_CONTEXT = 65_536


def looks_like_corpus_folder(path: Path) -> bool:
    """A folder with ``.txt`` files directly in it."""
    return any(p.suffix.lower() == TEXT_SUFFIX and p.is_file() for p in path.iterdir())


def load_corpus(path: Path, options: dict[str, Any], limits: Limits | None = None) -> RawData:
    """A ``.txt`` file or a folder of them, as documents (not yet tokenised)."""
    limits = limits or Limits()
    files = [path] if path.is_file() else sorted(p for p in path.iterdir()
                                                 if p.suffix.lower() == TEXT_SUFFIX and p.is_file())
    if not files:
        raise DatasetError(f"{path}: no .txt files in this folder")
    total = 0
    docs: list[str] = []
    for file in files:
        try:
            total += file.stat().st_size
            limits.check_bytes(f"{path.name}", "the text files add up to", total)
            docs.append(file.read_text(encoding="utf-8", errors="replace"))
        except OSError as exc:
            raise DatasetError(f"{file.name}: cannot read ({exc.strerror or exc})") from None
    shown = files[0].name if len(files) == 1 else f"{len(files)} .txt files in {path}"
    return corpus_raw(path.stem if path.is_file() else path.name, docs, f"text corpus {shown}", options)


def corpus_raw(name: str, docs: list[str], source: str, options: dict[str, Any],
               test_docs: list[str] | None = None) -> RawData:
    """RawData for documents of running text; the options are checked here, before any tokenising."""
    context = _int_option(options, "context", DEFAULT_CONTEXT, 1, MAX_CONTEXT)
    kind = options.get("tokenizer", "bpe")
    if kind not in KINDS:
        raise DatasetError(f"option tokenizer must be one of {', '.join(KINDS)}, got {kind!r}")
    vocab_size = _int_option(options, "vocab_size", DEFAULT_BPE_VOCAB, 2, 1 << 20)
    settings: dict[str, Any] = {"context": context, "tokenizer": kind}
    if kind == "bpe":
        settings["vocab_size"] = vocab_size
    if not any(doc.strip() for doc in docs):
        raise DatasetError(f"{source}: the text is empty")
    return RawData(name=name, task="language-modeling", kind="corpus", x=docs, y=np.zeros(0, np.int64),
                   x_test=test_docs, source=source, settings=settings, ordered=True, input_name="input_ids",
                   x_field="text", y_field="next tokens")


def _int_option(options: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = options.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DatasetError(f"option {key} must be an integer from {low} to {high:,}, got {value!r}")
    return value


_SNAP = 2_000  # characters a cut may move forward to end at a line break (or, failing that, a space)


def _cut(text: str, shares: tuple[float, ...]) -> list[str]:
    """``text`` in consecutive parts of about these shares of its characters, each cut just after a line
    break (or a space) when one is near."""
    parts: list[str] = []
    start = 0
    position = 0.0
    for share in shares[:-1]:
        position += share
        if share <= 0:
            parts.append("")
            continue
        at = max(int(round(position * len(text))), start)
        for sep in ("\n", " "):
            found = text.find(sep, at, at + _SNAP)
            if found >= 0:
                at = found + 1
                break
        parts.append(text[start:at])
        start = at
    parts.append(text[start:])
    return parts


def _ids(tok: Tokenizer, text: str) -> np.ndarray:
    lines = text.splitlines(keepends=True)
    out = [i for ids in tok.encode_many(lines) for i in ids] if lines else []
    return np.asarray(out, np.int64)


def sequences(ids: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-token targets, ``context`` each, from a stream of ids (see the module docstring)."""
    if len(ids) < 2:
        return np.zeros((0, context), np.int64), np.zeros((0, context), np.int64)
    count = -(-(len(ids) - 1) // context)  # ceil: every token but the first is some position's target
    padded = np.zeros(count * context + 1, np.int64)
    padded[: len(ids)] = ids
    targets = np.full(count * context + 1, IGNORE_INDEX, np.int64)
    targets[: len(ids)] = ids
    x = padded[:-1].reshape(count, context)
    y = targets[1:].reshape(count, context)
    return x, y


def prepare_corpus(raw: RawData, *, val_fraction: float, test_fraction: float | None, limit: int | None,
                   options: dict[str, Any]) -> DatasetBundle:
    settings = raw.settings
    context = int(settings["context"])
    text = "\n\n".join(doc.strip("\n") for doc in raw.x)
    own_test = test_fraction is None and raw.x_test is not None
    test_share = 0.0 if own_test else (test_fraction or 0.0)
    train_text, val_text, test_text = _cut(text, (1 - val_fraction - test_share, val_fraction, test_share))
    if own_test:
        test_text = "\n\n".join(doc.strip("\n") for doc in raw.x_test)
    if not train_text.strip():
        raise DatasetError(f"dataset {raw.name} ({raw.source}): these fractions leave no text to train on")
    tok = train_tokenizer(str(settings["tokenizer"]), train_text.splitlines(keepends=True),
                          int(settings.get("vocab_size", DEFAULT_BPE_VOCAB)))
    limits = Limits.from_options(options)
    splits: dict[str, Split] = {}
    for name, part in (("train", train_text), ("val", val_text), ("test", test_text)):
        if name == "test" and not own_test and not test_fraction:
            continue
        x, y = sequences(_ids(tok, part), context)
        limits.check_bytes(f"dataset {raw.name}", f"the {name} split's token sequences take", x.nbytes + y.nbytes)
        if limit is not None and name != "val":
            x, y = x[:limit], y[:limit]
        splits[name] = Split(x, y)
    if not len(splits["train"]):
        raise DatasetError(f"dataset {raw.name} ({raw.source}): its training text is too short to give one "
                           f"sequence of two tokens")
    made = "one per UTF-8 byte" if tok.kind == "bytes" else "trained on the training text"
    notes = [f"tokenizer {tok.kind} ({tok.vocab_size:,} tokens, {made}); sequences of {context} tokens, each "
             f"position's target the next token; split in text order (train, then val, then test), so the seed "
             f"does not change it"]
    if not len(splits["val"]):
        notes.append("no validation split (val_fraction is 0 or its text is too short): val metrics are not "
                     "computed")
    tokenizer_json = tok.to_json()
    kept = {k: v for k, v in options.items() if k not in LIMIT_OPTIONS}
    digest = hashlib.sha256(json.dumps({"raw": settings, "val_fraction": val_fraction, "test_fraction":
                                        test_fraction, "limit": limit, "options": kept}, sort_keys=True,
                                       default=str).encode())
    digest.update(tokenizer_json.encode())
    for name, split in splits.items():
        for part, array in (("x", split.x), ("y", split.y)):
            digest.update(f"{name}.{part}:{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return DatasetBundle(
        name=raw.name, task="language-modeling", train=splits["train"], val=splits["val"], test=splits.get("test"),
        num_classes=None, input_shape=(context,), input_dtype="int64", class_names=None, source=raw.source,
        fingerprint=digest.hexdigest(), normalization=None, notes=notes, input_name=raw.input_name,
        tokenizer=tokenizer_json, vocab_size=tok.vocab_size)
