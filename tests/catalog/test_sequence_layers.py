"""Sequence layers (embeddings, recurrent, attention): the per-layer cases.

Every case runs through the shared harness (``tests/layer_harness.py``): the product's shape inference,
builder and generated code. Symbolic sequence lengths, causal masking and MACs against torch's FLOP counter
(where the catalog-wide conformance test cannot see them) are checked here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from neuralforge_desktop.core.analysis.shapes import ShapeInference, infer_shapes
from neuralforge_desktop.core.catalog import attention, embedding, recurrent
from neuralforge_desktop.core.catalog.spec import Example, LayerDef
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec, resolve_dim

from layer_harness import NODE, LayerRun, example_tensors, infer, run_generated, run_layer_test

LAYERS: list[LayerDef] = [*embedding.LAYERS, *recurrent.LAYERS, *attention.LAYERS]
BY_TYPE = {layer.type: layer for layer in LAYERS}
CASES = [(layer, i) for layer in LAYERS for i in range(len(layer.examples))]
RECURRENT = {"LSTM", "GRU", "RNN"}


def _case_id(case: tuple[LayerDef, int]) -> str:
    return f"{case[0].type}-{case[1]}"


def _run(case: tuple[LayerDef, int]) -> LayerRun:
    layer, index = case
    return run_layer_test(layer, layer.examples[index])


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_batch_stays_first_except_time_major_recurrent(case: tuple[LayerDef, int]) -> None:
    layer, index = case
    example = layer.examples[index]
    y = infer(layer, example.inputs, example.params).outputs["y"]
    assert y.shape[0] == "N" or (layer.type in RECURRENT and example.params.get("batch_first") is False)


SYMBOLIC = {
    "PositionalEmbedding": {"x": "T"},
    "LSTM": {"x": "T"},
    "GRU": {"x": "T"},
    "RNN": {"x": "T"},
    "MultiheadAttention": {"query": "T", "key": "S", "value": "S", "attention_mask": "S"},
    "TransformerEncoderLayer": {"x": "T", "attention_mask": "T"},
    "TransformerDecoderLayer": {"x": "T", "memory": "S", "attention_mask": "T", "memory_attention_mask": "S"},
}


def _symbols(layer: LayerDef, ports: Iterable[str]) -> dict[str, str]:
    """The named length of each connected sequence port; a mask over an unconnected key is over the query."""
    named = {p: s for p, s in SYMBOLIC[layer.type].items() if p in ports}
    if layer.type == "MultiheadAttention" and "key" not in named and "attention_mask" in named:
        named["attention_mask"] = "T"
    return named


@pytest.mark.parametrize("case", [c for c in CASES if c[0].type in SYMBOLIC
                                  and c[0].examples[c[1]].params.get("batch_first") is not False], ids=_case_id)
def test_symbolic_sequence_length(case: tuple[LayerDef, int]) -> None:
    """With dimension 1 named, inference keeps the name and the generated code runs for the real length."""
    layer, index = case
    example = layer.examples[index]
    symbols = _symbols(layer, example.inputs)
    declared = {port: ((0, symbols[port], *shape[2:]) if port in symbols else (0, *shape[1:]), dtype)
                for port, (shape, dtype) in example.inputs.items()}
    result = infer(layer, declared, example.params)
    assert "T" in result.outputs["y"].shape, result.outputs["y"].shape
    tensors = example_tensors(example)
    outputs = run_generated(layer, tensors, example.params, shapes=declared)
    bindings = {"N": example.inputs[next(iter(example.inputs))][0][0]}
    bindings.update({symbol: example.inputs[port][0][1] for port, symbol in symbols.items()})
    for spec, tensor in zip(result.outputs.values(), outputs, strict=True):
        assert tuple(resolve_dim(d, bindings) for d in spec.shape) == tuple(tensor.shape)


def test_embedding_accepts_any_rank_and_outputs_float() -> None:
    c = Composer("emb")
    ids = c.input("ids", ["T"], dtype="int64")
    y = c.layer("Embedding", ids, "emb", num_embeddings=100, embedding_dim=32)
    c.output(y, "out")
    spec = infer_shapes(c.done(layout=False)).spec("emb")
    assert spec == TensorSpec(("N", "T", 32))


def test_causal_attention_masks_the_future() -> None:
    example = Example({"query": ((1, 5, 8), "float32")}, {"num_heads": 2, "causal": True})
    run = run_layer_test(BY_TYPE["MultiheadAttention"], example)
    changed = run.tensors["query"].clone()
    changed[:, 3:] += 1.0
    with torch.no_grad():
        before = run.model(run.tensors["query"])
        after = run.model(changed)
    torch.testing.assert_close(before[:, :3], after[:, :3])
    assert not torch.allclose(before[:, 3:], after[:, 3:])


# -- costs --------------------------------------------------------------------------------------------
def _counted_flops(run: LayerRun, math_kernel: bool) -> int:
    model = run.model.train(False)
    with FlopCounterMode(display=False) as counter:
        if math_kernel:
            with sdpa_kernel(SDPBackend.MATH):
                model(*run.tensors.values())
        else:
            model(*run.tensors.values())
    return counter.get_total_flops()


def _macs(run: LayerRun) -> int:
    assert run.layer.macs is not None
    return run.layer.macs(run.params, run.in_shapes(), run.out_shapes())


ATTENTION_CASES = [c for c in CASES if c[0].type in {"MultiheadAttention", "TransformerEncoderLayer",
                                                      "TransformerDecoderLayer"}]


@pytest.mark.parametrize("case", ATTENTION_CASES, ids=_case_id)
def test_attention_macs_equal_flop_counter_with_math_kernel(case: tuple[LayerDef, int]) -> None:
    """With the math SDPA kernel torch counts QKᵀ and attention·V as bmm; everything is a matmul we count."""
    run = _run(case)
    assert 2 * _macs(run) == _counted_flops(run, math_kernel=True)


@pytest.mark.parametrize("case", ATTENTION_CASES, ids=_case_id)
def test_default_cpu_kernel_flop_counter_misses_the_attention_core(case: tuple[LayerDef, int]) -> None:
    """torch's counter has no formula for the CPU flash kernel: it sees at most our MACs minus QKᵀ and AV."""
    run = _run(case)
    assert _counted_flops(run, math_kernel=False) <= 2 * _macs(run)


