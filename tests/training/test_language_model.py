"""Causal language models: next-token loss that skips padding, perplexity in the events and the store, the
tokenizer saved with the run, and the checks that name a vocabulary the model cannot score."""

from __future__ import annotations

import json
import math

import pytest
import torch

from neuralforge_desktop.core.training.datasets.tokenizer import load_tokenizer
from neuralforge_desktop.core.training.datasets.types import IGNORE_INDEX
from neuralforge_desktop.core.training.events import EpochEvent, FailedEvent, StepEvent
from neuralforge_desktop.core.training.setup import next_token_loss

from training_graphs import small_gpt
from training_graphs import train_language_model as train


def test_next_token_loss_skips_padding():
    torch.manual_seed(0)
    scores, targets = torch.randn(2, 5, 7), torch.randint(0, 7, (2, 5))
    padded = targets.clone()
    padded[1, 3:] = IGNORE_INDEX
    expected = torch.nn.functional.cross_entropy(
        torch.cat([scores[0], scores[1, :3]]), torch.cat([targets[0], targets[1, :3]]))
    assert torch.allclose(next_token_loss(scores, padded), expected)


def test_causal_lm_loss_falls_and_perplexity_is_recorded(tmp_path):
    result, events, store, run_id, folder = train(small_gpt(), tmp_path, epochs=2)
    assert result.status == "finished", events[-1]
    losses = [e.loss for e in events if isinstance(e, StepEvent)]
    assert len(losses) >= 10
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3
    epochs = [e for e in events if isinstance(e, EpochEvent) and e.metrics]
    for event in epochs:
        m = event.metrics
        assert m["val/perplexity"] == pytest.approx(math.exp(m["val/loss"]))
        assert m["train/perplexity"] == pytest.approx(math.exp(m["train/loss"]))
        assert 0 <= m["val/token_acc"] <= 1 and "val/acc" not in m
    assert epochs[-1].metrics["val/perplexity"] < epochs[0].metrics["val/perplexity"]
    run = store.get_run(run_id)
    assert run.metrics["val/perplexity"].value == pytest.approx(epochs[-1].metrics["val/perplexity"])
    assert run.metrics["final/perplexity"].value > 1
    # the tokenizer is kept with the run, as JSON that turns text into the ids the model was trained on
    artifacts = {a.name: a for a in store.list_artifacts(run_id)}
    assert artifacts["tokenizer.json"].kind == "tokenizer"
    saved = (folder / "tokenizer.json").read_text(encoding="utf-8")
    tok = load_tokenizer(saved)
    assert tok.decode(tok.encode("The old fox sat on the hat.")) == "The old fox sat on the hat."
    assert json.loads(saved)["model"]["type"] == "BPE"


def test_a_vocabulary_the_model_cannot_score_is_refused_naming_the_layer(tmp_path):
    result, events, *_ = train(small_gpt(head=200), tmp_path)  # fewer scores than the 300-token tokenizer
    assert result.status == "failed" and isinstance(events[-1], FailedEvent) and events[-1].user_error
    assert "tokenizer has" in events[-1].error and "Transpose 'logits_by_class' gives 200 scores per position" \
        in events[-1].error


def test_without_a_loss_node_a_language_model_gets_next_token_cross_entropy(tmp_path):
    from neuralforge_desktop.core.analysis.shapes import infer_shapes
    from neuralforge_desktop.core.training.datasets import list_datasets
    from neuralforge_desktop.core.training.preflight import preflight

    graph = small_gpt()
    for node_id in ("loss", "logits_by_class", "labels"):
        graph.remove_node(node_id)
    stories = {d.name: d for d in list_datasets()}["synthetic-stories"]
    [finding] = preflight(graph, infer_shapes(graph), stories)
    assert "cross-entropy over the vocabulary at every position" in finding.message and not finding.blocking
    result, events, store, run_id, _ = train(graph, tmp_path)
    assert result.status == "finished", events[-1]
    assert "default for language modelling" in events[0].loss
    metrics = [e for e in events if isinstance(e, EpochEvent) and e.metrics][-1].metrics
    assert metrics["val/loss"] < math.log(300) and 0 < metrics["val/token_acc"] <= 1


def test_a_loss_reading_what_only_the_labels_make_is_refused_by_name():
    from types import SimpleNamespace

    from neuralforge_desktop.core.ir.compose import Composer
    from neuralforge_desktop.core.training.setup import SetupError, build_setup

    c = Composer("odd-loss")
    c.output(c.layer("Linear", c.input("x", [4]), "fc", out_features=3), "logits")
    label = c.input("label", [], "int64", role="target")
    scores = c.layer("Embedding", label, "from_labels", num_embeddings=3, embedding_dim=3)
    c.layer("CrossEntropyLoss", {"input": scores, "target": label}, "loss")
    with pytest.raises(SetupError, match="CrossEntropyLoss 'loss' reads 'from_labels', which the model cannot "
                                         "compute from its data Inputs alone"):
        build_setup(c.done(), SimpleNamespace(task="classification"))
