"""The registry tests' stores (a small trained MNIST run and its static int8 quantisation), registered as model
``digits`` (version 1 the float run, version 2 the quantised one) with one prediction of version 2 served and
recorded the way serving records it."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.store.sqlite_store import Store
from tests.registry.conftest import quantised, quantised_template, trained_template  # noqa: F401  (fixtures)


@pytest.fixture
def served(quantised) -> dict:  # noqa: F811  (the imported fixture)
    from neuralforge_desktop.core.monitoring.recorder import RequestRecorder
    from neuralforge_desktop.core.registry.register import register

    with Store(quantised["store"]) as store:
        register(store, quantised["run"], "digits", "float model")
        register(store, quantised["quantised"], "digits", "int8 model")
    with RequestRecorder(quantised["store"], "digits", sample_rate=0.0) as recorder:
        prediction_id = recorder.record(version="2", latency_ms=1.5, ok=True, status=200,
                                        predictions=[[0.1, 0.9] + [0.0] * 8])
        recorder.flush()
    return {**quantised, "prediction": prediction_id}


@pytest.fixture
def fingerprint() -> str:
    """The MNIST subset's fingerprint, loaded here as the trainer loads it (the template's settings)."""
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.datasets import load_dataset

    cfg = TrainConfig(dataset="mnist-10k", epochs=1, batch_size=64, limit=256, seed=0, threads=1)
    bundle = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction, seed=cfg.seed, normalize=cfg.normalize,
                          limit=cfg.limit, options=dict(cfg.dataset_options))
    return bundle.fingerprint
