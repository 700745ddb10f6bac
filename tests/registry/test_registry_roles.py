"""Approving and promoting a model version need the approver role in the project of the version's run, once
that project has members; the registry view shows a refusal in its status line, as any registry error."""

from __future__ import annotations

from typing import Any

import pytest

from neuralforge_desktop.core import registry
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.team.access import AccessDenied
from neuralforge_desktop.core.team.identity import USER_ENV
from neuralforge_desktop.core.team.users import grant


@pytest.fixture
def closed(trained, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The trained run registered as mnist@1; its owner closed its project: a viewer, a contributor, an approver."""
    with Store(trained["store"]) as store:
        owner = store.list_projects()[0]
        monkeypatch.setenv(USER_ENV, owner.owner or "unknown")
        registry.register(store, trained["run"], "mnist")
        grant(store, "cora", owner.name, "contributor")
        grant(store, "apro", owner.name, "approver")
        grant(store, "vic", owner.name, "viewer")
    return {**trained, "project": owner.name}


def test_approve_and_promote_need_approver(closed, monkeypatch) -> None:
    project = closed["project"]
    with Store(closed["store"]) as store:
        monkeypatch.setenv(USER_ENV, "cora")
        with pytest.raises(AccessDenied, match=f"cora is a contributor of project '{project}' and approving a model "
                           "version needs approver"):
            registry.approve(store, "mnist@1", "fine")
        with pytest.raises(AccessDenied, match="promoting a model version needs approver"):
            registry.promote(store, "mnist@1", "staging")
        monkeypatch.setenv(USER_ENV, "apro")
        assert len(registry.approve(store, "mnist@1", "fine").approvals) == 1
        assert registry.promote(store, "mnist@1", "staging").stage == "staging"
        monkeypatch.setenv(USER_ENV, "vic")
        with pytest.raises(AccessDenied, match="vic is a viewer of .* registering a model version needs contributor"):
            registry.register(store, closed["run"], "mnist")


def test_the_registry_view_shows_the_refusal_rather_than_a_traceback(qtbot: Any, closed, monkeypatch) -> None:
    pytest.importorskip("PySide6")
    from neuralforge_desktop.ui.registry import RegistryView

    monkeypatch.setenv(USER_ENV, "cora")
    view = RegistryView(closed["store"])
    qtbot.addWidget(view)
    view.approve("looks right")
    assert view.status.text().startswith("cora is a contributor of project")
    assert "approving a model version needs approver; ask an admin: `neuralforge users grant cora" in view.status.text()
    assert view.selected_version().approvals == ()
