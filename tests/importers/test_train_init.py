"""`train --init`: an imported model trains from the weights the import wrote, loaded strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from safetensors.torch import load_file, save_file  # noqa: E402

from neuralforge_desktop.cli.main import main  # noqa: E402
from neuralforge_desktop.core.build.torch_builder import build_model  # noqa: E402
from neuralforge_desktop.core.ir.serialize import load_graph  # noqa: E402
from neuralforge_desktop.core.training.runner import runs_root  # noqa: E402
from neuralforge_desktop.core.training.setup import SetupError, load_initial_weights  # noqa: E402

MLP = """from torch import nn


class Iris(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 16)
        self.act = nn.ReLU()
        self.out = nn.Linear(16, 3)

    def forward(self, x):
        return self.out(self.act(self.hidden(x)))
"""


@pytest.fixture
def imported(tmp_path: Path, capsys) -> Path:
    (tmp_path / "iris_model.py").write_text(MLP)
    out = tmp_path / "iris.nfg"
    assert main(["import", f"{tmp_path / 'iris_model.py'}:Iris", "--input", "x=4", "-o", str(out)]) == 0
    capsys.readouterr()
    return out


def _train(graph: Path, init: Path, store: Path, capsys) -> tuple[int, str]:
    status = main(["train", str(graph), "--dataset", "iris", "--epochs", "1", "--lr", "1e-9", "--init", str(init),
                   "--store", str(store)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_training_starts_from_the_given_weights(imported: Path, tmp_path: Path, capsys) -> None:
    weights = load_file(str(imported.with_suffix(".safetensors")))
    marked = {key: torch.full_like(value, 0.125) for key, value in weights.items()}
    init = tmp_path / "marked.safetensors"
    save_file(marked, str(init))
    store = tmp_path / "store.db"
    status, text = _train(imported, init, store, capsys)
    assert status == 0, text
    run_dir = next(p for p in runs_root(store).iterdir() if p.is_dir())
    assert (run_dir / "init.safetensors").read_bytes() == init.read_bytes()  # the run keeps what it started from
    trained = load_file(str(next(p for p in (run_dir / "checkpoints").glob("*.safetensors")
                                 if not p.name.endswith(".state.safetensors"))))
    for key in marked:  # a learning rate of 1e-9 moves nothing visible: these are the weights it started from
        assert torch.allclose(trained[key], marked[key], atol=1e-6), key


def test_weights_that_do_not_fit_are_named(imported: Path, tmp_path: Path, capsys) -> None:
    weights = load_file(str(imported.with_suffix(".safetensors")))
    weights["out.weight"] = torch.zeros(2, 16)
    bad = tmp_path / "bad.safetensors"
    save_file(weights, str(bad))
    model = build_model(load_graph(imported))  # what the worker builds, then loads the weights into
    with pytest.raises(SetupError, match=r"'out.weight' is \(2, 16\), the model's is \(3, 16\)"):
        load_initial_weights(model, bad)
    assert main(["train", str(imported), "--dataset", "iris", "--init", str(tmp_path / "model.pt"),
                 "--store", str(tmp_path / "store.db")]) == 2
    assert "no such file" in capsys.readouterr().err
