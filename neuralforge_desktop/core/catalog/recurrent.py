"""Recurrent layers: LSTM, GRU and the plain (Elman) RNN, stacked and optionally bidirectional.

Cost conventions (D = 2 when bidirectional else 1, L = num_layers, G = gates: 4 LSTM, 3 GRU, 1 RNN):

* MACs: every time step of every layer and direction multiplies the step's input (size ``in``: the input
  features for layer 0, D·H above) and the previous hidden state (H) by the gate weights, so
  ``macs = N · T · Σ_layers D · G · (in + H) · H``. Bias additions are not counted (as for Linear).
* latency: one :data:`~.kernels.KernelKind.RECURRENT` kernel per layer and direction, launched once per time
  step: the steps of a layer run one after another, each paying a fixed cost besides its matrix product; the
  first kernel also carries the call's fixed cost.
* flops_extra: elementwise gate work per hidden unit and time step, each sigmoid/tanh/ReLU, product and sum
  counted as one operation: LSTM 9 (3 sigmoids, 2 tanh, 3 products, 1 sum), GRU 9 (2 sigmoids, 1 tanh,
  3 products, 3 sums/differences), RNN 1 (the nonlinearity). Times N · T · L · D · H.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from neuralforge_desktop.core.catalog.export_spec import ExportLimit
from neuralforge_desktop.core.catalog.keras_sources import RECURRENT_WEIGHTS_SOURCE, STACKED_RECURRENT_SOURCE
from neuralforge_desktop.core.catalog.kernels import Kernel, recurrent_kernel
from neuralforge_desktop.core.catalog.recurrent_memory import recurrent_layout, recurrent_saves
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
    Trait,
)
from neuralforge_desktop.core.ir.types import TensorSpec

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_ELEMENTWISE = {"LSTM": 9, "GRU": 9, "RNN": 1}


def _directions(p: Params) -> int:
    return 2 if p.bidirectional else 1


def _layer_inputs(p: Params, features: int) -> list[int]:
    """Input size of each stacked layer: the features for the first, D·H (both directions) above."""
    return [features] + [_directions(p) * p.hidden_size] * (p.num_layers - 1)


def _shape(kind: str) -> ShapeRule:
    def rule(p: Params, x: Specs) -> dict[str, TensorSpec]:
        spec = x["x"]
        concrete("x", spec, -1, "feature size")
        if p.batch_first:
            batch, steps = spec.shape[0], spec.shape[1]
            y_shape = (batch, steps, _directions(p) * p.hidden_size)
        else:
            steps, batch = spec.shape[0], spec.shape[1]
            y_shape = (steps, batch, _directions(p) * p.hidden_size)
        state = spec.with_shape((_directions(p) * p.num_layers, batch, p.hidden_size))
        out = {"y": spec.with_shape(y_shape), "h": state}
        if kind == "LSTM":
            out["c"] = state
        return out

    return rule


def _param_count(kind: str) -> CountRule:
    def count(p: Params, x: Specs) -> int:
        features = concrete("x", x["x"], -1, "feature size")
        gates, hidden = _GATES[kind], p.hidden_size
        total = 0
        for size in _layer_inputs(p, features):
            weights = gates * hidden * (size + hidden)
            biases = 2 * gates * hidden if p.bias else 0  # torch keeps b_ih and b_hh separately
            total += _directions(p) * (weights + biases)
        return total

    return count


def _batch_steps(p: Params, shape: tuple[int, ...]) -> tuple[int, int]:
    return (shape[0], shape[1]) if p.batch_first else (shape[1], shape[0])


def _macs(kind: str) -> CostRule:
    def macs(p: Params, x: Shapes, y: Shapes) -> int:
        batch, steps = _batch_steps(p, x["x"])
        per_step = sum(_GATES[kind] * (size + p.hidden_size) * p.hidden_size
                       for size in _layer_inputs(p, x["x"][-1]))
        return batch * steps * _directions(p) * per_step

    return macs


def _flops_extra(kind: str) -> CostRule:
    def flops(p: Params, x: Shapes, y: Shapes) -> int:
        batch, steps = _batch_steps(p, x["x"])
        return _ELEMENTWISE[kind] * batch * steps * p.num_layers * _directions(p) * p.hidden_size

    return flops


def _kernels(kind: str) -> Callable[[Params, Shapes, Shapes], tuple[Kernel, ...]]:
    def kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
        batch, steps = _batch_steps(p, x["x"])
        return tuple(recurrent_kernel(_GATES[kind], batch, size, p.hidden_size, steps, f"layer {i}", first=i == d == 0)
                     for i, size in enumerate(_layer_inputs(p, x["x"][-1])) for d in range(_directions(p)))

    return kernels


def _params(kind: str) -> tuple[ParamSpec, ...]:
    specs = [
        ParamSpec("hidden_size", "int", 128, "size of the hidden state (memory) per direction", minimum=1),
        ParamSpec("num_layers", "int", 1, "recurrent layers stacked on top of each other", minimum=1),
    ]
    if kind == "RNN":
        specs.append(ParamSpec("nonlinearity", "choice", "tanh", "activation applied to the new hidden state",
                               choices=("tanh", "relu")))
    specs += [
        ParamSpec("bidirectional", "bool", False, "also read the sequence backwards and concatenate both "
                  "directions (output size 2·hidden_size)"),
        ParamSpec("batch_first", "bool", True, "input is (N, T, features); off: (T, N, features)",
                  advanced=True),
        ParamSpec("dropout", "float", 0.0, "dropout between stacked layers (needs num_layers > 1)",
                  minimum=0.0, maximum=1.0, advanced=True),
        ParamSpec("bias", "bool", True, "learn additive biases", advanced=True),
    ]
    return tuple(specs)


def _init(p: Params, x: Specs) -> dict[str, object]:
    kwargs: dict[str, object] = {"input_size": x["x"].shape[-1], "hidden_size": p.hidden_size,
                                 "num_layers": p.num_layers}
    if "nonlinearity" in p:
        kwargs["nonlinearity"] = p.nonlinearity
    kwargs.update(bias=p.bias, batch_first=p.batch_first, dropout=p.dropout, bidirectional=p.bidirectional)
    return kwargs


_DEFAULTS = {"num_layers": 1, "nonlinearity": "tanh", "bias": True, "batch_first": False, "dropout": 0.0,
             "bidirectional": False}
_STATE = "(D·num_layers, N, hidden_size) with D = 2 when bidirectional"

_TEXT = {
    "LSTM": (
        "a recurrent layer with gated memory cells: reads the sequence step by step, deciding what to keep, "
        "forget and output",
        r"$i, f, o = \sigma(W [x_t, h_{t-1}] + b)$" "\n" r"$g = \tanh(W_g [x_t, h_{t-1}] + b_g)$" "\n"
        r"$c_t = f \odot c_{t-1} + i \odot g$" "\n" r"$h_t = o \odot \tanh(c_t)$",
        "Long short-term memory. Outputs y: the hidden state at every step (N, T, D·hidden_size); h and c: "
        f"the final hidden and cell states {_STATE}.",
    ),
    "GRU": (
        "a gated recurrent layer: like an LSTM with fewer gates, updating one hidden state per step",
        r"$r, z = \sigma(W [x_t, h_{t-1}] + b)$" "\n"
        r"$n = \tanh(W_{\mathrm{in}} x_t + b_{\mathrm{in}} + r \odot (W_{\mathrm{hn}} h_{t-1} + b_{\mathrm{hn}}))$" "\n"
        r"$h_t = (1 - z) \odot n + z \odot h_{t-1}$",
        f"Gated recurrent unit. Outputs y: the hidden state at every step; h: the final hidden state {_STATE}.",
    ),
    "RNN": (
        "a simple recurrent layer: the new hidden state is an activation of the input plus the previous state",
        r"$h_t = \operatorname{act}(W_{\mathrm{ih}} x_t + b_{\mathrm{ih}} + W_{\mathrm{hh}} h_{t-1} + "
        r"b_{\mathrm{hh}})$",
        f"Elman RNN. Outputs y: the hidden state at every step; h: the final hidden state {_STATE}.",
    ),
}

_KERAS_LAYER = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "SimpleRNN"}


def _single(p: Params) -> bool:
    """One layer reading one way: Keras' own recurrent layer says it best; anything else takes StackedRecurrent."""
    return p.num_layers == 1 and not p.bidirectional


