"""View ▸ Model Registry…: models, versions with their stages, history, and the buttons that promote, approve,
run the gates (in a child process) and roll back, on a real store with a real trained run."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings

from neuralforge_desktop.core import registry
from neuralforge_desktop.core.registry import parse_policy
from neuralforge_desktop.ui.registry import RegistryView

CHEAP = "checks:\n  size: {max_mb: 50}\n  targets: [tflite]\n"


def _cell(view: RegistryView, row: int, column: int) -> str:
    return view.versions.item(row, column).text()


def test_the_view_promotes_approves_gates_and_rolls_back(qtbot: Any, store, trained, tmp_path) -> None:
    registry.register(store, trained["run"], "mnist", "digits classifier")
    registry.register(store, trained["run"], "mnist")
    view = RegistryView(trained["store"])
    qtbot.addWidget(view)
    assert view.model_list.count() == 1 and view.model_list.item(0).text() == "mnist  (2 versions)"
    assert [_cell(view, r, 0) for r in range(2)] == ["@2", "@1"]  # newest first, the newest selected
    assert view.selected_version().version == 2 and not view.rollback_button.isEnabled()
    assert not view.gate_button.isEnabled()  # no policy chosen yet

    view.select_version(1)
    view.stage_box.setCurrentText("production")
    view.promote()  # no policy and no gate run: refused, and said why
    assert "no gate has been evaluated for mnist@1" in view.status.text()

    policy = tmp_path / "policy.yaml"
    policy.write_text(CHEAP, encoding="utf-8")
    view.choose_policy(policy)
    assert view.gate_button.isEnabled() and str(policy) in view.policy_label.text()
    with qtbot.waitSignal(view.work_done, timeout=120_000) as gates:
        view.run_gates()
        assert view.process is not None and not view.promote_button.isEnabled()  # busy, off the UI thread
    assert gates.args == ["gates of mnist@1 passed"]
    with qtbot.waitSignal(view.work_done, timeout=120_000) as promoted:
        view.promote()
    assert promoted.args == ["mnist@1 is now in production"]
    assert view.model_list.item(0).text() == "mnist  (2 versions, production @1)"
    assert view.selected_version().version == 1 and _cell(view, 1, 1) == "production"

    view.select_version(2)
    view.approve("reviewed")
    assert "mnist@2 approved" in view.status.text() and _cell(view, 0, 5) == "1"
    history = [view.history.item(r, 2).text() for r in range(view.history.rowCount())]
    assert "approved" in history and "registered" in history
    registry.promote(store, "mnist@2", "production", parse_policy({"checks": {"size": {"max_mb": 50}}}))
    view.refresh()
    assert view.rollback_button.isEnabled()
    view.rollback()
    assert view.status.text() == "mnist@1 is back in production; the version it replaces is archived"
    assert registry.resolve(store, "mnist@production").version == 1
    assert [_cell(view, r, 1) for r in range(2)] == ["archived", "production"]


def test_an_empty_registry_says_how_to_register(qtbot: Any, tmp_path) -> None:
    view = RegistryView(tmp_path / "store.db")
    qtbot.addWidget(view)
    assert view.model_list.count() == 0 and "neuralforge registry register" in view.description.text()
    assert not view.promote_button.isEnabled() and not view.rollback_button.isEnabled()


def test_view_menu_opens_the_registry(qtbot: Any, tmp_path, monkeypatch) -> None:
    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    qtbot.addWidget(window)
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.commands.by_name["view.registry"].trigger()
    assert window.registry_view.isVisible() and window.registry_view.store_path == tmp_path / "store.db"
    window.registry_view.close()
