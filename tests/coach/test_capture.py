"""The diagnostics a training run captures: real trainings on the 8×8 digits, and the capture driven by hand
around a small model where every number can be checked against torch's own."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.coach.capture import (
    BASIC_EVERY,
    DiagnosticsCapture,
    capture_interval,
    node_path,
    start_capture,
)
from neuralforge_desktop.core.training.coach.records import HIST_BINS, NonFinite
from neuralforge_desktop.core.training.coach.stored import load_run_diagnostics
from neuralforge_desktop.core.training.coach.tensor_stats import HIST_SAMPLE, histogram_parts, strided_sample
from neuralforge_desktop.core.training.config import ConfigError, TrainConfig
from neuralforge_desktop.core.training.engine import Control, Trainer
from neuralforge_desktop.core.training.runner import prepare_run
from neuralforge_desktop.core.zoo.entry import body

from training_graphs import digits_mlp

LIMIT = 300  # 270 training examples: 9 steps of 32 per epoch


def conv_graph():
    """A small convolutional classifier for the digits, with a repeated block (Linear → Tanh) inside."""
    c = Composer("digits-conv")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Conv2d", x, "conv", out_channels=4, kernel_size=3, padding=1)
    x = c.layer("ReLU", x, "relu")
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc", out_features=16)
    inner, h = body("blk", [16])
    h = inner.layer("Linear", h, "lin", out_features=16)
    inner.output(inner.layer("Tanh", h, "act"), "y")
    x = c.block("blk", inner.done(), x, repeat=2)
    logits = c.layer("Linear", x, "head", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


LAYERS = ["conv", "relu", "fc", "blk[0]/lin", "blk[0]/act", "blk[1]/lin", "blk[1]/act", "head"]


def train(tmp_path, level, *, store=None, graph=None, expect="finished", **overrides):
    store = store or Store(tmp_path / "store.db")
    graph = graph or conv_graph()
    cfg = TrainConfig(**{"dataset": "digits", "epochs": 2, "batch_size": 32, "lr": 3e-3, "seed": 5, "threads": 1,
                         "limit": LIMIT, "diagnostics": level, **overrides})
    run_id, folder = prepare_run(graph, cfg, store, "coach")
    events: list = []
    trainer = Trainer(graph, cfg, run_id, folder, events.append, store)
    result = trainer.run()
    assert result.status == expect, [getattr(e, "error", "") for e in events if e.kind == "failed"]
    return trainer, store, run_id, folder


def test_a_full_training_records_every_layer_by_path_with_plausible_values(tmp_path):
    trainer, store, run_id, folder = train(tmp_path, "full")
    diag = trainer.diagnostics
    assert diag.level == "full" and [node_path(n) for n in LAYERS][3] == "blk/lin"
    steps = [r.step for r in diag.layers]
    assert steps == list(range(1, 19))  # 9 steps an epoch: "full" asks for 10 records each, so every step
    for record in diag.layers:
        assert record.layers == LAYERS
        by = dict(zip(LAYERS, range(len(LAYERS)), strict=True))
        for name in ("conv", "fc", "blk[0]/lin", "blk[1]/lin", "head"):
            i = by[name]
            assert record.grad_norm[i] > 0 and record.weight_norm[i] > 0 and 0 < record.update_ratio[i] < 1
        for name in ("relu", "blk[0]/act", "blk[1]/act"):
            assert record.grad_norm[by[name]] is None and record.weight_norm[by[name]] is None
        assert 0 <= record.act_zero_frac[by["relu"]] <= 1 and record.act_zero_frac[by["fc"]] is None
        assert 0 <= record.act_sat_frac[by["blk[1]/act"]] <= 1 and record.act_sat_frac[by["relu"]] is None
        assert record.act_mean[by["relu"]] >= 0 and all(s is not None and s >= 0 for s in record.act_std)
    # The last record was taken after the last step: its weight norms are those of the saved final weights.
    final = load_file(folder / "checkpoints" / "epoch-0002.safetensors")
    last = diag.layers[-1]
    for name, key in (("conv", "conv"), ("blk[1]/lin", "blk.1.lin"), ("head", "head")):
        expected = torch.linalg.vector_norm(torch.cat([final[f"{key}.weight"].reshape(-1), final[f"{key}.bias"]]))
        assert last.weight_norm[LAYERS.index(name)] == pytest.approx(float(expected), rel=1e-5)
    assert [h.step for h in diag.histograms] == [1, 5, 10, 15]
    for record in diag.histograms:
        assert record.layers == LAYERS and record.grad[1] is None and record.act[1] is not None
        conv_act = record.act[0]
        assert len(conv_act.counts) == HIST_BINS and conv_act.lo < conv_act.hi
        assert sum(conv_act.counts) == 32 * 4 * 8 * 8  # a batch of the conv's outputs, all of them (< 64k)
        assert sum(record.grad[0].counts) == 4 * 9 + 4  # the conv's weights and biases
    assert [(i.epoch, i.step) for i in diag.inputs] == [(1, 9), (2, 18)]
    assert sum(diag.inputs[0].label_counts) == 270 and len(diag.inputs[0].label_counts) == 10
    assert diag.inputs[0].channel_mean[0] == pytest.approx(0.0, abs=1e-4)  # the inputs are normalised
    assert diag.nonfinite == []
    with Store(store.path) as reopened:  # what the store kept is what the run had in memory
        assert load_run_diagnostics(reopened, run_id) == diag


def test_basic_records_less_and_no_histograms_and_off_records_nothing(tmp_path):
    trainer, store, run_id, _ = train(tmp_path, "basic")
    assert capture_interval("basic", 9) == 2 and capture_interval("basic", 10_000) == BASIC_EVERY
    assert [r.step for r in trainer.diagnostics.layers] == [1, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert trainer.diagnostics.histograms == [] and len(trainer.diagnostics.inputs) == 2
    assert len(store.diagnostic_records(run_id, "layers")) == 10
    off, store, run_id, _ = train(tmp_path, "off", store=store)
    assert off.capture is None and off.diagnostics.layers == off.diagnostics.inputs == []
    assert store.diagnostic_records(run_id) == [] and load_run_diagnostics(store, run_id) is None


def test_a_resumed_run_continues_its_records(tmp_path):
    store = Store(tmp_path / "store.db")
    graph = conv_graph()
    cfg = TrainConfig(dataset="digits", epochs=2, batch_size=32, seed=5, threads=1, limit=LIMIT, diagnostics="full")
    run_id, folder = prepare_run(graph, cfg, store, "coach")
    control = Control(None)
    first = Trainer(graph, cfg, run_id, folder, lambda e: None, store, control)
    # Stop a few steps into the second epoch, as the stop button would.
    control.command = lambda: "stop" if len(first.diagnostics.layers) >= 12 else "run"  # type: ignore[method-assign]
    assert first.run().status == "stopped"
    second = Trainer(graph, cfg, run_id, folder, lambda e: None, store)
    assert second.run(resume=True).status == "finished"
    assert [r.step for r in second.diagnostics.layers] == list(range(1, 19))
    assert [r.step for _, r in store.diagnostic_records(run_id, "layers")] == list(range(1, 19))  # none twice


def test_a_diverging_run_records_where_the_first_nan_appeared(tmp_path):
    # The run stops at the first logged NaN loss (nothing more can be learned), after the capture recorded it.
    trainer, store, run_id, _ = train(tmp_path, "basic", optimizer="sgd", lr=1e20, epochs=1, expect="failed")
    [found] = trainer.diagnostics.nonfinite
    assert found.where in ("activation", "gradient") and found.layer in LAYERS and found.step > 1
    assert store.diagnostic_records(run_id, "nonfinite") == [("nonfinite", found)]


def _capture(model, level="basic", steps_per_epoch=100):
    records: list = []
    capture = DiagnosticsCapture(model, level, lambda kind, record: records.append((kind, record)),
                                 steps_per_epoch=steps_per_epoch)
    return capture, records


def _step(model, capture, optimizer, x, y, step):
    capture.start_step(step)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    capture.check_loss(loss, (x,), step)
    optimizer.zero_grad()
    loss.backward()
    capture.after_backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer.step()
    capture.after_update(step)
    return grads, before


def test_numbers_agree_with_torch_at_the_captured_step():
    torch.manual_seed(0)
    model = build_model(conv_graph())
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    capture, records = _capture(model)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    with torch.no_grad():
        relu = torch.relu(model.conv(x))  # the activation the capture step sees (before the update)
    rng_before = torch.get_rng_state()
    grads, before = _step(model, capture, optimizer, x, y, step=1)
    assert torch.equal(torch.get_rng_state(), rng_before)  # capture draws no random numbers
    [(kind, stats)] = records
    assert kind == "layers" and stats.step == 1 and stats.layers == LAYERS
    i = LAYERS.index("blk[1]/lin")
    names = ["blk.1.lin.weight", "blk.1.lin.bias"]
    norm = lambda tensors: float(torch.linalg.vector_norm(torch.cat([t.detach().reshape(-1) for t in tensors])))
    assert stats.grad_norm[i] == pytest.approx(norm([grads[n] for n in names]), rel=1e-5)
    assert stats.weight_norm[i] == pytest.approx(norm([model.get_parameter(n) for n in names]), rel=1e-5)
    moved = norm([model.get_parameter(n).detach() - before[n] for n in names])
    assert stats.update_ratio[i] == pytest.approx(moved / norm([before[n] for n in names]), rel=1e-4)
    assert stats.act_zero_frac[LAYERS.index("relu")] == pytest.approx(float((relu == 0).float().mean()))
    assert stats.act_mean[LAYERS.index("relu")] == pytest.approx(float(relu.mean()), rel=1e-5)
    # Not a capture step: nothing recorded, and the model runs its own step functions, unwrapped.
    steps = model._steps
    _step(model, capture, optimizer, x, y, step=2)
    assert len(records) == 1 and model._steps is steps and model.blk[0]._steps is model.blk[0]._steps


def test_a_huge_input_names_the_first_layer_that_overflowed():
    torch.manual_seed(0)
    model = build_model(digits_mlp())  # no bounded activation to hide an Inf (tanh(inf) is 1)
    model.train()
    capture, records = _capture(model)
    x = torch.full((4, 1, 8, 8), 3e38)  # finite, but any sum of a few of them overflows float32
    loss = torch.nn.functional.cross_entropy(model(x), torch.zeros(4, dtype=torch.long))
    rng_before = torch.get_rng_state()
    capture.check_loss(loss, (x,), 7)  # runs the forward pass again, dropout included
    assert torch.equal(torch.get_rng_state(), rng_before)
    capture.check_loss(loss, (x,), 8)  # recorded once: the first occurrence
    assert records == [("nonfinite", NonFinite(step=7, where="activation", layer="fc1"))]
    with torch.no_grad():
        model.fc2.weight[0, 0] = math.nan  # weights spoiled by an earlier update
    capture, records = _capture(model)
    x = torch.ones(4, 1, 8, 8)
    capture.check_loss(torch.nn.functional.cross_entropy(model(x), torch.zeros(4, dtype=torch.long)), (x,), 3)
    assert records == [("nonfinite", NonFinite(step=3, where="gradient", layer="fc2"))]


def test_mixed_precision_overflow_is_a_skipped_step_not_a_finding():
    torch.manual_seed(0)
    model = build_model(digits_mlp())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    capture, records = _capture(model, steps_per_epoch=4)  # every step a capture step
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16)
    for step in (1, 2):
        capture.start_step(step)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        capture.check_loss(loss, (x,), step)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        if step == 1:
            with torch.no_grad():
                model.fc1.weight.grad[0, 0] = math.inf  # what a float16 gradient times a large scale becomes
        capture.after_backward(scaler)
        scale = scaler.get_scale()
        scaler.step(optimizer)  # skipped: the scaler found Inf gradients
        scaler.update()
        capture.after_update(step)
    skipped, taken = (record for kind, record in records if kind == "layers")
    assert [kind for kind, _ in records] == ["layers", "layers"]  # no "nonfinite"
    assert skipped.layers[0] == "fc1" and skipped.grad_norm[0] is None and skipped.update_ratio[0] == 0.0
    plain = float(torch.linalg.vector_norm(torch.cat([p.grad.reshape(-1) for p in model.fc1.parameters()])))
    # scaler.step unscaled the gradients in place: the capture read them scaled and took the scale out itself
    assert taken.grad_norm[0] == pytest.approx(plain, rel=1e-5) and scale == 2.0 ** 15


def test_histograms_sample_large_tensors_and_count_every_sampled_value():
    big = torch.randn(1000, 333)
    sample = strided_sample([big, torch.randn(10)])
    assert 0 < sample.numel() <= HIST_SAMPLE
    parts = histogram_parts(sample).tolist()
    assert parts[0] == float(sample.min()) and parts[1] == float(sample.max())
    assert sum(parts[2:]) == sample.numel() and len(parts) == 2 + HIST_BINS
    with_nan = histogram_parts(torch.tensor([1.0, math.nan, 3.0, math.inf])).tolist()
    assert with_nan[:2] == [1.0, 3.0] and sum(with_nan[2:]) == 2 and with_nan[2] == 1 and with_nan[-1] == 1
    constant = histogram_parts(torch.full((5,), 2.0)).tolist()
    assert constant[:3] == [2.0, 2.0, 5.0]


def test_only_the_first_process_captures_and_levels_are_checked(tmp_path):
    class Parts:  # what start_capture reads of the training parts
        model = build_model(conv_graph())
        x_train, y_train, task, steps_per_epoch = (torch.zeros(2, 1, 8, 8),), torch.zeros(2), "classification", 9
        device, amp, amp_dtype = torch.device("cpu"), False, None

        class bundle:
            num_classes = 10

    diagnostics, capture = start_capture(Parts, "full", None, "r", main=False)
    assert capture is None and diagnostics.level == "full"
    assert start_capture(Parts, "basic", None, "r")[1] is not None
    with pytest.raises(ConfigError, match="diagnostics: one of off, basic, full"):
        TrainConfig(diagnostics="everything").validate()


@pytest.mark.slow
def test_train_command_takes_the_level(tmp_path):
    graph = tmp_path / "conv.nfg"
    save_graph(conv_graph(), graph)
    store = tmp_path / "store.db"
    proc = subprocess.run([sys.executable, "-m", "neuralforge_desktop", "train", str(graph), "--dataset", "digits",
                           "--epochs", "1", "--limit", "100", "--diagnostics", "full", "--store", str(store)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with Store(store) as s:
        [run] = s.list_runs()
        assert run.params["diagnostics"] == "full" and s.diagnostic_records(run.id, "histograms")
