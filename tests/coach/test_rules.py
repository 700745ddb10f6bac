"""Each Coach rule fires on a context with its fault planted, and stays quiet on a healthy one."""

from __future__ import annotations

import json
import math

import pytest

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.training.coach.findings import KINDS
from neuralforge_desktop.core.training.coach.records import NonFinite, RunDiagnostics
from neuralforge_desktop.core.training.coach.report import CoachReport
from neuralforge_desktop.core.training.coach.rules import evaluate
from neuralforge_desktop.core.training.coach.thresholds import (
    Thresholds,
    ThresholdsError,
    load_thresholds,
    save_thresholds,
)
from neuralforge_desktop.core.training.config import TrainConfig
from tests.coach.contexts import EPOCHS, STEPS_PER_EPOCH, healthy, healthy_diagnostics, layer_record
from tests.coach.graphs import classifier


def loud(report: CoachReport) -> list[str]:
    return [f"{f.kind}:{f.severity}" for f in report.findings if f.severity != "info"]


def only(report: CoachReport, kind: str) -> list:
    return report.of_kind(kind)


# -- a healthy run -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_healthy_run_gets_no_warning(seed):
    from tests.coach.contexts import healthy_metrics

    report = evaluate(healthy(metrics=healthy_metrics(seed)))
    assert loud(report) == []
    assert {n.kind for n in report.not_applied} | {f.kind for f in report.findings} <= set(KINDS)


def test_every_kind_is_either_judged_or_said_why_not():
    report = evaluate(healthy(metrics={}, diagnostics=None, status="static"))
    reasons = {n.kind: n.reason for n in report.not_applied}
    assert "before training" in reasons["lr_too_high"]
    assert "diagnostics" in reasons["dead_relu"]
    assert loud(report) == []


def test_an_old_run_without_diagnostics_says_so():
    report = evaluate(healthy(diagnostics=None))
    reasons = {n.kind: n.reason for n in report.not_applied}
    assert reasons["vanishing_gradients"].startswith("no diagnostics: this run was trained before diagnostics")
    assert "lr_too_high" not in reasons  # judged from the metrics alone


# -- learning rate ---------------------------------------------------------------------------------------------
def test_lr_too_high_on_a_loss_spike():
    ctx = healthy()
    ctx.metrics["train/loss_step"][:3] = [(10, 1.4e12), (20, 1.3e5), (30, 9.3)]
    found = only(evaluate(ctx), "lr_too_high")
    assert len(found) == 1 and found[0].severity == "warning"
    assert found[0].evidence["numbers"]["peak_loss"] == pytest.approx(1.4e12)
    assert found[0].fix.action == "set_config" and found[0].fix.args == {"lr": 1e-4}
    series = found[0].evidence["series"]
    assert series["step loss"][0] == [10, 1.4e12]
    assert series["uniform guess (ln 10)"][0][1] == pytest.approx(math.log(10))
    assert series["epoch mean loss"] == [[140, 0.6], [280, 0.2], [420, 0.13]]


def test_lr_too_high_on_a_climbing_loss_and_on_huge_updates():
    ctx = healthy()
    ctx.metrics["train/loss_step"] = [(s, 0.5 if s < 200 else 1.5) for s in range(10, 400, 10)]
    assert "climbed back" in only(evaluate(ctx), "lr_too_high")[0].explanation
    diag = RunDiagnostics()
    for i in range(5):
        diag.add("layers", layer_record(20 * (i + 1), ratio=0.5))
    found = only(evaluate(healthy(diagnostics=diag)), "lr_too_high")
    assert found and found[0].evidence["numbers"]["update_ratio"] == 0.5


def test_lr_too_low_needs_tiny_updates_and_a_flat_loss():
    diag = RunDiagnostics()
    for i in range(12):
        diag.add("layers", layer_record(20 * (i + 1), ratio=1e-7))
    flat = {**healthy().metrics, "train/loss_step": [(s, 2.30 + 0.01 * (s % 3)) for s in range(10, 420, 10)]}
    found = only(evaluate(healthy(diagnostics=diag, metrics=flat)), "lr_too_low")
    assert found and found[0].fix.args == {"lr": 0.01}
    assert not only(evaluate(healthy(diagnostics=diag)), "lr_too_low")  # the loss falls: not too low


