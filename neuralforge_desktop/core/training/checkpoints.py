"""Checkpoints: the weights in safetensors, and everything else needed to resume exactly (optimizer, scheduler
and scaler state, RNG states, the loop's counters) as a JSON file whose tensors live in a second safetensors
file. All are written atomically; ``latest.json`` names the newest complete set, so a kill mid-write leaves the
previous checkpoint usable.

Nothing in a checkpoint is unpickled: a checkpoint may come from anyone (a shared run folder, a download), and a
pickle runs code when it is loaded, even through ``torch.load(weights_only=True)``'s allow-list, which has had
bypasses. JSON and safetensors can only ever produce numbers, strings, lists, dicts and tensors."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.atomic import write_bytes_atomic, write_text_atomic

STATE_FORMAT = "neuralforge-checkpoint-state/1"
_TAG = re.compile(r"[A-Za-z0-9_-]{1,64}")  # epoch-0003, step-00000120, best: never a path
_KEY_TYPES = (str, int, float, bool, type(None))


class CheckpointError(UserError):
    """A checkpoint that cannot be used: unreadable, damaged, from an older version, or for another model."""


def save_checkpoint(folder: Path, tag: str, model: Any, state: dict[str, Any]) -> Path:
    from safetensors.torch import save as save_tensors

    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in _unique_state(model).items()}
    write_bytes_atomic(folder / f"{tag}.safetensors", save_tensors(weights))
    tensors: dict[str, Any] = {}
    structure = _encode(state, tensors, set())
    write_bytes_atomic(folder / f"{tag}.state.safetensors", save_tensors(tensors))
    write_text_atomic(folder / f"{tag}.state.json", json.dumps({"format": STATE_FORMAT, "state": structure}))
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
    """The tag ``latest.json`` names, if its weights and its state (in any format) are there."""
    marker = folder / "latest.json"
    if not marker.exists():
        return None
    try:
        tag = json.loads(marker.read_text(encoding="utf-8"))["tag"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise CheckpointError(f"{marker}: not a checkpoint marker (expected JSON naming the latest tag)") from None
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise CheckpointError(f"{marker}: names {tag!r}, which is not a checkpoint tag")
    state_there = (folder / f"{tag}.state.json").exists() or (folder / f"{tag}.state.pt").exists()
    return tag if (folder / f"{tag}.safetensors").exists() and state_there else None


def load_checkpoint(folder: Path, tag: str, model: Any, device: Any) -> dict[str, Any]:
    """Load the weights into ``model``; return the rest of the saved state (tensors on the CPU)."""
    from safetensors.torch import load_file

    state_file = folder / f"{tag}.state.json"
    if not state_file.exists() and (folder / f"{tag}.state.pt").exists():
        raise CheckpointError(
            f"{folder / f'{tag}.state.pt'}: this checkpoint was written by an older version of NeuralForge as a "
            "pickle, which can run code when it is loaded, so it is not loaded. Its weights "
            f"({tag}.safetensors) are still readable; start a new run to train further.")
    weights_file = folder / f"{tag}.safetensors"
    try:
        weights = load_file(os.fspath(weights_file), device=str(device))
    except Exception as exc:  # safetensors reports a damaged file in several ways; all mean "not usable"
        raise CheckpointError(f"{weights_file}: not a readable safetensors file ({exc})") from None
    try:
        missing, unexpected = model.load_state_dict(weights, strict=False)
    except RuntimeError as exc:  # shapes that do not fit
        raise CheckpointError(f"{weights_file}: does not fit this model ({exc})") from None
    tied = {k for k in missing if _is_tied(model, k)}
    if set(missing) - tied or unexpected:
        raise CheckpointError(f"{weights_file}: does not fit this model: missing {sorted(set(missing) - tied)}, "
                              f"unexpected {sorted(unexpected)}")
    return load_state(folder, tag)


def load_state(folder: Path, tag: str) -> dict[str, Any]:
    """The resume state saved beside the weights: JSON, with tensors by name from the state safetensors."""
    from safetensors.torch import load_file

    state_file, tensor_file = folder / f"{tag}.state.json", folder / f"{tag}.state.safetensors"
    try:
        document = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{state_file}: not a readable checkpoint state ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{state_file}: not a checkpoint state of this version (format {STATE_FORMAT})")
    try:
        tensors = load_file(os.fspath(tensor_file), device="cpu")
    except Exception as exc:  # missing, truncated or not safetensors at all
        raise CheckpointError(f"{tensor_file}: not a readable safetensors file ({exc})") from None
    try:
        state = _decode(document.get("state"), tensors)
    except (_Malformed, RecursionError) as exc:
        raise CheckpointError(f"{state_file}: damaged checkpoint state ({exc})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{state_file}: damaged checkpoint state (not a mapping)")
    return state


# -- the state as JSON -------------------------------------------------------------------------------------------
# JSON has no tuples, no non-string keys and no tensors, and optimizer state has all three, so containers are
# tagged: {"tuple": [...]}, {"dict": [[key, value], ...]}, {"tensor": NAME}. Lists, numbers, strings, booleans and
# null are themselves. Python writes floats with the shortest repr that reads back to the same bits, so the
# round trip is exact (NaN and infinities included), as exact resume needs.

class _Malformed(ValueError):
    pass


def _encode(value: Any, tensors: dict[str, Any], storages: set[int]) -> Any:
    import torch

    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_encode(v, tensors, storages) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, tensors, storages) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[_encode(k, tensors, storages), _encode(v, tensors, storages)] for k, v in value.items()]}
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        if tensor.numel() and tensor.untyped_storage().data_ptr() in storages:
            tensor = tensor.clone()  # safetensors refuses two entries on one storage
        storages.add(tensor.untyped_storage().data_ptr())
        name = f"t{len(tensors)}"
        tensors[name] = tensor
        return {"tensor": name}
    raise TypeError(f"checkpoint state cannot hold a {type(value).__name__}")  # ours to fix: a new kind of state


def _decode(value: Any, tensors: dict[str, Any]) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        ((kind, body),) = value.items()
        if kind == "tuple" and isinstance(body, list):
            return tuple(_decode(v, tensors) for v in body)
        if kind == "dict" and isinstance(body, list):
            result = {}
            for pair in body:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], _KEY_TYPES)):
                    raise _Malformed(f"a mapping entry is {str(pair)[:80]}")
                result[pair[0]] = _decode(pair[1], tensors)
            return result
        if kind == "tensor" and isinstance(body, str):
            if body not in tensors:
                raise _Malformed(f"it names a tensor {body[:80]!r} that the state file does not hold")
            return tensors[body]
    raise _Malformed(f"unexpected value {str(value)[:80]}")


def _is_tied(model: Any, key: str) -> bool:
    state = model.state_dict()
    ptr = state[key].data_ptr()
    return any(k != key and v.data_ptr() == ptr for k, v in state.items())
