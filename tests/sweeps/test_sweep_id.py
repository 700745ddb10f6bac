"""``sweep --id``: the app names a sweep before it starts (to follow it); a taken or unsafe id is refused
before anything is written or trained."""

from __future__ import annotations

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.sweeps.sweep_file import list_sweep_ids, sweep_dir

from .helpers import FAST, write_graph, write_space


def sweep_argv(tmp_path, sweep_id: str) -> list[str]:
    return ["sweep", str(write_graph(tmp_path)), *FAST, "--space", str(write_space(tmp_path, "lr: [0.001, 0.01]\n")),
            "--id", sweep_id, "--store", str(tmp_path / "store.db")]


def test_a_taken_id_is_refused_and_the_existing_sweep_is_left_alone(tmp_path, capsys):
    folder = sweep_dir(tmp_path / "store.db", "mine")
    folder.mkdir(parents=True)
    (folder / "sweep.json").write_text("{}", encoding="utf-8")
    assert main(sweep_argv(tmp_path, "mine")) != 0
    assert "a sweep with that id exists" in capsys.readouterr().err
    assert (folder / "sweep.json").read_text(encoding="utf-8") == "{}"
    assert list_sweep_ids(tmp_path / "store.db") == ["mine"]


def test_an_id_that_is_not_a_plain_name_is_refused(tmp_path, capsys):
    assert main(sweep_argv(tmp_path, "../elsewhere")) != 0
    assert "letters, digits, - and _ only" in capsys.readouterr().err
    assert list_sweep_ids(tmp_path / "store.db") == []