def test_loss_nan_is_an_error_naming_the_step_and_the_layer():
    ctx = healthy()
    ctx.metrics["train/loss_step"][5] = (60, math.nan)
    found = only(evaluate(ctx), "loss_nan")
    assert found[0].severity == "error" and found[0].step == 60
    assert found[0].fix.args == {"grad_clip": 1.0, "lr": 1e-4}
    json.dumps(found[0].to_json(), allow_nan=False)  # the evidence travels as strict JSON
    diag = healthy_diagnostics()
    diag.add("nonfinite", NonFinite(step=40, where="gradient", layer="conv2"))
    found = only(evaluate(healthy(diagnostics=diag)), "loss_nan")
    assert found[0].evidence["layer"] == "conv2" and "gradients of layer conv2" in found[0].explanation


def test_plateau_when_the_loss_stops_falling():
    ctx = healthy()
    ctx.metrics["train/loss_step"] = [(s, 2.3 * math.exp(-s / 20) + 0.5 if s < 100 else 0.5 + 0.002 * (s % 2))
                                      for s in range(10, 420, 10)]
    found = only(evaluate(ctx), "plateau")
    assert found and found[0].severity == "warning"  # flat for most of the run
    assert found[0].evidence["numbers"]["since_step"] <= 110
    assert found[0].fix.args == {"schedule": "cosine"}


# -- gradients and activations ---------------------------------------------------------------------------------
def test_vanishing_gradients_point_at_the_first_layer():
    diag = RunDiagnostics()
    for i in range(6):
        diag.add("layers", layer_record(20 * (i + 1), grad={"conv1": 1e-6, "conv2": 1e-4, "fc1": 0.1, "fc2": 0.8}))
    found = only(evaluate(healthy(diagnostics=diag)), "vanishing_gradients")
    assert found[0].evidence["layer"] == "conv1"
    assert found[0].fix.action == "insert_after" and found[0].fix.args["type"] == "BatchNorm2d"
    sigmoid_net = Composer("deep")
    x = sigmoid_net.input("x", [8])
    x = sigmoid_net.layer("Linear", x, "conv1", out_features=8)
    x = sigmoid_net.layer("Sigmoid", x, "sig")
    sigmoid_net.output(sigmoid_net.layer("Linear", x, "fc2", out_features=2), "y")
    found = only(evaluate(healthy(diagnostics=diag, graph=sigmoid_net.done(layout=False))), "vanishing_gradients")
    assert found[0].fix.args == {"node": "sig", "type": "ReLU"}


def test_exploding_gradients_by_size_and_by_growth():
    diag = RunDiagnostics()
    for i in range(6):
        diag.add("layers", layer_record(20 * (i + 1), grad={"conv1": 0.3, "conv2": 0.5, "fc1": 5e4, "fc2": 0.8}))
    found = only(evaluate(healthy(diagnostics=diag)), "exploding_gradients")
    assert found[0].evidence["layer"] == "fc1" and found[0].fix.args == {"grad_clip": 1.0}
    growing = RunDiagnostics()
    for i in range(8):
        norm = 0.3 * 10 ** (i / 2)  # 0.3 → ~950: about 3000× over the run, yet never above 1e3
        growing.add("layers", layer_record(20 * (i + 1), grad={n: norm for n in ("conv1", "conv2", "fc1", "fc2")}))
    found = only(evaluate(healthy(diagnostics=growing)), "exploding_gradients")
    assert found and "grew" in found[0].explanation


