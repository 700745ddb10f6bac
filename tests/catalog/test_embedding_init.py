"""Embedding tables can start where BERT and GPT-2 start them (``init_std``, e.g. N(0, 0.02²)) instead of torch's
N(0, 1); the builder and the generated code draw the same table from the same seed, and GPT-2 small's first
loss is then about ln(vocabulary), as an untrained language model's should be."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch

from layer_harness import NODE, generated_model, layer_graph

IDS = {"x": ((2, 5), "int64")}
SEQUENCE = {"x": ((2, 5, 64), "float32")}


def _tables(layer: str, inputs: dict[str, Any], params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """The table the builder's model and the generated code's model start with, each from seed 0."""
    graph = layer_graph(layer, inputs, params)
    torch.manual_seed(0)
    built = getattr(build_model(graph), NODE).weight.detach()
    torch.manual_seed(0)
    from_source = getattr(generated_model(generate_pytorch(graph)), NODE).weight.detach()
    return built, from_source


@pytest.mark.parametrize("layer,inputs,params", [
    ("Embedding", IDS, {"num_embeddings": 2000, "embedding_dim": 64}),
    ("PositionalEmbedding", SEQUENCE, {"max_len": 2000}),
])
def test_init_std_sets_the_spread_of_the_starting_table(layer: str, inputs: Any, params: dict[str, Any]) -> None:
    default, _ = _tables(layer, inputs, params)
    assert 0.97 < float(default.std()) < 1.03  # torch's N(0, 1)
    built, from_source = _tables(layer, inputs, {**params, "init_std": 0.02})
    assert 0.0194 < float(built.std()) < 0.0206
    assert torch.equal(built, from_source)


def test_the_padding_row_stays_zero() -> None:
    built, from_source = _tables("Embedding", IDS, {"num_embeddings": 300, "embedding_dim": 16, "padding_idx": 3,
                                                     "init_std": 0.02})
    assert torch.equal(built[3], torch.zeros(16)) and torch.equal(built, from_source)
    assert float(built[4:].abs().max()) > 0


def test_gpt2_small_starts_at_the_loss_of_a_uniform_guess() -> None:
    graph = zoo.build("gpt2-small")
    torch.manual_seed(0)
    model = build_model(graph).eval()
    vocab = 50_257
    ids = torch.randint(0, vocab, (1, 32))
    with torch.no_grad():
        logits = model(ids)
    loss = torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:])
    assert abs(float(loss) - math.log(vocab)) < 1.0  # torch's N(0, 1) tables gave about 460
