"""Attention: multi-head attention and the Transformer encoder and decoder layers (all batch-first).

Cost conventions (N batch, T query length, S key length, E model size, h heads, F feed-forward size):

* MACs of one attention: the Q projection N·T·E·E, the K and V projections N·S·E·kdim and N·S·E·vdim,
  the scores QKᵀ N·T·S·E (h heads of size E/h), attention·V N·T·S·E and the output projection N·T·E·E.
  A causal mask does not change the count (the dense kernels compute the masked scores too). The
  feed-forward block adds 2·N·T·E·F. Bias additions are not counted (as for Linear).
* flops_extra, each elementwise operation counted once: scaling and softmax 4 per score (N·h·T·S scores),
  the feed-forward activation 1 per hidden element, each residual sum 1 per element and each LayerNorm 7
  per element (mean, centring, square, variance sum, normalisation, scale and shift).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from neuralforge_desktop.core.catalog.attention_memory import (
    mha_layout,
    mha_saves,
    transformer_layout,
    transformer_saves,
)
from neuralforge_desktop.core.catalog.keras_sources import (
    ATTENTION_WEIGHTS_SOURCE,
    KERAS_PADDING_MASK_SOURCE,
    TRANSFORMER_DECODER_SOURCE,
    TRANSFORMER_ENCODER_SOURCE,
)
from neuralforge_desktop.core.catalog.kernels import Kernel, KernelKind, LatencyRule, attention_kernel, linear_kernel
from neuralforge_desktop.core.catalog.shape_utils import concrete
from neuralforge_desktop.core.catalog.spec import (
    CostRule,
    CountRule,
    Example,
    KerasCall,
    LayerDef,
    Params,
    ParamSpec,
    PortSpec,
    ShapeRule,
    TorchCall,
)
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.types import TensorSpec, describe_shape, dims_equal

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]
_T = TypeVar("_T")

CAUSAL_MASK_SOURCE = '''def causal_mask(query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """Boolean (T, S) mask for batch-first (N, T, E) query and (N, S, E) key: True hides later positions."""
    return torch.ones(query.shape[1], key.shape[1], dtype=torch.bool, device=query.device).triu(1)
'''

PADDING_MASK_SOURCE = '''def padding_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """torch's key_padding_mask (True = ignore) from an (N, S) attention mask that marks real tokens with 1
    (or True) and padding with 0. A sequence with no real token at all keeps every position, so its attention
    stays finite instead of becoming NaN."""
    ignore = attention_mask == 0
    return ignore & ~ignore.all(dim=1, keepdim=True)
'''
# The argument a mask input adds to a torch call, only when the input is connected.
_MASK_ARGUMENT = "{{?{port}:, {keyword}=padding_mask({{{port}}})}}"

_SOFTMAX_FLOPS = 4  # scale, exp, sum, divide per attention score
_LAYER_NORM_FLOPS = 7


# -- shared checks ------------------------------------------------------------------------------------
def _model_size(heads: int, spec: TensorSpec, port: str, field: str) -> int:
    """The last dimension of ``spec``, which must split evenly into ``heads`` heads."""
    size = concrete(port, spec, -1, "embedding size")
    if size % heads:
        raise ShapeError(port, f"an embedding size divisible by {field} ({heads})",
                         f"{describe_shape(spec.shape)} with embedding size {size}", field=field)
    return size


def _check_pair(ref: TensorSpec, ref_port: str, other: TensorSpec, port: str, length: bool = False) -> None:
    """``other`` must share ``ref``'s batch (and with ``length`` its sequence length) and element type."""
    axes = (0, 1) if length else (0,)
    for axis in axes:
        a, b = ref.shape[axis], other.shape[axis]
        if not dims_equal(a, b):  # a symbol against a number (N against 1) may differ at run time: refused
            what = "batch size" if axis == 0 else "sequence length"
            raise ShapeError(port, f"the same {what} as {ref_port} {describe_shape(ref.shape)}",
                             describe_shape(other.shape))
    if other.dtype != ref.dtype:
        raise ShapeError(port, f"{ref.dtype.value} like {ref_port}",
                         f"{describe_shape(other.shape)} {other.dtype.value}")


