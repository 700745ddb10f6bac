"""Sequence layers (embeddings, recurrent, attention) against real torch modules built from their TorchCall.

For every example: inferred shapes (with a symbolic batch N, and symbolic sequence lengths where the layer
allows them) equal the torch outputs, parameter counts equal torch's, MACs agree with torch's FLOP counter
where it counts, and the forward template and helper sources compile and are ruff-clean.
"""

from __future__ import annotations

import inspect
import math
import shutil
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from neuralforge_desktop.core.analysis.shapes import ShapeInference, infer_shapes
from neuralforge_desktop.core.catalog import attention, embedding, recurrent
from neuralforge_desktop.core.catalog.spec import Example, LayerDef, Params, PortSpec
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec, resolve_dim

LAYERS: list[LayerDef] = [*embedding.LAYERS, *recurrent.LAYERS, *attention.LAYERS]
BY_TYPE = {layer.type: layer for layer in LAYERS}
CASES = [(layer, i) for layer in LAYERS for i in range(len(layer.examples))]


def _case_id(case: tuple[LayerDef, int]) -> str:
    return f"{case[0].type}-{case[1]}"


# -- harness ------------------------------------------------------------------------------------------
def _graph(layer: LayerDef, example: Example, seq_symbols: dict[str, str] | None = None) -> Graph:
    """Input nodes (shape without batch) → the layer → Output nodes; ``seq_symbols`` names port dim 1."""
    graph = Graph("case")
    graph.add_node(layer.type, "layer", dict(example.params))
    for port, (shape, dtype) in example.inputs.items():
        dims: list[int | str] = list(shape[1:])
        if seq_symbols and port in seq_symbols:
            dims[0] = seq_symbols[port]
        graph.add_node("Input", f"in_{port}", {"shape": dims, "dtype": dtype})
        graph.connect(f"in_{port}", "y", "layer", port)
    params, _ = layer.validate_params(example.params)
    for port in layer.output_ports(params):
        graph.add_node("Output", f"out_{port.name}")
        graph.connect("layer", port.name, f"out_{port.name}", "x")
    return graph