def _keras_init(kind: str) -> Callable[[Params, Specs], dict[str, object]]:
    def init(p: Params, x: Specs) -> dict[str, object]:
        activation = {"activation": p.nonlinearity} if kind == "RNN" else {}
        if _single(p):
            return {"units": p.hidden_size, "return_sequences": True, "return_state": True, "use_bias": p.bias,
                    **activation}
        return {"kind": kind, "units": p.hidden_size, "num_layers": p.num_layers, "bidirectional": p.bidirectional,
                "batch_first": p.batch_first, "dropout": p.dropout, "use_bias": p.bias, **activation}

    return init


def _keras_call(kind: str) -> Callable[[Params, Specs], str]:
    states = "{h}, {c}" if kind == "LSTM" else "{h}"

    def call(p: Params, x: Specs) -> str:
        if not _single(p):
            return f"{{y}}, {states} = {{self}}({{x}})"
        if p.batch_first:
            lines = [f"{{y}}, {states} = {{self}}({{x}})"]
        else:  # Keras reads (N, T, features)
            lines = [f"{{y}}, {states} = {{self}}(ops.swapaxes({{x}}, 0, 1))", "{y} = ops.swapaxes({y}, 0, 1)"]
        # torch's final states are (layers · directions, N, hidden)
        expanded = ", ".join(f"ops.expand_dims({s}, 0)" for s in states.split(", "))
        return "\n".join([*lines, f"{states} = {expanded}"])

    return call


