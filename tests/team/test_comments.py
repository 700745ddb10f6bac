"""Comments on a real store: threads and replies, resolving, mentions and the inbox, graph ids kept in the file,
bad input refused naming the thing at fault, and an audit entry for every change."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.audit import entries
from neuralforge_desktop.core.ir.serialize import load_graph, save_graph
from neuralforge_desktop.core.team.comments import (
    TARGET_KINDS,
    CommentError,
    add_comment,
    comment_counts,
    graph_target_id,
    list_comments,
    mentions_for,
    parse_mentions,
    relative_time,
    resolve_comment,
    threads,
)


@pytest.fixture
def run_id(plain_store):
    return plain_store.create_run("digits", status="finished").id


def test_a_thread_with_replies_to_replies_reads_in_order(plain_store, run_id):
    root = add_comment(plain_store, "run", run_id, "Loss plateaus after epoch 4", created=100.0)
    reply = add_comment(plain_store, "run", run_id, "Try a lower learning rate", parent_id=root.id, author="ben",
                        created=200.0)
    other = add_comment(plain_store, "run", run_id, "Second thread", created=150.0)
    deeper = add_comment(plain_store, "run", run_id, "Did, it helps", parent_id=reply.id, created=300.0)
    assert (root.author, root.parent_id, reply.author, reply.parent_id) == ("ana", None, "ben", root.id)
    listed = list_comments(plain_store, "run", run_id)
    assert [c.id for c in listed] == [root.id, other.id, reply.id, deeper.id]  # oldest first
    assert [(c.id, depth) for c, depth in threads(listed)] == [(root.id, 0), (reply.id, 1), (deeper.id, 2),
                                                               (other.id, 0)]
    assert list_comments(plain_store, "experiment", run_id) == []
    assert set(TARGET_KINDS) == {"run", "graph", "model_version", "experiment"}


def test_resolving_a_threads_root_resolves_the_thread_and_reopening_a_reply_reopens_it(plain_store, run_id):
    root = add_comment(plain_store, "run", run_id, "Why dropout 0.5?")
    reply = add_comment(plain_store, "run", run_id, "copied from the paper", parent_id=root.id, author="ben")
    other = add_comment(plain_store, "run", run_id, "unrelated")
    resolved = resolve_comment(plain_store, root.id, who="ben", at=500.0)
    assert (resolved.resolved, resolved.resolved_by, resolved.resolved_at) == (True, "ben", 500.0)
    assert [c.id for c in list_comments(plain_store, "run", run_id) if c.resolved] == [root.id, reply.id]
    assert [c.id for c in list_comments(plain_store, "run", run_id, include_resolved=False)] == [other.id]
    reopened = resolve_comment(plain_store, reply.id, resolved=False)
    assert (reopened.resolved, reopened.resolved_by, reopened.resolved_at) == (False, None, None)
    assert all(not c.resolved for c in list_comments(plain_store, "run", run_id))
    resolve_comment(plain_store, reply.id)  # a reply alone: its thread's start stays open
    assert [c.id for c in list_comments(plain_store, "run", run_id) if c.resolved] == [reply.id]


def test_mentions_are_parsed_and_fill_the_inbox_until_resolved(plain_store, run_id):
    assert parse_mentions("@ben and @carla-x, see mail@example.com or @ben again. @dee.") == ("ben", "carla-x", "dee")
    first = add_comment(plain_store, "run", run_id, "@ben can you look at the curves?", created=10.0)
    second = add_comment(plain_store, "experiment", plain_store.get_run(run_id).experiment_id,
                         "cc @ben @carla", created=20.0)
    add_comment(plain_store, "run", run_id, "no mention of ben here", created=30.0)
    assert first.mentions == ("ben",) and second.mentions == ("ben", "carla")
    assert [c.id for c in mentions_for(plain_store, "ben")] == [first.id, second.id]
    assert [c.id for c in mentions_for(plain_store, "carla")] == [second.id]
    resolve_comment(plain_store, first.id)
    assert [c.id for c in mentions_for(plain_store, "ben")] == [second.id]
    assert mentions_for(plain_store, "nobody") == []


def test_a_graph_id_is_kept_in_the_file_and_survives_a_rename(plain_store, tmp_path):
    graph = zoo.build("mnist-cnn")
    graph_id = graph_target_id(graph)
    assert graph_target_id(graph) == graph_id and len(graph_id) == 32
    path = tmp_path / "mnist.nfg"
    save_graph(graph, path)
    moved = path.rename(tmp_path / "renamed.nfg")
    reloaded = load_graph(moved)
    assert graph_target_id(reloaded) == graph_id
    conv = next(n.id for n in reloaded if n.type == "Conv2d")
    pinned = add_comment(plain_store, "graph", graph_id, "32 filters?", anchor=conv, graph=reloaded)
    add_comment(plain_store, "graph", graph_id, "agreed", parent_id=pinned.id, author="ben")
    add_comment(plain_store, "graph", graph_id, "whole graph", graph=reloaded)
    assert comment_counts(plain_store, "graph", graph_id) == {conv: 2}  # the reply is pinned with its parent
    with pytest.raises(CommentError, match="the graph has no node 'nope'"):
        add_comment(plain_store, "graph", graph_id, "x", anchor="nope", graph=reloaded)
    with pytest.raises(CommentError, match="not the given graph's"):
        add_comment(plain_store, "graph", "0" * 32, "x", graph=reloaded)
    with pytest.raises(CommentError, match="is not a graph id"):
        add_comment(plain_store, "graph", "mnist.nfg", "x")


def test_bad_input_is_refused_naming_the_thing_at_fault(plain_store, run_id):
    with pytest.raises(CommentError, match="no run 'nope' to comment on"):
        add_comment(plain_store, "run", "nope", "hello")
    with pytest.raises(CommentError, match="no experiment 'nope'"):
        add_comment(plain_store, "experiment", "nope", "hello")
    with pytest.raises(CommentError, match="no model version 'ghost@1'.*no registered model 'ghost'"):
        add_comment(plain_store, "model_version", "ghost@1", "hello")
    with pytest.raises(CommentError, match="give NAME@VERSION"):
        add_comment(plain_store, "model_version", "ghost", "hello")
    with pytest.raises(CommentError, match="unknown comment target kind 'model'"):
        add_comment(plain_store, "model", "ghost@1", "hello")
    with pytest.raises(CommentError, match="the comment is empty"):
        add_comment(plain_store, "run", run_id, "   \n ")
    with pytest.raises(CommentError, match="no comment 999 to reply to"):
        add_comment(plain_store, "run", run_id, "hi", parent_id=999)
    other = plain_store.create_run("digits", status="finished").id
    root = add_comment(plain_store, "run", run_id, "here")
    with pytest.raises(CommentError, match=f"comment {root.id} is on run:{run_id}, not on run:{other}"):
        add_comment(plain_store, "run", other, "there", parent_id=root.id)
    with pytest.raises(CommentError, match="no comment 999"):
        resolve_comment(plain_store, 999)
    assert [c.id for c in list_comments(plain_store)] == [root.id]


def test_an_experiment_is_named_by_its_name_or_id_and_stored_by_id(plain_store, run_id):
    experiment = plain_store.get_run(run_id).experiment_id
    by_name = add_comment(plain_store, "experiment", "digits", "baseline first")
    assert by_name.target_id == experiment
    assert [c.id for c in list_comments(plain_store, "experiment", experiment)] == [by_name.id]


def test_adding_and_resolving_are_audited(plain_store, run_id):
    root = add_comment(plain_store, "run", run_id, "look @ben")
    resolve_comment(plain_store, root.id)
    resolve_comment(plain_store, root.id, resolved=False)
    found = [(e.kind, e.subject, e.details_value()) for e in entries(plain_store, kind="comment.")]
    assert [(kind, subject) for kind, subject, _ in found] == [
        ("comment.added", f"run:{run_id}"), ("comment.resolved", f"run:{run_id}"),
        ("comment.reopened", f"run:{run_id}")]
    assert found[0][2]["comment"] == root.id and found[0][2]["mentions"] == ["ben"] and found[0][2]["author"] == "ana"


def test_a_model_version_is_a_target_by_its_number_or_stage(registered):
    comment = add_comment(registered, "model_version", "mnist@1", "accuracy looks fine")
    assert comment.target_id == "mnist@1" and comment.target == "model:mnist@1"
    with pytest.raises(CommentError, match="has no version 7"):
        add_comment(registered, "model_version", "mnist@7", "x")


def test_relative_time_reads_like_speech():
    assert relative_time(1000.0, now=1010.0) == "just now"
    assert relative_time(1000.0, now=1000.0 + 5 * 60) == "5 min ago"
    assert relative_time(1000.0, now=1000.0 + 3 * 3600) == "3 h ago"
    assert relative_time(1000.0, now=1000.0 + 86400 * 1.5) == "yesterday"
    assert relative_time(1000.0, now=1000.0 + 86400 * 4) == "4 days ago"


def test_renamed_nodes_take_their_comments_a_swap_included_and_the_move_is_audited(plain_store):
    from neuralforge_desktop.core.team.comments import move_anchors

    graph = zoo.build("mnist-cnn")
    graph_id = graph_target_id(graph)
    first, second = [n.id for n in graph if n.type == "Conv2d"][:2]
    on_first = add_comment(plain_store, "graph", graph_id, "first conv", anchor=first, graph=graph)
    on_second = add_comment(plain_store, "graph", graph_id, "second conv", anchor=second, graph=graph)
    whole = add_comment(plain_store, "graph", graph_id, "the whole graph")
    assert move_anchors(plain_store, "graph", graph_id, {first: second, second: first}) == 2  # names swapped
    anchors = {c.id: c.anchor for c in list_comments(plain_store, "graph", graph_id)}
    assert anchors == {on_first.id: second, on_second.id: first, whole.id: None}
    assert move_anchors(plain_store, "graph", graph_id, {"no-such-node": "x", first: first}) == 0
    moved = entries(plain_store, kind="comment.moved")
    assert len(moved) == 1 and moved[0].subject == f"graph:{graph_id}"
    assert moved[0].details_value()["comments"] == sorted([on_first.id, on_second.id])
