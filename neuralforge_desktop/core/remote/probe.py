"""What a host offers: its OS and kernel, CPUs, memory, the Pythons on its PATH, the NeuralForge environment made
by ``hosts bootstrap`` (NeuralForge, torch and CUDA versions, whether torch sees a GPU), its NVIDIA GPUs (from
``nvidia-smi``) and the free disk where its work dir lives.

Everything is read with commands that are constants of ours; the only values of the user's that reach the host
(the work dir, the Python's path) travel as quoted arguments, never pasted into a script."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from typing import Any

from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.remote.ssh import Connection

# Versions looked for, newest first; ``python3`` and ``python`` show what the bare names mean there.
PYTHON_NAMES = ("python3.13", "python3.12", "python3.11", "python3.10", "python3", "python")

# What each Python found says of itself: ``version<TAB>real path`` (python3 and python3.11 are often one file).
PYTHON_INFO = "import os, platform, sys; print(platform.python_version() + '\\t' + os.path.realpath(sys.executable))"

# One shell script, a constant (the Python names are its arguments): ``key<TAB>value`` lines.
SYSTEM_SCRIPT = r"""
PYTHON_INFO=$1; shift
printf 'kernel\t%s\n' "$(uname -srm 2>/dev/null)"
if [ -r /etc/os-release ]; then
  printf 'os\t%s\n' "$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | head -n 1)"
fi
printf 'cpus\t%s\n' "$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null)"
if [ -r /proc/meminfo ]; then
  printf 'mem_kib\t%s\n' "$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
fi
for name in "$@"; do
  found=$(command -v "$name" 2>/dev/null) || continue
  info=$("$found" -I -c "$PYTHON_INFO" 2>/dev/null) || continue
  printf 'python\t%s\t%s\n' "$name" "$info"
done
"""

# Run by the bootstrapped environment's own Python (``-I``: nothing from the working directory or PYTHONPATH).
ENV_CODE = """\
import json, os, sys
out = {"python": sys.version.split()[0], "executable": sys.executable, "prefix": sys.prefix}
try:
    import neuralforge_desktop
    out["neuralforge"] = neuralforge_desktop.__version__
    out["neuralforge_location"] = neuralforge_desktop.__file__
    # imported from this environment's own site-packages, not from a folder a .pth file or PYTHONPATH added
    out["neuralforge_in_env"] = os.path.realpath(neuralforge_desktop.__file__).startswith(
        os.path.realpath(sys.prefix) + os.sep)
except Exception as exc:
    out["neuralforge_error"] = type(exc).__name__ + ": " + str(exc)
try:
    import torch
    out["torch"] = torch.__version__
    out["cuda"] = torch.version.cuda
    out["cuda_available"] = bool(torch.cuda.is_available())
    out["cuda_devices"] = torch.cuda.device_count() if out["cuda_available"] else 0
except Exception as exc:
    out["torch_error"] = type(exc).__name__ + ": " + str(exc)
print(json.dumps(out))
"""

NVIDIA_SMI = ["nvidia-smi", "--query-gpu=name,memory.total,memory.used,utilization.gpu",
              "--format=csv,noheader,nounits"]
NO_GPU = "no NVIDIA GPU"

# The nearest folder of PATH ($1) that exists (the work dir may not yet), then its file system's free space.
DISK_SCRIPT = 'p=$1; while [ ! -e "$p" ] && [ "$p" != / ] && [ "$p" != . ]; do p=$(dirname -- "$p"); done; ' \
              'df -Pk -- "$p"'
_DF_LINE = re.compile(r"\s(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(.+)$")


def probe_host(conn: Connection) -> dict[str, Any]:
    """What ``conn``'s host offers, as plain JSON-able data (see the module's docstring)."""
    started = time.monotonic()
    result: dict[str, Any] = {"probed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    result.update(_system(conn))
    workdir = conn.expand(conn.host.workdir)
    result["workdir"] = workdir
    result["disk"] = _disk(conn, workdir)
    result["neuralforge_env"] = environment_info(conn, conn.host.python) if conn.host.python else None
    gpus, note = _gpus(conn)
    result["gpus"] = gpus
    result["gpu_note"] = note
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def probe_and_save(conn: Connection, registry: HostRegistry) -> dict[str, Any]:
    """:func:`probe_host`, its findings kept in the host's entry of ``registry`` (``Host.probe``)."""
    found = probe_host(conn)
    current = registry.get(conn.host.name)
    registry.update(dataclasses.replace(current, probe=found))
    return found


