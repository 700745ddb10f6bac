"""MLflow export read back by MLflow's own client, and MLflow runs imported into the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mlflow")

from mlflow.tracking import MlflowClient

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.interop.mlflow_export import RUN_ID_TAG, export_to_mlflow, tracking_uri
from neuralforge_desktop.core.interop.mlflow_import import MLFLOW_RUN_TAG, import_from_mlflow
from neuralforge_desktop.core.store.environment import canonical_json
from neuralforge_desktop.core.store.sqlite_store import Store
from tests.reports.experiment import EXPERIMENT, LOSS_STEPS, build_experiment


@pytest.fixture(autouse=True)
def _mlflow_reads_file_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's own client, as a user runs it on the exported directory (mlflow ui needs the same opt-in)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("mlflow")
    ids = build_experiment(folder / "store.db")
    with Store(folder / "store.db") as store:
        summary = export_to_mlflow(store, folder / "mlruns", store.list_runs(EXPERIMENT))
    assert len(summary.exported) == 3 and summary.artifacts == 3
    return folder / "store.db", folder / "mlruns", ids


def test_mlflow_reads_params_metrics_steps_tags_and_artifacts(exported: tuple[Path, Path, dict[str, str]],
                                                              tmp_path: Path) -> None:
    store_path, mlruns, ids = exported
    client = MlflowClient(tracking_uri=tracking_uri(mlruns))
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id], max_results=10)
    assert sorted(r.info.run_name for r in found) == sorted(ids)
    with Store(store_path) as store:
        for mlflow_run in found:
            run = store.get_run(mlflow_run.data.tags[RUN_ID_TAG])
            assert mlflow_run.info.status == "FINISHED"
            assert mlflow_run.data.params == {k: v if isinstance(v, str) else canonical_json(v)
                                              for k, v in run.params.items()}
            assert mlflow_run.data.params["kernel"] == "[3,3]" and mlflow_run.data.params["optimizer"] == "adam"
            assert mlflow_run.data.tags["dataset"] == "digits"
            for name in ("train/loss", "val/acc"):
                history = sorted(client.get_metric_history(mlflow_run.info.run_id, name), key=lambda m: m.step)
                ours = store.metric_history(run.id, name)
                assert [m.step for m in history] == ours.steps.tolist()
                np.testing.assert_allclose([m.value for m in history], ours.values)
                np.testing.assert_allclose([m.timestamp / 1000 for m in history], ours.timestamps, atol=1e-3)
            assert [a.path for a in client.list_artifacts(mlflow_run.info.run_id)] == ["graph.nfg"]
            local = client.download_artifacts(mlflow_run.info.run_id, "graph.nfg", str(tmp_path))
            assert Path(local).read_bytes() == store.artifact_path(run.id, "graph.nfg").read_bytes()


def test_import_brings_the_same_runs_into_another_store_once(exported: tuple[Path, Path, dict[str, str]],
                                                              tmp_path: Path) -> None:
    store_path, mlruns, ids = exported
    with Store(tmp_path / "other.db") as other, Store(store_path) as original:
        summary = import_from_mlflow(other, mlruns)
        assert len(summary.imported) == 3 and summary.points == 3 * (LOSS_STEPS + 6) and summary.artifacts == 3
        imported = {r.name: r for r in other.list_runs(EXPERIMENT)}
        assert sorted(imported) == sorted(ids)
        for name, run_id in ids.items():
            ours, theirs = original.get_run(run_id), imported[name]
            assert theirs.params == ours.params and theirs.status == "finished"
            assert theirs.tags["dataset"] == "digits" and theirs.tags[MLFLOW_RUN_TAG]
            assert theirs.ended == pytest.approx(ours.ended, abs=1e-3)
            for metric in ("train/loss", "val/acc"):
                a, b = original.metric_history(run_id, metric), other.metric_history(theirs.id, metric)
                assert b.steps.tolist() == a.steps.tolist()
                np.testing.assert_allclose(b.values, a.values)
            assert other.artifact_path(theirs.id, "graph.nfg").read_bytes() == \
                original.artifact_path(run_id, "graph.nfg").read_bytes()
        again = import_from_mlflow(other, mlruns)
        assert not again.imported and len(again.skipped) == 3


def test_runs_made_with_mlflow_itself_import_and_export_skips_runs_already_there(tmp_path: Path,
                                                                                  capsys: pytest.CaptureFixture[str]
                                                                                  ) -> None:
    mlruns = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=tracking_uri(mlruns))
    experiment_id = client.create_experiment("made-elsewhere")
    run = client.create_run(experiment_id, run_name="sklearn-baseline", tags={"team": "vision"})
    client.log_param(run.info.run_id, "C", "0.5")
    for step in range(5):
        client.log_metric(run.info.run_id, "accuracy", 0.5 + step / 10, step=step)
    client.set_terminated(run.info.run_id, "FAILED")
    store_arg = ["--store", str(tmp_path / "store.db")]
    assert main(["runs", "import", "--from", "mlflow", str(mlruns), *store_arg]) == 0
    assert "imported 1 runs (5 metric points" in capsys.readouterr().out
    with Store(tmp_path / "store.db") as store:
        (imported,) = store.list_runs("made-elsewhere")
        assert (imported.name, imported.status, imported.params, imported.tags["team"]) == (
            "sklearn-baseline", "failed", {"C": 0.5}, "vision")
        assert store.metric_history(imported.id, "accuracy").values.tolist() == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])
    assert main(["runs", "export", "--to", "mlflow", str(tmp_path / "out"), *store_arg]) == 0
    assert main(["runs", "export", "--to", "mlflow", str(tmp_path / "out"), *store_arg]) == 0
    assert "exported 0 runs" in capsys.readouterr().out.splitlines()[-2]
