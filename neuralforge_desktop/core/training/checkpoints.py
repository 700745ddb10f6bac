"""Checkpoints: weights in safetensors, everything else needed to resume exactly (optimizer, scheduler,
RNG states, counters) in a torch file beside them. Both are written atomically; ``latest.json`` names the
newest complete pair, so a kill mid-write leaves the previous checkpoint usable."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.ir.atomic import write_bytes_atomic, write_text_atomic


def save_checkpoint(folder: Path, tag: str, model: Any, state: dict[str, Any]) -> Path:
    import torch
    from safetensors.torch import save as save_tensors

    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in _unique_state(model).items()}
    write_bytes_atomic(folder / f"{tag}.safetensors", save_tensors(weights))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes_atomic(folder / f"{tag}.state.pt", buffer.getvalue())
    write_text_atomic(folder / "latest.json", json.dumps({"tag": tag, "epoch": state.get("epoch"),
                                                         "step": state.get("global_step")}))
    return folder / f"{tag}.safetensors"


def _unique_state(model: Any) -> dict[str, Any]:
    """state_dict without the second name of tied tensors (safetensors refuses shared storage)."""
    seen: dict[int, str] = {}
    result = {}
    for key, value in model.state_dict(keep_vars=False).items():
        ptr = value.data_ptr() if value.numel() else id(value)
        if ptr in seen and value.numel():
            continue
        seen[ptr] = key
        result[key] = value
    return result


def latest_checkpoint(folder: Path) -> str | None:
    marker = folder / "latest.json"
    if not marker.exists():
        return None
    tag = json.loads(marker.read_text())["tag"]
    if (folder / f"{tag}.safetensors").exists() and (folder / f"{tag}.state.pt").exists():
        return str(tag)
    return None


def load_checkpoint(folder: Path, tag: str, model: Any, device: Any) -> dict[str, Any]:
    import torch
    from safetensors.torch import load_file

    weights = load_file(os.fspath(folder / f"{tag}.safetensors"), device=str(device))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = {k for k in missing if _is_tied(model, k)}
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"checkpoint {tag} does not fit this model: missing {sorted(set(missing) - tied)}, "
                           f"unexpected {sorted(unexpected)}")
    return torch.load(folder / f"{tag}.state.pt", map_location="cpu", weights_only=False)


def _is_tied(model: Any, key: str) -> bool:
    state = model.state_dict()
    ptr = state[key].data_ptr()
    return any(k != key and v.data_ptr() == ptr for k, v in state.items())
