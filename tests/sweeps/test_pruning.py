"""The pruner stops a trial through its run's control file, driven through the core API as the app will."""

from __future__ import annotations

from pathlib import Path

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.sweeps.driver import SweepRunner
from neuralforge_desktop.core.sweeps.results import summarize
from neuralforge_desktop.core.sweeps.sweep_file import SweepSpec, new_sweep_id, open_study, save_sweep
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.runner import TrainingProcess

from training_graphs import digits_mlp

EPOCHS = 30


def test_a_trial_below_the_median_is_stopped_and_told_pruned(tmp_path):
    import optuna

    store = Store(tmp_path / "store.db")
    graph = digits_mlp()
    config = TrainConfig(dataset="digits", epochs=EPOCHS, limit=200, batch_size=32, threads=1, lr=1e-6)
    spec = SweepSpec(id=new_sweep_id(), graph_name=graph.name, space={"fc1.out_features": [16, 32]},
                     config=config.to_json(), trials=3, sampler="random", pruner="median", experiment="prune")
    save_sweep(Path(store.path), spec, graph)
    study = open_study(Path(store.path), spec, graph, create=True)
    for width in (16, 32):  # two earlier trials that were perfect at every epoch: the median to beat is 1.0
        study.add_trial(optuna.trial.create_trial(
            params={"fc1.out_features": width},
            distributions={"fc1.out_features": optuna.distributions.CategoricalDistribution([16, 32])},
            value=1.0, intermediate_values={epoch: 1.0 for epoch in range(1, EPOCHS + 1)}))
    events: list[dict] = []
    runner = SweepRunner(spec, graph, store, study,
                         lambda run_id, folder, resume: TrainingProcess(folder, resume=resume).start(), events.append)
    runner.run()

    done = [e for e in events if e["event"] == "trial_done"]
    assert [(e["trial"], e["state"]) for e in done] == [(2, "pruned")]
    run = store.get_run(done[0]["run_id"])
    assert run.status == "stopped"  # stopped through the control file, at a checkpoint, long before its end
    assert 1 <= len(store.metric_history(run.id, "val/acc").values) < EPOCHS
    assert summarize(spec, study)["counts"] == {"complete": 2, "pruned": 1}
