"""A graph's custom-code node carries Python source: opening, validating, summarising and generating code from
the file never runs it, and building the model refuses it until the user trusts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.build.code_trust import UntrustedCodeError
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.ir.serialize import load_graph

MODELS = Path(__file__).parents[1] / "importers" / "models.py"


def test_planted_code_runs_nowhere_until_trusted(tmp_path: Path, capsys) -> None:
    graph_path = tmp_path / "shared.nfg"
    assert main(["import", f"{MODELS}:DataDependent", "--input", "x=4", "-o", str(graph_path)]) == 0
    marker = tmp_path / "ran.txt"
    data = json.loads(graph_path.read_text())
    gate = next(n for n in data["graph"]["nodes"] if n["id"] == "gate")
    gate["params"]["source"] = (f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n\n\n"
                                + gate["params"]["source"])  # what a stranger's file could carry
    graph_path.write_text(json.dumps(data))
    capsys.readouterr()
    for argv in (["validate", str(graph_path)], ["summary", str(graph_path)],
                 ["codegen", str(graph_path), "-o", str(tmp_path / "gen.py")]):
        assert main(argv) == 0, argv
    assert not marker.exists()
    assert "write_text('ran')" in (tmp_path / "gen.py").read_text()  # shown to the reader, never run
    with pytest.raises(UntrustedCodeError, match="gate"):
        build_model(load_graph(graph_path))
    assert not marker.exists()
    assert main(["trust", str(graph_path)]) == 0  # the user read it and agrees: now it runs
    build_model(load_graph(graph_path))
    assert marker.read_text() == "ran"
