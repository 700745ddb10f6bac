"""Text for language models and BERT-style classifiers: the tokenizers (offline, JSON, round trips), text
corpora cut into next-token sequences, the generated built-ins, and npz archives with several named inputs."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from neuralforge_desktop.core.training.datasets import DatasetError, load_dataset
from neuralforge_desktop.core.training.datasets.corpus import sequences
from neuralforge_desktop.core.training.datasets.tokenizer import load_tokenizer, train_tokenizer
from neuralforge_desktop.core.training.datasets.types import IGNORE_INDEX

TEXT = ("The cat sat on the mat.\nThe dog sat on the log.\n"
        "Ünïcode, emoji 🙂 and\ttabs survive too — every byte of it.\n") * 20


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: tokenizers are built from the text alone."""
    def refuse(*args, **kwargs):
        raise AssertionError("a tokenizer tried to reach the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("kind", ["bpe", "bytes"])
def test_tokenizers_round_trip_text_and_json_offline(kind, no_network):
    tok = train_tokenizer(kind, TEXT.splitlines(keepends=True), vocab_size=300)
    ids = tok.encode(TEXT)
    assert tok.decode(ids) == TEXT
    assert all(0 < i < tok.vocab_size for i in ids)  # 0 is <pad>, never a token of the text
    saved = tok.to_json()
    json.loads(saved)  # plain JSON, readable by anything; nothing pickled
    again = load_tokenizer(saved)
    assert again.kind == kind and again.vocab_size == tok.vocab_size
    assert again.encode(TEXT) == ids and again.decode(ids) == TEXT


def test_bpe_learns_merges_from_the_text_and_is_reproducible():
    first = train_tokenizer("bpe", TEXT.splitlines(keepends=True), vocab_size=300)
    second = train_tokenizer("bpe", TEXT.splitlines(keepends=True), vocab_size=300)
    assert first.to_json() == second.to_json()
    assert len(first.encode(TEXT)) < len(TEXT.encode()) / 2  # merges: far fewer tokens than bytes
    # the Hugging Face format: what transformers' PreTrainedTokenizerFast(tokenizer_file=…) reads
    assert json.loads(first.to_json())["model"]["type"] == "BPE"


def test_bad_tokenizer_files_and_options_are_named():
    with pytest.raises(DatasetError, match="tokenizer: not JSON"):
        load_tokenizer("{nope")
    with pytest.raises(DatasetError, match="tokenizer: unknown format"):
        load_tokenizer('{"kind": "pickle"}')
    with pytest.raises(DatasetError, match="option tokenizer must be one of bpe, bytes"):
        load_dataset("synthetic-stories", options={"tokenizer": "words"})
    with pytest.raises(DatasetError, match="option vocab_size must be at least 257 for tokenizer bpe"):
        load_dataset("synthetic-stories", options={"vocab_size": 100})


def test_sequences_target_the_next_token_and_pad_with_the_ignored_label():
    x, y = sequences(np.arange(1, 11), context=4)  # ids 1..10
    assert x.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 0, 0]]
    assert y.tolist() == [[2, 3, 4, 5], [6, 7, 8, 9], [10, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]]


def test_a_text_file_is_a_corpus_cut_in_reading_order(tmp_path):
    path = tmp_path / "corpus.txt"
    lines = [f"line {i} says hello to line {i + 1}." for i in range(400)]
    path.write_text("\n".join(lines), encoding="utf-8")
    b = load_dataset(str(path), val_fraction=0.2, options={"context": 16, "tokenizer": "bytes"})
    assert b.task == "language-modeling" and b.input_name == "input_ids" and b.input_shape == (16,)
    assert b.num_classes is None and b.vocab_size == 257 and b.test is None
    tok = load_tokenizer(b.tokenizer)
    train_text, val_text = tok.decode(b.train.x.reshape(-1)), tok.decode(b.val.x.reshape(-1))
    assert train_text.startswith("line 0 says") and "line 399" not in train_text
    assert "line 399 says hello to line 400." in val_text and "line 0 says" not in val_text
    np.testing.assert_array_equal(b.train.y[:-1, :-1], b.train.x[:-1, 1:])  # each target is the next input
    np.testing.assert_array_equal(b.train.y[:-1, -1], b.train.x[1:, 0])  # across sequences too
    assert (b.val.y[-1] == IGNORE_INDEX).any()  # the last sequence is padded
    same = load_dataset(str(path), val_fraction=0.2, seed=99, options={"context": 16, "tokenizer": "bytes"})
    assert same.fingerprint == b.fingerprint  # text order, not the seed, decides the split
    limited = load_dataset(str(path), val_fraction=0.2, limit=5, options={"context": 16, "tokenizer": "bytes"})
    np.testing.assert_array_equal(limited.train.x, b.train.x[:5])


