"""Exporting a design with its runs and importing it into another store file: every metric point, param, tag,
time, user and artifact comes back equal; a second import adds nothing; a failure part-way leaves nothing."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.team.bundle import ORIGIN_TAG
from neuralforge_desktop.core.team.bundle_archive import BundleReader
from tests.team.bundle_design import make_design


@pytest.fixture
def junior(tmp_path, monkeypatch) -> dict:
    """A junior's design.nfg and a store with two of its runs."""
    return make_design(tmp_path / "junior", monkeypatch)


def _export(junior, out, *extra) -> None:
    assert main(["bundle", "export", str(junior["graph_path"]), "-o", str(out), "--store", str(junior["store"]),
                 *extra]) == 0


def _import(bundle, store, graph_dir, *extra) -> dict:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["bundle", "import", str(bundle), "--store", str(store), "--graph-dir", str(graph_dir),
                     "--json", *extra]) == 0
    return json.loads(buffer.getvalue())


def test_runs_metrics_and_artifacts_come_back_equal(junior, tmp_path, monkeypatch):
    bundle = tmp_path / "design.nfbundle"
    _export(junior, bundle)
    monkeypatch.setenv("NEURALFORGE_USER", "senior")
    outcome = _import(bundle, tmp_path / "senior" / "store.db", tmp_path / "senior")
    assert sorted(outcome["created"]) == sorted(junior["runs"]) and outcome["existing"] == {}
    assert (tmp_path / "senior" / "design.nfg").read_bytes() == junior["graph_path"].read_bytes()
    with Store(junior["store"]) as mine, Store(tmp_path / "senior" / "store.db") as theirs:
        for old, new in outcome["created"].items():
            a, b = mine.get_run(old), theirs.get_run(new)
            assert new != old
            assert b.user == "junior" == a.user  # the creator, not whoever imported it
            assert (b.name, b.experiment, b.status, b.params) == (a.name, a.experiment, a.status, a.params)
            assert (b.created, b.started, b.ended) == (a.created, a.started, a.ended)
            assert (b.cpu_seconds, b.gpu_seconds, b.graph_sha256) == (a.cpu_seconds, a.gpu_seconds, a.graph_sha256)
            assert b.environment == a.environment
            assert b.tags == {**a.tags, ORIGIN_TAG: old}
            assert mine.metric_names(old) == theirs.metric_names(new) == ["train/loss", "val/acc"]
            for name in mine.metric_names(old):
                x, y = mine.metric_history(old, name), theirs.metric_history(new, name)
                assert np.array_equal(x.steps, y.steps)
                assert np.array_equal(x.values, y.values, equal_nan=True)
                assert np.array_equal(x.timestamps, y.timestamps)
            assert np.isnan(theirs.metric_history(new, "train/loss").values[3])
            mine_files = {f.name: f for f in mine.list_artifacts(old)}
            their_files = {f.name: f for f in theirs.list_artifacts(new)}
            assert set(mine_files) == set(their_files) == {"graph.nfg", "checkpoints/last.pt"}
            for name, theirs_file in their_files.items():
                assert theirs_file.sha256 == mine_files[name].sha256
                assert hashlib.sha256(theirs_file.path.read_bytes()).hexdigest() == mine_files[name].sha256
                assert theirs_file.kind == mine_files[name].kind


def test_importing_again_adds_nothing(junior, tmp_path):
    bundle = tmp_path / "design.nfbundle"
    _export(junior, bundle)
    target = tmp_path / "other" / "store.db"
    first = _import(bundle, target, tmp_path / "other")
    second = _import(bundle, target, tmp_path / "other")
    assert second["created"] == {} and second["existing"] == first["created"]
    assert second["graphs_written"] == [] and second["graphs_present"] == [str(tmp_path / "other" / "design.nfg")]
    with Store(target) as store:
        assert len(store.list_runs()) == 2
    # Into the store it came from: the runs are recognised as its own.
    back = _import(bundle, junior["store"], junior["folder"])
    assert back["created"] == {} and back["existing"] == {r: r for r in junior["runs"]}


def test_import_into_a_chosen_project(junior, tmp_path):
    bundle = tmp_path / "design.nfbundle"
    _export(junior, bundle)
    outcome = _import(bundle, tmp_path / "other" / "store.db", tmp_path / "other", "--project", "review")
    with Store(tmp_path / "other" / "store.db") as store:
        assert sorted(r.id for r in store.list_runs(project="review")) == sorted(outcome["created"].values())
        assert [e.name for e in store.list_experiments("review")] == ["baseline"]


