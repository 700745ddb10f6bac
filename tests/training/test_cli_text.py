"""Text models from the command line: a language model's perplexity in `runs list` and `runs show`, dataset
options with -o, and a multi-input graph refused up front, before a run is recorded."""

from __future__ import annotations

import json
import subprocess
import sys

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.serialize import save_graph


def cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neuralforge_desktop", *argv], capture_output=True, text=True,
                          timeout=timeout)


def test_gpt2_tiny_on_a_text_file_shows_perplexity_in_runs_list_and_show(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"Story {i}: the fox ran to the river and back.\n" for i in range(300)),
                      encoding="utf-8")
    store = str(tmp_path / "store.db")
    proc = cli("train", "zoo:gpt2-tiny", "--dataset", str(corpus), "--epochs", "1", "--batch-size", "16",
               "--limit", "32", "-o", "context=32", "-o", "tokenizer=bytes", "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert "val ppl" in proc.stdout and ", perplexity " in proc.stdout.splitlines()[-1]
    header, _, row = cli("runs", "list", "--store", store).stdout.splitlines()[:3]
    record = json.loads(cli("runs", "list", "--json", "--store", store).stdout)[0]
    perplexity = record["metrics"]["val/perplexity"]["value"]
    assert "VAL PPL" in header and f" {perplexity:.4g} " in row and perplexity > 1
    show = cli("runs", "show", record["id"], "--store", store).stdout
    assert "val/perplexity" in show and "train/perplexity" in show and "artifact tokenizer.json (tokenizer" in show


def test_a_multi_input_graph_that_misnames_an_input_is_refused_before_a_run(tmp_path):
    c = Composer("two-text-inputs")
    ids = c.input("input_ids", ["T"], "int64")
    mask = c.input("padding", ["T"], "int64")
    x = c.layer("Embedding", ids, "emb", num_embeddings=100, embedding_dim=8)
    x = c.layer("Multiply", [x, c.layer("Unsqueeze", mask, "mask_3d", dim=2)], "masked", num_inputs=2)
    c.output(c.layer("Linear", c.layer("Mean", x, "pool", dim=[1], keepdim=False), "fc", out_features=2), "logits")
    graph = tmp_path / "g.nfg"
    save_graph(c.done(), graph)
    store = str(tmp_path / "s.db")
    proc = cli("train", str(graph), "--dataset", "synthetic-reviews", "--store", store)
    assert proc.returncode == 1
    assert "Input 'padding' has no dataset field of its name" in proc.stderr
    assert "attention_mask (24 int64)" in proc.stderr
    assert "no runs in" in cli("runs", "list", "--store", store).stdout
