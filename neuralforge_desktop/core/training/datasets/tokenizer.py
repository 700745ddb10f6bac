"""Tokenizers that turn text into token ids. They are built from a dataset's own training text (nothing is
downloaded) and saved as JSON, never as a pickle, so that a run's model can be used on new text later.

- ``bpe``: byte-level BPE trained with Hugging Face ``tokenizers`` (a pinned package of the stack). Any text
  round-trips exactly and there is no <unk>. Saved in that library's own ``tokenizer.json`` format, which
  ``tokenizers.Tokenizer.from_file`` and ``transformers.PreTrainedTokenizerFast(tokenizer_file=…)`` read.
- ``bytes``: one id per UTF-8 byte (id = byte + 1). Nothing to train and no library needed; sequences are
  longer than with BPE.
- ``words``: the word vocabulary of the text-classification datasets (see ``text.py``): lower-cased words,
  the most frequent ones of the training split; other words become <unk>.

Every kind keeps id 0 for <pad>.

    tok = train_tokenizer("bpe", texts, vocab_size=2048)
    ids = tok.encode("Once upon a time")
    tok.decode(ids) == "Once upon a time"
    same = load_tokenizer(tok.to_json())
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from neuralforge_desktop.core.training.datasets.types import DatasetError

PAD = "<pad>"
UNK = "<unk>"
KINDS = ("bpe", "bytes")  # what a text corpus may be tokenised with (option ``tokenizer``)
DEFAULT_BPE_VOCAB = 2048
BYTES_VOCAB = 257  # <pad> and the 256 byte values
_FORMAT = "neuralforge-tokenizer"  # the "format" key of the JSON this module writes itself (bytes, words)


class Tokenizer(Protocol):
    kind: str

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def to_json(self) -> str: ...


class ByteTokenizer:
    """id = UTF-8 byte + 1; 0 is <pad> (skipped when decoding)."""

    kind = "bytes"

    @property
    def vocab_size(self) -> int:
        return BYTES_VOCAB

    def encode(self, text: str) -> list[int]:
        return [b + 1 for b in text.encode("utf-8")]

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Iterable[int]) -> str:
        return bytes(i - 1 for i in ids if 0 < i < BYTES_VOCAB).decode("utf-8", errors="replace")

    def to_json(self) -> str:
        return json.dumps({"format": _FORMAT, "kind": "bytes", "pad_id": 0, "vocab_size": BYTES_VOCAB})


class BpeTokenizer:
    """A Hugging Face ``tokenizers.Tokenizer`` (byte-level BPE) behind this module's interface."""

    kind = "bpe"

    def __init__(self, tokenizer: Any) -> None:
        self._tok = tokenizer

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size())

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text).ids)

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(e.ids) for e in self._tok.encode_batch(list(texts))]

    def decode(self, ids: Iterable[int]) -> str:
        return str(self._tok.decode(list(ids), skip_special_tokens=True))

    def to_json(self) -> str:
        return str(self._tok.to_str())


class WordTokenizer:
    """The text datasets' word vocabulary: ``vocab[0]`` is <pad>, ``vocab[1]`` <unk>."""

    kind = "words"

    def __init__(self, vocab: Sequence[str], max_len: int | None = None) -> None:
        self.vocab = list(vocab)
        self.max_len = max_len
        self._index = {token: i for i, token in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        from neuralforge_desktop.core.training.datasets.text import tokenize

        return [self._index.get(word, 1) for word in tokenize(text)]

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.vocab[i] for i in ids if 0 < i < len(self.vocab))

    def to_json(self) -> str:
        return json.dumps({"format": _FORMAT, "kind": "words", "lowercase": True, "pad_id": 0, "unk_id": 1,
                           "max_len": self.max_len, "vocab": self.vocab}, ensure_ascii=False)


def _hf() -> Any:
    try:
        import tokenizers
    except ImportError:
        raise DatasetError("tokenizer bpe needs the package tokenizers (pip install tokenizers==0.23.3); "
                           "or pass the option tokenizer=bytes") from None
    return tokenizers


def train_tokenizer(kind: str, texts: Iterable[str], vocab_size: int = DEFAULT_BPE_VOCAB) -> Tokenizer:
    """A tokenizer of ``kind`` (see KINDS) fitted to ``texts`` (the training text only)."""
    if kind == "bytes":
        return ByteTokenizer()
    if kind != "bpe":
        raise DatasetError(f"option tokenizer must be one of {', '.join(KINDS)}, got {kind!r}")
    hf = _hf()
    alphabet = hf.pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(alphabet) + 1:
        raise DatasetError(f"option vocab_size must be at least {len(alphabet) + 1} for tokenizer bpe (the "
                           f"{len(alphabet)} byte symbols and <pad>), got {vocab_size}")
    tok = hf.Tokenizer(hf.models.BPE())
    tok.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = hf.decoders.ByteLevel()
    trainer = hf.trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD], initial_alphabet=alphabet,
                                     show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return BpeTokenizer(tok)


def load_tokenizer(text: str) -> Tokenizer:
    """The tokenizer a ``to_json()`` (or a run's ``tokenizer.json``) holds; DatasetError if it is none."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DatasetError(f"tokenizer: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError("tokenizer: expected a JSON object")
    if data.get("format") == _FORMAT and data.get("kind") == "bytes":
        return ByteTokenizer()
    if data.get("format") == _FORMAT and data.get("kind") == "words":
        vocab = data.get("vocab")
        if not isinstance(vocab, list) or not all(isinstance(v, str) for v in vocab) or len(vocab) < 2:
            raise DatasetError("tokenizer: 'vocab' must be a list of at least two strings")
        max_len = data.get("max_len")
        return WordTokenizer(vocab, max_len if isinstance(max_len, int) else None)
    if isinstance(data.get("model"), dict):  # the Hugging Face tokenizer.json format
        hf = _hf()
        try:
            return BpeTokenizer(hf.Tokenizer.from_str(text))
        except Exception as exc:  # the library raises its own exception type for a malformed file
            raise DatasetError(f"tokenizer: not a tokenizer.json the tokenizers library reads ({exc})") from None
    raise DatasetError(f"tokenizer: unknown format; expected {_FORMAT} (bytes, words) or a Hugging Face "
                       f"tokenizer.json")