@pytest.mark.parametrize("case", [c for c in CASES if c[0].type in RECURRENT], ids=_case_id)
def test_recurrent_macs_equal_unrolled_matmuls(case: tuple[LayerDef, int]) -> None:
    """torch's counter does not see inside the fused LSTM kernel; unroll with the module's own weights instead."""
    run = _run(case)
    module: Any = getattr(run.model, NODE)
    x = run.tensors["x"]
    if not module.batch_first:
        x = x.transpose(0, 1)
    batch, steps = x.shape[0], x.shape[1]
    directions = 2 if module.bidirectional else 1
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        layer_in = x
        for k in range(module.num_layers):
            outs = []
            for d in range(directions):
                suffix = f"_l{k}" + ("_reverse" if d else "")
                w_ih, w_hh = getattr(module, "weight_ih" + suffix), getattr(module, "weight_hh" + suffix)
                h = x.new_zeros(batch, module.hidden_size)
                for t in range(steps):
                    F.linear(layer_in[:, t], w_ih)
                    F.linear(h, w_hh)
                outs.append(x.new_zeros(batch, steps, module.hidden_size))
            layer_in = torch.cat(outs, dim=-1)
    assert 2 * _macs(run) == counter.get_total_flops()


def test_transformer_layer_params_equal_bert_block() -> None:
    """A BERT/GPT-2 block (d, h, 4d) has 12d² + 13d parameters: 4d²+4d attention, 8d²+5d FFN, 4d LayerNorms."""
    for d in (64, 768):
        spec = {"x": TensorSpec(("N", "T", d))}
        params, _ = BY_TYPE["TransformerEncoderLayer"].validate_params({"nhead": 4, "dim_feedforward": 4 * d})
        assert BY_TYPE["TransformerEncoderLayer"].param_count(params, spec) == 12 * d * d + 13 * d


# -- errors -------------------------------------------------------------------------------------------
def _errors(graph: Graph) -> list[Any]:
    shapes: ShapeInference = infer_shapes(graph)
    return shapes.errors


