"""ONNX export through the pipeline, in process: every zoo template exports and verifies at fp32 with real
onnxruntime; the file carries the graph's names, dynamic axes and metadata; weights come from a file and are
checked against the graph; every bad input is refused with one line and leaves nothing behind."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import save_file

from neuralforge_desktop import __version__
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.exporters import onnx as onnx_format
from neuralforge_desktop.core.exporters import registry
from neuralforge_desktop.core.exporters.base import ExportError
from neuralforge_desktop.core.exporters.pipeline import ExportRequest, export_graph
from neuralforge_desktop.core.exporters.placement import WORK_PREFIX, make_work_dir, place, remove_work_dir
from neuralforge_desktop.core.exporters.process import ExportProcess
from neuralforge_desktop.core.exporters.record import record_export, zip_folder
from neuralforge_desktop.core.exporters.source import load_model, resolve_source
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.runner import prepare_run

# The largest templates take 20–90 s each to export on two cores (torch.export alone is most of it for BERT-Base
# and GPT-2), so they run with the slow tests; the rest cover every kind of layer between them (transformer-text
# is exported and run at other sizes by the sequence test below).
SLOW = {"vgg11", "resnet50", "bert-base", "gpt2-small", "gpt2-tiny", "mobilenet-v2", "transformer-text"}


def export(graph, out: Path, **kwargs):
    kwargs.setdefault("latency_batches", ())
    return export_graph(ExportRequest(graph, "onnx", out, **kwargs))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(WORK_PREFIX))


def ort_outputs(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    present = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in present})


@pytest.mark.parametrize("name", [pytest.param(e.name, marks=[pytest.mark.slow] if e.name in SLOW else [])
                                  for e in zoo.list_models()])
def test_every_zoo_model_exports_to_onnx_and_verifies_at_fp32(tmp_path, name):
    graph = zoo.build(name)
    out = tmp_path / f"{name}.onnx"
    report = export(graph, out)
    assert report.verification == "parity" and report.parity
    for parity in report.parity:
        assert parity.get("max_abs") <= 1e-4 and parity.get("mean_abs") <= 1e-5
    model = onnx.load(str(out), load_external_data=False)
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    inputs = [n.id for n in graph.input_nodes if n.params.get("role", "data") == "data"]
    assert {i.name for i in model.graph.input} <= set(inputs)
    assert [o.name for o in model.graph.output] == [n.id for n in graph.output_nodes]
    for value in model.graph.input:
        assert value.type.tensor_type.shape.dim[0].dim_param == "N"  # the batch is dynamic
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["neuralforge.graph"] == graph.name and meta["neuralforge.version"] == __version__
    assert report.size_bytes == out.stat().st_size and not leftovers(tmp_path)


@pytest.mark.parametrize(("name", "route"), [("lstm-text", "tracing"), ("transformer-text", "torch.export")])
def test_a_sequence_model_runs_at_other_lengths_and_batches_as_torch_does(tmp_path, name, route):
    """Tracing fixes the length nn.MultiheadAttention reshapes to, so the transformer goes through torch.export;
    either way the file takes any batch and any length up to the position table's, as the model does."""
    graph = zoo.build(name)
    out = tmp_path / "m.onnx"
    report = export(graph, out)
    assert route in report.facts["route"]
    tokens = torch.randint(0, 20000, (5, 37), generator=torch.Generator().manual_seed(4))
    model = load_model(graph, resolve_source())
    with torch.inference_mode():
        expected = model(tokens).numpy()
    (got,) = ort_outputs(out, {"tokens": tokens.numpy()})
    np.testing.assert_allclose(got, expected, atol=1e-5)
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["N", "T"]


def test_weights_from_a_file_are_the_ones_exported(tmp_path):
    graph = zoo.build("lenet5")
    torch.manual_seed(7)  # not the seeded init (seed 0): the export must carry these weights
    trained = load_model(graph, resolve_source())
    for p in trained.parameters():
        p.data.normal_()
    weights = tmp_path / "lenet.safetensors"
    save_file({k: v.contiguous() for k, v in trained.state_dict().items()}, str(weights))
    out = tmp_path / "lenet.onnx"
    report = export(graph, out, weights=weights)
    assert report.source["kind"] == "weights"
    x = torch.randn(4, 1, 28, 28)
    with torch.inference_mode():
        expected = trained(x).numpy()
    np.testing.assert_allclose(ort_outputs(out, {"image": x.numpy()})[0], expected, atol=1e-4)


