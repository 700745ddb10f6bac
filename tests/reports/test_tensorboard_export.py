"""TensorBoard export, read back with TensorBoard's own event reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.interop.tensorboard_export import export_to_tensorboard, run_folder
from neuralforge_desktop.core.store.sqlite_store import Store
from tests.reports.experiment import ACC_STEPS, EXPERIMENT, LOSS_STEPS, build_experiment


def _read(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def test_every_point_of_every_run_reads_back_at_its_step(tmp_path: Path) -> None:
    ids = build_experiment(tmp_path / "store.db")
    with Store(tmp_path / "store.db") as store:
        runs = store.list_runs(EXPERIMENT)
        summary = export_to_tensorboard(store, tmp_path / "tb", runs)
        assert summary.points == 3 * (LOSS_STEPS + ACC_STEPS)
        for run in runs:
            events = _read(run_folder(tmp_path / "tb", run))
            assert set(events.Tags()["scalars"]) == {"train/loss", "val/acc"}
            history = store.metric_history(run.id, "train/loss")
            scalars = events.Scalars("train/loss")
            assert [s.step for s in scalars] == history.steps.tolist()
            np.testing.assert_allclose([s.value for s in scalars], history.values, rtol=1e-6)  # float32 in events
            np.testing.assert_allclose([s.wall_time for s in scalars], history.timestamps)
            assert [s.step for s in events.Scalars("val/acc")] == store.metric_history(run.id, "val/acc").steps.tolist()
            params = events.Tensors("params")[0].tensor_proto.string_val[0].decode()
            assert f"| lr | {run.params['lr']} |" in params
    assert len({p.name for p in (tmp_path / "tb" / EXPERIMENT).iterdir()}) == len(ids)


def test_exporting_again_replaces_the_events_instead_of_doubling_them(tmp_path: Path) -> None:
    ids = build_experiment(tmp_path / "store.db")
    store_arg = ["--store", str(tmp_path / "store.db")]
    assert main(["runs", "export", "--to", "tensorboard", str(tmp_path / "tb"), ids["wide"], *store_arg]) == 0
    assert main(["runs", "export", "--to", "tensorboard", str(tmp_path / "tb"), ids["wide"], *store_arg]) == 0
    with Store(tmp_path / "store.db") as store:
        folder = run_folder(tmp_path / "tb", store.get_run(ids["wide"]))
    assert len(list(folder.glob("events.out.tfevents.*"))) == 1
    assert len(_read(folder).Scalars("train/loss")) == LOSS_STEPS
