"""The trained run every optimisation test starts from: the MNIST CNN, one short epoch on a few hundred MNIST
digits (seconds on two cores), trained once per test session, and a run of the same graph that never trained."""

from __future__ import annotations

import pytest

from .quantize_runs import train_tiny_cnn


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> dict:
    """``{"store": store path, "run": trained run id, "untrained": run id without checkpoints}``."""
    return train_tiny_cnn(tmp_path_factory.mktemp("optimize"))
