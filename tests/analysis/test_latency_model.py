"""The calibrated CPU latency model: the calibration file (round trip, staleness), what each node costs, and that
the kind of work comes from the catalog (recurrent layers cost their T steps)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis import calibration as calib
from neuralforge_desktop.core.analysis import latency as names
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.latency import node_kernels
from neuralforge_desktop.core.catalog.kernels import KernelKind
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import Trait
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import OUTPUT
from neuralforge_desktop.core.measure import auto

from latency_fixtures import FIXED, MAC_RATE, OVERHEADS, STEP_SECONDS, make_calibration


@pytest.fixture
def saved() -> Path:
    return calib.save_calibration(make_calibration())


def test_calibration_json_round_trip_keeps_every_prediction() -> None:
    original = make_calibration()
    saved = calib.save_calibration(original)
    loaded, reason = calib.read_calibration(saved)
    assert loaded is not None and reason == ""
    assert loaded.to_json() == json.loads(json.dumps(original.to_json()))
    assert loaded.meta["torch"] == calib.torch_version() and loaded.meta["threads"] == 2
    for name, table in original.tables.items():
        width = len(table.samples[0].features)
        for features in ((3.0,) * width, (20.0,) * width):
            assert loaded.tables[name].predict(features, 1e6) == pytest.approx(table.predict(features, 1e6))
    for graph in ("mnist-cnn", "gru-forecast", "bert-tiny"):
        a = estimate_cost(zoo.build(graph), calibration_path=saved).latency_ms
        assert a > 0 and math.isfinite(a)


@pytest.mark.parametrize(("change", "why"), [
    ({"torch": "1.0.0"}, "torch 1.0.0"),
    ({"fingerprint": {"machine": "other", "processor": "", "cpus": 64, "system": "Linux"}}, "another processor"),
    ({"thread_setting": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": None}}, "thread setting changed"),
])
def test_a_calibration_for_another_machine_torch_or_thread_count_is_not_used(change: dict, why: str) -> None:
    path = calib.save_calibration(make_calibration(**change))
    calibration, reason = calib.read_calibration(path)
    assert calibration is None and why in reason
    report = estimate_cost(zoo.build("lenet5"), calibration_path=path)
    assert report.profile.calibration is None and why in report.profile.latency_model


def test_changing_the_thread_count_makes_the_calibration_stale(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert calib.read_calibration(saved)[0] is not None
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    calibration, reason = calib.read_calibration(saved)
    assert calibration is None and "OMP_NUM_THREADS=1" in reason


def test_a_stale_calibration_is_measured_again_before_the_next_cpu_estimate(monkeypatch: pytest.MonkeyPatch,
                                                                           capsys) -> None:
    calib.save_calibration(make_calibration(torch="1.0.0"))
    calls = []

    def fake_calibrate(progress=None, **kwargs):  # timing real ops is the measure tests' business
        calls.append(kwargs)
        return make_calibration()

    import neuralforge_desktop.core.measure.calibrate as measuring
    from neuralforge_desktop.core.measure import cpu_busy

    monkeypatch.setattr(auto, "ENABLED", True)
    monkeypatch.setattr(measuring, "calibrate", fake_calibrate)
    monkeypatch.setattr(cpu_busy, "others_now", lambda seconds=1.0: 0.0)
    assert main(["summary", "zoo:lenet5"]) == 0
    captured = capsys.readouterr()
    assert len(calls) == 1 and "calibrating this CPU once" in captured.err and "torch 1.0.0" in captured.err
    assert "calibrated: measured kernels of each kind" in captured.out
    assert main(["summary", "zoo:lenet5"]) == 0  # now valid: not again
    assert len(calls) == 1


def test_a_calibration_made_under_load_is_redone_in_the_background(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    calib.save_calibration(make_calibration(under_load=True))
    from neuralforge_desktop.core.measure import process

    started = []
    monkeypatch.setattr(auto, "ENABLED", True)
    monkeypatch.setattr(process, "background_calibration_running", lambda: False)
    monkeypatch.setattr(process, "start_background_calibration", lambda wait=600.0: started.append(wait) or object())
    assert main(["summary", "zoo:lenet5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert started and data["device_profile"]["extra"]["under_load"] is True  # used meanwhile, and flagged


def _gru(steps: int, hidden: int = 32, layers: int = 1) -> float:
    c = Composer("gru")
    x = c.input("series", [steps, 4])
    x = c.layer("GRU", x, "gru", hidden_size=hidden, num_layers=layers)
    c.output(x, "y")
    report = estimate_cost(c.done(), calibration_path=calib.default_calibration_path())
    return report.row("gru").latency_ms


def test_a_recurrent_layer_costs_one_step_per_time_step(saved: Path) -> None:
    step_ms = STEP_SECONDS[3] * 1e3
    t10, t100, t190 = _gru(10), _gru(100), _gru(190)
    # every step costs the calibrated per-step time; the input projection grows too, but far less
    assert (t100 - t10) / 90 == pytest.approx(step_ms, rel=0.05)
    assert (t190 - t100) == pytest.approx(t100 - t10, rel=0.05)
    assert _gru(100, layers=3) - _gru(10, layers=3) == pytest.approx(3 * (t100 - t10), rel=0.05)
    # the whole layer: the step, module and recurrent call, the projection of all inputs, then the steps
    projection = FIXED + 100 * 4 * 3 * 32 / MAC_RATE
    fixed = OVERHEADS[names.STEP] + OVERHEADS[names.INTERLEAVED] + OVERHEADS[names.MODULE]
    call = OVERHEADS[names.recurrent_call(3)]
    assert t100 == pytest.approx((fixed + call + projection) * 1e3 + 100 * step_ms, rel=0.02)
    # stacked layers run inside one call: its fixed cost is paid once, each layer's steps and projection again
    upper = FIXED + 100 * 32 * 3 * 32 / MAC_RATE
    assert _gru(100, layers=2) - t100 == pytest.approx(upper * 1e3 + 100 * step_ms, rel=0.02)


def test_a_node_costs_its_step_its_module_call_and_its_kernels(saved: Path) -> None:
    c = Composer("mlp")
    x = c.input("x", [1024])
    h = c.layer("Linear", x, "fc", out_features=1024)
    h = c.layer("Dropout", h, "drop")
    c.output(h, "y")
    report = estimate_cost(c.done(), calibration_path=saved)
    call = OVERHEADS[names.STEP] + OVERHEADS[names.INTERLEAVED] + OVERHEADS[names.MODULE]
    matmul = FIXED + 1024 * 1024 / MAC_RATE
    assert report.row("fc").latency_ms == pytest.approx((call + matmul) * 1e3, rel=0.01)
    assert report.row("drop").latency_ms == pytest.approx((call + OVERHEADS[names.VIEW]) * 1e3, rel=0.01)
    assert report.row("x").latency_ms == 0 and report.row("y").latency_ms == 0
    entry = OVERHEADS[names.MODULE] + OVERHEADS[names.GRAPH]
    assert report.latency_ms == pytest.approx(report.row("fc").latency_ms + report.row("drop").latency_ms
                                              + entry * 1e3, rel=1e-6)
    assert report.profile.latency_model.startswith("calibrated")
    assert report.to_json()["device_profile"]["extra"]["calibrated"] is True


def test_gpu_profiles_stay_spec_sheet_rooflines(saved: Path) -> None:
    report = estimate_cost(zoo.build("resnet18"), device="a100", calibration_path=saved)
    assert report.profile.calibration is None
    assert report.to_json()["device_profile"]["latency_model"] == "spec-sheet roofline (no GPU is measured here)"


def test_every_layer_that_runs_says_what_kernels_it_runs(saved: Path) -> None:
    """The kind of work comes from the catalog entry: every built-in layer declares its kernels (or is a view),
    and each example's kernels are of kinds the calibration measures."""
    from neuralforge_desktop.core.analysis.shapes import ShapeInference

    from layer_harness import NODE, layer_graph

    layers = list(catalog())
    missing = [layer.type for layer in layers if layer.torch is not None and not layer.is_loss
               and layer.latency is None and not layer.plugin and Trait.NO_KERNEL not in layer.traits
               and layer.type != "CustomCode"]  # the user's own code: one generic kernel from measured MACs
    assert missing == []
    checked = 0
    for layer in layers:
        if layer.is_loss or layer.torch is None or layer.type == OUTPUT:
            continue
        for example in layer.examples:
            graph = layer_graph(layer, dict(example.inputs), dict(example.params), batch=False)
            result = ShapeInference(graph).run().results[NODE]
            x = {port: tuple(spec.shape) for port, spec in result.inputs.items()}
            y = {port: tuple(spec.shape) for port, spec in result.outputs.items()}
            notes: list[str] = []
            found = node_kernels(layer, result.params, x, y, notes)
            assert not notes, (layer.type, notes)
            if found is None:  # a plugin layer may leave it out: costed as one generic kernel
                assert layer.plugin, layer.type
            else:
                assert all(k.kind in KernelKind.ALL for k in found), (layer.type, found)
            row = estimate_cost(graph, calibration_path=saved).row(NODE)
            assert row is not None and row.counted and row.latency_ms > 0, layer.type
            checked += 1
    assert checked > 50


def test_the_calibration_file_lives_beside_the_other_device_figures() -> None:
    assert os.path.basename(calib.default_calibration_path()) == "cpu_calibration.json"


def test_programs_asking_at_once_start_one_background_calibration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two commands that find the CPU uncalibrated at the same moment must not start two calibrations: they
    would disturb each other's timing for minutes."""
    import sys
    import threading

    from neuralforge_desktop.core.measure import process

    started: list[object] = []
    monkeypatch.setattr(process, "worker_command",
                        lambda args: [sys.executable, "-c", "import time; time.sleep(3)"])
    real_popen = process.subprocess.Popen

    def popen(*args, **kwargs):
        child = real_popen(*args, **kwargs)
        started.append(child)
        return child

    monkeypatch.setattr(process.subprocess, "Popen", popen)
    barrier = threading.Barrier(6)

    def ask() -> None:
        barrier.wait()
        process.start_background_calibration()

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(started) == 1 and process.background_calibration_running()
    finally:
        for child in started:
            child.kill()
            child.wait()