def _mha_params(embed: int, kdim: int, vdim: int, bias: bool) -> int:
    projections = embed * (embed + kdim + vdim) + embed * embed
    return projections + (4 * embed if bias else 0)


def _mha_macs(batch: int, t: int, s: int, embed: int, kdim: int, vdim: int) -> int:
    projections = batch * (2 * t * embed * embed + s * embed * (kdim + vdim))
    return projections + 2 * batch * t * s * embed


def _mask_port(name: str, over: str, layout: str) -> PortSpec:
    # With causal attention a position that has only padding at and before it sees nothing at all, which
    # torch's inference kernel turns into NaN: hence "pad on the right" (NeuralForge's datasets do).
    return PortSpec(name, ranks=(2,), dtype="any", layout=layout, optional=True,
                    help=f"which {over} positions are real tokens (1 or True) and which are padding (0 or False), "
                    "as a tokenizer's attention_mask gives them; padding is never attended to (with causal "
                    "attention, pad on the right)")


def _check_mask(x: Specs, port: str, seq: TensorSpec, seq_port: str) -> None:
    """An optional (N, S) mask over ``seq``'s positions: integers or booleans with its batch and length."""
    mask = x.get(port)
    if mask is None:
        return
    if mask.dtype.is_float:
        raise ShapeError(port, "an integer or boolean mask (1 = real token, 0 = padding)",
                         f"{describe_shape(mask.shape)} {mask.dtype.value}")
    for axis, what in ((0, "batch size"), (1, "sequence length")):
        # torch needs the sizes equal for every batch and length, so a size that only may match is refused
        if not dims_equal(seq.shape[axis], mask.shape[axis]):
            raise ShapeError(port, f"the same {what} as {seq_port} {describe_shape(seq.shape)}",
                             describe_shape(mask.shape))


# -- MultiheadAttention -------------------------------------------------------------------------------
def _mha_inputs(x: Mapping[str, _T]) -> tuple[_T, _T, _T]:
    """query, key and value; an unconnected key is the query and an unconnected value the key."""
    query = x["query"]
    key = x.get("key", query)
    return query, key, x.get("value", key)


def _mha_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    query, key, value = _mha_inputs(x)
    _model_size(p.num_heads, query, "query", "num_heads")
    concrete("key", key, -1, "feature size")
    concrete("value", value, -1, "feature size")
    _check_pair(query, "query", key, "key")
    _check_pair(key, "key", value, "value", length=True)
    _check_mask(x, "attention_mask", key, "key")
    return {"y": query}


def _mha_count(p: Params, x: Specs) -> int:
    query, key, value = _mha_inputs(x)
    return _mha_params(concrete("query", query, -1, "embed_dim"), concrete("key", key, -1, "kdim"),
                       concrete("value", value, -1, "vdim"), p.bias)


def _mha_cost(p: Params, x: Shapes, y: Shapes) -> int:
    query, key, value = _mha_inputs(x)
    return _mha_macs(query[0], query[1], key[1], query[-1], key[-1], value[-1])


def _mha_extra(p: Params, x: Shapes, y: Shapes) -> int:
    query, key, _ = _mha_inputs(x)
    return _SOFTMAX_FLOPS * query[0] * p.num_heads * query[1] * key[1]


def _mha_init(p: Params, x: Specs) -> dict[str, object]:
    query, key, value = _mha_inputs(x)
    embed = query.shape[-1]
    kwargs: dict[str, object] = {"embed_dim": embed, "num_heads": p.num_heads, "dropout": p.dropout, "bias": p.bias}
    if key.shape[-1] != embed:
        kwargs["kdim"] = key.shape[-1]
    if value.shape[-1] != embed:
        kwargs["vdim"] = value.shape[-1]
    kwargs["batch_first"] = True
    return kwargs


