"""Roles in a project, enforced by the store on a real SQLite file: each action allowed for the least role it
needs and refused, with a message naming user, project, role and the role needed, for the role below."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.team import access
from neuralforge_desktop.core.team.access import AccessDenied, require, role_of
from neuralforge_desktop.core.team.identity import USER_ENV
from neuralforge_desktop.core.team.users import grant, revoke

MEMBERS = {"vic": "viewer", "cora": "contributor", "apro": "approver", "adam": "admin"}


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Project "vision" owned by olivia, with a run of hers and one member per role; "open" has no members."""
    monkeypatch.setenv(USER_ENV, "olivia")
    store = Store(tmp_path / "store.db")
    run = store.create_run("resnet", "baseline", project="vision", params={"lr": 0.1}, environment={})
    store.log_metric(run.id, "loss", 0.9, 0)
    store.flush()
    store.create_run("scratch", project="open", environment={})
    for name, role in MEMBERS.items():
        grant(store, name, "vision", role)
    yield store, run.id
    store.close()


def act(monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    monkeypatch.setenv(USER_ENV, user)


def _refused(call: Callable[[], Any], *phrases: str) -> str:
    with pytest.raises(AccessDenied) as caught:
        call()
    message = str(caught.value)
    assert isinstance(caught.value, UserError) and "\n" not in message
    for phrase in phrases:
        assert phrase in message, message
    return message


# (action, what it does, the least role allowed, the user one role below, that role's refusal text)
ACTIONS: list[tuple[str, Callable[[Store, str], Any], str, str, str]] = [
    ("read a run", lambda s, r: s.get_run(r), "vic", "stranger", "is not a member of project 'vision'"),
    ("read metrics", lambda s, r: s.metric_history(r, "loss"), "vic", "stranger", "needs viewer"),
    ("list artifacts", lambda s, r: s.list_artifacts(r), "vic", "stranger", "needs viewer"),
    ("compare", lambda s, r: s.compare_runs([r]), "vic", "stranger", "needs viewer"),
    ("create a run", lambda s, r: s.create_run("resnet", project="vision", environment={}), "cora", "vic",
     "vic is a viewer of project 'vision' and creating a run needs contributor"),
    ("log a metric", lambda s, r: s.log_metric(r, "acc", 0.5, 1), "cora", "vic", "logging to a run needs contributor"),
    ("log params", lambda s, r: s.log_params(r, {"batch": 32}), "cora", "vic", "needs contributor"),
    ("set tags", lambda s, r: s.set_tags(r, {"note": "x"}), "cora", "vic", "needs contributor"),
    ("log an artifact", lambda s, r: s.log_artifact(r, b"weights", "w.bin"), "cora", "vic", "needs contributor"),
    ("set status", lambda s, r: s.set_status(r, "finished"), "cora", "vic", "needs contributor"),
    ("add a note", lambda s, r: s.add_note("looks good", run_id=r), "cora", "vic", "needs contributor"),
    ("grant", lambda s, r: grant(s, "newcomer", "vision", "viewer"), "adam", "apro",
     "apro is an approver of project 'vision' and granting or revoking roles needs admin"),
]


@pytest.mark.parametrize(("what", "call", "allowed", "below", "text"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_each_action_is_allowed_from_its_role_and_refused_below_it(shared, monkeypatch, what, call, allowed,
                                                                   below, text) -> None:
    store, run_id = shared
    act(monkeypatch, below)
    _refused(lambda: call(store, run_id), text, f"`neuralforge users grant {below} vision")
    act(monkeypatch, allowed)
    call(store, run_id)
    store.flush()


def test_a_viewers_attempt_to_delete_a_run_is_refused(shared, monkeypatch) -> None:
    store, run_id = shared
    act(monkeypatch, "vic")
    message = _refused(lambda: store.delete_run(run_id))
    assert message == ("vic is a viewer of project 'vision' and deleting a run needs contributor (the run's "
                       "creator) or admin; ask an admin: `neuralforge users grant vic vision contributor`")
    act(monkeypatch, "olivia")
    assert store.get_run(run_id).id == run_id  # still there


def test_contributors_delete_their_own_runs_only_and_admins_any(shared, monkeypatch) -> None:
    store, run_id = shared
    act(monkeypatch, "cora")
    own = store.create_run("resnet", project="vision", environment={})
    _refused(lambda: store.delete_run(run_id), "cora is a contributor of project 'vision'",
             "`neuralforge users grant cora vision admin`")
    store.delete_run(own.id)
    act(monkeypatch, "adam")
    store.delete_run(run_id)
    assert store.list_runs(project="vision") == []


def test_the_owner_is_admin_and_cannot_be_revoked(shared, monkeypatch) -> None:
    store, _ = shared
    assert role_of(store, "vision", "olivia") == "admin" and role_of(store, "vision", "stranger") is None
    with pytest.raises(UserError, match="olivia owns project 'vision'"):
        revoke(store, "olivia", "vision")
    act(monkeypatch, "olivia")
    require(store, "vision", "grant")
    act(monkeypatch, "vic")
    _refused(lambda: require(store, "vision", "promote"), "needs approver")


def test_non_members_see_no_rows_of_the_project_and_members_see_them(shared, monkeypatch) -> None:
    store, run_id = shared
    act(monkeypatch, "stranger")
    assert [p.name for p in store.list_projects()] == ["open"]
    assert [x.name for x in store.list_experiments()] == ["scratch"]
    assert run_id not in {r.id for r in store.list_runs()} and len(store.list_runs()) == 1
    assert run_id not in store.run_ids() and store.get_runs([run_id]) == []
    assert [r.id for r in store.iter_runs()] == [r.id for r in store.list_runs()]
    assert run_id not in store.runs_changed_since(0)
    act(monkeypatch, "vic")
    assert {p.name for p in store.list_projects()} == {"open", "vision"}
    assert run_id in store.run_ids() and store.get_runs([run_id])[0].id == run_id


def test_a_project_without_members_is_open_to_everyone(shared, monkeypatch) -> None:
    store, _ = shared
    act(monkeypatch, "stranger")
    run = store.create_run("scratch", project="open", environment={})
    store.log_metric(run.id, "loss", 1.0, 0)
    act(monkeypatch, "someone-else")
    assert role_of(store, "open") == "admin"
    store.delete_run(run.id)


def test_a_personal_store_works_for_any_user_without_set_up(tmp_path, monkeypatch) -> None:
    act(monkeypatch, "me")
    with Store(tmp_path / "store.db") as store:
        run = store.create_run("e", environment={})
        act(monkeypatch, "another")
        store.log_metric(run.id, "loss", 1.0, 0)
        assert store.metric_history(run.id, "loss").values.tolist() == [1.0]
        store.delete_run(run.id)


def test_a_grant_takes_effect_at_once_in_this_store_and_soon_in_another(shared, monkeypatch, tmp_path) -> None:
    store, run_id = shared
    monkeypatch.setattr(access, "REFRESH_SECONDS", 3600.0)
    other = Store(store.path)
    try:
        act(monkeypatch, "vic")
        _refused(lambda: other.log_params(run_id, {"a": 1}), "needs contributor")
        act(monkeypatch, "olivia")
        grant(store, "vic", "vision", "contributor")
        act(monkeypatch, "vic")
        store.log_params(run_id, {"a": 1})  # the granting Store dropped its snapshot
        _refused(lambda: other.log_params(run_id, {"b": 1}), "needs contributor")  # still the cached one
        other._access.invalidate()  # what REFRESH_SECONDS later does
        other.log_params(run_id, {"b": 1})
    finally:
        other.close()


def test_revoking_closes_the_project_to_that_user_and_everything_is_audited(shared, monkeypatch) -> None:
    from neuralforge_desktop.core.audit import entries

    store, run_id = shared
    act(monkeypatch, "adam")
    assert revoke(store, "vic", "vision") == "viewer"
    act(monkeypatch, "vic")
    _refused(lambda: store.get_run(run_id), "vic is not a member of project 'vision'")
    act(monkeypatch, "adam")
    with pytest.raises(UserError, match="vic has no role in project 'vision'"):
        revoke(store, "vic", "vision")
    kinds = [(e.kind, e.subject, json.loads(e.details)["by"]) for e in entries(store) if e.kind.startswith("users.")]
    assert ("users.revoked", "vic", "adam") in kinds
    assert [k for k in kinds if k[0] == "users.granted"] == [("users.granted", n, "olivia") for n in MEMBERS]


def test_only_the_owner_makes_the_first_grant_and_roles_are_checked(shared, monkeypatch) -> None:
    store, _ = shared
    act(monkeypatch, "stranger")
    store.create_run("x", project="theirs", environment={})
    act(monkeypatch, "mallory")
    _refused(lambda: grant(store, "mallory", "theirs", "admin"), "mallory is not a member of project 'theirs'")
    act(monkeypatch, "stranger")
    with pytest.raises(UserError, match="unknown role 'owner'"):
        grant(store, "bob", "theirs", "owner")
    with pytest.raises(UserError, match="no project 'nope'"):
        grant(store, "bob", "nope", "viewer")


def test_the_notes_panel_shows_a_refusal_as_a_warning(qtbot, shared, monkeypatch) -> None:
    pytest.importorskip("PySide6")
    from PySide6.QtWidgets import QMessageBox

    from neuralforge_desktop.ui.training.notes_panel import NotesPanel

    store, run_id = shared
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append((title, text)))
    act(monkeypatch, "vic")
    panel = NotesPanel(store.path, run_id=run_id)
    qtbot.addWidget(panel)
    panel.editor.setPlainText("the loss plateaus early")
    assert panel.save() is None and panel.notes.count() == 0
    assert shown == [("Experiment Notes", "vic is a viewer of project 'vision' and logging to a run needs "
                      "contributor; ask an admin: `neuralforge users grant vic vision contributor`")]


def test_the_acting_user_follows_neuralforge_user_and_falls_back_to_the_os_user(monkeypatch) -> None:
    import getpass

    monkeypatch.setenv(USER_ENV, "first")
    assert access.acting_user() == "first"
    monkeypatch.setenv(USER_ENV, "second")
    assert access.acting_user() == "second"
    monkeypatch.delenv(USER_ENV)
    assert access.acting_user() == getpass.getuser()


def test_the_train_panel_says_why_a_viewer_cannot_start_a_run(qtbot, tmp_path, monkeypatch) -> None:
    pytest.importorskip("PySide6")
    from neuralforge_desktop.core import zoo
    from neuralforge_desktop.core.edit.document import Document
    from neuralforge_desktop.ui.bridge import DocumentBridge
    from neuralforge_desktop.ui.training.train_panel import TrainPanel

    act(monkeypatch, "olivia")
    with Store(tmp_path / "store.db") as store:
        store.create_run("mnist", environment={})  # the app trains into project "default"
        grant(store, "vic", "default", "viewer")
    act(monkeypatch, "vic")
    panel = TrainPanel(DocumentBridge(Document(zoo.build("mnist-cnn"))), tmp_path / "store.db")
    qtbot.addWidget(panel)
    panel.experiment.setText("mnist")
    assert not panel.start() and not panel.start()  # (a second press goes past advisory checks)
    assert panel.run_id is None
    assert ("Could not create the run: vic is a viewer of project 'default' and creating a run needs contributor; "
            "ask an admin: `neuralforge users grant vic default contributor`") in panel.last_error
