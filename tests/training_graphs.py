"""Small graphs the training tests share."""

from neuralforge_desktop.core.ir.compose import Composer


def digits_mlp(dropout: float = 0.1):
    """A small classifier for the 8×8 digits (fast enough to train many times in tests)."""
    c = Composer("digits-mlp")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=32)
    x = c.layer("ReLU", x, "relu")
    x = c.layer("Dropout", x, "drop", p=dropout)
    logits = c.layer("Linear", x, "fc2", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def wider_digits_mlp():
    """The tests' digits MLP with a wider first layer, a second dropout, and its head renamed ``head``."""
    c = Composer("digits-mlp")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=64)
    x = c.layer("ReLU", x, "relu")
    x = c.layer("Dropout", x, "drop", p=0.1)
    x = c.layer("Dropout", x, "drop2", p=0.3)
    logits = c.layer("Linear", x, "head", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def wide_mlp_without_loss():
    """An MNIST-shaped classifier whose last Linear gives 128 scores, with no loss node."""
    c = Composer("wide")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=64)
    x = c.layer("ReLU", x, "relu")
    c.output(c.layer("Linear", x, "fc2", out_features=128), "logits")
    return c.done()


CORPUS = "".join(f"The {a} {b} sat on the {c}. " for a in ("red", "big", "old") for b in ("cat", "dog", "fox")
                 for c in ("mat", "log", "hat")) * 12


def small_gpt(head: int = 300):
    """The zoo's GPT-2 tiny, narrowed for a fast test: one block of width 32, a 300-token vocabulary and
    ``head`` scores per position."""
    from neuralforge_desktop.core import zoo

    graph = zoo.build("gpt2-tiny")
    for node_id, param, value in (("wte", "embedding_dim", 32), ("wte", "num_embeddings", 300),
                                  ("lm_head", "out_features", head), ("h", "repeat", 1)):
        graph.set_param(node_id, param, value)
    body = graph.node("h").body
    assert body is not None
    for node_id, param, value in (("attn", "num_heads", 2), ("mlp_fc", "out_features", 64),
                                  ("mlp_proj", "out_features", 32)):
        body.set_param(node_id, param, value)
    return graph


def train_language_model(graph, tmp_path, **config):
    """Train ``graph`` in this process on a small text corpus (a BPE of 300 tokens, 16-token sequences);
    returns the result, the events, the store, the run id and the run folder."""
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    path = tmp_path / "corpus.txt"
    path.write_text(CORPUS, encoding="utf-8")
    store = Store(tmp_path / "store.db")
    cfg = TrainConfig(**{"dataset": str(path), "epochs": 1, "batch_size": 8, "lr": 3e-3, "seed": 0, "threads": 1,
                         "log_every": 1, "val_fraction": 0.2,
                         "dataset_options": {"context": 16, "vocab_size": 300}, **config})
    run_id, folder = prepare_run(graph, cfg, store, "lm")
    events: list = []
    result = Trainer(graph, cfg, run_id, folder, events.append, store).run()
    return result, events, store, run_id, folder
