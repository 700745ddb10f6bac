"""The components every install has, composed from catalog layers (zoo helpers where the zoo has one).

Each builder takes the chosen exposed values and the shapes (without batch) arriving at the block's inputs,
and returns the block body. Only structure is decided here (does a projection exist, how many channels the
gate gives back); plain values reach their nodes through the exposed-parameter targets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neuralforge_desktop.core.components.component import Component, ExposedParam, Shape
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.zoo.entry import body, conv_bn
from neuralforge_desktop.core.zoo.resnet import basic_block
from neuralforge_desktop.core.zoo.vision import _inverted_residual


def _channels(shapes: Sequence[Shape], default: int) -> int:
    """The incoming channel count (dimension 0 without batch) when it is a number, else ``default``."""
    if shapes and shapes[0] and isinstance(shapes[0][0], int):
        return shapes[0][0]
    return default


def _size(shapes: Sequence[Shape], default: int = 32) -> int:
    if shapes and len(shapes[0]) >= 2 and isinstance(shapes[0][-1], int):
        return shapes[0][-1]
    return default


def _first(shapes: Sequence[Shape], default: Shape) -> Shape:
    return list(shapes[0]) if shapes else list(default)


def _self_attention(v: Mapping[str, Any], shapes: Sequence[Shape]) -> Graph:
    # Post-norm, as in the original Transformer: attention → dropout → residual → LayerNorm. Every width
    # comes from the input, so this body adapts to any embedding size divisible by the head count.
    c, x = body("self_attention", _first(shapes, ["T", 64]))
    a = c.layer("MultiheadAttention", {"query": x}, "attention", num_heads=8)
    a = c.layer("Dropout", a, "dropout", p=0.1)
    a = c.layer("Add", [x, a], "add", num_inputs=2)
    c.output(c.layer("LayerNorm", a, "norm"), "y")
    return c.done()


def _encoder_layer(v: Mapping[str, Any], shapes: Sequence[Shape]) -> Graph:
    # The catalog's own layer, as the zoo's transformer-text uses it: d_model follows the input.
    c, x = body("encoder_layer", _first(shapes, ["T", 64]))
    c.output(c.layer("TransformerEncoderLayer", x, "layer", nhead=8, dim_feedforward=256), "y")
    return c.done()


def _encoder_decoder(v: Mapping[str, Any], shapes: Sequence[Shape]) -> Graph:
    c = Composer("encoder_decoder")
    src = c.input("src", _first(shapes, ["S", 64]))
    tgt = c.input("tgt", list(shapes[1]) if len(shapes) > 1 else ["T", 64])
    memory = c.layer("TransformerEncoderLayer", src, "encoder", nhead=8, dim_feedforward=256)
    y = c.layer("TransformerDecoderLayer", {"x": tgt, "memory": memory}, "decoder", nhead=8, dim_feedforward=256)
    c.output(y, "y")
    return c.done()


def _residual(v: Mapping[str, Any], shapes: Sequence[Shape]) -> Graph:
    # ResNet's basic block from the zoo; it adds the 1×1 projection only when width or stride need one.
    in_ch = _channels(shapes, 64)
    return basic_block("residual_block", in_ch, int(v["width"]), _size(shapes), int(v["stride"]))


def _squeeze_excitation(v: Mapping[str, Any], shapes: Sequence[Shape]) -> Graph:
    # Hu et al. 2018: global pool → 1×1 squeeze → ReLU → 1×1 excite back to C → sigmoid gate × input.
    # The excite convolution must give back exactly the incoming C, so it is built for the input.
    in_ch = _channels(shapes, 64)
    c, x = body("squeeze_excitation", _first(shapes, [in_ch, 32, 32]))
    s = c.layer("AdaptiveAvgPool2d", x, "pool", output_size=1)
    s = c.layer("Conv2d", s, "squeeze", out_channels=max(1, in_ch // int(v["reduction"])), kernel_size=1,
                padding=0)
    s = c.layer("ReLU", s, "relu")
    s = c.layer("Conv2d", s, "excite", out_channels=in_ch, kernel_size=1, padding=0)
    s = c.layer("Sigmoid", s, "gate")
    c.output(c.layer("Multiply", [x, s], "scale", num_inputs=2), "y")
    return c.done()


def _inverted(v: Mapping[str, Any], shapes: Sequence[Shape]) -> Graph:
    # MobileNetV2's block from the zoo: the expansion width and the skip depend on the incoming channels.
    in_ch = _channels(shapes, 32)
    return _inverted_residual("inverted_residual", in_ch, int(v["out_channels"]), _size(shapes),
                              int(v["stride"]), int(v["expand"]))


def _unet_stage(v: Mapping[str, Any], shapes: Sequence[Shape]) -> Graph:
    # One U-Net encoder level: double 3×3 conv (the zoo's conv_bn twice), then 2×2 max pooling. The
    # full-resolution features leave as "skip" for the decoder's concatenation.
    c, x = body("unet_stage", _first(shapes, [_channels(shapes, 32), 64, 64]))
    x = conv_bn(c, x, "", 64, 3, suffix="1")
    x = conv_bn(c, x, "", 64, 3, suffix="2")
    c.output(c.layer("MaxPool2d", x, "pool", kernel_size=2), "y")
    c.output(x, "skip")
    return c.done()


def _make(name: str, title: str, description: str, builder: Any, params: tuple[ExposedParam, ...],
          examples: tuple[Shape, ...], keep_width: str | None = None) -> Component:
    """``keep_width`` names the parameter that defaults to the incoming channel count when the input is
    known, so the block keeps the width it is given (and its skip connection stays an identity)."""
    adapt = None
    if keep_width is not None:
        def adapt(shapes: Sequence[Shape], key: str = keep_width) -> dict[str, Any]:
            return {key: shapes[0][0]} if shapes and shapes[0] and isinstance(shapes[0][0], int) else {}
    return Component(name, title, description, builder(
        {p.name: p.default for p in params}, examples), params, builder, examples, builtin=True, adapt=adapt)


def _builtins() -> list[Component]:
    return [
        _make("self_attention", "Multi-head self-attention",
              "Self-attention with a residual connection and LayerNorm (post-norm). The embedding size comes "
              "from the input; it must be divisible by heads.", _self_attention,
              (ExposedParam("heads", 8, ("attention.num_heads",), "attention heads"),
               ExposedParam("dropout", 0.1, ("attention.dropout", "dropout.p"), "dropout probability")),
              (["T", 64],)),
        _make("transformer_encoder", "Transformer encoder layer",
              "Self-attention and a feed-forward block, each with a residual and LayerNorm. d_model comes "
              "from the input.", _encoder_layer,
              (ExposedParam("heads", 8, ("layer.nhead",), "attention heads"),
               ExposedParam("ffn", 256, ("layer.dim_feedforward",), "feed-forward width"),
               ExposedParam("dropout", 0.1, ("layer.dropout",), "dropout probability"),
               ExposedParam("norm_first", False, ("layer.norm_first",), "pre-norm (True) or post-norm")),
              (["T", 64],)),
        _make("encoder_decoder", "Encoder–decoder",
              "A transformer encoder layer over the source and a decoder layer over the target that attends "
              "to the encoder's output (inputs src, tgt of the same width).", _encoder_decoder,
              (ExposedParam("heads", 8, ("encoder.nhead", "decoder.nhead"), "attention heads"),
               ExposedParam("ffn", 256, ("encoder.dim_feedforward", "decoder.dim_feedforward"),
                            "feed-forward width"),
               ExposedParam("dropout", 0.1, ("encoder.dropout", "decoder.dropout"), "dropout probability")),
              (["S", 64], ["T", 64])),
        _make("residual_block", "Residual block",
              "ResNet's basic block: two 3×3 convolutions with BatchNorm and a skip connection; a 1×1 "
              "projection joins the skip when the width or stride changes the shape.", _residual,
              (ExposedParam("width", 64, ("conv1.out_channels", "conv2.out_channels",
                                          "downsample/conv.out_channels"), "output channels"),
               ExposedParam("stride", 1, ("conv1.stride", "downsample/conv.stride"), "1 keeps the size, 2 halves it")),
              ([64, 32, 32],), keep_width="width"),
        _make("squeeze_excitation", "Squeeze-and-excitation",
              "Channel attention: global average pool, a 1×1 bottleneck and a sigmoid gate that rescales each "
              "channel of the input. Keeps the input's shape.", _squeeze_excitation,
              (ExposedParam("reduction", 4, (), "squeeze channels = input channels / reduction"),),
              ([64, 32, 32],)),
        _make("inverted_residual", "Inverted residual",
              "MobileNetV2's block: 1×1 expansion, 3×3 depthwise convolution, linear 1×1 projection; a skip "
              "connection when the shape is kept.", _inverted,
              (ExposedParam("out_channels", 32, ("project_conv.out_channels",), "output channels"),
               ExposedParam("stride", 1, ("dw_conv.stride",), "1 keeps the size, 2 halves it"),
               ExposedParam("expand", 6, (), "expansion factor of the hidden width")),
              ([32, 32, 32],), keep_width="out_channels"),
        _make("unet_stage", "U-Net stage",
              "One U-Net encoder level: two 3×3 convolutions with BatchNorm and ReLU, then 2×2 max pooling; "
              "outputs the pooled features (y) and the full-resolution ones for the skip connection (skip).",
              _unet_stage,
              (ExposedParam("width", 64, ("conv1.out_channels", "conv2.out_channels"), "output channels"),),
              ([32, 64, 64],)),
    ]


_CACHE: list[Component] | None = None


def builtin_components() -> list[Component]:
    """The built-ins, built once (their default bodies are for display; instantiate() builds fresh ones)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = _builtins()
    return list(_CACHE)