def test_lstm_on_rank_2_input_names_node_port_expected_and_received() -> None:
    c = Composer("bad-lstm")
    c.layer("LSTM", c.input("x", [16]), "lstm", hidden_size=8)
    (error,) = _errors(c.done(layout=False))
    assert error.node == "lstm" and error.port == "x"
    assert error.expected is not None and "rank 3" in error.expected and "(N, T, features)" in error.expected
    assert error.received == "(N, 16)"
    assert "LSTM 'lstm' input 'x'" in error.message and "(N, 16)" in error.message


def test_mha_embed_dim_not_divisible_by_num_heads_names_the_field() -> None:
    c = Composer("bad-mha")
    c.layer("MultiheadAttention", c.input("q", ["T", 10]), "attn", num_heads=4)
    (error,) = _errors(c.done(layout=False))
    assert error.node == "attn" and error.port == "query" and error.field == "num_heads"
    assert error.received is not None and "10" in error.received and "(N, T, 10)" in error.received
    assert "divisible" in (error.expected or "")


def test_transformer_d_model_not_divisible_by_nhead_names_the_field() -> None:
    c = Composer("bad-encoder")
    c.layer("TransformerEncoderLayer", c.input("x", [5, 10]), "enc", nhead=3)
    (error,) = _errors(c.done(layout=False))
    assert error.field == "nhead" and error.port == "x"


def test_embedding_fed_floats_is_rejected() -> None:
    c = Composer("bad-emb")
    c.layer("Embedding", c.input("x", [7]), "emb", num_embeddings=10, embedding_dim=4)
    (error,) = _errors(c.done(layout=False))
    assert error.node == "emb" and error.port == "x"
    assert "integer" in (error.expected or "") and error.received == "(N, 7) float32"


def test_embedding_padding_idx_out_of_range() -> None:
    c = Composer("bad-pad")
    c.layer("Embedding", c.input("x", [7], dtype="int64"), "emb", num_embeddings=10, padding_idx=10)
    (error,) = _errors(c.done(layout=False))
    assert error.field == "padding_idx" and error.received == "10"


def test_positional_embedding_longer_than_max_len() -> None:
    c = Composer("bad-pos")
    c.layer("PositionalEmbedding", c.input("x", [9, 16]), "pos", max_len=8)
    (error,) = _errors(c.done(layout=False))
    assert error.field == "max_len" and error.received == "(N, 9, 16)"


def test_decoder_memory_size_must_equal_d_model() -> None:
    c = Composer("bad-dec")
    x, memory = c.input("x", ["T", 16]), c.input("m", ["S", 12])
    c.layer("TransformerDecoderLayer", {"x": x, "memory": memory}, "dec", nhead=4)
    (error,) = _errors(c.done(layout=False))
    assert error.port == "memory" and error.received == "(N, S, 12)" and "16" in (error.expected or "")


def test_mha_key_value_length_mismatch() -> None:
    c = Composer("bad-kv")
    q, k, v = c.input("q", [4, 8]), c.input("k", [6, 8]), c.input("v", [5, 8])
    c.layer("MultiheadAttention", {"query": q, "key": k, "value": v}, "attn", num_heads=2)
    (error,) = _errors(c.done(layout=False))
    assert error.port == "value" and error.received == "(N, 5, 8)" and "sequence length" in (error.expected or "")


def test_time_major_recurrent_with_symbolic_length() -> None:
    c = Composer("time-major")
    x = c.input("x", ["T", "N", 5], batch=False)
    y = c.layer("GRU", x, "gru", hidden_size=6, num_layers=2, bidirectional=True, batch_first=False)
    c.output(y, "out")
    shapes = infer_shapes(c.done(layout=False))
    assert shapes.ok, [d.message for d in shapes.errors]
    assert shapes.spec("gru") == TensorSpec(("T", "N", 12))
    assert shapes.spec("gru", "h") == TensorSpec((4, "N", 6))
    gru = nn.GRU(5, 6, num_layers=2, bidirectional=True)
    out, h = gru(torch.randn(7, 3, 5))
    assert tuple(out.shape) == (7, 3, 12) and tuple(h.shape) == (4, 3, 6)
