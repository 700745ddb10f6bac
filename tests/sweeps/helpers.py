"""What the sweep tests share: a tiny digits MLP on disk, a space file, the CLI run in this process, the store."""

from __future__ import annotations

import json
from pathlib import Path

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.serialize import dumps
from neuralforge_desktop.core.store.sqlite_store import Store

from training_graphs import digits_mlp

# One epoch on 200 digits: a trial is mostly the worker's start-up.
FAST = ["--dataset", "digits", "--epochs", "1", "--limit", "200", "--batch-size", "32"]


def write_graph(tmp_path: Path) -> Path:
    path = tmp_path / "mlp.nfg"
    path.write_text(dumps(digits_mlp()), encoding="utf-8")
    return path


def write_space(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def sweep_json(capsys, argv: list[str]) -> dict:
    """Run ``neuralforge sweep …`` here with --json; the results' one JSON line."""
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    return json.loads(lines[-1])


def sweep_runs(store_path: Path, experiment: str) -> list:
    store = Store(store_path)
    try:
        return store.list_runs(experiment)
    finally:
        store.close()
