"""Attention maps of transformer models, captured with forward hooks on every ``nn.MultiheadAttention``.

The generated code (and torch's ``TransformerEncoderLayer``) call attention with ``need_weights=False``, so a
pre-hook asks each call for its per-head weights instead, and a forward hook keeps them. Gradients stay enabled
while capturing: torch's fused inference path, which skips the module's Python forward (and so the hooks), is
only taken without them.
"""

from __future__ import annotations

from typing import Any

from neuralforge_desktop.core.explain.subject import Subject, logits_of


def attention_maps(subject: Subject, inputs: list[Any]) -> tuple[Any, Any]:
    """(maps, logits): maps is layers × N × heads × T × S (numpy), in the order the layers ran."""
    import numpy as np
    import torch

    captured: list[Any] = []

    def ask_for_weights(_module: Any, args: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

    def keep(_module: Any, _args: Any, output: Any) -> None:
        if isinstance(output, tuple) and len(output) > 1 and output[1] is not None:
            captured.append(output[1].detach())

    handles = []
    for module in subject.model.modules():
        if isinstance(module, torch.nn.MultiheadAttention):
            handles.append(module.register_forward_pre_hook(ask_for_weights, with_kwargs=True))
            handles.append(module.register_forward_hook(keep))
    try:
        with torch.enable_grad():
            out = subject.model(*(torch.as_tensor(np.asarray(a)) for a in inputs))
    finally:
        for handle in handles:
            handle.remove()
    logits = logits_of(out, list(getattr(subject.model, "output_names", []))).detach()
    return np.stack([c.numpy() for c in captured]), logits.numpy()


def real_tokens(subject: Subject, inputs: list[Any]) -> Any:
    """Which positions of the (single) example are real tokens: the attention mask's 1s; else, with a word
    vocabulary that pads with id 0, the nonzero ids; else all (a language model's sequences are full)."""
    import numpy as np

    names = list(getattr(subject.model, "input_names", []))
    if "attention_mask" in names:
        return np.asarray(inputs[names.index("attention_mask")][0]) != 0
    ids = np.asarray(inputs[0][0])
    if subject.vocab and subject.vocab[0] == "<pad>":
        return ids != 0
    return np.ones(ids.shape, dtype=bool)


def token_words(subject: Subject, ids: Any) -> list[str]:
    vocab = subject.vocab or []
    return [vocab[int(i)] if 0 <= int(i) < len(vocab) else str(int(i)) for i in ids]