def list_pythons(conn: Connection) -> list[dict[str, str]]:
    """The Pythons on the host's PATH: ``{"command", "version", "executable"}`` each, newest name first."""
    return list(_system(conn)["pythons"])


def _system(conn: Connection) -> dict[str, Any]:
    out = conn.check(["sh", "-c", SYSTEM_SCRIPT, "sh", PYTHON_INFO, *PYTHON_NAMES], "reading the system",
                     timeout=60)
    info: dict[str, Any] = {"os": "", "kernel": "", "cpus": None, "memory_bytes": None, "pythons": []}
    seen: set[str] = set()
    for line in out.splitlines():
        key, _, value = line.partition("\t")
        if key == "os":
            info["os"] = value.strip().strip("\"'")
        elif key == "kernel":
            info["kernel"] = value.strip()
        elif key == "cpus" and value.strip().isdigit():
            info["cpus"] = int(value)
        elif key == "mem_kib" and value.strip().isdigit():
            info["memory_bytes"] = int(value) * 1024
        elif key == "python":
            name, _, rest = value.partition("\t")
            version, _, executable = rest.partition("\t")
            if executable in seen and name in ("python3", "python"):
                continue  # the same interpreter as a versioned name found above
            seen.add(executable)
            info["pythons"].append({"command": name, "version": version, "executable": executable})
    if not info["os"]:
        info["os"] = info["kernel"].split(" ")[0] if info["kernel"] else "unknown"
    return info


def environment_info(conn: Connection, python: str) -> dict[str, Any]:
    """What the NeuralForge environment at ``python`` (on the host) holds; ``{"error": …}`` when it cannot run."""
    result = conn.run([python, "-I", "-c", ENV_CODE], timeout=180)
    if not result.ok:
        tail = (result.stderr.strip() or result.stdout.strip())[-600:]
        return {"python_path": python, "error": f"{python} failed (exit {result.status}): {tail}"}
    try:
        data = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"python_path": python, "error": f"{python} printed no report: {result.stdout[-300:]!r}"}
    data["python_path"] = python
    return dict(data)


def _gpus(conn: Connection) -> tuple[list[dict[str, Any]], str]:
    result = conn.run(NVIDIA_SMI, timeout=60)
    if result.status == 127 or "not found" in result.stderr:
        return [], f"{NO_GPU} (nvidia-smi is not installed)"
    if not result.ok:
        tail = (result.stderr.strip() or result.stdout.strip()).splitlines()
        return [], f"{NO_GPU} usable: nvidia-smi failed ({tail[0] if tail else 'exit ' + str(result.status)})"
    gpus = parse_nvidia_smi(result.stdout)
    return gpus, (f"{len(gpus)} NVIDIA GPU{'s' if len(gpus) != 1 else ''}" if gpus else f"{NO_GPU} (none listed)")


def parse_nvidia_smi(text: str) -> list[dict[str, Any]]:
    """The GPUs in ``nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu
    --format=csv,noheader,nounits`` output (memory in MiB; a value it cannot read, such as ``[N/A]``, is None)."""
    gpus: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        # The name may hold commas; the three numbers are always the last three fields.
        parts = [p.strip() for p in line.rsplit(",", 3)]
        if len(parts) != 4:
            continue
        name, total, used, util = parts
        gpus.append({"index": len(gpus), "name": name, "memory_total_mib": _number(total),
                     "memory_used_mib": _number(used), "utilization_pct": _number(util)})
    return gpus


def _number(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        return None


def _disk(conn: Connection, path: str) -> dict[str, Any]:
    result = conn.run(["sh", "-c", DISK_SCRIPT, "sh", path], timeout=60)
    lines = result.stdout.strip().splitlines()
    match = _DF_LINE.search(lines[-1]) if result.ok and lines else None
    if match is None:
        return {"path": path, "error": (result.stderr.strip() or "df printed nothing")[-300:]}
    total, used, free = (int(match.group(i)) * 1024 for i in (1, 2, 3))
    return {"path": path, "mount": match.group(5), "total_bytes": total, "used_bytes": used, "free_bytes": free}

