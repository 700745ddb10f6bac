"""BERT in the zoo reads ``attention_mask``: padding is not attended to in any encoder layer.

A text shorter than the batch's length is padded; what the padding holds, and how much of it there is, must
not change what the model says about the text. The mask reaches every copy of the repeated encoder layer, in
the model the builder makes and in the generated source, and costs no parameters.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch

TOKENS = 6  # real tokens of each text
VOCAB = 30_522


@pytest.fixture(scope="module")
def models() -> list[Any]:
    """BERT-tiny from the builder and from its generated source, with the same weights, for inference."""
    graph = zoo.build("bert-tiny")
    torch.manual_seed(0)
    built = build_model(graph).eval()
    namespace: dict[str, Any] = {}
    exec(compile(generate_pytorch(graph).source, "<bert-tiny>", "exec"), namespace)
    from_source = namespace["build_model"]().eval()
    from_source.load_state_dict(built.state_dict())
    return [built, from_source]


def _batch(text: torch.Tensor, length: int, padding: torch.Tensor | None = None,
           mask: bool = True) -> tuple[torch.Tensor, ...]:
    """input_ids, token_type_ids, attention_mask for ``text`` padded to ``length`` (with ``padding``'s ids, or
    the usual 0); ``mask=False`` marks every position as a token."""
    ids = torch.zeros(len(text), length, dtype=torch.int64)
    ids[:, :TOKENS] = text
    if padding is not None:
        ids[:, TOKENS:] = padding[:, : length - TOKENS]
    attention = torch.ones_like(ids) if not mask else (torch.arange(length) < TOKENS).long().expand_as(ids)
    return ids, torch.zeros_like(ids), attention.clone()


def _outputs(model: Any, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        hidden, logits = model(*batch)
    return hidden[:, :TOKENS], logits


def test_padding_content_and_length_do_not_change_the_result(models: list[Any]) -> None:
    gen = torch.Generator().manual_seed(1)
    text = torch.randint(1, VOCAB, (3, TOKENS), generator=gen)
    noise = torch.randint(1, VOCAB, (3, 20), generator=gen)
    for model in models:
        hidden, logits = _outputs(model, _batch(text, 12))
        for other in (_batch(text, 12, noise), _batch(text, 20, noise), _batch(text, TOKENS + 1)):
            other_hidden, other_logits = _outputs(model, other)
            torch.testing.assert_close(other_logits, logits)
            torch.testing.assert_close(other_hidden, hidden)
        # Marked as tokens, the same padding does change the result: it is the mask that hides it.
        _, seen = _outputs(model, _batch(text, 12, noise, mask=False))
        assert not torch.allclose(seen, logits)


def test_every_encoder_layer_reads_the_mask_and_it_costs_no_parameters() -> None:
    for name in ("bert-tiny", "bert-base"):
        graph = zoo.build(name)
        encoder = graph.node("encoder")
        assert encoder.body is not None and encoder.repeat > 1
        assert graph.edge_into("encoder", "attention_mask").src == "attention_mask"
        body = encoder.body
        assert body.edge_into("attention", "attention_mask").src == "attention_mask"
        # the body hands the mask on unchanged, so that the next copy reads it too
        assert body.edge_into("mask_out", "x").src == "attention_mask"
    source = generate_pytorch(zoo.build("bert-tiny")).source
    assert source.count("key_padding_mask=padding_mask(attention_mask)") == 1  # in the layer class, run L times
    assert "for layer in self.encoder:\n            encoder, encoder_mask_out = layer(encoder, encoder_mask_out)" \
        in source
    built = build_model(zoo.build("bert-tiny"))
    assert sum(p.numel() for p in built.parameters()) == zoo.get_model("bert-tiny").reference_params
