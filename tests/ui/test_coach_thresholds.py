"""Coach ▸ Thresholds…: the rules' numbers with their defaults and reasons, saved to the file the CLI reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.training.coach.thresholds import load_thresholds
from neuralforge_desktop.ui.dialogs.coach_thresholds import DEFAULT, NAME, VALUE, WHY, CoachThresholdsDialog


def row_of(dialog: CoachThresholdsDialog, name: str) -> int:
    return next(r for r in range(dialog.table.rowCount()) if dialog.table.item(r, NAME).text() == name)


def test_every_threshold_is_listed_with_its_reason_and_a_change_is_saved_for_the_cli(qtbot: Any,
                                                                                     tmp_path: Path) -> None:
    path = tmp_path / "coach.json"
    dialog = CoachThresholdsDialog(path=path)
    qtbot.addWidget(dialog)
    row = row_of(dialog, "dead_relu_fraction")
    assert dialog.table.item(row, DEFAULT).text() == "0.95"
    assert "zeros" in dialog.table.item(row, WHY).text()  # the reason written beside the constant
    assert all(dialog.table.item(r, WHY).text() for r in range(dialog.table.rowCount()))
    dialog.table.item(row, VALUE).setText("0.9")
    dialog.table.item(row_of(dialog, "min_records"), VALUE).setText("4")
    assert dialog.save()
    assert json.loads(path.read_text()) == {"dead_relu_fraction": 0.9, "min_records": 4}  # only the changes
    loaded = load_thresholds(path)
    assert loaded.dead_relu_fraction == 0.9 and loaded.min_records == 4


def test_a_bad_value_is_named_and_nothing_is_written(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "coach.json"
    dialog = CoachThresholdsDialog(path=path)
    qtbot.addWidget(dialog)
    dialog.table.item(row_of(dialog, "min_records"), VALUE).setText("2.5")
    assert not dialog.save() and "min_records" in dialog.error.text() and not path.exists()
    dialog.table.item(row_of(dialog, "min_records"), VALUE).setText("lots")
    assert not dialog.save() and "'lots' is not a number" in dialog.error.text()
    dialog.reset()
    assert dialog.save() and json.loads(path.read_text()) == {}


def test_a_broken_file_opens_with_the_defaults_and_says_why(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "coach.json"
    path.write_text('{"dead_relu_fraktion": 0.9}')
    dialog = CoachThresholdsDialog(path=path)
    qtbot.addWidget(dialog)
    assert "dead_relu_fraktion" in dialog.error.text()
    assert dialog.table.item(row_of(dialog, "dead_relu_fraction"), VALUE).text() == "0.95"
