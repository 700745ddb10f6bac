"""Captum on the MNIST CNN: integrated gradients' completeness, Grad-CAM's map, refusals, the stored summary."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.explain import ARTIFACT, explain, explain_subject, load_subject, stored_summary
from neuralforge_desktop.core.explain.image import baseline_of, forward_of


@pytest.fixture(scope="module")
def mnist_subject(mnist_run):
    from neuralforge_desktop.core.store.sqlite_store import Store

    with Store(mnist_run["store"]) as store:
        return load_subject(store, mnist_run["run"])


def test_integrated_gradients_sum_to_the_score_difference(mnist_subject, tmp_path):
    found = explain_subject(mnist_subject, "ig", sample=5, output=tmp_path)
    example = torch.as_tensor(mnist_subject.example(5)[0])
    baseline = torch.as_tensor(baseline_of(mnist_subject)).expand_as(example)
    target = found.prediction["class"]
    with torch.no_grad():
        forward = forward_of(mnist_subject)
        difference = float(forward(example)[0, target] - forward(baseline)[0, target])
    total = float(found.values.sum())
    delta = found.figures["convergence_delta"]
    assert abs(difference) > 0.1  # a real difference to split among the pixels
    assert abs(total - difference) <= abs(delta) + 1e-4  # Captum's delta is exactly this gap
    assert abs(delta) < 0.01 * abs(difference)  # and the 64-step path integral is close


def test_grad_cam_covers_the_image_and_is_not_negative(mnist_subject, tmp_path):
    found = explain_subject(mnist_subject, "gradcam", sample=2, output=tmp_path)
    assert found.values.shape[-2:] == mnist_subject.example(2)[0].shape[-2:] == (28, 28)
    assert found.values.min() >= 0.0 and found.values.max() > 0.0
    assert found.images == [str(tmp_path / "gradcam-sample2.png")]
    assert (tmp_path / "gradcam-sample2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("method", ["saliency", "occlusion"])
def test_other_image_methods_give_a_map_per_pixel(mnist_subject, tmp_path, method):
    found = explain_subject(mnist_subject, method, sample=0, output=tmp_path)
    assert found.values.shape == (1, 1, 28, 28)
    assert np.abs(found.values).sum() > 0
    assert found.prediction["label"] == int(mnist_subject.labels[0])


@pytest.mark.parametrize("method", ["shap", "attention", "permutation"])
def test_a_method_that_does_not_fit_names_those_that_do(mnist_subject, tmp_path, method):
    with pytest.raises(UserError) as caught:
        explain_subject(mnist_subject, method, sample=0, output=tmp_path)
    assert "ig, saliency, occlusion, gradcam" in str(caught.value)
    assert method in str(caught.value)


def test_a_sample_out_of_range_names_the_range(mnist_subject, tmp_path):
    with pytest.raises(UserError, match=rf"has {len(mnist_subject)} examples \(0 … {len(mnist_subject) - 1}\)"):
        explain_subject(mnist_subject, "saliency", sample=len(mnist_subject), output=tmp_path)


def test_a_global_explanation_is_kept_with_the_run(mnist_run, store_of, tmp_path):
    store = store_of(mnist_run)
    found = explain(store, mnist_run["run"], "gradcam", global_count=12, output=tmp_path)
    assert set(found.values) and all(m.shape == (28, 28) for m in found.values.values())
    explain(store, mnist_run["run"], "saliency", global_count=12, output=tmp_path)
    summary = stored_summary(store, mnist_run["run"])
    assert set(summary["methods"]) >= {"gradcam", "saliency"}
    assert summary["methods"]["gradcam"]["examples"] == 12
    stored = json.loads(store.artifact_path(mnist_run["run"], ARTIFACT).read_text())
    assert stored == summary
    assert sum(c["examples"] for c in summary["methods"]["gradcam"]["figures"]["classes"].values()) == 12