def _mha_forward(p: Params) -> str:
    padding = _MASK_ARGUMENT.format(port="attention_mask", keyword="key_padding_mask")
    causal = ", attn_mask=causal_mask({query}, {key}), is_causal=True" if p.causal else ""
    return "{y} = {self}({query}, {key}, {value}" + padding + ", need_weights=False" + causal + ")[0]"


def _keras_mha_init(p: Params, x: Specs) -> dict[str, object]:
    embed = x["query"].shape[-1]
    assert isinstance(embed, int)  # the shape rule has checked it
    return {"num_heads": p.num_heads, "key_dim": embed // p.num_heads, "dropout": p.dropout, "use_bias": p.bias}


def _keras_mha_call(p: Params, x: Specs) -> str:
    # Keras takes the value before the key, and the key defaults to the value
    extras = "{?key:, key={key}}{?attention_mask:, attention_mask=padding_mask({attention_mask})}"
    return "{y} = {self}({query}, {value}" + extras + (", use_causal_mask=True" if p.causal else "") + ")"


def _keras_transformer(decoder: bool) -> KerasCall:
    helpers: tuple[str, ...]
    if decoder:
        call = ("{y} = {self}({x}, {memory}{?attention_mask:, attention_mask={attention_mask}}"
                "{?memory_attention_mask:, memory_attention_mask={memory_attention_mask}}")
        helpers = (KERAS_PADDING_MASK_SOURCE, ATTENTION_WEIGHTS_SOURCE, TRANSFORMER_ENCODER_SOURCE,
                   TRANSFORMER_DECODER_SOURCE)
    else:
        call = "{y} = {self}({x}{?attention_mask:, attention_mask={attention_mask}}"
        helpers = (KERAS_PADDING_MASK_SOURCE, ATTENTION_WEIGHTS_SOURCE, TRANSFORMER_ENCODER_SOURCE)
    return KerasCall(
        layer="TransformerDecoderLayer" if decoder else "TransformerEncoderLayer",
        init=lambda p, x: {key: value for key, value in _transformer_init(p, x).items() if key != "batch_first"},
        positional=2,
        defaults=_TRANSFORMER_DEFAULTS,
        call=lambda p, x: call + (", use_causal_mask=True" if p.causal else "") + ")",
        load="{self}.load_torch_state(state, {prefix})",
        helpers=helpers,
    )


def _mask_kernels(t: int, s: int) -> tuple[Kernel, ...]:
    # causal_mask(): a (T, S) boolean tensor of ones, then its upper triangle (1 byte per element, not 4)
    return (Kernel(KernelKind.COPY, (max(1, t * s // 4),)),) * 2


def _mha_kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    query, key, value = _mha_inputs(x)
    masked = p.causal or "attention_mask" in x
    core = attention_kernel(query[0], query[1], key[1], query[-1], p.num_heads, key[-1], value[-1], masked)
    return (core, *(_mask_kernels(query[1], key[1]) if p.causal else ()))


_CAUSAL_HELP = "each position attends only to itself and earlier positions (for generating text left to right)"

MULTIHEAD_ATTENTION = LayerDef(
    type="MultiheadAttention",
    category="Attention",
    title="Multi-Head Attention",
    description="each position looks at all positions of the key sequence and takes a weighted average of "
    "their values, with weights from how well query and key match; several heads do this in parallel",
    math=r"$\mathrm{head}_i = \operatorname{softmax}\left(\frac{Q W^Q_i\, (K W^K_i)^{\top}}{\sqrt{E / h}}\right) V "
    r"W^V_i$" "\n"
    r"$y = \operatorname{concat}(\mathrm{head}_1, \ldots, \mathrm{head}_h)\, W^O$",
    help="Self-attention when only query is connected; connect key (and value) for cross-attention, e.g. to "
    "an encoder's output. embed_dim comes from the query's last dimension and must be divisible by "
    "num_heads; key and value may have other feature sizes (kdim, vdim). Connect attention_mask (N, S) "
    "so that padded key positions are ignored.",
    params=(
        ParamSpec("num_heads", "int", 8, "parallel attention heads; embed_dim must be divisible by it", minimum=1),
        ParamSpec("dropout", "float", 0.0, "dropout on the attention weights during training", minimum=0.0,
                  maximum=1.0, advanced=True),
        ParamSpec("bias", "bool", True, "learn biases in the input and output projections", advanced=True),
        ParamSpec("causal", "bool", False, _CAUSAL_HELP),
    ),
    inputs=(
        PortSpec("query", ranks=(3,), layout="(N, T, E)", help="the positions that ask"),
        PortSpec("key", ranks=(3,), layout="(N, S, kdim)", optional=True, fallback="query",
                 help="the positions looked at; defaults to query (self-attention)"),
        PortSpec("value", ranks=(3,), layout="(N, S, vdim)", optional=True, fallback="key",
                 help="what is averaged; defaults to key"),
        _mask_port("attention_mask", "key", "(N, S)"),
    ),
    shape=_mha_shape,
    param_count=_mha_count,
    macs=_mha_cost,
    flops_extra=_mha_extra,
    torch=TorchCall(
        module="nn.MultiheadAttention",
        init=_mha_init,
        positional=2,
        defaults={"dropout": 0.0, "bias": True, "kdim": None, "vdim": None, "batch_first": False},
        forward=_mha_forward,
        helpers=(CAUSAL_MASK_SOURCE, PADDING_MASK_SOURCE),
    ),
    keras=KerasCall(
        layer="layers.MultiHeadAttention",
        init=_keras_mha_init,
        positional=2,
        defaults={"dropout": 0.0, "use_bias": True},
        call=_keras_mha_call,
        load=lambda p, x: f"{{self}}.set_weights(attention_weights(state, {{prefix}}, {p.num_heads}))",
        helpers=(KERAS_PADDING_MASK_SOURCE, ATTENTION_WEIGHTS_SOURCE),
    ),
    examples=(
        Example({"query": ((2, 5, 16), "float32")}),
        Example({"query": ((2, 6, 16), "float32")}, {"num_heads": 4, "causal": True}),
        Example({"query": ((2, 5, 16), "float32"), "key": ((2, 7, 16), "float32")}, {"num_heads": 2}),
        Example({"query": ((3, 4, 12), "float32"), "key": ((3, 9, 10), "float32"), "value": ((3, 9, 6), "float32")},
                {"num_heads": 3, "bias": False}),
        Example({"query": ((2, 4, 8), "float32"), "key": ((2, 6, 8), "float32"), "value": ((2, 6, 8), "float32")},
                {"num_heads": 2, "causal": True, "dropout": 0.1}),
        Example({"query": ((3, 5, 8), "float32"), "attention_mask": ((3, 5), "int64")}, {"num_heads": 2}),
        Example({"query": ((2, 4, 8), "float32"), "key": ((2, 6, 8), "float32"), "attention_mask": ((2, 6), "bool")},
                {"num_heads": 2}),
    ),
    summary=lambda p: f"{p.get('num_heads')} heads" + (" · causal" if p.get("causal") else ""),
    latency=_mha_kernels,
    saves=lambda p, x, y, grad: mha_saves(p, x, grad),
    layout=mha_layout,
)


# -- Transformer layers -------------------------------------------------------------------------------
def _transformer_params(decoder: bool) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("nhead", "int", 8, "attention heads; d_model must be divisible by it", minimum=1),
        ParamSpec("dim_feedforward", "int", 2048, "hidden size of the feed-forward block (often 4·d_model)",
                  minimum=1),
        ParamSpec("dropout", "float", 0.1, "dropout after attention and in the feed-forward block", minimum=0.0,
                  maximum=1.0),
        ParamSpec("activation", "choice", "relu", "feed-forward activation", choices=("relu", "gelu")),
        ParamSpec("norm_first", "bool", False, "LayerNorm before each sub-block (pre-norm, as in GPT-2) "
                  "instead of after (post-norm, as in BERT)"),
        ParamSpec("causal", "bool", False, ("self-attention: " if decoder else "") + _CAUSAL_HELP),
        ParamSpec("layer_norm_eps", "float", 1e-5, "small number added to the variance in LayerNorm",
                  minimum=1e-12, advanced=True),
        ParamSpec("bias", "bool", True, "learn biases in the linear layers and LayerNorms", advanced=True),
    )


def _transformer_init(p: Params, x: Specs) -> dict[str, object]:
    return {
        "d_model": x["x"].shape[-1],
        "nhead": p.nhead,
        "dim_feedforward": p.dim_feedforward,
        "dropout": p.dropout,
        "activation": p.activation,
        "layer_norm_eps": p.layer_norm_eps,
        "batch_first": True,
        "norm_first": p.norm_first,
        "bias": p.bias,
    }


_TRANSFORMER_DEFAULTS = {"dim_feedforward": 2048, "dropout": 0.1, "activation": "relu", "layer_norm_eps": 1e-5,
                         "batch_first": False, "norm_first": False, "bias": True}


def _transformer_shape(decoder: bool) -> ShapeRule:
    def rule(p: Params, x: Specs) -> dict[str, TensorSpec]:
        spec = x["x"]
        d_model = _model_size(p.nhead, spec, "x", "nhead")
        _check_mask(x, "attention_mask", spec, "x")
        if decoder:
            memory = x["memory"]
            size = concrete("memory", memory, -1, "feature size")
            if size != d_model:
                raise ShapeError("memory", f"feature size {d_model} (d_model, from x)", describe_shape(memory.shape))
            _check_pair(spec, "x", memory, "memory")
            _check_mask(x, "memory_attention_mask", memory, "memory")
        return {"y": spec}

    return rule


def _transformer_count(decoder: bool) -> CountRule:
    def count(p: Params, x: Specs) -> int:
        d_model = concrete("x", x["x"], -1, "embedding size")
        attention = _mha_params(d_model, d_model, d_model, p.bias) * (2 if decoder else 1)
        ffn = 2 * d_model * p.dim_feedforward + ((p.dim_feedforward + d_model) if p.bias else 0)
        norms = (3 if decoder else 2) * d_model * (2 if p.bias else 1)
        return attention + ffn + norms

    return count


def _transformer_macs(decoder: bool) -> CostRule:
    def macs(p: Params, x: Shapes, y: Shapes) -> int:
        batch, t, d_model = x["x"]
        total = _mha_macs(batch, t, t, d_model, d_model, d_model) + 2 * batch * t * d_model * p.dim_feedforward
        if decoder:
            s = x["memory"][1]
            total += _mha_macs(batch, t, s, d_model, d_model, d_model)
        return total

    return macs


def _transformer_extra(decoder: bool) -> CostRule:
    def flops(p: Params, x: Shapes, y: Shapes) -> int:
        batch, t, d_model = x["x"]
        scores = batch * p.nhead * t * (t + (x["memory"][1] if decoder else 0))
        blocks = 3 if decoder else 2  # residual sum + LayerNorm per sub-block
        per_token = p.dim_feedforward + blocks * (1 + _LAYER_NORM_FLOPS) * d_model
        return _SOFTMAX_FLOPS * scores + batch * t * per_token

    return flops


def _transformer_kernels(decoder: bool) -> LatencyRule:
    """Self-attention (and cross-attention in a decoder), the feed-forward block, a residual add and a
    LayerNorm per sub-block."""

    def kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
        batch, t, d_model = x["x"]
        tokens = batch * t * d_model
        masked = p.causal or "attention_mask" in x
        found: list[Kernel] = [attention_kernel(batch, t, t, d_model, p.nhead, d_model, d_model, masked)]
        if p.causal:
            found += _mask_kernels(t, t)
        if decoder:
            s, memory_masked = x["memory"][1], "memory_attention_mask" in x
            found.append(attention_kernel(batch, t, s, d_model, p.nhead, d_model, d_model, memory_masked))
        hidden = batch * t * p.dim_feedforward
        activation = KernelKind.ELEMENTWISE_MATH if p.activation == "gelu" else KernelKind.ELEMENTWISE
        found += [linear_kernel(batch * t, d_model, p.dim_feedforward, "feed-forward in"),
                  Kernel(activation, (2 * hidden,)),
                  linear_kernel(batch * t, p.dim_feedforward, d_model, "feed-forward out")]
        for _ in range(3 if decoder else 2):
            found += [Kernel(KernelKind.ELEMENTWISE, (3 * tokens,), note="residual add"),
                      Kernel(KernelKind.NORM_STATS, (2 * tokens,), note="LayerNorm")]
        return tuple(found)

    return kernels


def _encoder_forward(p: Params) -> str:
    padding = _MASK_ARGUMENT.format(port="attention_mask", keyword="src_key_padding_mask")
    causal = ", src_mask=causal_mask({x}, {x}), is_causal=True" if p.causal else ""
    return "{y} = {self}({x}" + causal + padding + ")"


def _decoder_forward(p: Params) -> str:
    padding = (_MASK_ARGUMENT.format(port="attention_mask", keyword="tgt_key_padding_mask")
               + _MASK_ARGUMENT.format(port="memory_attention_mask", keyword="memory_key_padding_mask"))
    causal = ", tgt_mask=causal_mask({x}, {x}), tgt_is_causal=True" if p.causal else ""
    return "{y} = {self}({x}, {memory}" + causal + padding + ")"


_PARAMS_NOTE = ("With dim_feedforward = 4·d_model it has exactly the parameters of a BERT or GPT-2 block "
                "(GPT-2: norm_first, gelu, causal).")

def _layer_summary(p: Mapping[str, Any]) -> str:
    return f"{p.get('nhead')} heads · ff {p.get('dim_feedforward')}"


TRANSFORMER_ENCODER_LAYER = LayerDef(
    type="TransformerEncoderLayer",
    category="Attention",
    title="Transformer Encoder Layer",
    description="one Transformer block: self-attention (every position looks at the others) then a small "
    "two-layer network applied to each position, each with a shortcut connection and LayerNorm",
    math=r"post-norm: $h = \operatorname{LN}(x + \operatorname{MHA}(x, x, x))$," "\n"
    r"$y = \operatorname{LN}(h + W_2 \operatorname{act}(W_1 h + b_1) + b_2)$" "\n"
    r"pre-norm: $h = x + \operatorname{MHA}(\operatorname{LN}(x))$, $y = h + \operatorname{FFN}(\operatorname{LN}(h))$",
    help="d_model comes from the input's last dimension and must be divisible by nhead. Connect "
    "attention_mask (N, T) so that padded positions are ignored. " + _PARAMS_NOTE,
    params=_transformer_params(decoder=False),
    inputs=(PortSpec("x", ranks=(3,), layout="(N, T, d_model)"), _mask_port("attention_mask", "x", "(N, T)")),
    shape=_transformer_shape(decoder=False),
    param_count=_transformer_count(decoder=False),
    macs=_transformer_macs(decoder=False),
    flops_extra=_transformer_extra(decoder=False),
    torch=TorchCall(
        module="nn.TransformerEncoderLayer",
        init=_transformer_init,
        positional=2,
        defaults=_TRANSFORMER_DEFAULTS,
        forward=_encoder_forward,
        helpers=(CAUSAL_MASK_SOURCE, PADDING_MASK_SOURCE),
    ),
    keras=_keras_transformer(decoder=False),
    examples=(
        Example({"x": ((2, 5, 16), "float32")}),
        Example({"x": ((2, 6, 16), "float32")}, {"nhead": 4, "dim_feedforward": 64}),
        Example({"x": ((3, 5, 12), "float32")},
                {"nhead": 3, "dim_feedforward": 48, "activation": "gelu", "norm_first": True, "causal": True}),
        Example({"x": ((2, 4, 8), "float32")},
                {"nhead": 2, "dim_feedforward": 16, "bias": False, "dropout": 0.0, "layer_norm_eps": 1e-6}),
        Example({"x": ((3, 5, 8), "float32"), "attention_mask": ((3, 5), "int64")},
                {"nhead": 2, "dim_feedforward": 16}),
        Example({"x": ((2, 4, 8), "float32"), "attention_mask": ((2, 4), "bool")},
                {"nhead": 2, "dim_feedforward": 16, "norm_first": True}),
    ),
    summary=_layer_summary,
    latency=_transformer_kernels(decoder=False),
    saves=transformer_saves(decoder=False),
    layout=transformer_layout,
)

TRANSFORMER_DECODER_LAYER = LayerDef(
    type="TransformerDecoderLayer",
    category="Attention",
    title="Transformer Decoder Layer",
    description="one Transformer decoder block: self-attention over the target sequence, then attention to the "
    "encoder's output (memory), then a small two-layer network per position, each with a shortcut and LayerNorm",
    math=r"post-norm: $h_1 = \operatorname{LN}(x + \operatorname{MHA}(x, x, x))$," "\n"
    r"$h_2 = \operatorname{LN}(h_1 + \operatorname{MHA}(h_1, m, m))$," "\n"
    r"$y = \operatorname{LN}(h_2 + \operatorname{FFN}(h_2))$",
    help="x is the target sequence (N, T, d_model) and memory the encoder output (N, S, d_model); d_model comes "
    "from x and must be divisible by nhead. causal masks the self-attention (left-to-right generation); "
    "attention_mask (N, T) and memory_attention_mask (N, S) hide padded positions of x and memory.",
    params=_transformer_params(decoder=True),
    inputs=(
        PortSpec("x", ranks=(3,), layout="(N, T, d_model)", help="target sequence"),
        PortSpec("memory", ranks=(3,), layout="(N, S, d_model)", help="encoder output attended to"),
        _mask_port("attention_mask", "x", "(N, T)"),
        _mask_port("memory_attention_mask", "memory", "(N, S)"),
    ),
    shape=_transformer_shape(decoder=True),
    param_count=_transformer_count(decoder=True),
    macs=_transformer_macs(decoder=True),
    flops_extra=_transformer_extra(decoder=True),
    torch=TorchCall(
        module="nn.TransformerDecoderLayer",
        init=_transformer_init,
        positional=2,
        defaults=_TRANSFORMER_DEFAULTS,
        forward=_decoder_forward,
        helpers=(CAUSAL_MASK_SOURCE, PADDING_MASK_SOURCE),
    ),
    keras=_keras_transformer(decoder=True),
    examples=(
        Example({"x": ((2, 5, 16), "float32"), "memory": ((2, 7, 16), "float32")}),
        Example({"x": ((2, 6, 16), "float32"), "memory": ((2, 3, 16), "float32")},
                {"nhead": 4, "dim_feedforward": 32, "causal": True}),
        Example({"x": ((3, 4, 12), "float32"), "memory": ((3, 4, 12), "float32")},
                {"nhead": 2, "dim_feedforward": 24, "activation": "gelu", "norm_first": True, "bias": False}),
        Example({"x": ((2, 5, 8), "float32"), "memory": ((2, 3, 8), "float32"), "attention_mask": ((2, 5), "int64"),
                 "memory_attention_mask": ((2, 3), "int64")}, {"nhead": 2, "dim_feedforward": 16}),
    ),
    summary=_layer_summary,
    latency=_transformer_kernels(decoder=True),
    saves=transformer_saves(decoder=True),
    layout=transformer_layout,
)

LAYERS = [MULTIHEAD_ATTENTION, TRANSFORMER_ENCODER_LAYER, TRANSFORMER_DECODER_LAYER]
