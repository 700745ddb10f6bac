"""The round trip a junior relies on, with two store files and the command line only: the junior exports a design
with two runs; the senior imports it into their own store, comments on a node and on a run (with a reply, and a
resolved remark) and exports it back; the junior imports that and sees the senior's comments on their own node
and their own run, with the senior's name and times, threads intact, and no run copied twice."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store.sqlite_store import Store
from tests.team.bundle_design import make_design

pytest.importorskip("neuralforge_desktop.core.team.comments")  # the comments these tests carry live there


def _cli(monkeypatch, user: str, *argv: str) -> str:
    monkeypatch.setenv("NEURALFORGE_USER", user)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(list(argv))
    assert status == 0, (argv, out.getvalue())
    return out.getvalue()


@pytest.fixture
def junior(tmp_path, monkeypatch) -> dict:
    return make_design(tmp_path / "junior", monkeypatch)


def test_junior_sees_the_seniors_comments_on_the_node_and_the_run(junior, tmp_path, monkeypatch):
    senior = tmp_path / "senior"
    senior.mkdir()
    j_store, s_store = str(junior["store"]), str(senior / "store.db")
    node = list(junior["graph"].nodes)[2]
    first_run, second_run = junior["runs"]

    # The junior shares the design and its two runs.
    _cli(monkeypatch, "junior", "bundle", "export", str(junior["graph_path"]),
         "-o", str(tmp_path / "to-senior.nfbundle"), "--store", j_store)

    # The senior imports it into their own store and comments.
    outcome = json.loads(_cli(monkeypatch, "senior", "bundle", "import", str(tmp_path / "to-senior.nfbundle"),
                              "--store", s_store, "--graph-dir", str(senior), "--json"))
    assert sorted(outcome["created"]) == sorted(junior["runs"])
    seniors_run = outcome["created"][first_run]
    design = str(senior / "design.nfg")
    _cli(monkeypatch, "senior", "comments", "add", f"graph:{design}", "Try 5x5 kernels here, @junior", "--node", node,
         "--store", s_store)
    added = json.loads(_cli(monkeypatch, "senior", "comments", "add", f"run:{seniors_run}",
                            "The loss went NaN at step 30: lower the lr", "--json", "--store", s_store))
    _cli(monkeypatch, "senior", "comments", "add", f"run:{seniors_run}", "(or clip the gradients)",
         "--reply", str(added["id"]), "--store", s_store)
    typo = json.loads(_cli(monkeypatch, "senior", "comments", "add", f"run:{seniors_run}", "Typo in the run name",
                           "--json", "--store", s_store))
    _cli(monkeypatch, "senior", "comments", "resolve", str(typo["id"]), "--store", s_store)
    _cli(monkeypatch, "senior", "bundle", "export", design, "-o", str(tmp_path / "to-junior.nfbundle"),
         "--store", s_store)

    # The junior imports the senior's bundle into their own store.
    back = json.loads(_cli(monkeypatch, "junior", "bundle", "import", str(tmp_path / "to-junior.nfbundle"),
                           "--store", j_store, "--graph-dir", str(junior["folder"]), "--json"))
    assert back["created"] == {}  # the runs are the junior's own: not copied again
    assert back["existing"] == {seniors_run: first_run, outcome["created"][second_run]: second_run}
    assert back["comments_added"] == 4
    assert back["graphs_written"] == [] and back["graphs_present"] == [str(junior["graph_path"])]

    on_graph = json.loads(_cli(monkeypatch, "junior", "comments", "list", f"graph:{junior['graph_path']}", "--json",
                               "--store", j_store))
    assert [(c["author"], c["anchor"], c["body"]) for c in on_graph] == \
        [("senior", node, "Try 5x5 kernels here, @junior")]
    on_run = json.loads(_cli(monkeypatch, "junior", "comments", "list", f"run:{first_run}", "--all", "--json",
                             "--store", j_store))
    by_body = {c["body"]: c for c in on_run}
    assert set(by_body) == {"The loss went NaN at step 30: lower the lr", "(or clip the gradients)",
                            "Typo in the run name"}
    assert all(c["author"] == "senior" and c["target_id"] == first_run for c in on_run)
    question = by_body["The loss went NaN at step 30: lower the lr"]
    assert by_body["(or clip the gradients)"]["parent_id"] == question["id"]
    assert by_body["Typo in the run name"]["resolved"] and by_body["Typo in the run name"]["resolved_by"] == "senior"
    assert question["created"] == added["created"]
    inbox = json.loads(_cli(monkeypatch, "junior", "comments", "inbox", "--json", "--store", j_store))
    assert [c["body"] for c in inbox] == ["Try 5x5 kernels here, @junior"]

    # Importing it again adds nothing.
    again = json.loads(_cli(monkeypatch, "junior", "bundle", "import", str(tmp_path / "to-junior.nfbundle"),
                            "--store", j_store, "--graph-dir", str(junior["folder"]), "--json"))
    assert again["created"] == {} and again["comments_added"] == 0
    with Store(junior["store"]) as store:
        assert len(store.list_runs()) == 2


def test_a_failed_import_takes_its_comments_back(junior, tmp_path, monkeypatch):
    from neuralforge_desktop.core.team import bundle_import
    from neuralforge_desktop.core.team.comments import list_comments

    j_store = str(junior["store"])
    _cli(monkeypatch, "junior", "comments", "add", f"graph:{junior['graph_path']}", "Is dropout needed here?",
         "--node", list(junior["graph"].nodes)[1], "--store", j_store)
    _cli(monkeypatch, "junior", "comments", "add", f"run:{junior['runs'][0]}", "Best so far", "--store", j_store)
    _cli(monkeypatch, "junior", "bundle", "export", str(junior["graph_path"]), "-o", str(tmp_path / "b.nfbundle"),
         "--store", j_store)

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundle_import, "_write_graphs", full_disk)
    with Store(tmp_path / "other.db") as store:
        with pytest.raises(OSError):
            bundle_import.import_bundle(store, tmp_path / "b.nfbundle", graph_dir=tmp_path / "other")
        assert store.list_runs() == [] and list_comments(store) == []