def _tensors(example: Example, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for port, (shape, dtype) in example.inputs.items():
        td = getattr(torch, dtype)
        if td.is_floating_point:
            out[port] = torch.randn(*shape, generator=gen).to(td)
        else:
            out[port] = torch.randint(0, example.int_high, shape, generator=gen, dtype=td)
    return out


def _resolve_port(ports: dict[str, PortSpec], name: str, connected: set[str]) -> str:
    """Variable for ``name``: itself when connected, else its fallback chain (key → query …)."""
    while name not in connected:
        fallback = ports[name].fallback
        if fallback is None or fallback == "None":
            return "None"
        name = fallback
    return f"v_{name}"


def _render(layer: LayerDef, params: Params, connected: set[str]) -> str:
    assert layer.torch is not None
    template = layer.torch.forward_template(params)
    ins = {p.name: p for p in layer.input_ports(params)}
    outs = {p.name for p in layer.output_ports(params)}
    values: dict[str, str] = {"self": "m"}
    for _, field, _, _ in string.Formatter().parse(template):
        if field is None or field in values:
            continue
        if field in ins:
            values[field] = _resolve_port(ins, field, connected)
        elif field in outs:
            values[field] = f"v_{field}"
        else:
            values[field] = repr(params[field])
    return template.format(**values)


def _namespace(layer: LayerDef) -> dict[str, Any]:
    ns: dict[str, Any] = {"torch": torch, "nn": nn, "F": F, "math": math}
    assert layer.torch is not None
    for helper in layer.torch.helpers:
        exec(helper, ns)
    return ns


def _build(layer: LayerDef, params: Params, specs: dict[str, TensorSpec], connected: set[str]) -> tuple[Any, Any]:
    """(module, step function taking the connected inputs and returning the outputs in port order)."""
    call = layer.torch
    assert call is not None and call.module is not None and call.init is not None
    ns = _namespace(layer)
    module = eval(call.module, ns)(**call.init(params, specs))
    ins = [p.name for p in layer.input_ports(params) if p.name in connected]
    outs = [p.name for p in layer.output_ports(params)]
    code = (f"def _step(m, {', '.join('v_' + p for p in ins)}):\n    {_render(layer, params, connected)}\n"
            f"    return ({', '.join('v_' + p for p in outs)},)\n")
    local: dict[str, Any] = {}
    exec(compile(code, f"<{layer.type}>", "exec"), ns, local)
    return module, local["_step"]


def _run(layer: LayerDef, example: Example, seq_symbols: dict[str, str] | None = None) -> dict[str, Any]:
    graph = _graph(layer, example, seq_symbols)
    shapes = infer_shapes(graph)
    assert shapes.ok, [d.message for d in shapes.errors]
    result = shapes.results["layer"]
    assert result.params is not None
    tensors = _tensors(example)
    module, step = _build(layer, result.params, result.inputs, set(tensors))
    module.eval()
    with torch.no_grad():
        outputs = step(module, *tensors.values())
    bindings = {"N": next(iter(tensors.values())).shape[0]}
    for port, symbol in (seq_symbols or {}).items():
        bindings[symbol] = example.inputs[port][0][1]
    return {"shapes": shapes, "result": result, "module": module, "step": step, "tensors": tensors,
            "outputs": outputs, "bindings": bindings}


# -- conformance --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_example_shapes_and_params_match_torch(case: tuple[LayerDef, int]) -> None:
    layer, index = case
    run = _run(layer, layer.examples[index])
    result = run["result"]
    inferred = [tuple(resolve_dim(d, run["bindings"]) for d in spec.shape) for spec in result.outputs.values()]
    assert inferred == [tuple(t.shape) for t in run["outputs"]]
    for spec, tensor in zip(result.outputs.values(), run["outputs"], strict=True):
        assert spec.dtype.value == str(tensor.dtype).removeprefix("torch.")
    assert result.outputs["y"].shape[0] == "N" or layer.type in {"LSTM", "GRU", "RNN"}
    counted = sum(p.numel() for p in run["module"].parameters())
    assert layer.param_count(result.params, result.inputs) == counted


SYMBOLIC = {
    "PositionalEmbedding": {"x": "T"},
    "LSTM": {"x": "T"},
    "GRU": {"x": "T"},
    "RNN": {"x": "T"},
    "MultiheadAttention": {"query": "T", "key": "S", "value": "S"},
    "TransformerEncoderLayer": {"x": "T"},
    "TransformerDecoderLayer": {"x": "T", "memory": "S"},
}


@pytest.mark.parametrize("case", [c for c in CASES if c[0].type in SYMBOLIC], ids=_case_id)
def test_symbolic_sequence_length(case: tuple[LayerDef, int]) -> None:
    layer, index = case
    example = layer.examples[index]
    if layer.examples[index].params.get("batch_first") is False:
        pytest.skip("time-major input: dimension 1 is the batch")
    symbols = {p: s for p, s in SYMBOLIC[layer.type].items() if p in example.inputs}
    run = _run(layer, example, symbols)
    y = run["result"].outputs["y"]
    assert "T" in y.shape, y.shape
    for spec, tensor in zip(run["result"].outputs.values(), run["outputs"], strict=True):
        assert tuple(resolve_dim(d, run["bindings"]) for d in spec.shape) == tuple(tensor.shape)


def test_embedding_accepts_any_rank_and_outputs_float() -> None:
    c = Composer("emb")
    ids = c.input("ids", ["T"], dtype="int64")
    y = c.layer("Embedding", ids, "emb", num_embeddings=100, embedding_dim=32)
    c.output(y, "out")
    spec = infer_shapes(c.done(layout=False)).spec("emb")
    assert spec == TensorSpec(("N", "T", 32))


def test_torch_defaults_match_torch_signatures() -> None:
    signatures = {
        "Embedding": nn.Embedding.__init__,
        "MultiheadAttention": nn.MultiheadAttention.__init__,
        "TransformerEncoderLayer": nn.TransformerEncoderLayer.__init__,
        "TransformerDecoderLayer": nn.TransformerDecoderLayer.__init__,
        "LSTM": nn.RNNBase.__init__,
        "GRU": nn.RNNBase.__init__,
        "RNN": nn.RNNBase.__init__,
    }
    for type_name, init in signatures.items():
        parameters = inspect.signature(init).parameters
        call = BY_TYPE[type_name].torch
        assert call is not None
        for name, value in call.defaults.items():
            if name == "nonlinearity":
                assert value == "tanh"
                continue
            default = parameters[name].default
            assert value == (default.__name__ if callable(default) else default), (type_name, name)


def test_helper_sources_define_what_they_name_and_are_ruff_clean(tmp_path: Path) -> None:
    sources = {h for layer in LAYERS if layer.torch for h in layer.torch.helpers}
    assert sources
    for layer in LAYERS:
        assert layer.torch is not None and layer.torch.module is not None
        assert layer.torch.module.startswith("nn.") or layer.torch.module in _namespace(layer)
    for i, source in enumerate(sorted(sources)):
        assert "import" not in source
        (tmp_path / f"helper_{i}.py").write_text("import torch\nfrom torch import nn\n\n\n" + source)
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    command = [ruff, "check", "--no-cache", "--isolated", "--line-length", "120", "--select", "E,F,W,I,B,UP,N",
               "--ignore", "F401", str(tmp_path)]  # the generated file imports torch and nn once, at the top
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_causal_attention_masks_the_future() -> None:
    example = Example({"query": ((1, 5, 8), "float32")}, {"num_heads": 2, "causal": True})
    run = _run(BY_TYPE["MultiheadAttention"], example)
    q = run["tensors"]["query"]
    changed = q.clone()
    changed[:, 3:] += 1.0
    with torch.no_grad():
        before = run["outputs"][0]
        after = run["step"](run["module"], changed)[0]
    torch.testing.assert_close(before[:, :3], after[:, :3])
    assert not torch.allclose(before[:, 3:], after[:, 3:])


# -- costs --------------------------------------------------------------------------------------------
def _concrete(specs: dict[str, TensorSpec], bindings: dict[str, int]) -> dict[str, tuple[int, ...]]:
    return {p: tuple(resolve_dim(d, bindings) for d in s.shape) for p, s in specs.items()}


def _counted_flops(run: dict[str, Any], math_kernel: bool) -> int:
    module = run["module"].train(False)
    with FlopCounterMode(display=False) as counter:
        if math_kernel:
            with sdpa_kernel(SDPBackend.MATH):
                run["step"](module, *run["tensors"].values())
        else:
            run["step"](module, *run["tensors"].values())
    return counter.get_total_flops()


ATTENTION_CASES = [c for c in CASES if c[0].type in {"MultiheadAttention", "TransformerEncoderLayer",
                                                      "TransformerDecoderLayer"}]


@pytest.mark.parametrize("case", ATTENTION_CASES, ids=_case_id)
def test_attention_macs_equal_flop_counter_with_math_kernel(case: tuple[LayerDef, int]) -> None:
    """With the math SDPA kernel torch counts QKᵀ and attention·V as bmm; everything is a matmul we count."""
    layer, index = case
    run = _run(layer, layer.examples[index])
    result = run["result"]
    assert layer.macs is not None
    macs = layer.macs(result.params, _concrete(result.inputs, run["bindings"]),
                      _concrete(result.outputs, run["bindings"]))
    assert 2 * macs == _counted_flops(run, math_kernel=True)


@pytest.mark.parametrize("case", ATTENTION_CASES, ids=_case_id)
def test_default_cpu_kernel_flop_counter_misses_the_attention_core(case: tuple[LayerDef, int]) -> None:
    """torch's counter has no formula for the CPU flash kernel: it sees at most our MACs minus QKᵀ and AV."""
    layer, index = case
    run = _run(layer, layer.examples[index])
    result = run["result"]
    assert layer.macs is not None
    shapes = _concrete(result.inputs, run["bindings"])
    macs = layer.macs(result.params, shapes, _concrete(result.outputs, run["bindings"]))
    counted = _counted_flops(run, math_kernel=False)
    assert counted <= 2 * macs


@pytest.mark.parametrize("case", [c for c in CASES if c[0].type in {"LSTM", "GRU", "RNN"}], ids=_case_id)
def test_recurrent_macs_equal_unrolled_matmuls(case: tuple[LayerDef, int]) -> None:
    """torch's counter does not see inside fused RNN kernels; unroll with the module's own weights instead."""
    layer, index = case
    run = _run(layer, layer.examples[index])
    result, module = run["result"], run["module"]
    x = run["tensors"]["x"]
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
    assert layer.macs is not None
    macs = layer.macs(result.params, _concrete(result.inputs, run["bindings"]),
                      _concrete(result.outputs, run["bindings"]))
    assert 2 * macs == counter.get_total_flops()


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