def _weights_of(graph, path: Path, change=None) -> Path:
    state = {k: v.contiguous() for k, v in load_model(graph, resolve_source()).state_dict().items()}
    if change:
        change(state)
    save_file(state, str(path))
    return path


def test_weights_of_another_graph_name_the_first_tensor_that_does_not_fit(tmp_path):
    weights = _weights_of(zoo.build("mnist-cnn"), tmp_path / "w.safetensors",
                          lambda s: s.update({"fc1.weight": torch.zeros(64, 3136)}))
    out = tmp_path / "m.onnx"
    with pytest.raises(UserError) as caught:
        export(zoo.build("mnist-cnn"), out, weights=weights)
    message = str(caught.value)
    assert "'fc1.weight' is (64, 3136) in the file but (128, 3136) in the graph" in message
    assert "\n" not in message and not out.exists() and not leftovers(tmp_path)
    lenet = _weights_of(zoo.build("lenet5"), tmp_path / "lenet.safetensors")
    with pytest.raises(UserError, match=r"'conv1.weight' is \(6, 1, 5, 5\) in the file but \(32, 1, 3, 3\)"):
        export(zoo.build("mnist-cnn"), out, weights=lenet)


def test_a_corrupt_or_truncated_weights_file_is_refused_before_any_work(tmp_path):
    weights = _weights_of(zoo.build("lenet5"), tmp_path / "w.safetensors")
    data = weights.read_bytes()
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(data[:-100])
    garbage = tmp_path / "junk.safetensors"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(UserError, match="truncated"):
        resolve_source(weights=truncated)
    with pytest.raises(UserError, match="not a safetensors weights file"):
        resolve_source(weights=garbage)
    with pytest.raises(UserError, match="no such weights file"):
        resolve_source(weights=tmp_path / "missing.safetensors")


def test_a_run_without_checkpoints_is_refused(tmp_path):
    store = Store(tmp_path / "store.db")
    run_id, _ = prepare_run(zoo.build("lenet5"), TrainConfig(dataset="mnist-10k"), store, "tests")
    with pytest.raises(UserError, match=f"run {run_id} .* has no checkpoint"):
        export(zoo.build("lenet5"), tmp_path / "m.onnx", run_id=run_id, store=tmp_path / "store.db")
    with pytest.raises(UserError, match="no run 'nope'"):
        export(zoo.build("lenet5"), tmp_path / "m.onnx", run_id="nope", store=tmp_path / "store.db")
    assert not (tmp_path / "m.onnx").exists()


def test_bad_requests_are_one_line_errors_and_write_nothing(tmp_path):
    graph = zoo.build("lenet5")
    out = tmp_path / "m.onnx"
    with pytest.raises(UserError, match="unknown export format 'onnnx'; the formats are onnx, tflite, coreml"):
        export_graph(ExportRequest(graph, "onnnx", out))
    with pytest.raises(UserError, match="ONNX export has no precision 'fp16'; it offers fp32"):
        export_graph(ExportRequest(graph, "onnx", out, precision="fp16"))
    with pytest.raises(UserError, match="the folder .* does not exist"):
        export(graph, tmp_path / "missing" / "m.onnx")
    broken = zoo.build("mnist-cnn")
    broken.set_param("conv1", "kernel_size", 64)
    with pytest.raises(UserError) as caught:
        export(broken, out)
    assert "has errors" in str(caught.value) and "conv1" in str(caught.value) and "\n" not in str(caught.value)
    assert not out.exists() and not leftovers(tmp_path)


def test_an_output_in_a_read_only_folder_is_refused(tmp_path):
    if os.geteuid() == 0:  # the superuser writes through permissions: a folder the kernel refuses stands in
        folder = Path("/sys")
    else:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
    with pytest.raises(UserError, match="cannot write in"):
        export(zoo.build("lenet5"), folder / "m.onnx")
    assert not (folder / "m.onnx").exists()


