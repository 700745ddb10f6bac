"""Short texts a node shows: the one-line parameter summary and the Concept Mode lines.

Kept free of Qt so the wording can be tested and reused (the minimap tooltip, exported images)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Node
from neuralforge_desktop.core.ir.types import format_shape


def _dims(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "×".join(str(v) for v in value) if value else "scalar"
    return str(value)


def _same(values: Any) -> bool:
    return isinstance(values, list | tuple) and len(set(values)) == 1


def _kernel(p: Mapping[str, Any], key: str = "kernel_size") -> str:
    k = p.get(key)
    if k is None:
        return ""
    text = _dims(k)
    stride = p.get("stride")
    # A stride equal to the kernel is pooling's default and says nothing new.
    if stride is not None and stride != k and not (_same(stride) and stride[0] == 1):
        text += f" /{stride[0] if _same(stride) else _dims(stride)}"
    return text


def _conv(p: Mapping[str, Any]) -> str:
    return " · ".join(x for x in (str(p.get("out_channels", "")), _kernel(p)) if x)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return _dims(value) if isinstance(value, list | tuple) else str(value)


_SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "Conv1d": _conv,
    "Conv2d": _conv,
    "Conv3d": _conv,
    "ConvTranspose2d": _conv,
    "Linear": lambda p: f"→ {p.get('out_features')}",
    "MaxPool1d": _kernel,
    "MaxPool2d": _kernel,
    "AvgPool2d": _kernel,
    "AdaptiveAvgPool2d": lambda p: f"→ {_dims(p.get('output_size'))}",
    "Dropout": lambda p: f"p = {_num(p.get('p'))}",
    "Dropout2d": lambda p: f"p = {_num(p.get('p'))}",
    "Embedding": lambda p: f"{p.get('num_embeddings')} → {p.get('embedding_dim')}",
    "LSTM": lambda p: f"hidden {p.get('hidden_size')}" + (f" · {p.get('num_layers')} layers"
                                                          if p.get("num_layers", 1) != 1 else ""),
    "GRU": lambda p: f"hidden {p.get('hidden_size')}" + (f" · {p.get('num_layers')} layers"
                                                         if p.get("num_layers", 1) != 1 else ""),
    "RNN": lambda p: f"hidden {p.get('hidden_size')}",
    "MultiheadAttention": lambda p: f"{p.get('num_heads')} heads" + (" · causal" if p.get("causal") else ""),
    "TransformerEncoderLayer": lambda p: f"{p.get('nhead')} heads · ff {p.get('dim_feedforward')}",
    "TransformerDecoderLayer": lambda p: f"{p.get('nhead')} heads · ff {p.get('dim_feedforward')}",
    "Upsample": lambda p: f"×{_num(p.get('scale_factor'))} {p.get('mode', '')}".strip(),
    "GroupNorm": lambda p: f"{p.get('num_groups')} groups",
    "LeakyReLU": lambda p: f"slope {_num(p.get('negative_slope'))}",
}


def param_summary(node: Node, layer: LayerDef | None, params: Mapping[str, Any] | None) -> str:
    """One line such as ``32 · 3×3`` for a Conv2d; empty when nothing differs from the defaults."""
    if node.type == BLOCK:
        body = node.body
        inner = 0 if body is None else sum(1 for n in body if n.type not in (INPUT, OUTPUT))
        return f"{inner} layer{'s' if inner != 1 else ''}"
    if node.type == INPUT:
        p = params or node.params
        shape = _dims(p.get("shape", ()))
        dtype = p.get("dtype", "float32")
        text = shape if dtype == "float32" else f"{shape} · {dtype}"
        return f"target · {text}" if p.get("role") == "target" else text
    if layer is None or params is None:
        return ""
    rule = _SUMMARIES.get(layer.type)
    if rule is not None:
        try:
            return rule(params)
        except (TypeError, IndexError, KeyError):  # half-validated params must not break painting
            return ""
    parts: list[str] = []
    for spec in layer.params:
        if spec.advanced or spec.name in ("num_inputs", "num_outputs"):
            continue
        value = params.get(spec.name)
        default = spec.default
        if isinstance(default, list | tuple) and isinstance(value, list | tuple):
            differs = tuple(default) != tuple(value)
        else:
            differs = value != default
        if differs:
            parts.append(f"{spec.name}={_num(value)}")
    return ", ".join(parts[:2])


def shape_text(shape: Any) -> str:
    return format_shape(shape)


def wrap(text: str, width: float, measure: Callable[[str], float], max_lines: int) -> list[str]:
    """Greedy word wrap to ``width``; the last allowed line ends with an ellipsis when text remains."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for i, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if measure(candidate) <= width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            current = ""
            rest = " ".join(words[i:])
            last = lines[-1]
            while last and measure(last + " …") > width:
                last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
            lines[-1] = (last + " …") if rest else last
            break
    if current:
        lines.append(current)
    return lines[:max_lines]
