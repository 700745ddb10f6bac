"""`neuralforge profile`: a real worker process builds and times a tiny graph; the estimate and the measurement
are printed side by side, and the result is kept for the graph, where `summary` shows it."""

from __future__ import annotations

import json
from pathlib import Path

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.analysis.calibration import save_calibration
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.measure import results
from neuralforge_desktop.core.measure.results import graph_fingerprint, load_result

from latency_fixtures import make_calibration


def _tiny(tmp_path: Path) -> Path:
    c = Composer("tiny-mlp")
    x = c.input("x", [8])
    h = c.layer("Linear", x, "fc1", out_features=16)
    h = c.layer("ReLU", h, "act")
    y = c.layer("Linear", h, "fc2", out_features=2)
    c.output(y, "y")
    path = tmp_path / "tiny.nfg"
    save_graph(c.done(), path)
    return path


def test_profile_prints_estimate_and_measurement_side_by_side(tmp_path: Path, capsys) -> None:
    save_calibration(make_calibration())
    graph_file = _tiny(tmp_path)
    assert main(["profile", str(graph_file), "--batch-size", "3", "--budget", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "tiny-mlp  (batch size 3, this computer's CPU" in out
    for node in ("fc1", "act", "fc2"):  # per-node rows, mapped back from the profiler to node ids
        line = next(line for line in out.splitlines() if line.startswith(node + " "))
        assert line.count("×") == 1  # estimate, measured and their ratio
    forward = next(line for line in out.splitlines() if line.startswith("forward pass"))
    assert "estimate" in forward and "measured" in forward and "estimate/measured ×" in forward
    assert "training step        measured" in out
    assert "latency model        calibrated" in out

    from neuralforge_desktop.core.ir.serialize import load_graph

    graph = load_graph(graph_file)
    saved = load_result(graph, 3)
    assert saved is not None and saved["graph_fingerprint"] == graph_fingerprint(graph)
    assert saved["forward_ms"]["median"] > 0 and set(saved["nodes_ms"]) >= {"fc1", "act", "fc2"}
    assert str(results.default_results_dir()) in out  # the test's own folder, never the user's
    # the summary at the same batch size shows the measurement beside the estimate; another batch size does not
    assert main(["summary", str(graph_file), "--batch-size", "3"]) == 0
    assert "measured " in capsys.readouterr().out
    assert main(["summary", str(graph_file), "--batch-size", "4"]) == 0
    assert "by `neuralforge profile`" not in capsys.readouterr().out


def test_profile_json_and_a_graph_with_errors(tmp_path: Path, capsys) -> None:
    graph_file = _tiny(tmp_path)
    assert main(["profile", str(graph_file), "--json", "--no-training", "--budget", "0.1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["measured"]["training_step_ms"] is None and data["measured"]["threads"] >= 1
    assert data["estimate"]["latency_ms"] > 0 and Path(data["saved_to"]).is_file()

    broken = tmp_path / "broken.nfg"
    c = Composer("broken")
    x = c.input("x", [8])
    c.output(c.layer("Conv2d", x, "conv", out_channels=4), "y")  # a convolution needs (N, C, H, W)
    save_graph(c.done(), broken)
    assert main(["profile", str(broken)]) == 1
    assert "the graph has errors" in capsys.readouterr().err
