"""The Train panel with text models: a multi-input graph's misnamed Input is named before a worker starts,
BERT-tiny on the generated reviews passes the check, and a language model's status line gives perplexity."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.training.train_panel import TrainPanel, status_text


def ids_and_mask(mask_name: str):
    c = Composer("ids-and-mask")
    x = c.layer("Embedding", c.input("input_ids", ["T"], "int64"), "emb", num_embeddings=100, embedding_dim=8)
    mask = c.layer("Unsqueeze", c.input(mask_name, ["T"], "int64"), "mask_3d", dim=2)
    x = c.layer("Mean", c.layer("Multiply", [x, mask], "masked", num_inputs=2), "pool", dim=[1], keepdim=False)
    c.output(c.layer("Linear", x, "fc", out_features=2), "logits")
    return c.done()


def test_start_names_a_misnamed_input_and_accepts_bert_tiny(qtbot: Any, tmp_path: Path) -> None:
    panel = TrainPanel(DocumentBridge(Document(ids_and_mask("mask"))), tmp_path / "store.db")
    qtbot.addWidget(panel)
    assert panel.dataset.set_dataset("synthetic-reviews")
    assert panel.start() is False
    assert "Input 'mask' has no dataset field of its name" in panel.last_error
    assert "attention_mask (24 int64)" in panel.last_error and panel.run_id is None

    panel._bridge.set_document(Document(ids_and_mask("attention_mask")))
    assert panel._problems() == []
    panel._bridge.set_document(Document(zoo.build("bert-tiny")))
    assert panel._problems() == []


def test_status_line_of_a_language_model_gives_the_best_perplexity() -> None:
    info = {"epochs": 2, "terminal": "finished", "epoch_done": 2, "best": 2.5, "best_epoch": 2,
            "best_kind": "val loss", "dataset": {"task": "language-modeling"}, "seconds": 3.0}
    assert f"best val loss 2.5, perplexity {math.exp(2.5):.4g} (epoch 2)" in status_text(info, "idle")
    info["dataset"] = {"task": "regression"}
    assert "perplexity" not in status_text(info, "idle")
