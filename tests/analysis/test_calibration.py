"""The quick CPU roofline (used until this CPU is calibrated): measured robustly, stamped with when and under what
load, measured again when it was taken on a busy machine and the machine is idle now."""

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


def test_the_roofline_cache_records_when_and_under_what_load(monkeypatch: pytest.MonkeyPatch, capsys,
                                                             _own_profile_file: Path) -> None:
    """Until this CPU is calibrated, its estimate is the quick roofline, stamped with when and under what load."""
    monkeypatch.setattr(devices, "load_average", lambda: 0.125)
    before = time.time()
    profile = devices.roofline_cpu_profile(refresh=True)
    saved = json.loads(_own_profile_file.read_text())["profile"]
    for data in (profile.to_json(), saved):
        assert before - 1 <= data["extra"]["measured_at"] <= time.time()
        assert data["extra"]["load_average"] == 0.125 and data["extra"]["repeats"] >= 3
    assert "load average 0.12" in saved["source"]
    # the summary says when it was measured and that it is a rough roofline, in the table's footer and the JSON
    assert main(["summary", "zoo:mnist-cnn"]) == 0
    out = capsys.readouterr().out
    assert f"CPU measured {devices.measured_when(devices.cpu_profile())}" in out
    assert "roofline from a quick measurement (not calibrated yet" in out
    assert main(["summary", "zoo:mnist-cnn", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["device_profile"]["extra"]["load_average"] == 0.125
    assert "not calibrated yet" in data["device_profile"]["latency_model"]


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
