"""Which seeds "run N more seeds" picks, and how it prepares the runs (training them is tested through the CLI
and the Compare window)."""

from __future__ import annotations

import json

import pytest

from neuralforge_desktop.core.compare.seeds import SeedRunError, new_seeds, prepare_seed_runs
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import MAX_SEED, TrainConfig
from neuralforge_desktop.core.training.runner import prepare_run

from training_graphs import digits_mlp, wider_digits_mlp


def test_new_seeds_count_up_past_the_taken_ones():
    assert new_seeds(set(), 3) == [0, 1, 2]
    assert new_seeds({0, 1, 2}, 2) == [3, 4]
    assert new_seeds({0, 7}, 2) == [8, 9]
    assert new_seeds({MAX_SEED}, 2) == [0, 1]  # no room above: the lowest free ones


def test_prepared_seed_runs_repeat_the_graph_and_settings(tmp_path):
    with Store(tmp_path / "store.db") as store:
        config = TrainConfig(dataset="digits", epochs=1, limit=100, optimizer="sgd", lr=0.05, seed=0)
        first, _ = prepare_run(digits_mlp(), config, store, "seeds", "mlp")
        prepare_run(digits_mlp(), TrainConfig(dataset="digits", seed=1), store, "seeds", "mlp again")
        prepare_run(wider_digits_mlp(), TrainConfig(dataset="digits", seed=5), store, "seeds", "another graph")
        runs = prepare_seed_runs(store, first, 2)
        assert [r.seed for r in runs] == [2, 3]  # 0 and 1 are this graph's; 5 belongs to another graph
        for seed_run in runs:
            saved = json.loads((seed_run.folder / "config.json").read_text())
            assert saved == {**config.to_json(), "seed": seed_run.seed}
            run = store.get_run(seed_run.run_id)
            assert run.name == f"mlp seed {seed_run.seed}" and run.experiment == "seeds"
            assert run.tags["seed_of"] == first and run.graph_sha256 == store.get_run(first).graph_sha256
        again = prepare_seed_runs(store, runs[0].run_id, 1)  # more seeds of a seed run count from the first run
        assert again[0].seed == 4 and store.get_run(again[0].run_id).tags["seed_of"] == first
        assert store.get_run(again[0].run_id).name == "mlp seed 4"
        with pytest.raises(SeedRunError, match="give 1 to 100"):
            prepare_seed_runs(store, first, 0)
