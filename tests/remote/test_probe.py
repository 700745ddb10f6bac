"""Probing the real sshd host (this machine, seen over SSH): its OS, CPUs, Pythons, free disk and a NeuralForge
environment are read and kept in the host list. No GPU can exist on this machine, so the GPU findings are "no
NVIDIA GPU", and the nvidia-smi parser is checked on lines captured from real GPU machines."""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import sys

import pytest

from neuralforge_desktop import __version__
from neuralforge_desktop.cli.hosts_cmd import describe_probe
from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.remote.probe import parse_nvidia_smi, probe_and_save, probe_host
from neuralforge_desktop.core.remote.ssh import Connection


def test_probe_reads_the_host_and_keeps_its_findings(ssh_host, tmp_path):
    with Connection.open(ssh_host) as conn:
        found = probe_and_save(conn, HostRegistry())
    assert found["kernel"].startswith(f"Linux {platform.release()}")
    assert found["os"] and found["os"] != "unknown"
    assert found["cpus"] == os.cpu_count()
    assert found["memory_bytes"] > 2**28
    elevens = [p for p in found["pythons"] if p["command"] == "python3.11"]
    assert elevens and elevens[0]["version"].startswith("3.11.")
    assert os.path.exists(elevens[0]["executable"])
    # the work dir does not exist yet: the free space is that of the nearest folder above it
    disk = found["disk"]
    assert disk["path"] == ssh_host.workdir
    here = shutil.disk_usage(tmp_path)
    assert disk["total_bytes"] == here.total
    assert abs(disk["free_bytes"] - here.free) < 0.05 * here.total
    assert found["neuralforge_env"] is None  # not bootstrapped
    assert HostRegistry().get(ssh_host.name).probe == found


def test_no_gpu_here_is_said_plainly(ssh_host):
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has nvidia-smi: the no-GPU finding cannot be checked here")
    with Connection.open(ssh_host) as conn:
        found = probe_host(conn)
    assert found["gpus"] == []
    assert found["gpu_note"].startswith("no NVIDIA GPU")
    assert any(line.startswith("gpus     no NVIDIA GPU") for line in describe_probe(found))


def test_the_environment_of_a_bootstrapped_host_is_read(ssh_host):
    import torch

    host = HostRegistry().update(dataclasses.replace(ssh_host, python=sys.executable))
    with Connection.open(host) as conn:
        env = probe_host(conn)["neuralforge_env"]
    assert env["neuralforge"] == __version__
    assert env["torch"] == torch.__version__
    assert env["cuda_available"] is torch.cuda.is_available()
    assert env["python_path"] == sys.executable
    broken = HostRegistry().update(dataclasses.replace(ssh_host, python=str(ssh_host.workdir) + "/nope/python"))
    with Connection.open(broken) as conn:
        env = probe_host(conn)["neuralforge_env"]
    assert "nope/python failed" in env["error"]


# Lines as `nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu --format=csv,noheader,nounits`
# printed them on real machines (a GPU cannot exist on this test machine).
CAPTURED = """\
NVIDIA H100 80GB HBM3, 81559, 1024, 37
NVIDIA A100-SXM4-40GB, 40960, 0, 0
Tesla T4, 15360, [N/A], [Not Supported]
"""


def test_nvidia_smi_lines_are_parsed():
    gpus = parse_nvidia_smi(CAPTURED + "\n")
    assert gpus[0] == {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_total_mib": 81559,
                       "memory_used_mib": 1024, "utilization_pct": 37}
    assert [g["name"] for g in gpus] == ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB", "Tesla T4"]
    assert gpus[2]["memory_used_mib"] is None and gpus[2]["utilization_pct"] is None
    assert parse_nvidia_smi("Graphics, Device, 2048, 512, 5")[0]["name"] == "Graphics, Device"
    lines = describe_probe({"gpus": gpus, "disk": {}}, "box")
    assert "gpu 0    NVIDIA H100 80GB HBM3, 79.6 GiB (1.0 GiB used), 37% busy" in lines
    assert "gpu 2    Tesla T4, 15.0 GiB (? MiB used), ?% busy" in lines
