"""Comments in the app, offscreen on a real store: the badge on a commented node's card with its count, the
thread dock opened from the badge and the context menu, a reply written through the panel, the Comments tab of
the Runs panel and the Registry view, and the Review Queue approving into the registry."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core import registry, zoo
from neuralforge_desktop.core.ir.serialize import load_graph, save_graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.team.comments import add_comment, graph_target_id, list_comments
from neuralforge_desktop.core.team.reviews import request_review
from neuralforge_desktop.ui.comments.canvas import CommentBadge
from neuralforge_desktop.ui.comments.review_queue import ReviewQueueView
from neuralforge_desktop.ui.comments.thread_panel import CommentThreadPanel
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALFORGE_USER", "ana")
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.resize(1280, 800)
    made.show()
    qtbot.waitExposed(made)
    yield made
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _commented_graph(tmp_path):
    """The MNIST CNN saved with an id, two open comments on its first Conv2d (one a reply), one resolved on
    another node."""
    graph = zoo.build("mnist-cnn")
    graph_id = graph_target_id(graph)
    path = tmp_path / "mnist.nfg"
    save_graph(graph, path)
    conv, other = [n.id for n in graph if n.type == "Conv2d"][:2]
    with Store(tmp_path / "store.db") as store:
        root = add_comment(store, "graph", graph_id, "Why 32 filters? @ben", anchor=conv, graph=graph)
        add_comment(store, "graph", graph_id, "Matches the paper", parent_id=root.id, author="ben")
        done = add_comment(store, "graph", graph_id, "kernel 3 is fine", anchor=other, graph=graph)
        from neuralforge_desktop.core.team.comments import resolve_comment

        resolve_comment(store, done.id)
    return path, graph_id, conv, other


def _badges(window) -> dict[str, CommentBadge]:
    QApplication.processEvents()
    QApplication.processEvents()
    return {b.node_id: b for b in window.view.graph_scene.items() if isinstance(b, CommentBadge)}


def test_a_commented_node_shows_a_badge_and_its_thread_takes_a_reply(window, tmp_path, qtbot):
    path, graph_id, conv, other = _commented_graph(tmp_path)
    assert _badges(window) == {}  # the blank graph has no comments
    window.files.open(path)
    window.view.fit_all()
    badges = _badges(window)
    assert {node: b.count for node, b in badges.items()} == {conv: 2}  # the resolved one is not counted
    assert badges[conv].parentItem() is window.view.graph_scene.nodes.built[conv]

    badges[conv].clicked.emit(conv)  # as a click on it does
    comments = window.canvas_comments
    panel = comments.panel
    assert comments.dock.isVisible() and panel.anchor == conv
    assert [c.body for c in panel.comments] == ["Why 32 filters? @ben", "Matches the paper"]
    assert "rgba(30, 136, 229" in panel.cards[0].body.text()  # the mention is highlighted
    panel.cards[1].reply_button.click()
    assert panel.send_button.text() == "Reply"
    panel.editor.setPlainText("Then let's keep it, thanks @ben")
    panel.send_button.click()
    assert [c.body for c in panel.comments][-1] == "Then let's keep it, thanks @ben"
    with Store(tmp_path / "store.db") as store:
        stored = list_comments(store, "graph", graph_id)
    assert stored[-1].parent_id == panel.comments[1].id and stored[-1].author == "ana"
    assert _badges(window)[conv].count == 3

    panel.cards[0].resolve_button.click()  # resolving the thread's start resolves the thread
    assert _badges(window) == {}


def test_comment_on_node_from_the_context_menu_gives_the_graph_an_id(window, tmp_path):
    window.files.new_from_template("mnist-cnn")
    window.view.fit_all()
    graph = window.bridge.document.graph
    assert "graph_id" not in graph.meta
    conv = next(n.id for n in graph if n.type == "Conv2d")
    item = window.view.graph_scene.nodes.built[conv]
    spot = window.view.mapFromScene(item.sceneBoundingRect().center())
    menu = window.canvas_comments.context_menu(spot)
    action = next(a for a in menu.actions() if a.objectName() == "comments.node")
    assert action.text() == "Comment on Node…"
    action.trigger()
    panel = window.canvas_comments.panel
    assert panel.anchor == conv and panel.comments == []
    added = panel.send("Start here")
    graph_id = window.bridge.document.graph.meta["graph_id"]
    assert added is not None and added.target_id == graph_id and added.anchor == conv
    assert not window.edits.isClean()  # the id is an edit: saving keeps it
    assert _badges(window)[conv].count == 1
    saved = tmp_path / "saved.nfg"
    window.files.save_as(saved)
    assert load_graph(saved).meta["graph_id"] == graph_id


def test_the_runs_panel_and_the_registry_view_have_a_comments_tab(qtbot, registered, trained):
    from neuralforge_desktop.ui.registry import RegistryView
    from neuralforge_desktop.ui.training.runs_panel import RunsPanel

    add_comment(registered, "run", trained["run"], "loss plateaus after epoch 4 @ben")
    add_comment(registered, "model_version", "mnist@1", "card reviewed")
    runs = RunsPanel(trained["store"])
    qtbot.addWidget(runs)
    runs.select_runs([trained["run"]])
    assert runs.tabs.tabText(runs.tabs.indexOf(runs.comments)) == "Comments"
    assert [c.body for c in runs.comments.comments] == ["loss plateaus after epoch 4 @ben"]
    view = RegistryView(trained["store"])
    qtbot.addWidget(view)
    assert view.details.tabText(1) == "Comments"
    assert [c.body for c in view.comments.comments] == ["card reviewed"]
    assert view.comments.send("ship it") is not None
    with Store(trained["store"]) as store:
        assert [c.body for c in list_comments(store, "model_version", "mnist@1")] == ["card reviewed", "ship it"]


def test_the_review_queue_approves_into_the_registry_but_not_ones_own_request(qtbot, registered, trained,
                                                                               monkeypatch):
    request_review(registered, "mnist@1", "ben", "please check the card")
    view = ReviewQueueView(trained["store"])
    qtbot.addWidget(view)
    assert view.table.rowCount() == 1 and view.table.item(0, 1).text() == "mnist@1"
    assert not view.approve_button.isEnabled()  # ana asked for it
    assert view.approve("looks fine") is None and "cannot approve it" in view.status.text()
    monkeypatch.setenv("NEURALFORGE_USER", "ben")
    view = ReviewQueueView(trained["store"])
    qtbot.addWidget(view)
    assert view.approve_button.isEnabled()
    decided = view.approve("checked the confusion matrix")
    assert decided is not None and decided.status == "approved"
    assert view.table.rowCount() == 0
    assert [a.who for a in registry.resolve(registered, "mnist@1").approvals] == ["ben"]


def test_the_panel_refuses_an_empty_comment_and_says_so(qtbot, plain_store):
    run = plain_store.create_run("digits", status="finished")
    panel = CommentThreadPanel(plain_store.path)
    qtbot.addWidget(panel)
    panel.show_run(run)
    assert panel.send("   ") is None and "the comment is empty" in panel.status.text()
    assert panel.send("fine") is not None and len(panel.cards) == 1


def _anchors(tmp_path, graph_id) -> list[str | None]:
    with Store(tmp_path / "store.db") as store:
        return sorted(str(c.anchor) for c in list_comments(store, "graph", graph_id))


def test_a_renamed_node_keeps_its_comments_through_undo_save_and_discard(window, tmp_path):
    from neuralforge_desktop.core.edit.edits import RenameNode

    path, graph_id, conv, other = _commented_graph(tmp_path)
    window.files.open(path)
    window.view.fit_all()
    window.view.push(RenameNode(conv, "stem"))
    assert {node: b.count for node, b in _badges(window).items()} == {"stem": 2}  # the badge follows the card
    assert _anchors(tmp_path, graph_id) == sorted(["stem", "stem", other])
    window.canvas_comments.open_thread("stem")
    assert [c.body for c in window.canvas_comments.panel.comments] == ["Why 32 filters? @ben", "Matches the paper"]

    window.edits.undo()
    assert {node: b.count for node, b in _badges(window).items()} == {conv: 2}
    assert _anchors(tmp_path, graph_id) == sorted([conv, conv, other])
    window.edits.redo()
    window.files.save()
    assert "stem" in load_graph(path).nodes and window.canvas_comments.unsaved_moves == {}
    assert _anchors(tmp_path, graph_id) == sorted(["stem", "stem", other])

    window.view.push(RenameNode("stem", "first"))  # renamed again, then thrown away
    assert _anchors(tmp_path, graph_id) == sorted(["first", "first", other])
    window.files.new_from_template("mnist-cnn")  # "discard" (the fixture answers for the user)
    assert _anchors(tmp_path, graph_id) == sorted(["stem", "stem", other])  # as the saved file names it

    window.files.open(path)
    window.view.push(RenameNode("stem", "last"))
    assert _anchors(tmp_path, graph_id) == sorted(["last", "last", other])
    window.close()  # without saving
    assert _anchors(tmp_path, graph_id) == sorted(["stem", "stem", other])


def test_renames_compose_into_one_move_per_comment():
    from neuralforge_desktop.ui.comments.canvas import compose_moves

    assert compose_moves({}, {"a": "b"}) == {"a": "b"}
    assert compose_moves({"a": "b"}, {"b": "c"}) == {"a": "c"}
    assert compose_moves({"a": "b"}, {"b": "a"}) == {}  # a rename and its undo cancel
    swap = compose_moves(compose_moves(compose_moves({}, {"a": "t"}), {"b": "a"}), {"t": "b"})
    assert swap == {"a": "b", "b": "a"}
    assert compose_moves(swap, {"a": "b", "b": "a"}) == {}  # swapped back at once