def _keras_load(kind: str) -> Callable[[Params, Specs], str]:
    def load(p: Params, x: Specs) -> str:
        if not _single(p):
            return "{self}.load_torch_state(state, {prefix})"
        tensors = "{weight_ih_l0}, {weight_hh_l0}" + (", {bias_ih_l0}, {bias_hh_l0}" if p.bias else "")
        return f'{{self}}.set_weights(recurrent_weights("{kind}", {tensors}))'

    return load


def _keras(kind: str) -> KerasCall:
    return KerasCall(
        layer=lambda p, x: f"layers.{_KERAS_LAYER[kind]}" if _single(p) else "StackedRecurrent",
        init=_keras_init(kind),
        positional=1,
        defaults={"use_bias": True, "activation": "tanh", "num_layers": 1, "bidirectional": False,
                  "batch_first": True, "dropout": 0.0},
        call=_keras_call(kind),
        load=_keras_load(kind),
        helpers=(RECURRENT_WEIGHTS_SOURCE, STACKED_RECURRENT_SOURCE),
        doc=f"keras.layers.{_KERAS_LAYER[kind]}",
    )


def _examples(kind: str) -> tuple[Example, ...]:
    extra = {"nonlinearity": "relu"} if kind == "RNN" else {}
    return (
        Example({"x": ((2, 5, 8), "float32")}),
        Example({"x": ((2, 6, 4), "float32")}, {"hidden_size": 8, "bidirectional": True}),
        Example({"x": ((3, 4, 5), "float32")}, {"hidden_size": 6, "num_layers": 3, "dropout": 0.1, **extra}),
        Example({"x": ((2, 3, 5), "float32")},
                {"hidden_size": 7, "num_layers": 2, "bidirectional": True, "bias": False}),
        Example({"x": ((4, 2, 3), "float32")}, {"hidden_size": 5, "batch_first": False}),
    )


def _summary(p: Mapping[str, Any]) -> str:
    layers = p.get("num_layers", 1)
    return f"hidden {p.get('hidden_size')}" + (f" · {layers} layers" if layers != 1 else "")


def _recurrent(kind: str) -> LayerDef:
    description, math, help_text = _TEXT[kind]
    outputs = [
        PortSpec("y", layout="(N, T, D·hidden_size)", help="hidden state at every time step"),
        PortSpec("h", layout="(D·num_layers, N, hidden_size)", help="final hidden state of each layer"),
    ]
    if kind == "LSTM":
        outputs.append(PortSpec("c", layout="(D·num_layers, N, hidden_size)", help="final cell state"))
    forward = "{y}, ({h}, {c}) = {self}({x})" if kind == "LSTM" else "{y}, {h} = {self}({x})"
    return LayerDef(
        type=kind,
        category="Recurrent",
        description=description,
        math=math,
        help=help_text + " input_size comes from the input's last dimension.",
        params=_params(kind),
        inputs=(PortSpec("x", ranks=(3,), layout="(N, T, features)",
                         help="a batch of sequences; (T, N, features) when batch_first is off"),),
        outputs=tuple(outputs),
        shape=_shape(kind),
        param_count=_param_count(kind),
        macs=_macs(kind),
        flops_extra=_flops_extra(kind),
        torch=TorchCall(module=f"nn.{kind}", init=_init, positional=2, defaults=_DEFAULTS, forward=forward),
        simple=kind == "LSTM",
        keras=_keras(kind),
        examples=_examples(kind),
        traits=frozenset({Trait.STACKED}),
        summary=_summary,
        latency=_kernels(kind),
        saves=recurrent_saves(kind),
        layout=recurrent_layout,
        export_limits=_EXPORT_LIMITS.get(kind, ()),
    )


_EXPORT_LIMITS = {
    "GRU": (ExportLimit("tflite", "full-integer quantisation (PT2E) cannot prepare torch's GRU", precisions=("int8",),
                        suggestion="int8-weights (dynamic range), which quantises the GRU's weights"),),
    "RNN": (ExportLimit("coreml", "Core ML's converter has no bidirectional simple RNN",
                        when=lambda p, x: bool(p["bidirectional"]), condition="bidirectional",
                        suggestion="GRU or LSTM, which Core ML converts bidirectional"),),
}


LAYERS = [_recurrent("LSTM"), _recurrent("GRU"), _recurrent("RNN")]
