"""The main window as a user meets it: title and dirty marker, files, recent files, themes, shortcuts,
unsaved-changes questions, crash recovery and the start-up checks. Offscreen (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtGui import QImage, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document, write_recovery
from neuralforge_desktop.core.ir.serialize import graph_to_dict, load_graph, save_graph
from neuralforge_desktop.ui.app import NO_DISPLAY
from neuralforge_desktop.ui.canvas.export import ExportOptions
from neuralforge_desktop.ui.dialogs.export_diagram import ExportDialog
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings
from neuralforge_desktop.ui.theme import roles


def open_window(tmp_path: Path, monkeypatch) -> MainWindow:
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    # Closing at teardown must not wait on a modal question.
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.show()
    return window


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    """Opens main windows on this test's settings file and recovery folder; deletes them afterwards (closed
    windows would otherwise live on and slow every later test down)."""
    made: list[MainWindow] = []

    def make() -> MainWindow:
        window = open_window(tmp_path, monkeypatch)
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        if shiboken6.isValid(window):
            window.files.ask_save_changes = lambda: "discard"
            window.close()
            window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()


def mnist_file(tmp_path: Path, name: str = "mnist.nfg") -> Path:
    path = tmp_path / name
    save_graph(zoo.build("mnist-cnn"), path)
    return path


# -- title -----------------------------------------------------------------------------------------------
def test_title_names_the_graph_and_marks_unsaved_changes(window, tmp_path):
    assert window.windowTitle() == "untitled[*] — NeuralForge"
    assert not window.isWindowModified()
    window.add_layer("ReLU")
    assert window.isWindowModified()

    assert window.files.save_as(tmp_path / "net.nfg")
    assert window.windowTitle() == "net.nfg[*] — NeuralForge"
    assert not window.isWindowModified()
    assert window.file_label.text() == str(tmp_path / "net.nfg")

    window.commands["edit.undo"].trigger()  # back before the save: unsaved again
    assert window.isWindowModified()
    window.commands["edit.redo"].trigger()  # forward to the saved state: clean again
    assert not window.isWindowModified()


def test_status_bar_counts_nodes_and_problems(window, qtbot):
    window.files.new_from_template("mnist-cnn")
    graph = window.bridge.document.graph
    assert window.nodes_label.text() == f"{len(graph)} nodes"
    qtbot.waitUntil(lambda: window.problems.counts() == (0, window.problems.counts()[1]))
    errors, warnings = window.problems.counts()
    assert window.errors_label.text() == f"{errors} error{'s' if errors != 1 else ''}"
    assert window.warnings_label.text().endswith("warnings") or window.warnings_label.text().endswith("warning")
    assert window.zoom_label.text().endswith("%")


# -- files -----------------------------------------------------------------------------------------------
def test_open_save_and_recent_files(window, tmp_path, monkeypatch):
    first, second = mnist_file(tmp_path, "first.nfg"), mnist_file(tmp_path, "second.nfg")
    monkeypatch.setattr(window.files, "ask_open_path", lambda: str(first))
    window.commands["file.open"].trigger()
    assert window.bridge.document.path == first
    assert window.files.open(second)
    assert window.settings.recent_files() == [str(second.resolve()), str(first.resolve())]

    recent = [a for a in window.commands.recent_menu.actions() if a.statusTip()]
    assert [a.statusTip() for a in recent] == [str(second.resolve()), str(first.resolve())]
    recent[1].trigger()  # the menu entry opens the file
    assert window.bridge.document.path == first
    assert window.settings.recent_files()[0] == str(first.resolve())

    errors: list[str] = []
    monkeypatch.setattr(window.files, "show_error", lambda _title, text: errors.append(text))
    second.unlink()
    assert not window.files.open(second)
    assert errors and "second.nfg" in errors[0]
    assert str(second.resolve()) not in window.settings.recent_files()  # a vanished file leaves the list


def test_opening_a_malformed_file_names_the_bad_field(window, tmp_path, monkeypatch):
    bad = tmp_path / "bad.nfg"
    text = mnist_file(tmp_path).read_text().replace('"position": [', '"position": ["left", ', 1)
    bad.write_text(text)
    errors: list[str] = []
    monkeypatch.setattr(window.files, "show_error", lambda _title, text: errors.append(text))
    assert not window.files.open(bad)
    assert "bad.nfg" in errors[0] and "position" in errors[0]
    assert window.bridge.document.path is None  # the current graph stays


@pytest.mark.parametrize("answer, replaced, saved", [("cancel", False, False), ("discard", True, False),
                                                      ("save", True, True)])
def test_unsaved_changes_are_asked_about(window, tmp_path, monkeypatch, answer, replaced, saved):
    window.add_layer("ReLU")
    target = tmp_path / "kept.nfg"
    asked: list[str] = []
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: asked.append("?") or answer)
    monkeypatch.setattr(window.files, "ask_save_path", lambda: str(target))
    before = window.bridge.document
    window.commands["file.new"].trigger()
    assert asked == ["?"]
    assert (window.bridge.document is not before) == replaced
    assert target.exists() == saved
    if saved:
        assert len(load_graph(target)) == 1


def test_close_with_unsaved_changes_can_be_cancelled(window, monkeypatch):
    window.add_layer("ReLU")
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "cancel")
    assert not window.close()
    assert window.isVisible()
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    assert window.close()


def test_new_from_template_uses_the_gallery(window, monkeypatch, qtbot):
    from neuralforge_desktop.ui.dialogs.gallery import GalleryDialog

    gallery = GalleryDialog(window)
    qtbot.addWidget(gallery)
    groups = gallery.task_groups()
    assert [g.split()[0] for g in groups] == ["Vision", "NLP", "Generative", "Tabular", "Sequence"]
    assert set(gallery.template_names()) == {e.name for e in zoo.list_models()}
    gallery.select("resnet18")
    assert gallery.selected_name() == "resnet18"
    row = gallery.tree.currentItem()
    assert row.text(0) == "ResNet-18" and row.text(1) == "11.7 M"

    window.add_layer("ReLU")
    asked: list[str] = []
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: asked.append("?") or "discard")
    monkeypatch.setattr(window.files, "choose_template", lambda: None)
    window.commands["file.new_template"].trigger()  # the gallery was cancelled: nothing asked, nothing lost
    assert asked == [] and len(window.bridge.document.graph) == 1

    monkeypatch.setattr(window.files, "choose_template", lambda: "resnet18")
    window.commands["file.new_template"].trigger()
    assert asked == ["?"]
    assert window.bridge.document.graph.meta["zoo"] == "resnet18"
    assert window.windowTitle().startswith("resnet18")


def test_export_diagram_writes_the_chosen_format(window, tmp_path, monkeypatch):
    window.files.new_from_template("mnist-cnn")
    for suffix in (".png", ".svg", ".pdf"):
        target = tmp_path / f"diagram{suffix}"
        monkeypatch.setattr(window.files, "ask_export", lambda t=target: (t, ExportOptions()))
        window.commands["file.export"].trigger()
        assert target.exists() and target.stat().st_size > 0


def test_the_export_dialog_asks_how_and_remembers_it_for_next_time(window, tmp_path, monkeypatch):
    window.files.new_from_template("resnet18")
    seen: list[ExportDialog] = []

    def fill_in(dialog: ExportDialog) -> int:
        seen.append(dialog)
        if len(seen) == 1:  # the first time: a name with no known format is refused in the dialog
            dialog.path.setText(str(tmp_path / "figure.txt"))
            dialog.accept()
            assert dialog.problem.isVisibleTo(dialog) and ".png, .svg or .pdf" in dialog.problem.text()
            dialog.path.setText(str(tmp_path / "figure.png"))
            dialog.layout_choice.setCurrentIndex(dialog.layout_choice.findData("vertical"))
            dialog.background.setCurrentIndex(dialog.background.findData("transparent"))
            dialog.scale.setValue(3.0)
            dialog.shapes.setChecked(False)
        dialog.accept()
        return int(dialog.result())

    monkeypatch.setattr(ExportDialog, "exec", fill_in)
    assert window.files.export_diagram()
    picture = QImage(str(tmp_path / "figure.png"))
    assert picture.height() > 2 * picture.width()  # top to bottom
    assert picture.hasAlphaChannel() and picture.pixelColor(1, 1).alpha() == 0
    assert round(picture.dotsPerMeterX() * 0.0254) == 288  # scale 3 = 288 dpi
    # The next export starts from the same choices.
    assert window.files.export_diagram()
    second = seen[-1]
    assert second.layout_choice.currentData() == "vertical" and second.background.currentData() == "transparent"
    assert second.scale.value() == 3.0 and not second.shapes.isChecked()
    assert second.target().parent == tmp_path


# -- crash recovery --------------------------------------------------------------------------------------
def test_autosave_writes_a_recovery_copy_and_a_clean_save_removes_it(window, tmp_path):
    window.files.new_from_template("mnist-cnn")
    assert window.files.autosave() is None  # nothing unsaved yet
    window.add_layer("ReLU")
    copy = window.files.autosave()
    assert copy is not None and copy.parent == tmp_path / "recovery"
    assert len(load_graph(copy)) == len(window.bridge.document.graph)
    assert window.files.autosave_timer.isActive() and window.files.autosave_timer.interval() == 5000
    window.files.save_as(tmp_path / "done.nfg")
    assert not copy.exists()
    assert list((tmp_path / "recovery").glob("*.nfg")) == []

    window.add_layer("Sigmoid")
    copy = window.files.autosave()
    assert copy is not None and copy.exists()
    window.commands["edit.undo"].trigger()  # back to the saved state: the copy has nothing to offer
    assert window.files.autosave() is None and not copy.exists()


def test_leftover_recovery_copies_are_offered_at_start(make_window, tmp_path):
    original = mnist_file(tmp_path, "lost.nfg")
    crashed = Document.open(original)
    crashed.graph.node("fc2").params["out_features"] = 7  # the work that was never saved
    left = write_recovery(crashed, tmp_path / "recovery")

    window = make_window()
    dialog = window.offer_recovery()
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert "lost.nfg" in dialog.list.item(0).text()
    dialog.recover_selected()
    document = window.bridge.document
    assert document.path == original and document.dirty and window.isWindowModified()
    assert document.graph.node("fc2").params["out_features"] == 7
    assert "recovery_of" not in document.graph.meta
    assert window.windowTitle() == "lost.nfg[*] — NeuralForge"
    assert left.exists()  # still there (rewritten) until the work is saved
    window.files.save()
    assert not left.exists()
    assert load_graph(original).node("fc2").params["out_features"] == 7


def test_recovery_copies_can_be_discarded(make_window, tmp_path):
    left = write_recovery(Document(zoo.build("lenet5")), tmp_path / "recovery")
    window = make_window()
    dialog = window.offer_recovery()
    dialog.discard_all()
    assert not left.exists()
    assert window.offer_recovery() is None


# -- appearance and settings -----------------------------------------------------------------------------
def test_theme_switching_applies_app_wide_and_persists(window, make_window):
    app = QApplication.instance()
    assert window.theme == "dark"
    assert app.palette().color(QPalette.ColorRole.Window).name() == roles("dark").window
    window.commands["view.theme.light"].trigger()
    assert window.theme == "light"
    assert app.palette().color(QPalette.ColorRole.Window).name() == roles("light").window
    assert window.commands["view.theme.light"].isChecked() and not window.commands["view.theme.dark"].isChecked()
    assert window.settings.theme == "light"
    window.close()
    again = make_window()  # same settings file
    assert again.theme == "light" and again.commands["view.theme.light"].isChecked()
    again.set_theme("dark")


def test_one_role_table_colours_the_canvas_the_panels_and_the_plots(window):
    assert isinstance(window.palette(), QPalette)  # no panel attribute hides QWidget.palette()
    window.show_training()  # the plots exist once the Train dock is built
    plot = window.train_panel.curves.plot_widget("loss")
    heading = window.palette_panel.tree().topLevelItem(0)  # a category heading in the Layers panel
    seen = {}
    for name in ("light", "dark"):
        window.commands[f"view.theme.{name}"].trigger()
        table = roles(name)
        seen[name] = {
            "window": window.palette().color(QPalette.ColorRole.Window).name(),
            "canvas": window.view.graph_scene.style.theme.background.name(),
            "panel": heading.foreground(0).color().name(),
            "plot": plot.backgroundBrush().color().name(),
        }
        assert seen[name] == {"window": table.window, "canvas": table.window, "panel": table.muted,
                              "plot": table.base}
    assert all(seen["dark"][part] != seen["light"][part] for part in seen["dark"])


def test_view_preferences_and_dock_layout_persist(window, make_window):
    window.commands["view.concept"].trigger()
    window.commands["view.show_all"].trigger()
    window.docks.code.hide()
    window.close()
    again = make_window()
    assert again.commands["view.concept"].isChecked() and again.settings.concept_mode
    assert again.palette_panel.show_all()
    assert not again.docks.code.isVisible() and again.docks.inspector.isVisible()
    again.commands["view.reset_layout"].trigger()
    assert again.docks.code.isVisible()


def test_window_is_composed_of_canvas_and_docks(window):
    assert window.centralWidget() is window.view
    docks = {d.objectName(): d for d in window.docks.all()}
    assert set(docks) == {"dock.palette", "dock.inspector", "dock.summary", "dock.code", "dock.problems",
                          "dock.history", "dock.train", "dock.runs"}
    assert not window.train_host.built and not window.runs_host.built  # built on first show, not at start
    assert all(d.isVisible() or window.tabifiedDockWidgets(d) for d in docks.values())
    assert window.history.stack() is window.edits


# -- shortcuts -------------------------------------------------------------------------------------------
EXPECTED_SHORTCUTS = {
    "file.new": "Ctrl+N", "file.new_template": "Ctrl+Shift+N", "file.open": "Ctrl+O", "file.save": "Ctrl+S",
    "file.save_as": "Ctrl+Shift+S", "file.export": "Ctrl+E", "file.quit": "Ctrl+Q", "edit.undo": "Ctrl+Z",
    "edit.redo": "Ctrl+Shift+Z", "edit.duplicate": "Ctrl+D", "edit.group": "Ctrl+G", "edit.expand": "Ctrl+Shift+G",
    "view.fit": "F", "view.auto_layout": "L", "view.concept": "Ctrl+M", "help.shortcuts": "F1",
    "edit.quick_add": "Tab",
}


def test_common_commands_have_their_usual_shortcuts(window):
    for name, keys in EXPECTED_SHORTCUTS.items():
        assert window.commands[name].shortcut().toString() == keys, name
    redo = [k.toString() for k in window.commands["edit.redo"].shortcuts()]
    assert redo == ["Ctrl+Shift+Z", "Ctrl+Y"]


def test_no_two_actions_share_a_shortcut(window):
    seen: dict[str, str] = {}
    for name, action in window.commands.by_name.items():
        for key in action.shortcuts():
            text = key.toString()
            assert text not in seen, f"{text} is bound to both {seen[text]} and {name}"
            seen[text] = name


def test_shortcuts_dialog_is_generated_from_the_actions(window, qtbot):
    window.commands["help.shortcuts"].trigger()
    dialog = window.shortcuts_dialog
    assert dialog.isVisible()
    native = lambda k: QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText)
    assert dialog.shortcut_for("Undo") == native("Ctrl+Z")
    assert dialog.shortcut_for("Save") == native("Ctrl+S")
    assert native("Ctrl+Y") in dialog.shortcut_for("Redo")
    listed = {text for _menu, text, _keys in dialog.rows}
    assert {"Open", "Save As", "Export Diagram", "Group into Block", "Fit All", "Concept Mode",
            "Keyboard Shortcuts"} <= listed
    dialog.filter.setText("ctrl+z")
    shown = [r for r in range(dialog.table.rowCount()) if not dialog.table.isRowHidden(r)]
    assert [dialog.table.item(r, 1).text() for r in shown] == ["Undo"]
    dialog.close()


# -- start-up --------------------------------------------------------------------------------------------
def _no_display_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is for Linux")
@pytest.mark.parametrize("code", [
    "from neuralforge_desktop.ui.app import run_app; raise SystemExit(run_app([]))",
    "import argparse; from neuralforge_desktop.cli import app_cmd; p = argparse.ArgumentParser(); "
    "app_cmd.add_parsers(p.add_subparsers()); a = p.parse_args(['app', 'x.nfg']); raise SystemExit(a.func(a))",
])
def test_without_a_display_one_clear_line_and_status_2(code):
    done = subprocess.run([sys.executable, "-c", code], env=_no_display_env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines == [NO_DISPLAY]
    assert "neuralforge demo" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0]


def test_recovered_graph_round_trips(window, tmp_path):
    window.files.new_from_template("lenet5")
    window.add_layer("ReLU")
    copy = window.files.autosave()
    expected = graph_to_dict(window.bridge.document.graph)
    loaded = load_graph(copy)
    loaded.meta.pop("recovery_of", None)
    assert graph_to_dict(loaded) == expected


def test_the_window_opens_without_torch_or_exporters(tmp_path):
    probe = (
        "import sys\n"
        "from neuralforge_desktop.ui.app import create_application, open_main_window\n"
        "app = create_application([])\n"
        "window = open_main_window(app, [sys.argv[1]], offer_recovery=False)\n"
        "app.processEvents()\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'tensorflow', 'coremltools', 'keras'})\n"
        "print(window.bridge.document.path.name, ','.join(heavy) or '-')\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe, str(mnist_file(tmp_path))], env=env, capture_output=True,
                          text=True, timeout=120)
    _stop_children_of(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["mnist.nfg", "-"]


def _stop_children_of(folder) -> None:
    """A first start calibrates this CPU in a detached worker that outlives the app (by design); in a test it
    would keep timing ops on both cores while the rest of the suite runs, so it is stopped here."""
    import contextlib
    import signal

    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(folder) in argv and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):  # it may have ended meanwhile
                os.kill(int(entry.name), signal.SIGKILL)


def test_half_written_autosaves_from_a_crash_are_swept(window, tmp_path):
    folder = tmp_path / "recovery"
    folder.mkdir(exist_ok=True)
    stale, fresh = folder / ".model-abc.nfg.tmp1234", folder / ".model-def.nfg.tmp5678"
    stale.write_text('{"format": "neuralforge-gr')
    fresh.write_text('{"format": "neuralforge-gr')
    os.utime(stale, (0, 0))
    assert window.files.pending_recoveries() == []
    assert not stale.exists() and fresh.exists()  # a fresh one may belong to another running window