def test_dead_relu_only_when_a_layer_is_all_zeros_for_several_records():
    diag = healthy_diagnostics()
    for i in range(3):
        diag.add("layers", layer_record(300 + 20 * i, zero={"relu2": 0.995}))
    found = only(evaluate(healthy(diagnostics=diag)), "dead_relu")
    assert [f.evidence["layer"] for f in found] == ["relu2"]
    assert found[0].fix.args == {"nodes": ["relu1", "relu2", "relu3"], "type": "LeakyReLU"}  # every ReLU
    once = healthy_diagnostics()
    once.add("layers", layer_record(300, zero={"relu2": 1.0}))  # one odd record
    busy = healthy_diagnostics()
    for i in range(5):
        busy.add("layers", layer_record(300 + 20 * i, zero={"relu2": 0.85}))  # sparse, but alive
    assert not only(evaluate(healthy(diagnostics=once)), "dead_relu")
    assert not only(evaluate(healthy(diagnostics=busy)), "dead_relu")


def test_saturated_activations_in_hidden_layers_not_at_the_output():
    diag = healthy_diagnostics()
    for i in range(4):
        diag.add("layers", layer_record(300 + 20 * i, sat={"relu3": 0.9, "fc2": 0.95}))
    found = only(evaluate(healthy(diagnostics=diag)), "saturated_activations")
    assert [f.evidence["layer"] for f in found] == ["relu3"]  # fc2 feeds the Output and the loss
    assert found[0].fix.args == {"node": "relu3", "type": "ReLU"}


# -- generalisation --------------------------------------------------------------------------------------------
def test_overfitting_when_val_loss_climbs_while_train_falls():
    ctx = healthy()
    ends = [STEPS_PER_EPOCH * (e + 1) for e in range(5)]
    ctx.metrics["train/loss"] = list(zip(ends, [0.6, 0.3, 0.15, 0.08, 0.04], strict=True))
    ctx.metrics["val/loss"] = list(zip(ends, [0.4, 0.25, 0.3, 0.36, 0.42], strict=True))
    found = only(evaluate(ctx), "overfitting")
    assert found[0].evidence["numbers"]["best_epoch"] == 2
    assert found[0].fix.args == {"early_stopping": 2, "weight_decay": 1e-4}
    no_val = healthy()
    del no_val.metrics["val/loss"]
    assert "no validation" in {n.kind: n.reason for n in evaluate(no_val).not_applied}["overfitting"]


def test_underfitting_when_accuracy_stays_at_chance():
    ctx = healthy()
    ctx.metrics["train/acc"] = [(STEPS_PER_EPOCH * (e + 1), 0.1) for e in range(EPOCHS)]
    found = only(evaluate(ctx), "underfitting")
    assert found[0].evidence["numbers"]["chance"] == pytest.approx(1010 / 9000, abs=1e-4)
    ctx.metrics["train/acc"] = ctx.metrics["train/acc"][:1]
    assert "judged after" in {n.kind: n.reason for n in evaluate(ctx).not_applied}["underfitting"]


# -- data ------------------------------------------------------------------------------------------------------
def test_unnormalized_inputs_on_raw_pixels():
    ctx = healthy(config=TrainConfig(normalize=False))
    ctx.data.channel_mean, ctx.data.channel_std, ctx.data.input_min, ctx.data.input_max = [33.3], [78.6], 0.0, 255.0
    found = only(evaluate(ctx), "unnormalized_inputs")
    assert found[0].evidence["numbers"]["max"] == 255.0 and found[0].fix.args == {"normalize": True}
    pixels01 = healthy()  # [0, 1] pixels are not a problem worth a warning
    pixels01.data.channel_mean, pixels01.data.channel_std, pixels01.data.input_max = [0.13], [0.31], 1.0
    assert not only(evaluate(pixels01), "unnormalized_inputs")


def test_class_imbalance_and_leakage():
    ctx = healthy()
    ctx.data.classes, ctx.data.label_counts = 2, [950, 50]
    found = only(evaluate(ctx), "class_imbalance")
    assert found[0].evidence["numbers"]["ratio"] == 19.0 and found[0].fix.args == {"class_weights": True}
    ctx.config = TrainConfig(class_weights=True)  # already weighted: still said, as information, with no fix
    assert [(f.severity, f.fix) for f in only(evaluate(ctx), "class_imbalance")] == [("info", None)]
    ctx = healthy()
    ctx.data.leaked, ctx.data.leaked_examples = 30, [3, 9]
    assert only(evaluate(ctx), "data_leakage")[0].severity == "warning"
    ctx.data.leaked = 100
    found = only(evaluate(ctx), "data_leakage")[0]
    assert found.severity == "error" and found.evidence["examples"] == [3, 9]
    ctx.data.leaked = None
    assert "not compared" in {n.kind: n.reason for n in evaluate(ctx).not_applied}["data_leakage"]


