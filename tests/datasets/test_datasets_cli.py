"""``neuralforge datasets list`` and ``neuralforge datasets show``, through a parser built here."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from neuralforge_desktop.cli import datasets_cmd
from neuralforge_desktop.cli.graph_source import CliError


def run(capsys, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="neuralforge")
    datasets_cmd.add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    status = args.func(args)
    return status, capsys.readouterr().out


def test_list_table_and_json(capsys):
    status, out = run(capsys, "datasets", "list")
    assert status == 0 and "mnist-10k" in out and "1×28×28" in out and "AVAILABLE" in out and "10,000" in out
    status, out = run(capsys, "datasets", "list", "--json")
    data = {d["name"]: d for d in json.loads(out)}
    assert data["mnist-10k"]["available"] is True and data["mnist-10k"]["input_shape"] == [1, 28, 28]
    assert data["fashion-mnist"]["how_to_get"]
    assert {"task", "examples", "source", "how_to_get", "num_classes"} <= set(data["iris"])


def test_show_builtin_and_path(capsys, tmp_path):
    status, out = run(capsys, "datasets", "show", "mnist-10k", "--limit", "500")
    assert status == 0 and "1×28×28 float32" in out and "classes      10" in out and "train 450" in out
    assert "fingerprint" in out
    np.savez(tmp_path / "d.npz", x=np.zeros((20, 3)), y=np.arange(20) % 2)
    status, out = run(capsys, "datasets", "show", str(tmp_path / "d.npz"), "--json", "--test-fraction", "0.2")
    data = json.loads(out)
    assert data["splits"] == {"train": 14, "val": 2, "test": 4} and data["input_shape"] == [3]
    assert len(data["fingerprint"]) == 64 and any("keys x, y" in n for n in data["notes"])


def test_show_passes_options(capsys):
    status, out = run(capsys, "datasets", "show", "sunspots", "-o", "window=6", "-o", "layout=channels")
    assert status == 0 and "1×6 float32" in out and "whole series" in out


def test_show_errors_become_cli_errors(capsys):
    with pytest.raises(CliError, match="no built-in dataset 'nope'"):
        run(capsys, "datasets", "show", "nope")
    with pytest.raises(CliError, match="expected KEY=VALUE"):
        run(capsys, "datasets", "show", "iris", "-o", "window")
