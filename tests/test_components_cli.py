"""``neuralforge components``: list, show, save (a block or grouped layers), add, export, remove."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.components import library


@pytest.fixture(autouse=True)
def _own_library(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    monkeypatch.setattr(library, "library_dir", lambda: folder)
    return folder


def test_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["components", "list", "--json"]) == 0
    names = [c["name"] for c in json.loads(capsys.readouterr().out)]
    assert "residual_block" in names and "unet_stage" in names
    assert main(["components", "show", "residual_block"]) == 0
    assert "downsample/conv.out_channels" in capsys.readouterr().out


def test_save_add_export_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str], _own_library: Path) -> None:
    assert main(["components", "save", "zoo:resnet18", "layer2/block0", "--name", "basic",
                 "--expose", "width=conv1.out_channels,conv2.out_channels", "--title", "Basic"]) == 0
    assert (_own_library / "basic.nfcomp").exists()
    shared = tmp_path / "shared.nfcomp"
    assert main(["components", "export", "basic", "-o", str(shared)]) == 0
    assert main(["components", "remove", "basic"]) == 0
    assert main(["components", "add", str(shared)]) == 0
    assert library.find_component("basic").param("width").default == 128
    # Several layers are grouped into a block first; a default after ':' is JSON.
    out = tmp_path / "convrelu.nfcomp"
    assert main(["components", "save", "zoo:mnist-cnn", "conv1,relu1", "--name", "convrelu",
                 "--expose", "width=conv1.out_channels:16", "-o", str(out)]) == 0
    assert library.load_component(out).param("width").default == 16


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.nfcomp"
    bad.write_text('{"format": "neuralforge-graph"}')
    assert main(["components", "add", str(bad)]) != 0
    assert "not a NeuralForge component" in capsys.readouterr().err
    assert main(["components", "save", "zoo:mnist-cnn", "conv1", "--name", "c",
                 "--expose", "w=ghost.out_channels"]) != 0
    assert "ghost" in capsys.readouterr().err
    assert main(["components", "remove", "residual_block"]) != 0
