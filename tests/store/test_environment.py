"""Environment snapshots and the reproducibility checksum (stable, sensitive, blind to key order)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from neuralforge_desktop.core.store import (
    CHECKSUM_ENVIRONMENT_KEYS,
    environment_snapshot,
    reproducibility_checksum,
    sha256_json,
)

GRAPH = {"name": "mlp", "nodes": [{"id": "fc", "type": "Linear", "params": {"out_features": 10, "bias": True}}],
         "edges": []}
CONFIG = {"lr": 0.001, "epochs": 5, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}}
ENV = {"python": "3.11.7", "torch": "2.13.0+cpu", "numpy": "2.3.5", "system": "Linux", "machine": "x86_64",
       "hostname": "box-1", "cpu_count": 16, "platform": "Linux-6.1-x86_64"}


def _checksum(graph: object = GRAPH, config: object = CONFIG, data: str = "sha256:abc", seed: int = 0,
              env: object = ENV) -> str:
    return reproducibility_checksum(graph, config, data, seed, env)  # type: ignore[arg-type]


def test_snapshot_describes_the_machine_without_importing_torch() -> None:
    probe = ("import sys\nfrom neuralforge_desktop.core.store import Store, environment_snapshot\n"
             "snap = environment_snapshot()\nprint('torch' in sys.modules, sorted(snap))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    imported, keys = out.split(" ", 1)
    assert imported == "False"
    for key in ("python", "platform", "system", "machine", "cpu_count", "hostname", "numpy", "torch", "packages"):
        assert repr(key) in keys
    snap = environment_snapshot(include_torch=False)
    assert snap["numpy"] == np.__version__ and snap["packages"]["numpy"] == np.__version__
    assert "cuda_available" not in snap
    json.dumps(snap)  # stored as JSON


def test_snapshot_with_torch_reports_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.SimpleNamespace(
        __version__="9.9.9", version=types.SimpleNamespace(cuda="12.8"),
        cuda=types.SimpleNamespace(is_available=lambda: True, device_count=lambda: 2,
                                   get_device_name=lambda i: "NVIDIA H100"),
        backends=types.SimpleNamespace(mps=types.SimpleNamespace(is_available=lambda: False)))
    monkeypatch.setitem(sys.modules, "torch", fake)
    snap = environment_snapshot()  # torch is "imported": its details are included
    assert (snap["torch"], snap["torch_cuda"], snap["cuda_available"], snap["cuda_device"]) == (
        "9.9.9", "12.8", True, "NVIDIA H100")
    assert "cuda_available" not in environment_snapshot(include_torch=False)

    def broken() -> bool:
        raise RuntimeError("driver mismatch")

    monkeypatch.setattr(fake.cuda, "is_available", broken)
    assert "driver mismatch" in environment_snapshot(include_torch=True)["cuda_error"]


def test_checksum_is_stable() -> None:
    # The documented form, spelled out independently of the implementation...
    document = {"format": "neuralforge-run-checksum/1", "graph": GRAPH, "config": CONFIG, "dataset": "sha256:abc",
                "seed": 0, "environment": {k: ENV[k] for k in ("python", "torch", "numpy", "system", "machine")}}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert _checksum() == hashlib.sha256(text.encode()).hexdigest()
    # ...and pinned: a change of the canonical form would silently make every stored checksum stale.
    assert _checksum() == "6d7adb77a1f291ded682fc8a08d9e67545a2b0ba47ca23f3c44fa7e43ccd3cb2"
    # The same in another process with another string-hash seed (set and dict ordering must not leak in).
    probe = ("from neuralforge_desktop.core.store import reproducibility_checksum as r\n"
             f"print(r({GRAPH!r}, {CONFIG!r}, 'sha256:abc', 0, {ENV!r}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "123"}).stdout.strip()
    assert out == _checksum()


def test_checksum_ignores_key_order_formatting_and_unlisted_environment_keys() -> None:
    reordered_graph = json.loads(json.dumps(GRAPH, sort_keys=True))
    reordered_graph = dict(reversed(list(reordered_graph.items())))
    reordered_config = {"optimizer": {"betas": (0.9, 0.999), "name": "adam"}, "epochs": 5, "lr": 0.001}
    assert _checksum(reordered_graph, reordered_config) == _checksum()
    assert _checksum(json.dumps(GRAPH, indent=4)) == _checksum()  # a JSON string, any formatting
    other_host = {**ENV, "hostname": "box-2", "cpu_count": 4, "platform": "Linux-6.9-x86_64", "extra": 1}
    assert _checksum(env=other_host) == _checksum()
    assert _checksum(config={**CONFIG, "lr": np.float64(0.001)}) == _checksum()
    assert _checksum(seed=np.int64(0)) == _checksum()  # type: ignore[arg-type]


@pytest.mark.parametrize("change", [
    {"seed": 1},
    {"config": {**CONFIG, "lr": 0.002}},
    {"config": {**CONFIG, "epochs": 5.0}},  # int vs float: configs are compared as written
    {"config": {**CONFIG, "optimizer": {"name": "adam", "betas": [0.9, 0.99]}}},
    {"graph": {**GRAPH, "nodes": [{**GRAPH["nodes"][0], "params": {"out_features": 11, "bias": True}}]}},
    {"data": "sha256:abd"},
    {"env": {**ENV, "torch": "2.14.0"}},
    {"env": {**ENV, "python": "3.12.0"}},
    {"env": {**ENV, "numpy": "2.4.0"}},
    {"env": {**ENV, "machine": "arm64"}},
    {"env": {k: v for k, v in ENV.items() if k != "torch"}},
])
def test_checksum_changes_with_anything_that_decides_the_result(change: dict) -> None:
    assert _checksum(**change) != _checksum()


def test_checksum_covers_the_documented_environment_keys_only() -> None:
    assert CHECKSUM_ENVIRONMENT_KEYS == ("python", "torch", "numpy", "system", "machine")
    assert "hostname" not in CHECKSUM_ENVIRONMENT_KEYS
    with pytest.raises(TypeError):
        _checksum(seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _checksum(config={"x": object()})


def test_sha256_json_is_canonical(tmp_path: Path) -> None:
    assert sha256_json({"b": 1, "a": [1, 2]}) == sha256_json('{"a": [1, 2], "b": 1}') == sha256_json(
        {"a": (1, 2), "b": 1})
    assert sha256_json({"p": tmp_path / "x", "s": {3, 1}}) == sha256_json({"p": (tmp_path / "x").as_posix(),
                                                                            "s": [1, 3]})
    assert sha256_json({"a": 1}) != sha256_json({"a": 2})
