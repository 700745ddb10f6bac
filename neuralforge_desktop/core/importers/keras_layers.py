"""One Keras layer → graph nodes: the torch module it corresponds to (built from its config, its weights moved
into torch's layout) or a catalog op, in the channel order the layer works in.

A layer class with no rule here is refused by name and class: a Keras layer carries no PyTorch code to keep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.importers.source import ImportSourceError

if TYPE_CHECKING:
    from neuralforge_desktop.core.importers.keras_import import KerasImporter

KERAS, TORCH, FLAT = "keras", "torch", "flat"
Rule = Callable[["KerasImporter", Any, dict[str, Any], list[Any], list[Any]], None]


class _Refused(ImportSourceError):
    pass


def _weights(layer: Any) -> dict[str, Any]:
    import numpy as np

    return {w.name: np.asarray(w.numpy() if hasattr(w, "numpy") else w) for w in layer.weights}


def _t(array: Any) -> Any:
    import torch

    return torch.from_numpy(array.copy())


def _one(values: Any) -> Any:
    values = tuple(values) if isinstance(values, list | tuple) else (values,)
    return values[0] if len(set(values)) == 1 else values


def _channels_layout(cfg: dict[str, Any]) -> str:
    """Channels-last layers run on the tensor with channels moved first; channels_first ones as it is."""
    return TORCH if cfg.get("data_format", "channels_last") == "channels_last" else KERAS


def _refuse(layer: Any, why: str) -> _Refused:
    return _Refused(f"layer '{layer.name}' ({type(layer).__name__}): {why}")


def _dense(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    import numpy as np
    from torch import nn

    w = _weights(layer)
    kernel = w["kernel"]
    layout = FLAT if imp.refs[id(ins[0])][2] == FLAT else KERAS
    if layout == FLAT:  # rows in Keras' order (…, C) → the channels-first order the input was flattened in
        channels, *rest = imp.flat_from[id(ins[0])]
        rows = kernel.reshape(*rest, channels, kernel.shape[1])
        kernel = np.moveaxis(rows, len(rest), 0).reshape(kernel.shape)
    module = nn.Linear(kernel.shape[0], kernel.shape[1], bias=cfg.get("use_bias", True))
    module.weight.data = _t(kernel.T)
    if module.bias is not None:
        module.bias.data = _t(w["bias"])
    node = imp.add_module(layer.name, "Dense", module, ins[0], layout)
    imp.finish(layer.name, node, outs[0], KERAS, cfg.get("activation"))


def _same_padding(layer: Any, kernel: tuple[int, ...], strides: tuple[int, ...], dilation: tuple[int, ...]
                  ) -> tuple[int, ...]:
    """Keras' "same" as torch padding: only where it pads both sides equally (stride 1, odd span)."""
    spans = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    if any(s != 1 for s in strides) or any(span % 2 for span in spans):
        raise _refuse(layer, f"padding='same' with strides {strides} and kernel {kernel} pads one side more "
                      "than the other, which no catalog layer does")
    return tuple(span // 2 for span in spans)


def _explicit_padding(imp: KerasImporter, layer: Any, rank: int, fill: float) -> tuple[int, ...] | None:
    """The ``ops.pad`` generated code writes before a channels_first layer (torch pads inside it), as that
    layer's padding: the same on both sides of each spatial dimension, filled with ``fill``."""
    pad = imp.layer_pads.get(id(layer))
    if pad is None:
        return None
    widths, value = pad
    # the spatial dimensions follow the channels (channels_first) or sit between batch and channels
    first = layer.get_config().get("data_format", "channels_last") == "channels_first"
    spatial = [tuple(w) for w in (widths[-rank:] if first else widths[1:-1])]
    others = [tuple(w) for w in (widths[:-rank] if first else (widths[0], widths[-1]))]
    if len(spatial) != rank or any(w != (0, 0) for w in others) or any(a != b for a, b in spatial) \
            or value != fill:
        raise _refuse(layer, f"ops.pad by {widths} (value {value}) before it is not a padding torch's layer has")
    return tuple(int(a) for a, _ in spatial)


def _conv(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    import numpy as np
    from torch import nn

    name = type(layer).__name__
    w = _weights(layer)
    kernel = w["kernel"]
    rank = kernel.ndim - 2
    size, strides = tuple(kernel.shape[:rank]), tuple(cfg.get("strides", (1,) * rank))
    dilation = tuple(cfg.get("dilation_rate", (1,) * rank))
    explicit = _explicit_padding(imp, layer, rank, 0.0)
    if explicit is not None and cfg.get("padding") == "valid":
        padding: Any = explicit
    elif cfg.get("padding") == "valid":
        padding = 0
    elif cfg.get("padding") == "same" and explicit is None and name != "Conv2DTranspose":
        padding = _same_padding(layer, size, strides, dilation)
    else:
        raise _refuse(layer, f"padding={cfg.get('padding')!r} has no catalog form")
    if name == "Conv2DTranspose":  # (k…, out, in) → torch's (in, out, k…)
        if cfg.get("output_padding") or any(d != 1 for d in dilation):
            raise _refuse(layer, "output_padding and dilation have no catalog form here")
        module: Any = nn.ConvTranspose2d(kernel.shape[-1], kernel.shape[-2], _one(size), stride=_one(strides),
                                         padding=_one(padding), bias=cfg.get("use_bias", True))
        module.weight.data = _t(np.transpose(kernel, (3, 2, 0, 1)))
    elif name == "DepthwiseConv2D":  # (k…, C, multiplier) → torch's (C·multiplier, 1, k…), groups = C
        channels = kernel.shape[-2] * kernel.shape[-1]
        module = nn.Conv2d(kernel.shape[-2], channels, _one(size), stride=_one(strides), padding=_one(padding),
                           dilation=_one(dilation), groups=kernel.shape[-2], bias=cfg.get("use_bias", True))
        module.weight.data = _t(np.transpose(kernel.reshape(*size, channels, 1), (2, 3, 0, 1)))
    else:
        groups = cfg.get("groups", 1)
        cls = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[rank - 1]
        module = cls(kernel.shape[-2] * groups, kernel.shape[-1], _one(size), stride=_one(strides),
                     padding=_one(padding), dilation=_one(dilation), groups=groups, bias=cfg.get("use_bias", True))
        module.weight.data = _t(np.transpose(kernel, (rank + 1, rank, *range(rank))))
    if module.bias is not None:
        module.bias.data = _t(w["bias"])
    layout = _channels_layout(cfg)
    node = imp.add_module(layer.name, "Conv2D" if name == "DepthwiseConv2D" else name, module, ins[0], layout)
    imp.finish(layer.name, node, outs[0], layout, cfg.get("activation"))


def _pool(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    from torch import nn

    name = type(layer).__name__
    explicit = _explicit_padding(imp, layer, 1 if name.endswith("1D") else 2,
                                 float("-inf") if name.startswith("Max") else 0.0)
    if cfg.get("padding", "valid") != "valid" or (explicit is not None and not name.startswith("Max")):
        raise _refuse(layer, "padding='same' pooling has no catalog form")
    size = cfg["pool_size"]
    strides = cfg.get("strides") or size
    padding = _one(explicit) if explicit is not None else 0
    if name.startswith("Max"):
        module: Any = (nn.MaxPool1d if name.endswith("1D") else nn.MaxPool2d)(_one(size), _one(strides), padding)
    else:
        module = nn.AvgPool2d(_one(size), _one(strides))
    layout = _channels_layout(cfg)
    imp.finish(layer.name, imp.add_module(layer.name, name, module, ins[0], layout), outs[0], layout)


def _global_pool(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    if cfg.get("keepdims"):
        raise _refuse(layer, "keepdims=True has no catalog form")
    type_name = "GlobalAvgPool2d" if "Average" in type(layer).__name__ else "GlobalMaxPool2d"
    node = imp.add(layer.name, type_name, {}, [("x", ins[0])], _channels_layout(cfg))
    imp.finish(layer.name, node, outs[0], KERAS)  # (N, C): no channel order left to track


def _batchnorm(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    import numpy as np
    import torch
    from torch import nn

    rank = len(imp.shapes[id(ins[0])])
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list | tuple) and len(axis) == 1 else axis
    if not isinstance(axis, int) or rank > 4:
        raise _refuse(layer, f"axis {axis} on a rank-{rank} tensor has no catalog form")
    if axis % rank == rank - 1:
        layout = TORCH if rank > 2 else KERAS  # channels moved to dim 1, where BatchNorm normalises
    elif axis % rank == 1:
        layout = KERAS
    else:
        raise _refuse(layer, f"axis {axis} is neither the channels nor the features")
    w = _weights(layer)
    channels = w["moving_mean"].shape[0]
    module = (nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d)(
        channels, eps=cfg.get("epsilon", 1e-3), momentum=round(1 - cfg.get("momentum", 0.99), 6))
    module.load_state_dict({"weight": _t(w.get("gamma", np.ones(channels, np.float32))),
                            "bias": _t(w.get("beta", np.zeros(channels, np.float32))),
                            "running_mean": _t(w["moving_mean"]), "running_var": _t(w["moving_variance"]),
                            "num_batches_tracked": torch.tensor(0)})
    node = imp.add_module(layer.name, "BatchNormalization", module.eval(), ins[0], layout)
    imp.finish(layer.name, node, outs[0], layout)


def _layernorm(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    import numpy as np
    from torch import nn

    rank = len(imp.shapes[id(ins[0])])
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list | tuple) and len(axis) == 1 else axis
    if axis not in (-1, rank - 1) or cfg.get("rms_scaling"):
        raise _refuse(layer, "only a LayerNormalization over the last axis has a catalog form")
    w = _weights(layer)
    channels = imp.shapes[id(ins[0])][-1]
    center, scale = cfg.get("center", True), cfg.get("scale", True)
    module = nn.LayerNorm(channels, eps=cfg.get("epsilon", 1e-3), elementwise_affine=center or scale, bias=center)
    if module.weight is not None:
        module.weight.data = _t(w.get("gamma", np.ones(channels, np.float32)))
    if module.bias is not None:
        module.bias.data = _t(w["beta"])
    node = imp.add_module(layer.name, "LayerNormalization", module, ins[0], KERAS)
    imp.finish(layer.name, node, outs[0], KERAS)


def _embedding(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    from torch import nn

    table = _weights(layer)["embeddings"]
    module = nn.Embedding(table.shape[0], table.shape[1])
    module.weight.data = _t(table)
    imp.finish(layer.name, imp.add_module(layer.name, "Embedding", module, ins[0], KERAS), outs[0], KERAS)


def _dropout(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    from torch import nn

    spatial = type(layer).__name__ == "SpatialDropout2D"
    layout = _channels_layout(cfg) if spatial else imp.refs[id(ins[0])][2]  # elementwise: either order
    module = nn.Dropout2d(cfg["rate"]) if spatial else nn.Dropout(cfg["rate"])
    imp.finish(layer.name, imp.add_module(layer.name, type(layer).__name__, module, ins[0], layout), outs[0], layout)


def _flatten(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    shape = imp.shapes[id(ins[0])]
    if len(shape) == 2:
        imp.refs[id(outs[0])] = imp.refs[id(ins[0])]
        return
    channels_last = cfg.get("data_format", "channels_last") == "channels_last"
    if channels_last and imp.refs[id(ins[0])][2] == TORCH:  # flatten as it is; a Dense after takes that order
        node = imp.add(layer.name, "Flatten", {}, [("x", ins[0])], TORCH)
        imp.flat_from[id(outs[0])] = (shape[-1], *shape[1:-1])
        imp.finish(layer.name, node, outs[0], FLAT)
        return
    layout = KERAS if channels_last else TORCH
    imp.finish(layer.name, imp.add(layer.name, "Flatten", {}, [("x", ins[0])], layout), outs[0], KERAS)


def _reshape(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    node = imp.add(layer.name, "Reshape", {"shape": list(cfg["target_shape"])}, [("x", ins[0])], KERAS)
    imp.finish(layer.name, node, outs[0], KERAS)


def _activation_layer(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]
                      ) -> None:
    name = type(layer).__name__
    if name == "Activation":
        which = cfg["activation"]
    elif name == "ReLU":
        if cfg.get("threshold", 0.0) or (cfg.get("max_value") not in (None, 6.0)):
            raise _refuse(layer, "a threshold, or a cap other than 6, has no catalog form")
        which = "relu6" if cfg.get("max_value") == 6.0 else "relu"
        if cfg.get("negative_slope"):
            if cfg.get("max_value") is not None:
                raise _refuse(layer, "a capped leaky ReLU has no catalog form")
            which = ("leaky_relu", cfg["negative_slope"])
    elif name == "LeakyReLU":
        which = ("leaky_relu", cfg.get("negative_slope", 0.3))
    elif name == "Softmax":
        if cfg.get("axis", -1) != -1:
            raise _refuse(layer, "softmax over another axis than the last has no catalog form")
        which = "softmax"
    else:  # ELU
        which = ("elu", cfg.get("alpha", 1.0))
    node, port, layout = imp.refs[id(ins[0])]
    imp.refs[id(outs[0])] = (node, port, layout)
    if layout == FLAT:
        imp.flat_from[id(outs[0])] = imp.flat_from[id(ins[0])]
    imp.apply(layer.name, outs[0], layout, which)


def _merge(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    name = type(layer).__name__
    layouts = {imp.refs[id(t)][2] for t in ins}
    layout = imp.refs[id(ins[0])][2]
    if FLAT in layouts and (name == "Concatenate" or len(layouts) > 1 or
                            len({imp.flat_from.get(id(t)) for t in ins}) > 1):
        layout = KERAS  # flattenings in different orders meet: compute in Keras' order
    rank = len(imp.shapes[id(ins[0])])
    params: dict[str, Any] = {"num_inputs": len(ins)}
    if name == "Concatenate":
        axis = cfg.get("axis", -1) % rank
        if axis == 0:
            raise _refuse(layer, "concatenating along the batch has no catalog form")
        order = [0, rank - 1, *range(1, rank - 1)] if layout == TORCH and rank >= 3 else list(range(rank))
        params["dim"] = order.index(axis)
    elif len({imp.shapes[id(t)] for t in ins}) > 1:
        raise _refuse(layer, "inputs of different shapes (broadcasting) have no catalog form")
    type_name = {"Add": "Add", "Multiply": "Multiply", "Concatenate": "Concat"}[name]
    node = imp.add(layer.name, type_name, params, [(f"x{i}", t) for i, t in enumerate(ins)], layout)
    imp.finish(layer.name, node, outs[0], layout)


# Keras gate blocks in torch's order: LSTM i f c o is torch's i f g o; GRU z r h → r z n
_KERAS_GATES = {"LSTM": [0, 1, 2, 3], "GRU": [1, 0, 2], "SimpleRNN": [0]}


def _check_recurrent(layer: Any, cfg: dict[str, Any]) -> None:
    name = type(layer).__name__
    if cfg.get("go_backwards") or cfg.get("stateful"):
        raise _refuse(layer, "go_backwards and stateful have no catalog form")
    activation = cfg.get("activation", "tanh")
    if name == "SimpleRNN":
        if activation not in ("tanh", "relu"):
            raise _refuse(layer, f"activation {activation!r} has no catalog form")
    elif activation != "tanh" or cfg.get("recurrent_activation", "sigmoid") != "sigmoid":
        raise _refuse(layer, "only tanh with sigmoid gates has a catalog form")
    if name == "GRU" and not cfg.get("reset_after", True):
        raise _refuse(layer, "reset_after=False has no catalog form (torch's GRU resets after)")


def _torch_recurrent(layers: list[Any], dropout: float = 0.0) -> Any:
    """The torch module of ``layers`` (one Keras recurrent layer per torch layer, stacked), weights moved over."""
    import numpy as np
    from torch import nn

    first = layers[0]
    name, cfg = type(first).__name__, first.get_config()
    for layer in layers:
        _check_recurrent(layer, layer.get_config())
    units, use_bias = cfg["units"], cfg.get("use_bias", True)
    order = _KERAS_GATES[name]

    def gates(a: Any) -> Any:  # (…, k·units) → torch's (k·units, …) in torch's gate order
        return np.concatenate([a[..., g * units:(g + 1) * units] for g in order], axis=-1).T

    kwargs: dict[str, Any] = {"batch_first": True, "bias": use_bias, "num_layers": len(layers), "dropout": dropout}
    if name == "SimpleRNN":
        kwargs["nonlinearity"] = cfg.get("activation", "tanh")
    w0 = _weights(first)
    module = getattr(nn, "RNN" if name == "SimpleRNN" else name)(w0["kernel"].shape[0], units, **kwargs)
    for i, layer in enumerate(layers):
        w = _weights(layer)
        getattr(module, f"weight_ih_l{i}").data = _t(gates(w["kernel"]))
        getattr(module, f"weight_hh_l{i}").data = _t(gates(w["recurrent_kernel"]))
        if use_bias:
            bias = w["bias"]
            if name == "GRU":  # reset_after: one bias for the input product, one for the recurrent one
                bias_ih, bias_hh = gates(bias[0]), gates(bias[1])
            else:  # one bias; torch's second is zero
                bias_ih, bias_hh = gates(bias), np.zeros(bias.shape[-1], bias.dtype)
            getattr(module, f"bias_ih_l{i}").data = _t(bias_ih)
            getattr(module, f"bias_hh_l{i}").data = _t(bias_hh)
    return module


def _recurrent(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    """A Keras recurrent layer as torch's batch-first module; without ``return_sequences`` the last step is
    selected after it. Its final states (``return_state``), (N, units) where torch's are (layers, N, units),
    are no catalog port: a reader of them is refused."""
    name = type(layer).__name__
    module = _torch_recurrent([layer])
    node = imp.add_module(layer.name, name, module, ins[0], KERAS)
    for t in outs[1:]:
        imp.unusable[id(t)] = f"a final state of '{layer.name}' shaped as Keras returns it, which no catalog port is"
    if not cfg.get("return_sequences"):
        imp.refs[id(outs[0])] = (node, "y", KERAS)  # the whole sequence, of which Keras returns the last step
        node = imp.add(f"{layer.name}_last", "Select", {"dim": 1, "index": -1}, [("x", outs[0])], KERAS)
    imp.finish(layer.name, node, outs[0], KERAS)


def _stacked(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    """The generated code's StackedRecurrent helper: torch's multi-layer LSTM / GRU / RNN, its outputs the
    module's own (sequence, final states stacked as torch stacks them)."""
    stack = list(getattr(layer, "stack", []))
    if not stack or not getattr(layer, "batch_first", True) or any(
            type(s).__name__ not in _KERAS_GATES for s in stack):
        raise _refuse(layer, "only batch-first, one-directional stacks have a catalog form here")
    dropout = getattr(getattr(layer, "dropout", None), "rate", 0.0)
    module = _torch_recurrent(stack, float(dropout) if len(stack) > 1 else 0.0)
    node = imp.add_module(layer.name, type(stack[0]).__name__, module, ins[0], KERAS)
    for t, port in zip(outs, ("y", "h", "c"), strict=False):
        imp.refs[id(t)] = (node, port, KERAS)


def _positional(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    """The generated code's PositionalEmbedding helper: one learned table added by position."""
    table = _weights(layer)["weight"]
    node = imp.add(layer.name, "PositionalEmbedding", {"max_len": int(table.shape[0])}, [("x", ins[0])], KERAS,
                   {"weight": _t(table)})
    imp.params += int(table.size)
    imp.finish(layer.name, node, outs[0], KERAS)


def _attention_projections(module: Any, attn: Any, d_model: int, bias: bool) -> None:
    """Keras' per-head query/key/value and output kernels joined into torch's MultiheadAttention projections."""
    import numpy as np

    parts = [_weights(d) for d in (attn._query_dense, attn._key_dense, attn._value_dense)]
    module.in_proj_weight.data = _t(np.concatenate([w["kernel"].reshape(d_model, -1).T for w in parts]))
    out = _weights(attn._output_dense)
    module.out_proj.weight.data = _t(out["kernel"].reshape(-1, d_model).T)
    if bias:
        module.in_proj_bias.data = _t(np.concatenate([w["bias"].reshape(-1) for w in parts]))
        module.out_proj.bias.data = _t(out["bias"])


def _attention(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    """Keras MultiHeadAttention as torch's (batch first): self-attention reads one tensor (the catalog's key and
    value default to the query); ``use_causal_mask`` is the catalog's causal setting."""
    from torch import nn

    args = getattr(imp.node, "arguments", None)
    kwargs = dict(getattr(args, "kwargs", {}) or {})
    from neuralforge_desktop.core.importers.keras_ops import PADDING_MASK

    if kwargs.get("return_attention_scores"):
        raise _refuse(layer, "returned attention scores have no catalog form")
    mask = kwargs.get("attention_mask")
    if mask is not None and (len(imp.mask_in) != 1 or imp.mask_in[0][1] != PADDING_MASK):
        raise _refuse(layer, "only the padding mask generated code builds (padding_mask()) has a catalog form")
    if len({id(t) for t in ins}) != 1:
        raise _refuse(layer, "only self-attention (query, key and value one tensor) has a catalog form here")
    d_model = int(imp.shapes[id(ins[0])][-1])
    heads, bias = int(layer.num_heads), bool(cfg.get("use_bias", True))
    if int(layer.key_dim) * heads != d_model or (cfg.get("value_dim") or layer.key_dim) != layer.key_dim \
            or cfg.get("output_shape") is not None:
        raise _refuse(layer, "heads that do not split the model width evenly have no catalog form")
    module = nn.MultiheadAttention(d_model, heads, dropout=float(cfg.get("dropout", 0.0)), bias=bias,
                                   batch_first=True)
    _attention_projections(module, layer, d_model, bias)
    imp.params += sum(p.numel() for p in module.parameters())
    params = {"num_heads": heads, "dropout": float(cfg.get("dropout", 0.0)), "bias": bias,
              "causal": bool(kwargs.get("use_causal_mask", False))}
    ports = [("query", ins[0])] + ([("attention_mask", imp.mask_in[0][0])] if mask is not None else [])
    node = imp.add(layer.name, "MultiheadAttention", params, ports, KERAS, module.state_dict())
    imp.finish(layer.name, node, outs[0], KERAS)


def _encoder_layer(imp: KerasImporter, layer: Any, cfg: dict[str, Any], ins: list[Any], outs: list[Any]) -> None:
    """The generated code's TransformerEncoderLayer helper as torch's (batch first), its settings read from the
    helper's own arguments and Keras' per-head attention kernels joined back into torch's projections."""
    from torch import nn

    if len(ins) != 1:
        raise _refuse(layer, "an attention mask input has no catalog form here")
    d_model, bias = int(cfg["d_model"]), bool(cfg.get("bias", True))
    module = nn.TransformerEncoderLayer(
        d_model, int(cfg["nhead"]), int(cfg.get("dim_feedforward", 2048)), float(cfg.get("dropout", 0.1)),
        cfg.get("activation", "relu"), float(cfg.get("layer_norm_eps", 1e-5)), batch_first=True,
        norm_first=bool(cfg.get("norm_first", False)), bias=bias)
    _attention_projections(module.self_attn, layer.self_attn, d_model, bias)
    for name in ("linear1", "linear2"):
        w = _weights(getattr(layer, name))
        getattr(module, name).weight.data = _t(w["kernel"].T)
        if bias:
            getattr(module, name).bias.data = _t(w["bias"])
    for i, norm in enumerate(layer.norms, start=1):
        w = _weights(norm)
        getattr(module, f"norm{i}").weight.data = _t(w["gamma"])
        if bias:
            getattr(module, f"norm{i}").bias.data = _t(w["beta"])
    node = imp.add_module(layer.name, "TransformerEncoderLayer", module.eval(), ins[0], KERAS)
    imp.finish(layer.name, node, outs[0], KERAS)


RULES: dict[str, Rule] = {
    "Dense": _dense,
    "Conv1D": _conv, "Conv2D": _conv, "Conv3D": _conv, "DepthwiseConv2D": _conv, "Conv2DTranspose": _conv,
    "MaxPooling1D": _pool, "MaxPooling2D": _pool, "AveragePooling2D": _pool,
    "GlobalAveragePooling2D": _global_pool, "GlobalMaxPooling2D": _global_pool,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Embedding": _embedding,
    "Dropout": _dropout, "SpatialDropout2D": _dropout,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Activation": _activation_layer, "ReLU": _activation_layer, "LeakyReLU": _activation_layer,
    "Softmax": _activation_layer, "ELU": _activation_layer,
    "Add": _merge, "Multiply": _merge, "Concatenate": _merge,
    "LSTM": _recurrent, "GRU": _recurrent, "SimpleRNN": _recurrent,
    "StackedRecurrent": _stacked, "MultiHeadAttention": _attention, "PositionalEmbedding": _positional,
    "TransformerEncoderLayer": _encoder_layer,
}


def convert_layer(imp: KerasImporter, layer: Any, ins: list[Any], outs: list[Any]) -> None:
    rule = RULES.get(type(layer).__name__)
    if rule is None:
        raise _refuse(layer, "no catalog layer corresponds to it, and a Keras layer carries no PyTorch code to keep")
    if len(outs) != 1 and rule not in (_recurrent, _stacked):
        raise _refuse(layer, f"{len(outs)} outputs")
    rule(imp, layer, layer.get_config(), ins, outs)
