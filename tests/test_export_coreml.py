"""Core ML export through the real coremltools: the zoo's CNN, LSTM and transformer templates convert to ML
programs whose saved spec (reloaded without compiling, as off macOS) has the graph's names, shapes and types,
and the ops a reader would expect. Core ML prediction exists only on macOS: the one test of the prediction path
replaces the compiled model with a stand-in and says so."""

from __future__ import annotations

import numpy as np
import pytest

from neuralforge_desktop.core.exporters import coreml
from neuralforge_desktop.core.exporters.base import ExportError

from export_cases import build_case, job_for, zoo_graph

DIGITS = [str(d) for d in range(10)]
# the op that does each template's main work, as Core ML names it
MAIN_OPS = {"mnist-cnn": "conv", "lstm-text": "lstm", "transformer-text": "softmax"}


@pytest.mark.parametrize("name", ["mnist-cnn", "lstm-text", "transformer-text"])
def test_converts_and_spec_matches_the_graph(tmp_path, name):
    case = build_case(zoo_graph(name))
    labels = DIGITS if name == "mnist-cnn" else None
    job = job_for(case, tmp_path / f"{name}.mlpackage", class_labels=labels)
    coreml.EXPORTER.convert(job)
    facts = coreml.EXPORTER.check(job.output, job)
    (input_name,) = case.model.input_names
    example = case.inputs(1)[0]
    dtype = "float32" if example.dtype.is_floating_point else "int32"  # Core ML has no int64: token ids are int32
    assert facts["inputs"] == {input_name: {"shape": list(example.shape), "dtype": dtype}}
    (output_name,) = case.model.output_names
    if labels:
        assert facts["class_labels"] == 10
        assert set(facts["outputs"]) == {f"{output_name}_label", f"{output_name}_label_probs"}
    else:
        out_shape = list(case.torch_outputs([example])[0].shape)
        assert facts["outputs"] == {output_name: {"shape": out_shape, "dtype": "float32"}}
    assert facts["ops"].get(MAIN_OPS[name], 0) >= 1, facts["ops"]
    assert not facts["predictions_compared"]  # Linux: checked, not run


def test_precisions_change_the_program(tmp_path):
    case = build_case(zoo_graph("mnist-cnn"))
    sizes, ops = {}, {}
    for precision in ("fp32", "fp16", "int8-weights"):
        job = job_for(case, tmp_path / f"cnn-{precision}.mlpackage", precision)
        coreml.EXPORTER.convert(job)
        ops[precision] = coreml.EXPORTER.check(job.output, job)["ops"]
        sizes[precision] = sum(f.stat().st_size for f in job.output.rglob("*") if f.is_file())
    assert "cast" not in ops["fp32"] and ops["fp16"]["cast"] >= 2  # float32 in and out around fp16 arithmetic
    # coremltools quantises weight tensors of at least 2,048 elements (its default threshold); smaller ones stay
    large = [p for p in case.model.parameters() if p.dim() > 1 and p.numel() >= 2048]
    assert ops["int8-weights"]["constexpr_affine_dequantize"] == len(large) >= 2
    assert sizes["fp16"] < 0.6 * sizes["fp32"] and sizes["int8-weights"] < 0.35 * sizes["fp32"], sizes


def test_check_names_a_mismatch(tmp_path):
    case = build_case(zoo_graph("mnist-cnn"))
    job = job_for(case, tmp_path / "cnn.mlpackage")
    coreml.EXPORTER.convert(job)
    renamed = job_for(case, job.output)
    renamed.output_names = ["scores"]
    with pytest.raises(ExportError, match=r"output names \['logits'\] differ from the graph's \['scores'\]"):
        coreml.EXPORTER.check(job.output, renamed)
    labelled = job_for(case, job.output, class_labels=DIGITS)
    with pytest.raises(ExportError, match="no classifier"):
        coreml.EXPORTER.check(job.output, labelled)


def test_labels_that_do_not_fit_the_output_are_refused(tmp_path):
    case = build_case(zoo_graph("mnist-cnn"))
    with pytest.raises(ExportError, match=r"3 class labels need one output of shape \(1, 3\)"):
        coreml.EXPORTER.convert(job_for(case, tmp_path / "x.mlpackage", class_labels=["a", "b", "c"]))
    assert not (tmp_path / "x.mlpackage").exists()


def test_prediction_path_orders_inputs_and_label_scores(tmp_path, monkeypatch):
    """Stand-in for macOS: the compiled model cannot exist here, so ``MLModel`` (with ``skip_model_load``
    unset) is replaced by one that reads the real saved spec and predicts fixed scores; what is tested is how
    the session feeds inputs and returns a classifier's scores in label order."""
    import coremltools as ct

    case = build_case(zoo_graph("mnist-cnn"))
    job = job_for(case, tmp_path / "cnn.mlpackage", class_labels=DIGITS)
    coreml.EXPORTER.convert(job)
    real = ct.models.MLModel
    fed = {}

    class MacModel:
        def __init__(self, path):
            self._spec = real(path, skip_model_load=True).get_spec()

        def get_spec(self):
            return self._spec

        def predict(self, feed):
            fed.update(feed)
            return {"logits_label": "7", "logits_label_probs": {d: float(d) / 10 for d in DIGITS}}

    monkeypatch.setattr(ct.models, "MLModel", MacModel)
    image = np.ones((1, 1, 28, 28), np.float64)
    (scores,) = coreml.session(job.output)([image])
    assert fed["image"].dtype == np.float32 and fed["image"].shape == (1, 1, 28, 28)
    np.testing.assert_allclose(scores, [[d / 10 for d in range(10)]])
