"""Drift against a run's real training data: the reference is loaded as the run loaded its dataset."""

from __future__ import annotations

import numpy as np

from neuralforge_desktop.core.monitoring.recorder import RequestRecorder
from neuralforge_desktop.core.monitoring.reference import check_drift, run_of_version, training_reference
from neuralforge_desktop.core.training.datasets import load_dataset


def test_image_drift_against_the_runs_training_images(store, store_path) -> None:
    run = store.create_run("digits", "cnn", params={"dataset": "digits", "seed": 0, "val_fraction": 0.2,
                                                    "normalize": True}, environment={})
    reference, names = training_reference(store, run.id, size=500)
    assert reference.shape == (500, 1, 8, 8) and names is None
    served = load_dataset("digits", val_fraction=0.2, seed=0).val.x[:150]  # unseen digits, same distribution
    with RequestRecorder(store_path, "digits", sample_rate=1.0) as recorder:
        for image in served:
            recorder.record(version="1", latency_ms=2.0, ok=True, status=200, inputs=[image.tolist()],
                            predictions=[[0.0] * 10])
        for image in served:  # version 2 is sent brighter images (a camera's exposure changed)
            recorder.record(version="2", latency_ms=2.0, ok=True, status=200, inputs=[(image + 1.0).tolist()],
                            predictions=[[0.0] * 10])
    reports = check_drift(store, "digits", reference=reference)
    assert reports["1"].kind == "image" and reports["1"].samples == 150
    assert [f.verdict for f in reports["1"].features] == ["stable", "stable"]
    assert reports["2"].features[0].verdict == "major shift" and reports["2"].max_psi > 0.25
    assert np.isclose(reports["2"].features[0].current_mean - reports["2"].features[0].reference_mean, 1.0,
                      atol=0.2)


def test_without_a_registered_version_there_is_no_reference(store) -> None:
    assert run_of_version(store, "never-registered", "1") is None
