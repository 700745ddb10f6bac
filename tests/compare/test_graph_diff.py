"""The architecture diff on real graphs: the tests' digits MLP against a variant, and a run's saved graph."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.compare.graph_diff import RunGraphError, diff_graphs, run_graph
from neuralforge_desktop.core.ir.graph import Edge
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.runner import prepare_run, runs_root
from neuralforge_desktop.core.zoo import build

from training_graphs import digits_mlp, wider_digits_mlp


def test_the_same_graph_has_no_differences():
    assert diff_graphs(digits_mlp(), digits_mlp()).empty
    assert diff_graphs(digits_mlp(), digits_mlp()).lines() == []


def test_added_changed_and_renamed_nodes_and_their_edges():
    diff = diff_graphs(digits_mlp(), wider_digits_mlp())
    assert diff.added == ("drop2",)
    assert diff.added_types == {"drop2": "Dropout"}
    assert diff.removed == ()
    assert diff.renamed == {"fc2": "head"}
    changes = {c.old_id: c for c in diff.changed}
    assert set(changes) == {"fc1", "fc2"}
    (width,) = changes["fc1"].fields
    assert (width.field, width.old, width.new) == ("params.out_features", 32, 64)
    assert changes["fc2"].renamed and changes["fc2"].new_id == "head" and changes["fc2"].fields == ()
    # drop → fc2 became drop → drop2 → head: in the new graph's ids one edge went, two came
    assert set(diff.removed_edges) == {Edge("drop", "y", "fc2", "x")}
    assert set(diff.added_edges) == {Edge("drop", "y", "drop2", "x"), Edge("drop2", "y", "head", "x")}
    lines = diff.lines()
    assert "+ drop2 (Dropout)" in lines
    assert "~ fc1 (Linear): params.out_features: 32 → 64" in lines
    assert "~ fc2 → head (Linear): renamed" in lines


def test_removed_nodes_the_other_way_round():
    diff = diff_graphs(wider_digits_mlp(), digits_mlp())
    assert diff.removed == ("drop2",) and diff.added == ()
    assert diff.renamed == {"head": "fc2"}
    assert "- drop2 (Dropout)" in diff.lines()


def test_an_ambiguous_rename_is_an_addition_and_a_removal():
    old, new = build("tabular-mlp"), build("tabular-mlp")
    # two Linear nodes lose their ids at once, and a third Linear is added: no unambiguous pairing
    new.rename_node("fc1", "dense_a")
    new.rename_node("fc2", "dense_b")
    new.add_node("Linear", params={"out_features": 8}, node_id="fc_extra")
    diff = diff_graphs(old, new)
    assert diff.renamed == {}
    assert set(diff.removed) == {"fc1", "fc2"}
    assert set(diff.added) == {"dense_a", "dense_b", "fc_extra"}


def test_moving_a_node_is_not_a_change_but_its_settings_are():
    old, new = build("tabular-mlp"), build("tabular-mlp")
    new.node("fc1").position = (999.0, 999.0)
    assert diff_graphs(old, new).empty
    new.set_param("dropout1", "p", 0.5)
    new.node("bn1").trainable = False
    fields = {c.old_id: [(f.field, f.old, f.new) for f in c.fields] for c in diff_graphs(old, new).changed}
    assert fields == {"dropout1": [("params.p", 0.2, 0.5)], "bn1": [("trainable", True, False)]}


def test_a_runs_graph_from_its_folder_and_from_its_artifact(tmp_path):
    store = Store(tmp_path / "store.db")
    try:
        config = TrainConfig(dataset="digits", epochs=1, limit=100)
        run_id, folder = prepare_run(wider_digits_mlp(), config, store, "cmp")
        assert diff_graphs(run_graph(store, run_id), wider_digits_mlp()).empty
        (folder / "graph.nfg").unlink()  # a run copied without its folder still has the artifact
        assert diff_graphs(run_graph(store, run_id), wider_digits_mlp()).empty
        bare = store.create_run("cmp", "no graph", environment={})
        with pytest.raises(RunGraphError, match="cannot read the graph"):
            run_graph(store, bare.id)
        assert runs_root(store.path) == folder.parent
    finally:
        store.close()
