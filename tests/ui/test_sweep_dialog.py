"""Train ▸ Sweep…: the dialog builds a search space from its rows (a training setting, a field of the node
selected on the canvas with a range around its value) that the space's own parser accepts, and refuses a typo
naming the row, before anything starts."""

from __future__ import annotations

import pytest
import yaml
from PySide6.QtCore import QSettings

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.sweeps.space import parse_space_text
from neuralforge_desktop.core.sweeps.sweep_file import sweeps_root
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.ui.dialogs.sweep_dialog import SweepDialog, parse_values, values_text
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

from training_graphs import digits_mlp


@pytest.fixture
def window(qtbot, tmp_path):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(digits_mlp()),
                        store_path=tmp_path / "store.db")
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    window.deleteLater()


def test_the_menu_opens_the_dialog_on_the_open_graph_with_the_canvas_selection(window, qtbot):
    window.selection.set(["fc1"])
    window.commands["train.sweep"].trigger()
    dialog = window.findChild(SweepDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.graph.name == "digits-mlp" and dialog.selected == ["fc1"]
    assert dialog.add_field_button.isEnabled()
    # fc1 is a Linear: its searchable fields are offered as node.field, out_features among them
    assert "fc1.out_features" in dialog.node_fields()
    dialog.close()


def test_rows_with_a_picked_node_field_make_a_space_the_parser_accepts(qtbot, tmp_path):
    graph = digits_mlp()  # fc1: Linear with out_features=32; drop: Dropout p=0.1
    dialog = SweepDialog(graph, tmp_path / "store.db", selected=["fc1", "drop"],
                         base=TrainConfig(dataset="digits", lr=1e-3, epochs=1))
    qtbot.addWidget(dialog)
    dialog.add_node_field_row("fc1.out_features")
    dialog.add_node_field_row("drop.p")
    dialog.add_setting_row("optimizer")

    space, errors = dialog.space()
    assert errors == []
    assert space["lr"] == {"log_uniform": [pytest.approx(1e-4), pytest.approx(1e-2)]}  # a decade either side
    assert space["fc1.out_features"] == {"int": [16, 64]}  # half to double the current 32
    assert space["drop.p"] == {"uniform": [pytest.approx(0.05), pytest.approx(0.2)]}
    assert space["optimizer"][0] == "adam" and "sgd" in space["optimizer"]

    checked = dialog.check()
    assert checked is not None
    text, launch = checked
    parsed = parse_space_text(text, graph, dialog.base_config())
    by_name = {d.name: d for d in parsed.dimensions}
    assert by_name["fc1.out_features"].node == "fc1" and by_name["fc1.out_features"].kind == "int"
    assert (by_name["fc1.out_features"].low, by_name["fc1.out_features"].high) == (16, 64)
    assert by_name["optimizer"].kind == "choice"
    argv = launch.argv()
    assert argv[argv.index("--dataset") + 1] == "digits" and argv[argv.index("--epochs") + 1] == "1"
    assert argv[argv.index("--id") + 1] == launch.sweep_id
    assert yaml.safe_load(text) == space


def test_an_edited_row_is_read_back_with_its_kind(qtbot, tmp_path):
    dialog = SweepDialog(digits_mlp(), tmp_path / "store.db", base=TrainConfig(dataset="digits"))
    qtbot.addWidget(dialog)
    row = dialog.add_row("batch_size", [16, 32])
    dialog.rows.item(row, 2).setText("16, 32, 64")
    assert dict(dialog.row_values())["batch_size"] == [16, 32, 64]
    dialog.rows.cellWidget(row, 1).setCurrentText("int")
    dialog.rows.item(row, 2).setText("16, 128")
    assert dict(dialog.row_values())["batch_size"] == {"int": [16, 128]}
    assert parse_values("choice", "adam, sgd") == ["adam", "sgd"]
    assert values_text({"log_uniform": [0.0001, 0.01]}) == ("log_uniform", "0.0001, 0.01")


def test_a_typo_is_refused_naming_the_row_and_nothing_starts(qtbot, tmp_path):
    dialog = SweepDialog(digits_mlp(), tmp_path / "store.db", selected=["fc1"],
                         base=TrainConfig(dataset="digits"))
    qtbot.addWidget(dialog)
    dialog.add_row("fc1.out_featurs", [16, 32])  # row 2: a field fc1 does not have
    dialog.add_row("lrr", {"log_uniform": [1e-4, 1e-2]})  # row 3: no such training setting
    dialog.add_row("drop.p", {"uniform": [0.5, 0.1]})  # row 4: an empty range

    space, errors = dialog.space()
    assert list(space) == ["lr"]
    assert errors[0].startswith("row 2 (fc1.out_featurs):") and "no field 'out_featurs'" in errors[0]
    assert "out_features" in errors[0]  # the valid fields are listed
    assert errors[1].startswith("row 3 (lrr):") and "no training setting 'lrr'" in errors[1]
    assert errors[2].startswith("row 4 (drop.p):") and "empty range" in errors[2]

    assert dialog.start() is False
    assert dialog.process is None
    shown = dialog.message.text()
    assert "row 2 (fc1.out_featurs)" in shown and "row 3 (lrr)" in shown and "row 4 (drop.p)" in shown
    assert not sweeps_root(tmp_path / "store.db").exists()  # nothing written, nothing started