# -- the graph and the settings --------------------------------------------------------------------------------
def test_softmax_before_cross_entropy_with_a_loss_node_and_with_the_default_loss():
    report = evaluate(healthy(graph=classifier("Softmax"), status="static", metrics={}, diagnostics=None))
    found = only(report, "softmax_before_cross_entropy")
    assert found[0].evidence["layer"] == "act" and found[0].fix.args == {"node": "act"}
    found = only(evaluate(healthy(graph=classifier("LogSoftmax", loss=None))), "softmax_before_cross_entropy")
    assert "default CrossEntropyLoss" in found[0].explanation
    assert not only(evaluate(healthy(graph=classifier("LogSoftmax", loss="NLLLoss"))),
                    "softmax_before_cross_entropy")  # log-probabilities are what NLLLoss reads
    assert not only(evaluate(healthy(graph=classifier())), "softmax_before_cross_entropy")


def test_wrong_loss_for_task():
    found = only(evaluate(healthy(graph=classifier(loss="MSELoss"))), "wrong_loss_for_task")
    assert found[0].severity == "error"
    assert found[0].fix.action == "replace_loss" and found[0].fix.args == {"node": "loss", "type": "CrossEntropyLoss"}
    assert not only(evaluate(healthy(graph=classifier())), "wrong_loss_for_task")


@pytest.mark.parametrize(("batch", "severity"), [(1, "error"), (4, "warning"), (8, None), (64, None)])
def test_batchnorm_small_batch(batch, severity):
    found = only(evaluate(healthy(graph=classifier(norm=True), config=TrainConfig(batch_size=batch))),
                 "batchnorm_small_batch")
    assert [f.severity for f in found] == ([severity] if severity else [])
    if severity:
        assert found[0].evidence["layer"] == "bn" and found[0].fix.args == {"batch_size": 32}


def test_batchnorm_with_a_last_batch_of_one():
    ctx = healthy(graph=classifier(norm=True), config=TrainConfig(batch_size=64))
    ctx.data.train_size = 64 * 10 + 1
    found = only(evaluate(ctx), "batchnorm_small_batch")
    assert found[0].fix.args == {"batch_size": 65}


# -- thresholds and the report ---------------------------------------------------------------------------------
def test_thresholds_come_from_coach_json(tmp_path):
    path = tmp_path / "coach.json"
    assert load_thresholds(path) == Thresholds()
    path.write_text(json.dumps({"dead_relu_fraction": 0.8, "min_records": 2}))
    tuned = load_thresholds(path)
    assert tuned.dead_relu_fraction == 0.8 and tuned.min_records == 2
    diag = healthy_diagnostics()
    for i in range(2):
        diag.add("layers", layer_record(300 + 20 * i, zero={"relu1": 0.85}))
    assert only(evaluate(healthy(diagnostics=diag), tuned), "dead_relu")
    save_thresholds(Thresholds(plateau_min_drop=0.05), path)
    assert json.loads(path.read_text()) == {"plateau_min_drop": 0.05}  # only what differs from the defaults
    path.write_text(json.dumps({"dead_relu_fractoin": 0.8}))
    with pytest.raises(ThresholdsError, match="'dead_relu_fractoin' is not a Coach threshold"):
        load_thresholds(path)
    path.write_text(json.dumps({"min_records": 2.5}))
    with pytest.raises(ThresholdsError, match="'min_records' must be a whole number"):
        load_thresholds(path)


def test_the_report_round_trips_through_json():
    ctx = healthy()
    ctx.metrics["train/loss_step"][5] = (60, math.nan)
    report = evaluate(ctx)
    text = json.dumps(report.to_json(), allow_nan=False)
    again = CoachReport.from_json(json.loads(text))
    assert [f.key for f in again.findings] == [f.key for f in report.findings]
    assert again.not_applied == report.not_applied and again.worst == "error"
