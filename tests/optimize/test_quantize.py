"""Quantisation of a real trained run: each method makes a new run linked to its parent, holding a smaller model
file whose onnxruntime predictions mostly agree with the float model's, with the figures before and after
measured on the run's validation digits. Bad requests are refused in one line that names what is wrong, and
leave no run behind."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.optimize.lineage import METHOD_TAG, MODEL_KIND, MODEL_TAG, PARENT_TAG, REPORT_NAME
from neuralforge_desktop.core.optimize.methods import METHODS, optimize
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.optimize.qat import check_convolutional
from neuralforge_desktop.core.optimize.result import format_table
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.datasets import load_dataset

from .quantize_runs import agreement


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist-10k", limit=384, seed=0).val.x  # the run's validation split


def _optimize(trained, method: str, **options):
    with Store(trained["store"]) as store:
        result = optimize(store, trained["run"], OptimizeOptions(method=method, latency_runs=5, **options))
        run = store.get_run(result.run_id)
        artifacts = {a.name: a for a in store.list_artifacts(result.run_id)}
        parent = store.get_run(trained["run"])
    return result, run, artifacts, parent


def _check_linked_run(result, run, artifacts, parent, method, digits):
    assert run.status == "finished" and run.experiment_id == parent.experiment_id
    assert run.tags[PARENT_TAG] == parent.id and run.tags[METHOD_TAG] == method
    model = artifacts[run.tags[MODEL_TAG]]
    assert model.kind == MODEL_KIND and model.size == result.after.size_bytes
    assert model.path.read_bytes() == Path(result.after.file).read_bytes()
    report = json.loads(artifacts[REPORT_NAME].path.read_text())
    assert report["parent_run"] == parent.id and report["method"] == method
    assert run.metrics["val/acc"].value == pytest.approx(result.after.accuracy)
    assert run.metrics["before/acc"].value == pytest.approx(result.before.accuracy)
    assert run.metrics["model/size_bytes"].value == result.after.size_bytes
    assert run.params["optimize/method"] == method and run.params["dataset"] == "mnist-10k"
    # the same graph, so the same counts; both measured on every validation digit
    assert result.after.params == result.before.params == 421_642
    assert result.after.macs == result.before.macs > 0
    assert result.before.examples == result.after.examples == len(digits)
    assert result.before.latency_ms > 0 and result.after.latency_ms > 0
    onnx.checker.check_model(result.after.file)


def test_static_int8_makes_a_linked_run_with_a_quarter_size_model_that_agrees(trained, digits):
    result, run, artifacts, parent = _optimize(trained, "quantize-static-int8", calibration_samples=128)
    _check_linked_run(result, run, artifacts, parent, "quantize-static-int8", digits)
    assert result.after.size_bytes < 0.3 * result.before.size_bytes
    assert agreement(result.before.file, result.after.file, digits) >= 0.9
    ops = {node.op_type for node in onnx.load(result.after.file).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert "calibrated (min/max) on 128 training examples of mnist-10k" in result.notes[0]
    meta = {p.key: p.value for p in onnx.load(result.after.file).metadata_props}
    assert meta["neuralforge.precision"] == "int8-static" and meta["neuralforge.run_id"] == parent.id
    table = format_table(result)
    for row in ("validation accuracy", "size on disk", "parameters", "MACs per example",
                "latency, batch 1 (onnxruntime)"):
        assert row in table
    assert f"run {parent.id} → new run {run.id}" in table


def test_dynamic_int8_quantises_the_matrix_products(trained, digits):
    result, run, artifacts, parent = _optimize(trained, "quantize-dynamic-int8")
    _check_linked_run(result, run, artifacts, parent, "quantize-dynamic-int8", digits)
    assert result.after.size_bytes < 0.35 * result.before.size_bytes  # the fully connected layers hold 96 %
    assert agreement(result.before.file, result.after.file, digits) >= 0.95
    assert "MatMulInteger" in {node.op_type for node in onnx.load(result.after.file).graph.node}


def test_fp16_halves_the_file_and_keeps_the_predictions(trained, digits):
    result, run, artifacts, parent = _optimize(trained, "fp16")
    _check_linked_run(result, run, artifacts, parent, "fp16", digits)
    assert 0.45 < result.after.size_bytes / result.before.size_bytes < 0.55
    assert agreement(result.before.file, result.after.file, digits) >= 0.98
    model = onnx.load(result.after.file)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # float32 in and out
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)


@pytest.mark.slow
def test_quantisation_aware_fine_tuning_makes_an_int8_model(trained, digits):
    result, run, artifacts, parent = _optimize(trained, "qat-int8", finetune_epochs=1)
    _check_linked_run(result, run, artifacts, parent, "qat-int8", digits)
    assert result.after.size_bytes < 0.3 * result.before.size_bytes
    assert agreement(result.before.file, result.after.file, digits) >= 0.85
    assert run.metrics["train/loss"].step == 1
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in onnx.load(result.after.file).graph.node}


def test_an_unknown_method_is_named_with_the_known_ones(trained):
    with Store(trained["store"]) as store, pytest.raises(UserError) as error:
        optimize(store, trained["run"], OptimizeOptions(method="quantize-int4"))
    assert "unknown optimisation method 'quantize-int4'" in str(error.value)
    assert all(name in str(error.value) for name in METHODS)


def test_a_run_without_checkpoints_is_refused_and_leaves_no_run(trained):
    with Store(trained["store"]) as store:
        before = len(store.list_runs())
        with pytest.raises(UserError) as error:
            optimize(store, trained["untrained"], OptimizeOptions(method="quantize-static-int8"))
        assert len(store.list_runs()) == before
    message = str(error.value)
    assert f"run {trained['untrained']}" in message and "no checkpoint" in message
    assert "train it (or resume it) past its first epoch, then optimise it" in message


def test_an_unknown_run_and_bad_settings_are_named(trained):
    with Store(trained["store"]) as store:
        with pytest.raises(UserError, match="no run 'nope'"):
            optimize(store, "nope", OptimizeOptions(method="fp16"))
        with pytest.raises(UserError, match="runtime must be one of onnxruntime, litert, got 'tensorrt'"):
            optimize(store, trained["run"], OptimizeOptions(method="fp16", runtime="tensorrt"))
        with pytest.raises(UserError, match="calibration samples must be at least 1"):
            optimize(store, trained["run"], OptimizeOptions(method="quantize-static-int8", calibration_samples=0))


def test_quantisation_aware_training_takes_only_convolutional_networks():
    assert check_convolutional(zoo.build("mnist-cnn")) == "image"
    with pytest.raises(UserError, match="graph 'tabular-mlp' has 1 data inputs and 0 convolutions"):
        check_convolutional(zoo.build("tabular-mlp"))


def test_a_failure_part_way_marks_the_new_run_failed_with_the_reason(trained, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should go")
    with Store(trained["store"]) as store:
        with pytest.raises(UserError, match="output folder .*not-a-folder: cannot create it"):
            optimize(store, trained["run"], OptimizeOptions(method="fp16", output_dir=blocker))
        (failed,) = store.list_runs(tags={PARENT_TAG: trained["run"]}, status="failed")
    assert failed.tags[METHOD_TAG] == "fp16" and "cannot create it" in failed.tags["reason"]


@pytest.mark.slow
def test_litert_runtime_makes_and_times_a_tflite_model(trained):
    result, run, artifacts, parent = _optimize(trained, "quantize-dynamic-int8", runtime="litert")
    assert run.status == "finished" and run.tags[METHOD_TAG] == "quantize-dynamic-int8"
    assert result.runtime == "litert" and result.after.file.endswith(".tflite")
    assert result.before.file.endswith("-fp32.tflite")
    assert result.after.size_bytes < 0.35 * result.before.size_bytes
    assert abs(result.after.accuracy - result.before.accuracy) <= 0.05
    assert "latency, batch 1 (litert)" in format_table(result)
