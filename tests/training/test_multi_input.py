"""Graphs with several data Inputs, fed from a dataset's named fields: how Inputs find their fields, the errors
that name the Input at fault (the same in the worker, the CLI's up-front check and the Train panel), and real
training of two- and three-input graphs and of the zoo's BERT-tiny."""

from __future__ import annotations

import numpy as np
import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.binding import training_problems
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.datasets import list_datasets, load_dataset
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.events import FailedEvent, StartedEvent
from neuralforge_desktop.core.training.runner import prepare_run
from neuralforge_desktop.core.training.setup import SetupError, bind_dataset

REVIEWS = "synthetic-reviews"


def text_classifier(inputs: dict[str, tuple[list, str]], vocab: int = 100, use_mask: bool = True):
    """Token ids (and, if asked, an attention mask for a masked mean) → Embedding → mean → 2 classes."""
    c = Composer("text-multi")
    refs = {name: c.input(name, shape, dtype) for name, (shape, dtype) in inputs.items()}
    ids = refs.get("input_ids") or next(iter(refs.values()))
    x = c.layer("Embedding", ids, "emb", num_embeddings=vocab, embedding_dim=16)
    if "token_type_ids" in refs:
        types = c.layer("Embedding", refs["token_type_ids"], "types", num_embeddings=2, embedding_dim=16)
        x = c.layer("Add", [x, types], "sum", num_inputs=2)
    if use_mask and "attention_mask" in refs:
        mask = c.layer("Unsqueeze", refs["attention_mask"], "mask_3d", dim=2)
        x = c.layer("Multiply", [x, mask], "masked", num_inputs=2, notes="padding positions become 0")
    x = c.layer("Mean", x, "pool", dim=[1], keepdim=False)
    logits = c.layer("Linear", x, "fc", out_features=2)
    c.output(logits, "logits")
    label = c.input("label", [], "int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def bert_like(**overrides: tuple[list, str]):
    inputs = {"input_ids": (["T"], "int64"), "token_type_ids": (["T"], "int64"), "attention_mask": (["T"], "int64")}
    inputs.update(overrides)
    return text_classifier(inputs)


def run(graph, tmp_path, **config):
    store = Store(tmp_path / "store.db")
    cfg = TrainConfig(**{"dataset": REVIEWS, "epochs": 1, "batch_size": 32, "lr": 3e-3, "seed": 1, "threads": 1,
                         "log_every": 5, **config})
    run_id, folder = prepare_run(graph, cfg, store, "tests")
    events: list = []
    result = Trainer(graph, cfg, run_id, folder, events.append, store).run()
    return result, events, store, run_id


# -- how Inputs find their fields -------------------------------------------------------------------------
def test_each_input_reads_the_field_named_like_it_and_symbols_bind_to_the_data():
    bundle = load_dataset(REVIEWS, options={"max_len": 20})
    graph = bert_like()
    binding = bind_dataset(graph, bundle)
    assert binding.fields == {"input_ids": "input_ids", "token_type_ids": "token_type_ids",
                              "attention_mask": "attention_mask"}
    assert graph.symbols["T"] == 20 and binding.unused == []
    # Without a field of its name, the one Input of a single-input graph reads the main field, as before.
    single = text_classifier({"tokens": (["T"], "int64")})
    binding = bind_dataset(single, bundle)
    assert binding.fields == {"tokens": "input_ids"}
    assert binding.unused == ["token_type_ids", "attention_mask"]


def test_binding_errors_name_every_input_and_field_at_fault():
    bundle = load_dataset(REVIEWS)  # 24 tokens per review
    graph = bert_like(attention_mask=(["T"], "float32"), segment=(["T"], "int64"))
    with pytest.raises(SetupError) as info:
        bind_dataset(graph, bundle)
    message = str(info.value)
    assert message.startswith("2 problems:")
    assert "Input 'attention_mask' is float32 but dataset synthetic-reviews gives int64 in field 'attention_mask'" \
        in message
    assert "Input 'segment' has no dataset field of its name" in message
    assert "input_ids (24 int64), token_type_ids (24 int64), attention_mask (24 int64)" in message

    fixed = bert_like(**{name: ([12], "int64") for name in ("input_ids", "token_type_ids", "attention_mask")})
    with pytest.raises(SetupError) as info:
        bind_dataset(fixed, bundle)
    for name in ("input_ids", "token_type_ids", "attention_mask"):
        assert (f"Input '{name}' has shape (12,) but dataset synthetic-reviews gives (24,) per example in field "
                f"'{name}'") in str(info.value)


def test_the_train_panel_check_is_the_core_check_and_agrees_with_the_worker():
    info = {d.name: d for d in list_datasets()}[REVIEWS]
    graph = bert_like(segment=(["T"], "int64"))
    problems = training_problems(graph, infer_shapes(graph), info)
    assert len(problems) == 1 and problems[0].startswith("Input 'segment' has no dataset field of its name")
    with pytest.raises(SetupError, match="Input 'segment' has no dataset field of its name"):
        bind_dataset(graph, load_dataset(REVIEWS))
    assert training_problems(bert_like(), infer_shapes(bert_like()), info) == []
    # the panel's own entry point is this function, not a copy of it
    from neuralforge_desktop.ui.training import train_panel

    assert train_panel.graph_problems(graph, infer_shapes(graph), info) == problems


def test_token_ids_past_an_embedding_table_are_refused_naming_both():
    bundle = load_dataset(REVIEWS)
    graph = text_classifier({"input_ids": (["T"], "int64")}, vocab=10)
    with pytest.raises(SetupError, match=r"Embedding 'emb' has 10 rows \(num_embeddings\), but the ids of dataset "
                                         r"synthetic-reviews's field input_ids \(Input 'input_ids'\) reach \d+"):
        bind_dataset(graph, bundle)


def test_a_worker_refuses_a_mismatch_with_the_same_message(tmp_path):
    result, events, store, run_id = run(bert_like(segment=(["T"], "int64")), tmp_path)
    assert result.status == "failed"
    assert isinstance(events[-1], FailedEvent) and events[-1].user_error
    assert "Input 'segment' has no dataset field of its name" in events[-1].error


# -- training ---------------------------------------------------------------------------------------------
def two_feature_sets(path, n=600, seed=0):
    """An npz with two named inputs; the label needs both (the sign of a's sum minus b's sum): either alone
    predicts it three times in four."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 3)).astype(np.float32)
    b = rng.normal(size=(n, 3)).astype(np.float32)
    y = (a.sum(axis=1) - b.sum(axis=1) > 0).astype(np.int64)
    np.savez(path, a=a, b=b, y=y)
    return path


def two_input_mlp():
    c = Composer("two-inputs")
    a = c.layer("Linear", c.input("a", [3]), "fa", out_features=8)
    b = c.layer("Linear", c.input("b", [3]), "fb", out_features=8)
    x = c.layer("ReLU", c.layer("Add", [a, b], "join", num_inputs=2), "relu")
    logits = c.layer("Linear", x, "fc", out_features=2)
    c.output(logits, "logits")
    c.layer("CrossEntropyLoss", {"input": logits, "target": c.input("label", [], "int64", role="target")}, "loss")
    return c.done()


def test_a_two_input_graph_trains_an_epoch_on_an_npz_with_two_named_inputs(tmp_path):
    data = two_feature_sets(tmp_path / "pairs.npz")
    result, events, store, run_id = run(two_input_mlp(), tmp_path, dataset=str(data), epochs=3, lr=0.02,
                                        dataset_options={"x_key": ["a", "b"], "y_key": "y"})
    assert result.status == "finished", events[-1]
    started = next(e for e in events if isinstance(e, StartedEvent))
    assert started.dataset["inputs"] == {"a": "a", "b": "b"}
    assert result.best_metric > 0.9  # it learned from both inputs: either alone gives about 75 %
    assert store.metric_history(run_id, "val/acc").values.shape == (3,)


def test_a_graph_reading_the_attention_mask_trains_an_epoch(tmp_path):
    result, events, store, run_id = run(bert_like(), tmp_path, limit=400)
    assert result.status == "finished", events[-1]
    started = next(e for e in events if isinstance(e, StartedEvent))
    assert set(started.dataset["inputs"].values()) == {"input_ids", "token_type_ids", "attention_mask"}
    assert {a.name for a in store.list_artifacts(run_id)} == {"graph.nfg", "model.safetensors", "tokenizer.json",
                                                            "coach.json"}


def test_bert_tiny_trains_on_the_builtin_reviews(tmp_path):
    result, events, store, run_id = run(zoo.build("bert-tiny"), tmp_path, limit=256, lr=1e-3)
    assert result.status == "finished", events[-1]
    started = next(e for e in events if isinstance(e, StartedEvent))
    assert started.dataset["inputs"] == {name: name for name in ("input_ids", "token_type_ids", "attention_mask")}
    record = store.get_run(run_id)
    assert record.status == "finished"
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "final/acc"} <= set(record.metrics)
    assert events[-1].final["split"] == "test" and len(events[-1].final["confusion_matrix"]) == 2
