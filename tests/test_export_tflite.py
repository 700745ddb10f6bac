"""TFLite export through the real converters (litert-torch, ai-edge-quantizer, PT2E) and the real LiteRT
interpreter: the zoo's CNN, LSTM and transformer templates match torch at fp32; on the MNIST CNN trained on real
digits, every quantised precision stays within its tolerance and full int8 agrees with torch on ≥ 99 % of
real validation digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuralforge_desktop.core.exporters import tflite
from neuralforge_desktop.core.exporters.base import ExportError
from neuralforge_desktop.core.training.datasets import load_dataset

from export_cases import build_case, diff, job_for, zoo_graph

TRAIN_SAMPLES = 3000  # one pass over them gives a CNN near 90 % accurate: logits with real structure
CALIBRATION_SAMPLES = 256
DIGITS = [str(d) for d in range(10)]


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist-10k", val_fraction=0.1, seed=0)


@pytest.fixture(scope="module")
def trained_cnn(mnist):
    case = build_case(zoo_graph("mnist-cnn"))
    model = case.model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(mnist.train.x[:TRAIN_SAMPLES])
    y = torch.from_numpy(mnist.train.y[:TRAIN_SAMPLES])
    generator = torch.Generator().manual_seed(0)
    for batch in torch.randperm(len(x), generator=generator).split(64):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(mnist.val.x)).argmax(1).numpy() == mnist.val.y).mean()
    assert accuracy > 0.8, f"the CNN learned too little to judge quantisation by ({accuracy:.1%})"
    return case


def _representative(mnist):
    def samples():
        for start in range(0, CALIBRATION_SAMPLES, 64):
            yield (mnist.train.x[TRAIN_SAMPLES + start:TRAIN_SAMPLES + start + 64],)
    return samples


@pytest.mark.parametrize("name", ["mnist-cnn", "lstm-text", "transformer-text"])
def test_fp32_matches_torch(tmp_path, name):
    case = build_case(zoo_graph(name))
    job = job_for(case, tmp_path / f"{name}.tflite")
    tflite.EXPORTER.convert(job)
    inputs = case.inputs(5, seed=3)  # a batch of 5 through a file converted for batch 1
    got = tflite.EXPORTER.run(job.output, [t.numpy() for t in inputs])
    result = diff(case.torch_outputs(inputs), got)
    assert result.within(tflite.TOLERANCES["fp32"]), result
    content = job.output.read_bytes()
    ops = tflite.op_histogram(content)
    assert not [op for op in ops if op.startswith("CUSTOM")], f"needs more than builtin ops: {ops}"
    assert tflite.signature_names(content) == (case.model.input_names, case.model.output_names)
    assert tflite.read_metadata(content) == {"graph": name, "version": "test"}


def test_session_runs_any_batch_and_casts_token_ids(tmp_path):
    case = build_case(zoo_graph("lstm-text"))
    job = job_for(case, tmp_path / "lstm.tflite")
    tflite.EXPORTER.convert(job)
    session = tflite.EXPORTER.session(job.output)
    for batch in (1, 3):
        inputs = case.inputs(batch, seed=batch)
        assert inputs[0].dtype == torch.int64  # the file takes int32: the session casts
        result = diff(case.torch_outputs(inputs), session([t.numpy() for t in inputs]))
        assert result.within(tflite.TOLERANCES["fp32"]), (batch, result)


@pytest.mark.parametrize("precision", ["fp16", "int8-weights", "int8"])
def test_quantised_trained_cnn_on_real_digits(tmp_path, trained_cnn, mnist, precision):
    job = job_for(trained_cnn, tmp_path / f"cnn-{precision}.tflite", precision,
                  representative=_representative(mnist), class_labels=DIGITS)
    tflite.EXPORTER.convert(job)
    digits = mnist.val.x
    got = tflite.EXPORTER.run(job.output, [digits])
    result = diff(trained_cnn.torch_outputs([torch.from_numpy(digits)]), got, classes=True)
    assert result.within(tflite.TOLERANCES[precision]), result
    if precision == "int8":
        assert result.top1 >= 0.99, result
        assert _input_dtype(job.output) == np.int8  # fully integer: run() quantised the float digits it was fed
    fp32_size = 4 * sum(p.numel() for p in trained_cnn.model.parameters())
    assert job.output.stat().st_size < (0.6 if precision == "fp16" else 0.3) * fp32_size


def _input_dtype(path):
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    return next(iter(runner.get_input_details().values()))["dtype"]


def test_int8_without_calibration_data_is_refused(tmp_path):
    case = build_case(zoo_graph("mnist-cnn"))
    with pytest.raises(ExportError, match="calibration"):
        tflite.EXPORTER.convert(job_for(case, tmp_path / "x.tflite", "int8"))
    assert not (tmp_path / "x.tflite").exists()


def test_unknown_precision_is_refused(tmp_path):
    case = build_case(zoo_graph("mnist-cnn"))
    with pytest.raises(ExportError, match="no precision 'int4'"):
        tflite.EXPORTER.convert(job_for(case, tmp_path / "x.tflite", "int4"))


def test_wrong_input_shape_names_both(tmp_path):
    case = build_case(zoo_graph("mnist-cnn"))
    job = job_for(case, tmp_path / "cnn.tflite")
    tflite.EXPORTER.convert(job)
    with pytest.raises(ExportError, match=r"image \(1, 1, 28, 28\).*image \(2, 1, 14, 14\)"):
        tflite.EXPORTER.run(job.output, [np.zeros((2, 1, 14, 14), np.float32)])