def test_a_folder_of_text_files_is_one_corpus_and_its_tokenizer_sees_only_training_text(tmp_path):
    (tmp_path / "a.txt").write_text("alpha beta gamma delta\n" * 60, encoding="utf-8")
    (tmp_path / "b.txt").write_text("zebra quokka\n" * 30, encoding="utf-8")
    b = load_dataset(str(tmp_path), val_fraction=0.3, options={"context": 8, "vocab_size": 280})
    vocab = json.loads(b.tokenizer)["model"]["vocab"]
    assert any("alpha" in token for token in vocab)
    assert not any("quokka" in token for token in vocab)  # only in the validation text: no merge learned for it
    assert load_tokenizer(b.tokenizer).decode(b.val.x.reshape(-1)).rstrip().endswith("zebra quokka")


def test_generated_reviews_have_bert_fields_and_stories_train_a_bpe():
    reviews = load_dataset("synthetic-reviews", options={"max_len": 16})
    assert [f.describe() for f in reviews.fields()] == [
        "input_ids (16 int64)", "token_type_ids (16 int64)", "attention_mask (16 int64)"]
    ids, mask = reviews.train.x, reviews.train.extra["attention_mask"]
    np.testing.assert_array_equal(mask, (ids != 0).astype(np.int64))
    assert not reviews.train.extra["token_type_ids"].any()
    assert sorted(np.bincount(reviews.test.y)) == [200, 200]
    words = load_tokenizer(reviews.tokenizer)
    assert words.kind == "words" and words.decode(words.encode("The plot was NOT great.")) == "the plot was not great"
    again = load_dataset("synthetic-reviews", options={"max_len": 16})
    assert again.fingerprint == reviews.fingerprint  # generated the same way every time

    stories = load_dataset("synthetic-stories", options={"context": 32})
    assert stories.task == "language-modeling" and stories.input_shape == (32,)
    assert 256 < stories.vocab_size <= 2048
    assert load_tokenizer(stories.tokenizer).decode(stories.train.x[0]).startswith("Once upon a time")


def test_an_npz_gives_one_named_input_per_key_and_checks_them(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "pairs.npz"
    np.savez(path, a_train=rng.normal(size=(20, 3)), b_train=rng.integers(0, 5, (20, 2)),
             y_train=rng.integers(0, 2, 20), a_test=rng.normal(size=(6, 3)), b_test=rng.integers(0, 5, (6, 2)),
             y_test=rng.integers(0, 2, 6))
    b = load_dataset(str(path), val_fraction=0.25, options={"x_key": ["a_train", "b_train"], "y_key": "y_train"})
    assert [f.describe() for f in b.fields()] == ["a (3 float32)", "b (2 int64)"]
    assert len(b.train.extra["b"]) == len(b.train) and len(b.test.extra["b"]) == 6
    assert set(np.unique(b.train.extra["b"]).tolist()) <= set(range(5))  # integer fields are ids: not normalised
    np.savez(path, a=np.zeros((4, 3)), b=np.zeros((3, 2)), y=np.zeros(4, np.int64))
    with pytest.raises(DatasetError, match="input b: expected numbers with one row per example \\(4\\)"):
        load_dataset(str(path), options={"x_key": ["a", "b"], "y_key": "y"})
