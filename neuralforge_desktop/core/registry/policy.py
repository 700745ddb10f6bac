"""Promotion policies: which gates a version must pass before production, read from YAML.

::

    require_approval: true          # production also needs an approval of the version
    checks:
      metrics:                      # re-evaluated on the run's validation split
        acc: {min: 0.80}
        loss: {max: 1.5}
      export_parity: {max_abs_diff: 1.0e-4, min_top1_agreement: 0.98, samples: 64}  # the latter for an
                                    # optimised version (quantised …) against its parent's float model
      size: {max_mb: 5}             # of the ONNX file, 1 MB = 2^20 bytes (as export reports count)
      latency: {max_ms: 20, runs: 50}
      targets: [tflite, coreml]     # the graph's layers must be exportable there
      documents: [model_card]       # a complete, current model card satisfies this (else an attached file)
      model_card:                   # the card's human sections that must be written before production
        required: [intended_use, limitations, ethical_considerations]

A key that is not known (a misspelt check, a threshold named ``minimum``) is refused by name: a policy that
silently skipped a check would pass versions it was written to stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError

CHECKS = ("metrics", "export_parity", "size", "latency", "targets", "documents", "model_card")
_TOP_KEYS = ("name", "description", "require_approval", "checks")
_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    "export_parity": {"max_abs_diff": (int, float), "min_top1_agreement": (int, float), "samples": (int,)},
    "size": {"max_mb": (int, float)},
    "latency": {"max_ms": (int, float), "runs": (int,), "batch": (int,)},
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "export_parity": {"max_abs_diff": 1e-4, "min_top1_agreement": 0.98, "samples": 64},
    "latency": {"runs": 50, "batch": 1},
}
_REQUIRED = {"size": "max_mb", "latency": "max_ms"}
_BOUNDS = ("min", "max")


class PolicyError(UserError):
    """A policy that cannot be used: the gate cannot run (exit status 2)."""

    status = 2


@dataclass(frozen=True)
class Policy:
    checks: dict[str, Any]
    require_approval: bool = False
    name: str = ""
    source: str = ""  # the file it came from, for messages
    description: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "require_approval": self.require_approval, "checks": self.checks,
                "source": self.source}


def load_policy(path: str | Path) -> Policy:
    import yaml  # type: ignore[import-untyped]

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_policy(data, str(path))


def parse_policy(data: Any, source: str = "policy") -> Policy:
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a mapping with 'checks' (and optionally 'require_approval')")
    _unknown(data, _TOP_KEYS, f"{source}: unknown key", "keys")
    approval = data.get("require_approval", False)
    if not isinstance(approval, bool):
        raise PolicyError(f"{source}: require_approval must be true or false, not {approval!r}")
    raw = data.get("checks") or {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: 'checks' must be a mapping of check names ({', '.join(CHECKS)})")
    _unknown(raw, CHECKS, f"{source}: unknown check", "checks")
    checks: dict[str, Any] = {}
    for name, value in raw.items():
        where = f"{source}: checks.{name}"
        if name == "metrics":
            checks[name] = _metrics(value, where)
        elif name in ("targets", "documents"):
            checks[name] = _names(value, where)
        elif name == "model_card":
            checks[name] = _model_card(value, where)
        else:
            checks[name] = _settings(name, value, where)
    return Policy(checks, approval, str(data.get("name") or ""), source, str(data.get("description") or ""))


def _unknown(data: dict[str, Any], known: tuple[str, ...], what: str, plural: str) -> None:
    for key in data:
        if key not in known:
            raise PolicyError(f"{what} {key!r} (known {plural}: {', '.join(known)})")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PolicyError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _metrics(value: Any, where: str) -> dict[str, dict[str, float]]:
    if not isinstance(value, dict) or not value:
        raise PolicyError(f"{where}: expected metric names with bounds, e.g. acc: {{min: 0.9}}")
    result = {}
    for metric, bounds in value.items():
        if not isinstance(bounds, dict) or not bounds:
            raise PolicyError(f"{where}.{metric}: expected {{min: …}} and/or {{max: …}}, got {bounds!r}")
        _unknown(bounds, _BOUNDS, f"{where}.{metric}: unknown bound", "bounds")
        result[str(metric)] = {k: _number(v, f"{where}.{metric}.{k}") for k, v in bounds.items()}
    return result


def _names(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{where}: expected a list of names, got {value!r}")
    if where.endswith("targets"):
        from neuralforge_desktop.core.exporters.registry import formats

        for target in value:
            if target not in formats():
                raise PolicyError(f"{where}: unknown target {target!r} (known targets: {', '.join(formats())})")
    return list(value)


def _model_card(value: Any, where: str) -> dict[str, list[str]]:
    """``{required: [field, …]}``; empty (or ``{}``) requires the default fields."""
    from neuralforge_desktop.core.cards.fields import DEFAULT_REQUIRED, FIELD_KEYS

    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected a mapping with 'required' (fields: {', '.join(FIELD_KEYS)})")
    _unknown(value, ("required",), f"{where}: unknown key", "keys")
    required = _names(value["required"], f"{where}.required") if "required" in value else list(DEFAULT_REQUIRED)
    for key in required:
        if key not in FIELD_KEYS:
            raise PolicyError(f"{where}.required: unknown model card field {key!r} (fields: {', '.join(FIELD_KEYS)})")
    return {"required": required}


def _settings(name: str, value: Any, where: str) -> dict[str, float | int]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected a mapping of {', '.join(_KEYS[name])}")
    _unknown(value, tuple(_KEYS[name]), f"{where}: unknown key", "keys")
    if _REQUIRED.get(name) and _REQUIRED[name] not in value:
        raise PolicyError(f"{where}: needs {_REQUIRED[name]}")
    result: dict[str, float | int] = dict(_DEFAULTS.get(name, {}))
    for key, given in value.items():
        if int in _KEYS[name][key] and float not in _KEYS[name][key]:
            if isinstance(given, bool) or not isinstance(given, int) or given < 1:
                raise PolicyError(f"{where}.{key}: expected a whole number of at least 1, got {given!r}")
            result[key] = given
        else:
            number = _number(given, f"{where}.{key}")
            if number < 0:
                raise PolicyError(f"{where}.{key}: must not be negative, got {given!r}")
            if key == "min_top1_agreement" and number > 1:
                raise PolicyError(f"{where}.{key}: a share of examples, at most 1, got {given!r}")
            result[key] = number
    return result
