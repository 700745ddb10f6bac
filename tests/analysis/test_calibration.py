"""The CPU latency profile: measured robustly, stamped with when and under what load, measured again when it
was taken on a busy machine and the machine is idle now, and on demand with `neuralforge calibrate`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.analysis import devices


@pytest.fixture(autouse=True)
def _own_profile_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test measures into its own file, never the user's data directory."""
    path = tmp_path / "cpu_profile.json"
    monkeypatch.setattr(devices, "default_cpu_profile_path", lambda: path)
    monkeypatch.setattr(devices, "_CPU_MEMO", {})
    return path


def _figures(out: str) -> tuple[float, float]:
    """The GFLOP/s and GB/s that `calibrate` printed ("matmul (float32)   35.8 GFLOP/s", "memory copy …")."""
    rates = {line.split()[0]: float(line.split()[-2]) for line in out.splitlines()
             if line.startswith(("matmul", "memory"))}
    return rates["matmul"], rates["memory"]


def test_calibrate_twice_gives_figures_within_a_sane_ratio(capsys, _own_profile_file: Path) -> None:
    assert main(["calibrate"]) == 0
    first = capsys.readouterr().out
    assert main(["calibrate"]) == 0
    second = capsys.readouterr().out
    assert "GFLOP/s" in first and "GB/s" in first and str(_own_profile_file) in first and "measured" in first
    (gflops_a, gbs_a), (gflops_b, gbs_b) = _figures(first), _figures(second)
    assert gflops_a > 0 and gbs_a > 0
    # best-of-several runs: even on a shared, busy machine two calibrations agree within 3× (the bug was 2×
    # between two single measurements, and these runs are typically within a few per cent)
    # (a memory copy shares the memory bus with every other process, so its bound is looser)
    assert 1 / 3 < gflops_a / gflops_b < 3 and 1 / 10 < gbs_a / gbs_b < 10


def test_the_cache_records_when_and_under_what_load(monkeypatch: pytest.MonkeyPatch, capsys,
                                                    _own_profile_file: Path) -> None:
    monkeypatch.setattr(devices, "load_average", lambda: 0.125)
    before = time.time()
    assert main(["calibrate", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads(_own_profile_file.read_text())["profile"]
    for data in (printed, saved):
        assert before - 1 <= data["extra"]["measured_at"] <= time.time()
        assert data["extra"]["load_average"] == 0.125 and data["extra"]["repeats"] >= 3
    assert "load average 0.12" in saved["source"]
    # the summary says when it was measured, in the table's footer and the JSON's device profile
    assert main(["summary", "zoo:mnist-cnn"]) == 0
    assert f"CPU measured {devices.measured_when(devices.cpu_profile())}" in capsys.readouterr().out
    assert main(["summary", "zoo:mnist-cnn", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["device_profile"]["extra"]["load_average"] == 0.125


def _cache_measured_at(monkeypatch: pytest.MonkeyPatch, path: Path, load: float) -> devices.DeviceProfile:
    monkeypatch.setattr(devices, "load_average", lambda: load)
    profile = devices.measure_cpu_profile(matmul_size=64, copy_mib=1, repeats=3)
    devices._write_cached(path, profile)
    monkeypatch.setattr(devices, "_CPU_MEMO", {})  # the next start reads the file
    return profile


BUSY = 2.0 * (os.cpu_count() or 1)  # twice as many runnable threads as cores


@pytest.mark.parametrize(("load_then", "load_now", "measured_again"), [
    (BUSY, 0.0, True),  # busy then, idle now: measure again
    (BUSY, BUSY, False),  # still busy: a new figure would be no better
    (0.0, 0.0, False),  # measured idle: trusted
])
def test_a_profile_measured_under_load_is_measured_again_when_idle(
        monkeypatch: pytest.MonkeyPatch, _own_profile_file: Path, load_then: float, load_now: float,
        measured_again: bool) -> None:
    cached = _cache_measured_at(monkeypatch, _own_profile_file, load_then)
    assert devices.measured_under_load(cached) == (load_then > 0)
    calls: list[float] = []
    real_measure = devices.measure_cpu_profile

    def counting_measure() -> devices.DeviceProfile:
        calls.append(1)
        return real_measure(matmul_size=64, copy_mib=1, repeats=3)

    monkeypatch.setattr(devices, "measure_cpu_profile", counting_measure)
    monkeypatch.setattr(devices, "load_average", lambda: load_now)
    profile = devices.cpu_profile()
    assert bool(calls) == measured_again
    saved = json.loads(_own_profile_file.read_text())["profile"]["extra"]
    if measured_again:
        assert saved["load_average"] == load_now and not devices.measured_under_load(profile)
    else:
        assert saved["measured_at"] == cached.extra["measured_at"]