def test_a_different_design_of_the_same_name_is_not_overwritten(junior, tmp_path):
    bundle = tmp_path / "design.nfbundle"
    _export(junior, bundle)
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "design.nfg").write_text(junior["graph_path"].read_text().replace("mnist", "mnist-edited", 1))
    before = (folder / "design.nfg").read_bytes()
    outcome = _import(bundle, folder / "store.db", folder)
    assert (folder / "design.nfg").read_bytes() == before
    assert outcome["graphs_written"] == [str(folder / "design-2.nfg")]
    assert any("design-2.nfg" in note for note in outcome["notes"])


def test_a_failure_part_way_leaves_nothing_imported(junior, tmp_path, monkeypatch):
    from neuralforge_desktop.core.team import bundle_import
    from neuralforge_desktop.core.team.bundle_import import import_bundle

    bundle = tmp_path / "design.nfbundle"
    _export(junior, bundle)
    calls = []
    real = bundle_import._Importer.add_artifact

    def fail_on_the_third(self, *args):
        calls.append(args)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, *args)

    monkeypatch.setattr(bundle_import._Importer, "add_artifact", fail_on_the_third)
    target = tmp_path / "other" / "store.db"
    with Store(target) as store:
        with pytest.raises(OSError):
            import_bundle(store, bundle, graph_dir=tmp_path / "other")
        assert store.list_runs() == []
    assert not (tmp_path / "other" / "design.nfg").exists()


def test_export_of_a_project_and_of_chosen_runs(junior, tmp_path):
    with Store(junior["store"]) as store:
        project = store.list_projects()[0].name
    whole = tmp_path / "project.nfbundle"
    assert main(["bundle", "export", project, "-o", str(whole), "--store", str(junior["store"])]) == 0
    one = tmp_path / "one.nfbundle"
    _export(junior, one, "--runs", junior["runs"][1])
    with BundleReader(whole) as reader:
        reader.verify()
        assert [r["id"] for r in reader.manifest["contents"]["runs"]] == junior["runs"]
        assert [g["member"] for g in reader.manifest["contents"]["graphs"]] == ["graphs/mnist-cnn.nfg"]
        assert reader.manifest["who"] == "junior"
    with BundleReader(one) as reader:
        assert [r["id"] for r in reader.manifest["contents"]["runs"]] == [junior["runs"][1]]


def test_inspect_lists_the_contents_and_checks_them(junior, tmp_path, capsys):
    bundle = tmp_path / "design.nfbundle"
    _export(junior, bundle)
    capsys.readouterr()
    assert main(["bundle", "inspect", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "made by junior" in out and "checksums OK" in out
    assert all(run_id in out for run_id in junior["runs"])


def test_a_run_still_running_where_it_was_exported_arrives_stopped(junior, tmp_path):
    with Store(junior["store"]) as store:
        live = store.create_run("baseline", "still-training", params={"lr": 0.1}, environment={})
        store.log_series(live.id, "train/loss", [0, 1], [2.0, 1.5], [1.0, 2.0])
    bundle = tmp_path / "live.nfbundle"
    _export(junior, bundle, "--runs", live.id)
    outcome = _import(bundle, tmp_path / "other" / "store.db", tmp_path / "other")
    with Store(tmp_path / "other" / "store.db") as store:
        run = store.get_run(outcome["created"][live.id])
        assert run.status == "stopped" and run.tags["reason"] == "was running in the store it was exported from"
        assert run.pid is None and store.mark_crashed_runs() == []


def test_export_and_import_are_audit_events(junior, tmp_path, capsys, monkeypatch):
    bundle = tmp_path / "design.nfbundle"
    _export(junior, bundle)
    monkeypatch.setenv("NEURALFORGE_USER", "senior")
    target = tmp_path / "other" / "store.db"
    outcome = _import(bundle, target, tmp_path / "other")
    capsys.readouterr()
    for store, kind, who in ((junior["store"], "bundle.exported", "junior"), (target, "bundle.imported", "senior")):
        assert main(["audit", "list", "--kind", kind, "--json", "--store", str(store)]) == 0
        entries = json.loads(capsys.readouterr().out)
        assert [(e["kind"], e["subject"], e["details"]["who"]) for e in entries] == [(kind, "design.nfbundle", who)]
    assert entries[0]["details"]["created"] == outcome["created"]
    assert main(["audit", "verify", "--store", str(target)]) == 0
