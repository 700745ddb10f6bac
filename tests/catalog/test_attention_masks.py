"""Attention masks over padding: the optional ``attention_mask`` inputs of MultiheadAttention and the
Transformer layers (1 = real token, 0 = padding, as a tokenizer gives it).

Each case runs the product's builder and generated code (``tests/layer_harness.py``); what is checked is what
a user relies on: what the padding holds never changes the result at real positions, an all-padding sequence
stays finite, a mask that does not fit is refused by name, and an unconnected mask leaves the code as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch

from layer_harness import error_of, generated, generated_model, layer_graph, statement

RIGHT_PADDED = (1, 1, 1, 1, 0, 0, 0)  # four tokens, then padding
# Causal attention never looks ahead, so right padding could not reach a token anyway: pad in the middle
# (sequences packed one after the other).
HOLED = (1, 1, 0, 1, 1, 0, 0)
LENGTH = len(RIGHT_PADDED)


def _mask(pattern: tuple[int, ...], dtype: torch.dtype = torch.int64) -> torch.Tensor:
    return torch.tensor(pattern).to(dtype).expand(2, len(pattern)).clone()


def _repadded(t: torch.Tensor, pattern: tuple[int, ...]) -> torch.Tensor:
    """``t`` with other contents at the padded positions of dimension 1."""
    other = t.clone()
    padded = torch.tensor(pattern) == 0
    other[:, padded] = torch.randn_like(other[:, padded]) * 3.0
    return other


# type, params, inputs (port → shape, or "mask"), the mask pattern, the sequence ports whose padding changes,
# and whether the output's positions follow the mask (self-attention) or all count (cross-attention)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any], tuple[int, ...], tuple[str, ...], bool]] = {
    "self-attention": ("MultiheadAttention", {"num_heads": 2}, {"query": (2, LENGTH, 8), "attention_mask": "mask"},
                       RIGHT_PADDED, ("query",), True),
    "cross-attention": ("MultiheadAttention", {"num_heads": 2},
                        {"query": (2, 3, 8), "key": (2, LENGTH, 8), "attention_mask": "mask"}, RIGHT_PADDED,
                        ("key",), False),
    "causal self-attention, boolean mask": ("MultiheadAttention", {"num_heads": 2, "causal": True},
                                            {"query": (2, LENGTH, 8), "attention_mask": "bool mask"}, HOLED,
                                            ("query",), True),
    "encoder layer": ("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16},
                      {"x": (2, LENGTH, 8), "attention_mask": "mask"}, RIGHT_PADDED, ("x",), True),
    "causal encoder layer": ("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16, "causal": True},
                             {"x": (2, LENGTH, 8), "attention_mask": "mask"}, HOLED, ("x",), True),
    "decoder layer": ("TransformerDecoderLayer", {"nhead": 2, "dim_feedforward": 16},
                      {"x": (2, LENGTH, 8), "memory": (2, LENGTH, 8), "attention_mask": "mask",
                       "memory_attention_mask": "mask"}, RIGHT_PADDED, ("x", "memory"), True),
}


def _tensors(inputs: dict[str, Any], pattern: tuple[int, ...] = RIGHT_PADDED) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    out = {}
    for port, value in inputs.items():
        if value == "mask":
            out[port] = _mask(pattern)
        elif value == "bool mask":
            out[port] = _mask(pattern, torch.bool)
        else:
            out[port] = torch.randn(*value, generator=gen)
    return out


def _models(layer: str, tensors: dict[str, torch.Tensor], params: dict[str, Any]) -> list[Any]:
    """The builder's model and the generated code's with the same weights, in eval mode (where torch takes
    its fast path)."""
    inputs = {p: (tuple(t.shape), str(t.dtype).removeprefix("torch.")) for p, t in tensors.items()}
    graph = layer_graph(layer, inputs, params)
    built = build_model(graph).eval()
    from_source = generated_model(generate_pytorch(graph))
    from_source.load_state_dict(built.state_dict())
    return [built, from_source]


def _outputs(models: list[Any], tensors: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    with torch.no_grad():
        return [model(*tensors.values()) for model in models]


@pytest.mark.parametrize("case", list(CASES))
def test_what_the_padding_holds_never_reaches_real_positions(case: str) -> None:
    layer, params, inputs, pattern, padded_ports, per_position = CASES[case]
    tensors = _tensors(inputs, pattern)
    models = _models(layer, tensors, params)
    compare = torch.tensor(pattern) == 1 if per_position else slice(None)
    changed = {p: _repadded(t, pattern) if p in padded_ports else t for p, t in tensors.items()}
    for before, after in zip(_outputs(models, tensors), _outputs(models, changed), strict=True):
        torch.testing.assert_close(after[:, compare], before[:, compare])
    # Without masks the same change does reach them: it is the mask that keeps them equal.
    unmasked = {p: torch.ones_like(t) if "mask" in p else t for p, t in tensors.items()}
    unmasked_changed = {p: torch.ones_like(t) if "mask" in p else t for p, t in changed.items()}
    for before, after in zip(_outputs(models, unmasked), _outputs(models, unmasked_changed), strict=True):
        assert not torch.allclose(after[:, compare], before[:, compare])


def _torch_without_guard(tensors: dict[str, torch.Tensor]) -> torch.Tensor:
    """Plain torch attention given the mask as it is (True where it is 0), at inference."""
    x = next(iter(tensors.values()))
    attention = torch.nn.MultiheadAttention(x.shape[-1], 2, batch_first=True).eval()
    with torch.no_grad():
        return attention(x, x, x, key_padding_mask=tensors["attention_mask"] == 0, need_weights=False)[0]


@pytest.mark.parametrize("layer,params,inputs", [
    ("MultiheadAttention", {"num_heads": 2}, {"query": (2, 5, 8)}),
    ("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16}, {"x": (2, 5, 8)}),
])
def test_a_sequence_of_padding_only_stays_finite(layer: str, params: dict[str, Any], inputs: dict[str, Any]) -> None:
    """torch gives NaN where every key is masked; an empty text (all padding) must not poison a batch."""
    tensors = {**_tensors(inputs), "attention_mask": torch.tensor([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]])}
    assert not torch.isfinite(_torch_without_guard(tensors)).all(), "torch itself now keeps it finite"
    for output in _outputs(_models(layer, tensors, params), tensors):
        assert torch.isfinite(output).all()


def test_an_unconnected_mask_adds_nothing_to_the_code() -> None:
    inputs = {"query": ((2, 5, 8), "float32")}
    assert statement("MultiheadAttention", inputs, {"num_heads": 2}) == \
        "node = self.node(query, query, query, need_weights=False)[0]"
    assert "padding_mask" not in generated("MultiheadAttention", inputs, {"num_heads": 2}).source
    masked = statement("MultiheadAttention", {**inputs, "attention_mask": ((2, 5), "int64")}, {"num_heads": 2})
    assert "key_padding_mask=padding_mask(attention_mask)" in masked


def test_a_float_mask_is_refused_by_port() -> None:
    error = error_of("MultiheadAttention", {"query": ((2, 5, 8), "float32"), "attention_mask": ((2, 5), "float32")},
                     {"num_heads": 2})
    assert error.port == "attention_mask" and error.received == "(N, 5) float32"
    assert "integer or boolean" in (error.expected or "")


def test_a_mask_of_another_length_is_refused_naming_the_sequence() -> None:
    error = error_of("TransformerDecoderLayer", {"x": ((2, 5, 8), "float32"), "memory": ((2, 3, 8), "float32"),
                                                 "memory_attention_mask": ((2, 5), "int64")}, {"nhead": 2})
    assert error.port == "memory_attention_mask" and error.received == "(N, 5)"
    assert "sequence length" in (error.expected or "") and "memory (N, 3, 8)" in (error.expected or "")
    error = error_of("MultiheadAttention", {"query": ((2, 4, 8), "float32"), "key": ((2, 6, 8), "float32"),
                                            "attention_mask": ((2, 4), "int64")}, {"num_heads": 2})
    assert error.port == "attention_mask" and "key (N, 6, 8)" in (error.expected or "")
