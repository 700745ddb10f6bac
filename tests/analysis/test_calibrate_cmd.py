"""`neuralforge calibrate`: times real torch ops and saves them with the date, torch version and thread count;
refuses figures taken on a busy machine (keeping the calibration it has) unless told to measure anyway."""

from __future__ import annotations

import json

import pytest
import torch

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.analysis import calibration as calib
from neuralforge_desktop.core.measure import calibrate as measuring
from neuralforge_desktop.core.measure import cpu_busy, op_samples

from latency_fixtures import make_calibration

QUICK_TABLES = ("overhead:", "matmul", "elementwise", "recurrent-3")


@pytest.fixture
def quick_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few kinds of the real sample list (the whole list takes ten seconds; its ops are the same)."""
    real = op_samples.build_samples

    def fewer(torch_module):
        return [s for s in real(torch_module) if s.table.startswith(QUICK_TABLES)
                and (s.table != "matmul" or s.work <= 1 << 22) and "(512)" not in s.label and "(256)" not in s.label]

    monkeypatch.setattr(measuring, "build_samples", fewer)


def test_calibrate_times_real_ops_and_saves_them_with_torch_and_threads(quick_samples, capsys) -> None:
    assert main(["calibrate", "--wait", "0", "--force", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved, reason = calib.read_calibration()
    assert saved is not None and reason == "" and printed["path"] == str(calib.default_calibration_path())
    assert saved.meta["torch"] == torch.__version__ and saved.meta["threads"] == torch.get_num_threads()
    assert saved.meta["rounds"] >= 5 and saved.meta["measured_at"] > 0 and "load_average" in saved.meta
    for name in ("matmul", "elementwise", "recurrent-3"):
        assert all(s.seconds > 0 and s.work > 0 for s in saved.tables[name].samples)
    # a bigger matrix product takes longer than a tiny one; a GRU step costs something
    for warm in (False, True):  # measured with cold caches (among all ops) and warm ones (among a few)
        assert saved.tables["matmul"].predict((7.0, 10.0, 10.0), 2 ** 27, warm) > saved.tables["matmul"].floor(warm)
        assert saved.tables["recurrent-3"].predict((0.0, 7.0), 1.0, warm) > 0
    assert all(s.warm_seconds is not None for s in saved.tables["elementwise"].samples)
    assert saved.meta["cache_bytes"] is None or saved.meta["cache_bytes"] >= 1 << 16
    assert saved.overhead("step") >= 0 and saved.overhead("module") > 0


def test_a_busy_machine_is_refused_and_the_calibration_in_use_stays(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    previous = make_calibration()
    calib.save_calibration(previous)
    monkeypatch.setattr(cpu_busy, "others_now", lambda seconds=1.0: 1.9)  # two busy cores' worth of others
    monkeypatch.setattr(measuring, "build_samples", lambda torch_module: pytest.fail("nothing may be timed"))
    assert main(["calibrate", "--wait", "0"]) == 1
    err = capsys.readouterr().err
    assert "the machine is busy" in err and "1.9 of" in err and "--force" in err
    assert f"calibration from {calib.measured_when(previous)} stays in use" in err
    kept, _ = calib.read_calibration()
    assert kept is not None and kept.measured_at == previous.measured_at


def test_figures_forced_on_a_busy_machine_are_marked(quick_samples, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(cpu_busy, "others_now", lambda seconds=1.0: 1.9)
    monkeypatch.setattr(cpu_busy.CpuMeter, "others", lambda self: 1.9)  # every timing round disturbed
    assert main(["calibrate", "--wait", "0", "--force"]) == 0
    out = capsys.readouterr().out
    assert "note: other programs kept the machine busy" in out
    saved, _ = calib.read_calibration()
    assert saved is not None and saved.under_load and saved.meta["busy_chunks"] == saved.meta["chunks"]
    main(["summary", "zoo:lenet5", "--json"])
    assert json.loads(capsys.readouterr().out)["device_profile"]["extra"]["under_load"] is True
