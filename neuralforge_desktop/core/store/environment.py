"""Where a run ran (``environment_snapshot``) and a fingerprint of everything that decides its result
(``reproducibility_checksum``).

Two runs with the same checksum were set up identically: same graph, same training config, same data, same
seed, and the same numerics stack. The checksum covers only the environment keys in
``CHECKSUM_ENVIRONMENT_KEYS`` — the Python, torch and numpy versions and the platform (OS family and CPU
architecture, which change floating-point results) — and deliberately not the hostname, CPU count, GPU
name or the kernel release: rerunning on a colleague's identical setup must give the same checksum.

torch is never imported here unless asked (``include_torch=True``): importing it takes seconds, and the
store is used by the CLI and the UI, which may never touch torch. Its *version* comes from the installed
package metadata either way, so the checksum does not depend on whether torch happened to be imported.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import platform
import socket
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import PurePath
from typing import Any

# Distribution names as pip knows them; the snapshot records whichever are installed.
KEY_PACKAGES = (
    "neuralforge-desktop", "numpy", "torch", "platformdirs", "safetensors", "sqlite-utils", "onnx", "onnxruntime",
    "PySide6-Essentials", "pyqtgraph", "optuna",
)
CHECKSUM_ENVIRONMENT_KEYS = ("python", "torch", "numpy", "system", "machine")
# Variables that change numerics or determinism; recorded when set, never part of the checksum.
_ENV_VARS = ("CUBLAS_WORKSPACE_CONFIG", "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "CUDA_VISIBLE_DEVICES")
CHECKSUM_FORMAT = "neuralforge-run-checksum/1"


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def environment_snapshot(include_torch: bool | None = None) -> dict[str, Any]:
    """Describe this machine and interpreter as a JSON-able dict.

    ``include_torch``: ``None`` adds torch's runtime details (CUDA availability, device) only if torch is
    already imported; ``True`` imports it; ``False`` never touches it. The torch version is always there
    (from package metadata) when torch is installed.
    """
    import numpy as np

    packages = {name: v for name in KEY_PACKAGES if (v := _version(name)) is not None}
    snapshot: dict[str, Any] = {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "hostname": socket.gethostname(),
        "numpy": np.__version__,
        "torch": packages.get("torch"),
        "packages": packages,
        "env": {name: os.environ[name] for name in _ENV_VARS if name in os.environ},
    }
    if include_torch or (include_torch is None and "torch" in sys.modules):
        snapshot.update(_torch_details())
    return snapshot


def _torch_details() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {}
    details: dict[str, Any] = {"torch": torch.__version__, "torch_cuda": torch.version.cuda}
    try:
        available = bool(torch.cuda.is_available())
        details["cuda_available"] = available
        if available:
            details["cuda_device_count"] = torch.cuda.device_count()
            details["cuda_device"] = torch.cuda.get_device_name(0)
        mps = getattr(torch.backends, "mps", None)
        details["mps_available"] = bool(mps is not None and mps.is_available())
    except Exception as error:  # a broken driver must not stop a run from being recorded
        details["cuda_error"] = f"{type(error).__name__}: {error}"
    return details


def _json_default(value: Any) -> Any:
    np = sys.modules.get("numpy")  # not imported: no value can be a numpy one, and listing need not load it
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if np is not None and isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, set | frozenset):
        return sorted(value, key=canonical_json)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable: {value!r}")


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no whitespace, UTF-8 text (``ensure_ascii`` off), tuples as lists,
    numpy scalars as Python numbers. Floats use Python's shortest round-trip repr, so equal floats match."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def sha256_json(value: Any) -> str:
    """sha256 of :func:`canonical_json`; a JSON string is parsed first, so its formatting does not count."""
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def reproducibility_checksum(graph_json: Mapping[str, Any] | str, config: Mapping[str, Any], dataset_fingerprint: str,
                             seed: int, environment: Mapping[str, Any]) -> str:
    """sha256 (hex) over a canonical JSON document of the graph, config, dataset fingerprint, seed and the
    ``CHECKSUM_ENVIRONMENT_KEYS`` of ``environment`` (a missing key counts as null).

    Key order and JSON formatting do not change it; any value that differs does, including int vs float
    (``1`` vs ``1.0``), since configs are compared as written.
    """
    graph = json.loads(graph_json) if isinstance(graph_json, str) else graph_json
    document = {
        "format": CHECKSUM_FORMAT,
        "graph": graph,
        "config": dict(config),
        "dataset": str(dataset_fingerprint),
        "seed": operator.index(seed),
        "environment": {key: environment.get(key) for key in CHECKSUM_ENVIRONMENT_KEYS},
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


_GIT_TIMEOUT_S = 2.0  # a hung git (a network filesystem, a lock) must not hold up starting a run


def _git(folder: PurePath, *args: str) -> str | None:
    import subprocess

    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                              timeout=_GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):  # no git installed, or it timed out
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source_snapshot(graph_file: str | os.PathLike[str]) -> dict[str, Any]:
    """Where a run's graph came from: the file, the NeuralForge version that trained it and, when the file lives
    in a git repository, the commit checked out there (and whether the working tree had uncommitted changes).

    Two short ``git`` calls guarded by a timeout; without git, or outside a repository, the git keys are
    absent rather than guessed."""
    path = os.path.abspath(os.fspath(graph_file))
    snapshot: dict[str, Any] = {"file": path, "neuralforge": _version("neuralforge-desktop")}
    folder = PurePath(os.path.dirname(path))
    commit = _git(folder, "rev-parse", "HEAD")
    if commit:
        snapshot["git_commit"] = commit
        snapshot["git_root"] = _git(folder, "rev-parse", "--show-toplevel")
        status = _git(folder, "status", "--porcelain", "--untracked-files=no")
        if status is not None:
            snapshot["git_dirty"] = bool(status)
    return snapshot
