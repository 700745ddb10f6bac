"""`neuralforge comments` and `neuralforge review` on a real store: a graph file given an id on its first
comment, threads listed, resolve and reopen, the inbox, and a review approved into the registry."""

from __future__ import annotations

import json

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.ir.serialize import load_graph, save_graph


def _cli(store_path, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        status = main([*argv, "--store", str(store_path)])
        out, err = capsys.readouterr()
        return status, out, err
    return run


@pytest.fixture
def nf(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEURALFORGE_USER", "ana")
    return _cli(tmp_path / "store.db", capsys)


def test_comment_on_a_graph_node_reply_list_resolve_and_inbox(nf, tmp_path, monkeypatch):
    path = tmp_path / "mnist.nfg"
    save_graph(zoo.build("mnist-cnn"), path)
    conv = next(n.id for n in load_graph(path) if n.type == "Conv2d")
    status, out, err = nf("comments", "add", f"graph:{path}", "Why 32 filters here? @ben", "--node", conv)
    assert status == 0, err
    assert out.strip() == f"added comment 1 on node {conv} (graph:{path}) by ana"
    graph_id = load_graph(path).meta["graph_id"]
    assert f"gave {path} the comment id {graph_id}" in err
    monkeypatch.setenv("NEURALFORGE_USER", "ben")
    status, out, err = nf("comments", "add", f"graph:{path}", "It matches the paper", "--reply", "1")
    assert (status, out.strip()) == (0, f"added reply 2 to comment 1 on node {conv} (graph:{path}) by ben"), err
    assert "gave" not in err  # the id is made once

    status, out, _ = nf("comments", "list", f"graph:{path}", "--json")
    listed = json.loads(out)
    assert [(c["id"], c["parent_id"], c["anchor"], c["author"]) for c in listed] == [(1, None, conv, "ana"),
                                                                                   (2, 1, conv, "ben")]
    status, out, _ = nf("comments", "inbox")
    assert status == 0 and "Why 32 filters here?" in out and "1 open mention" in out
    assert nf("comments", "resolve", "1")[1].strip() == f"resolved comment 1 on graph:{graph_id}"
    assert nf("comments", "list", f"graph:{path}")[1].strip() == f"no open comments on graph:{path}"
    status, out, _ = nf("comments", "list", f"graph:{path}", "--all")
    assert "#1 ana" in out and "    #2 ben" in out and "resolved by ben" in out and "2 comments" in out
    assert nf("comments", "inbox")[1].strip() == "no open comments mention ben"
    assert nf("comments", "resolve", "2", "--reopen")[0] == 0
    assert len(json.loads(nf("comments", "list", f"graph:{path}", "--json")[1])) == 2
    assert [c["resolved"] for c in json.loads(nf("comments", "list", f"graph:{path}", "--all", "--json")[1])] == [
        False, False]


def test_runs_and_experiments_are_targets_and_bad_targets_are_named(nf, tmp_path):
    from neuralforge_desktop.core.store.sqlite_store import Store

    with Store(tmp_path / "store.db") as store:
        run = store.create_run("digits", status="finished")
    assert nf("comments", "add", f"run:{run.id}", "loss plateaus")[0] == 0
    assert nf("comments", "add", "experiment:digits", "baseline first")[0] == 0
    assert "baseline first" in nf("comments", "list", "experiment:digits")[1]
    status, _, err = nf("comments", "add", "run:nope", "x")
    assert status == 1 and "no run 'nope' to comment on" in err
    status, _, err = nf("comments", "add", "thing:x", "x")
    assert status == 2 and "write run:ID, graph:PATH.nfg" in err
    status, _, err = nf("comments", "add", f"run:{run.id}", "x", "--node", "conv1")
    assert status == 2 and "--node pins a comment to a graph's node" in err
    status, _, err = nf("comments", "add", f"run:{run.id}", " ")
    assert status == 1 and "the comment is empty" in err


def test_review_request_queue_approve_from_the_command_line(registered, capsys, monkeypatch):
    nf = _cli(registered.path, capsys)
    status, out, err = nf("review", "request", "mnist@1", "--reviewer", "ben", "--note", "card written")
    assert (status, out.strip()) == (0, "review request 1: ben to review mnist@1"), err
    status, out, _ = nf("review", "queue", "--json")
    assert [(r["id"], r["ref"], r["requested_by"], r["note"]) for r in json.loads(out)] == [
        (1, "mnist@1", "ana", "card written")]
    status, _, err = nf("review", "approve", "1")
    assert status == 1 and "ana asked for review request 1 and cannot approve it" in err
    monkeypatch.setenv("NEURALFORGE_USER", "ben")
    status, out, _ = nf("review", "queue", "--reviewer", "ben")
    assert "mnist@1" in out and "1 pending request" in out
    status, out, _ = nf("review", "approve", "1", "--note", "looks right")
    assert out.strip() == "approved review request 1 (mnist@1); the registry records the approval"
    status, out, _ = nf("registry", "show", "mnist@1")
    assert "approved by ben" in out
    status, _, err = nf("review", "reject", "1", "--note", "changed my mind")
    assert status == 1 and "already approved by ben" in err
    assert nf("review", "queue")[1].strip() == "no pending review requests"
