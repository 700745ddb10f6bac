"""``neuralforge export`` as a user runs it: a trained run exported to ONNX matches the generated PyTorch code
loaded with the run's checkpoint, the export is listed by ``runs show``, and every bad input is one line on
stderr, exit status 1, and nothing written."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load_file, save_file

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.exporters.placement import WORK_PREFIX
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.datasets import load_dataset
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.runner import prepare_run


def cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neuralforge_desktop", *argv], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real run of the MNIST CNN (one short epoch on MNIST digits), and a run that never trained."""
    folder = tmp_path_factory.mktemp("runs")
    store_path = folder / "store.db"
    graph = zoo.build("mnist-cnn")
    config = TrainConfig(dataset="mnist-10k", epochs=1, batch_size=64, limit=256, seed=0, threads=1)
    with Store(store_path) as store:
        run_id, run_dir = prepare_run(graph, config, store, "tests")
        assert Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status == "finished"
        untrained, _ = prepare_run(graph, config, store, "tests")
        checksum = store.get_run(run_id).checksum
    return {"store": store_path, "run": run_id, "dir": run_dir, "untrained": untrained, "checksum": checksum}


def _import(path: Path):
    spec = importlib.util.spec_from_file_location("generated_mnist", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_trained_run_exports_to_onnx_matching_the_generated_code_and_is_listed(trained, tmp_path):
    out = tmp_path / "m.onnx"
    proc = cli("export", "zoo:mnist-cnn", "--run", trained["run"], "--format", "onnx", "-o", str(out), "--json",
               "--store", str(trained["store"]))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["verified"] and report["source"]["run_id"] == trained["run"]
    assert [p["inputs"].split(" (")[0] for p in report["parity"]] == [
        "random inputs", "26 validation examples of mnist-10k"]
    assert all(p["max_abs"] <= 1e-4 and p["top1"] == 1.0 for p in report["parity"])
    assert [m["batch"] for m in report["latency"]] == [1, 32]
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["neuralforge.run_id"] == trained["run"] and meta["neuralforge.checksum"] == trained["checksum"]

    generated = tmp_path / "mnist_model.py"
    assert cli("codegen", "zoo:mnist-cnn", "-o", str(generated)).returncode == 0
    module = _import(generated)
    model = module.build_model()
    model.load_state_dict(load_file(str(trained["dir"] / "checkpoints" / "best" / "best.safetensors")))
    model.eval()
    digits = load_dataset("mnist-10k", limit=256).val.x[:16]
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for x in (module.example_input(), torch.from_numpy(digits)):
        with torch.inference_mode():
            expected = model(x).numpy()
        (got,) = session.run(None, {"image": x.numpy()})
        np.testing.assert_allclose(got, expected, atol=1e-5)

    shown = cli("runs", "show", trained["run"], "--store", str(trained["store"]))
    assert "export exports/m.onnx: ONNX fp32, 1.6 MB, max |Δ|" in shown.stdout
    listed = json.loads(cli("runs", "show", trained["run"], "--json", "--store", str(trained["store"])).stdout)
    kinds = {a["name"]: a["kind"] for a in listed["artifacts"]}
    assert kinds["exports/m.onnx"] == "export" and kinds["exports/m.onnx.report.json"] == "export-report"
    assert listed["exports"][0]["size_bytes"] == out.stat().st_size


def test_without_weights_the_seeded_init_is_exported_and_said_so(tmp_path, capsys):
    out = tmp_path / "lenet.onnx"
    assert main(["export", "zoo:lenet5", "--format", "onnx", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "seeded initial weights (seed 0)" in captured.err
    assert f"exported {out} (ONNX fp32" in captured.out and "verified against torch" in captured.out
    assert out.exists()


def _weights(tmp_path: Path, name: str, graph: str, cut: int = 0) -> str:
    torch.manual_seed(0)
    from neuralforge_desktop.core.build.torch_builder import build_model

    path = tmp_path / name
    save_file({k: v.contiguous() for k, v in build_model(zoo.build(graph)).state_dict().items()}, str(path))
    if cut:
        path.write_bytes(path.read_bytes()[:-cut])
    return str(path)


def _broken_graph(tmp_path: Path) -> str:
    graph = zoo.build("mnist-cnn")
    graph.set_param("conv1", "kernel_size", 64)
    save_graph(graph, tmp_path / "broken.nfg")
    return str(tmp_path / "broken.nfg")


def _read_only_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # the superuser writes through permissions: a folder the kernel refuses stands in
        return Path("/sys")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


BAD = {
    "unknown format": (lambda t, r: ["zoo:mnist-cnn", "--format", "onnnx"], "unknown export format 'onnnx'"),
    "unknown precision": (lambda t, r: ["zoo:mnist-cnn", "--format", "onnx", "--precision", "int4"],
                          "ONNX export has no precision 'int4'; it offers fp32"),
    "run without checkpoints": (lambda t, r: ["zoo:mnist-cnn", "--format", "onnx", "--run", r["untrained"]],
                                "has no checkpoint"),
    "unknown run": (lambda t, r: ["zoo:mnist-cnn", "--format", "onnx", "--run", "nope"], "no run 'nope'"),
    "weights of another graph": (
        lambda t, r: ["zoo:mnist-cnn", "--format", "onnx", "--weights", _weights(t, "l.safetensors", "lenet5")],
        "'conv1.weight' is (6, 1, 5, 5) in the file but (32, 1, 3, 3) in the graph"),
    "truncated weights": (
        lambda t, r: ["zoo:lenet5", "--format", "onnx", "--weights", _weights(t, "c.safetensors", "lenet5", 64)],
        "truncated"),
    "corrupt weights": (lambda t, r: ["zoo:lenet5", "--format", "onnx", "--weights", str(Path(__file__))],
                        "not a safetensors weights file"),
    "graph with errors": (lambda t, r: [_broken_graph(t), "--format", "onnx"], "has errors"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_each_bad_input_is_one_line_exit_1_and_nothing_written(trained, tmp_path, capsys, case):
    make_args, expected = BAD[case]
    out = tmp_path / "out" / "m.onnx"
    out.parent.mkdir()
    code = main(["export", *make_args(tmp_path, trained), "-o", str(out), "--store", str(trained["store"])])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("neuralforge: ") and err.count("\n") == 1 and expected in err, err
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("where", ["missing folder", "read-only folder"])
def test_an_output_folder_that_cannot_take_the_file_is_refused(tmp_path, capsys, where):
    folder = tmp_path / "nowhere" if where == "missing folder" else _read_only_folder(tmp_path)
    code = main(["export", "zoo:lenet5", "--format", "onnx", "-o", str(folder / "m.onnx")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert ("does not exist" if where == "missing folder" else "cannot write in") in err
    assert not (folder / "m.onnx").exists()
    if folder.exists():
        assert not [p for p in folder.iterdir() if p.name.startswith(WORK_PREFIX)]


def test_export_check_lists_every_target_and_names_the_nodes_one_refuses(capsys, tmp_path: Path) -> None:
    assert main(["export", "--check", "zoo:gru-forecast"]) == 1  # one target refuses a node: exit 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.split()[:3] == ["onnx", "fp32", "yes"] for line in lines)
    assert any(line.split()[:3] == ["tflite", "int8", "no"] for line in lines)
    assert "'gru'" in out and "instead: int8-weights" in out  # the node, and what to use instead
    assert not list(tmp_path.iterdir())  # --check writes nothing
    assert main(["export", "--check", "zoo:mnist-cnn", "--format", "onnx", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"format": "onnx", "precision": "fp32", "exports": True, "refused": []}]


def test_export_without_format_or_output_says_what_is_missing(capsys) -> None:
    assert main(["export", "zoo:mnist-cnn", "-o", "m.onnx"]) == 1
    assert "--format" in capsys.readouterr().err
    assert main(["export", "zoo:mnist-cnn", "--format", "onnx"]) == 1
    assert "-o/--output" in capsys.readouterr().err


def test_a_fixed_size_format_is_verified_at_the_graphs_own_sequence_length(capsys, tmp_path: Path) -> None:
    """TFLite files have fixed sizes: a text model is verified at its own T (another batch, fed in slices),
    not at T − 1 as dynamic-size formats are; top-1 on random inputs is reported, not judged."""
    graph = zoo.build("transformer-text")
    out = tmp_path / "text.tflite"
    assert main(["export", "zoo:transformer-text", "--format", "tflite", "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert out.is_file() and report["verification"] == "parity"
    assert f"T={graph.symbols['T']}" in report["parity"][0]["inputs"] and "N=3" in report["parity"][0]["inputs"]