def test_a_failed_verification_fails_the_export_with_its_figures_and_keeps_the_previous_file(tmp_path,
                                                                                             monkeypatch):
    """A converter that gets the numbers wrong, made here by shifting onnxruntime's real outputs."""
    drifting = dataclasses.replace(onnx_format.EXPORTER,
                                   run=lambda path, inputs: [o + 1e-3 for o in onnx_format.run(path, inputs)])
    monkeypatch.setattr(registry, "get_format", lambda name: drifting)
    out = tmp_path / "m.onnx"
    out.write_bytes(b"the previous export")
    with pytest.raises(ExportError) as caught:
        export(zoo.build("lenet5"), out)
    assert "verification failed" in str(caught.value) and "max |Δ| 0.001 > 0.0001" in str(caught.value)
    assert out.read_bytes() == b"the previous export" and not leftovers(tmp_path)


def test_the_registry_lists_every_format_and_names_what_is_missing(monkeypatch):
    assert registry.formats() == ("onnx", "tflite", "coreml")
    monkeypatch.setitem(registry._MODULES, "tflite", "not_written_yet")
    with pytest.raises(ExportError, match="'tflite' is not part of this installation"):
        registry.get_format("tflite")
    needy = dataclasses.replace(onnx_format.EXPORTER, requires=("no_such_framework_here",))
    monkeypatch.setattr(onnx_format, "EXPORTER", needy)
    with pytest.raises(ExportError, match="needs no_such_framework_here, not installed here; install with pip"):
        registry.get_format("onnx")


def test_the_latency_report_times_the_export_beside_torch(tmp_path):
    report = export(zoo.build("lenet5"), tmp_path / "m.onnx", latency_batches=(1, 4))
    assert [m["batch"] for m in report.latency] == [1, 4]
    for m in report.latency:
        assert m["runs"] >= 3 and m["export_ms"] > 0 and m["torch_ms"] > 0
        assert m["ratio"] == pytest.approx(m["export_ms"] / m["torch_ms"], rel=1e-2)
    assert set(report.seconds) >= {"convert", "verify", "latency", "total"}


def test_cancelling_the_worker_leaves_nothing_behind(tmp_path):
    out = tmp_path / "r.onnx"
    process = ExportProcess(ExportRequest(zoo.build("resnet18"), "onnx", out)).start()
    events = process.events()
    first = next(events)
    assert first["event"] == "progress"
    assert leftovers(tmp_path)  # the export's temporary folder, while it works
    process.kill()
    events.close()
    assert not out.exists() and not leftovers(tmp_path)


def test_refusing_a_bad_request_needs_no_torch(tmp_path):
    """The CLI and the app check a request before starting the worker, without loading torch or onnxruntime."""
    probe = (f"import sys\nfrom pathlib import Path\nfrom neuralforge_desktop.core import zoo\n"
             f"from neuralforge_desktop.core.exporters.pipeline import ExportRequest, preflight\n"
             f"preflight(ExportRequest(zoo.build('resnet18'), 'onnx', Path({str(tmp_path / 'r.onnx')!r})))\n"
             f"print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_package_folder_replaces_the_previous_one_and_is_stored_as_a_zip(tmp_path):
    """Core ML writes a .mlpackage folder: it moves into place whole and a run keeps it as one archive."""
    work = make_work_dir(tmp_path / "m.mlpackage")
    made = work / "m.mlpackage"
    (made / "Data").mkdir(parents=True)
    (made / "Data" / "weights.bin").write_bytes(b"new weights")
    (made / "Manifest.json").write_text("{}")
    target = tmp_path / "m.mlpackage"
    (target / "Data").mkdir(parents=True)
    (target / "Data" / "stale.bin").write_bytes(b"old")
    place(made, target, work)
    remove_work_dir(work)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "Data", "Data/weights.bin", "Manifest.json"]
    assert not leftovers(tmp_path)
    store = Store(tmp_path / "store.db")
    run = store.create_run("tests")
    names = record_export(tmp_path / "store.db", run.id, target, {"format": "coreml"})
    assert names == ["exports/m.mlpackage.zip", "exports/m.mlpackage.report.json"]
    with zipfile.ZipFile(store.artifact_path(run.id, names[0])) as archive:
        assert archive.read("m.mlpackage/Data/weights.bin") == b"new weights"
    assert zip_folder(target) == zip_folder(target)  # the same folder, the same bytes: stored once


def test_no_verify_skips_verification_and_says_so(tmp_path):
    report = export(zoo.build("lenet5"), tmp_path / "m.onnx", verify=False)
    assert report.verification == "skipped" and not report.parity and not report.verified
    assert any("not verified" in note for note in report.notes)
