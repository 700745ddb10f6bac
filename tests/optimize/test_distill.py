"""Distillation: the loss is the documented blend of the hard and soft terms, and a student trained against
a teacher run is a new run linked to the teacher."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional

from neuralforge_desktop.core.ir.serialize import load_graph, save_graph
from neuralforge_desktop.core.optimize.derived_run import OptimizeError
from neuralforge_desktop.core.optimize.distill import distillation_loss, optimize_distill
from neuralforge_desktop.core.optimize.result import OptimizeOptions
from neuralforge_desktop.core.training.runner import prepare_run

from .conftest import digits_cnn, digits_config
from training_graphs import digits_mlp


def test_distillation_loss_blends_cross_entropy_and_softened_kl():
    torch.manual_seed(0)
    student, teacher, targets = torch.randn(6, 10), torch.randn(6, 10), torch.randint(0, 10, (6,))
    temperature = 3.0
    p_teacher = torch.softmax(teacher / temperature, dim=1)
    kl = (p_teacher * (p_teacher.log() - torch.log_softmax(student / temperature, dim=1))).sum(dim=1).mean()
    ce = functional.cross_entropy(student, targets)
    for alpha in (0.0, 0.3, 1.0):
        loss, hard, soft = distillation_loss(student, teacher, targets, temperature, alpha)
        assert hard == pytest.approx(float(ce)) and soft == pytest.approx(float(kl) * temperature ** 2, rel=1e-5)
        assert loss == pytest.approx(alpha * float(ce) + (1 - alpha) * float(kl) * temperature ** 2, rel=1e-5)
    same, _, soft = distillation_loss(teacher, teacher, targets, temperature, 0.0)
    assert float(soft) == pytest.approx(0.0, abs=1e-6)  # a student that matches its teacher: nothing to learn


def test_a_student_trained_against_a_teacher_run_is_linked_and_trains_on_both_terms(trained_run, tmp_path):
    store = trained_run.store
    student_file = tmp_path / "student.nfg"
    save_graph(digits_mlp(), student_file)
    options = OptimizeOptions(method="distill", student_graph=str(student_file), finetune_epochs=1,
                              temperature=4.0, alpha=0.3)
    result = optimize_distill(store, trained_run.run_id, options)
    run = store.get_run(result.new_run)
    assert run.status == "finished"
    assert run.tags["parent_run"] == trained_run.run_id == run.tags["teacher_run"]
    assert run.tags["optimization"] == "distill" and run.tags["graph"] == "digits-mlp"
    assert load_graph(next(p for p in result.artifacts if p.name == "graph.nfg")).name == "digits-mlp"
    metrics = store.latest_metrics(result.new_run)
    hard, soft = metrics["optimize/hard_loss"].value, metrics["optimize/soft_loss"].value
    assert hard > 0 and soft > 0
    # what the loop minimised (its epoch loss) is the blend of the two terms the hook recorded
    assert metrics["train/loss"].value == pytest.approx(0.3 * hard + 0.7 * soft, rel=1e-6)
    assert result.after["params"] < result.before["params"] and result.after["val_accuracy"] > 0.3


def test_distillation_refuses_what_it_cannot_use(trained_run, tmp_path):
    store = trained_run.store
    untrained, _ = prepare_run(digits_cnn(), digits_config(), store, "tests")
    student = tmp_path / "student.nfg"
    save_graph(digits_mlp(), student)
    base = dict(method="distill", student_graph=str(student), finetune_epochs=1)
    with pytest.raises(OptimizeError, match=rf"teacher run {untrained} .*has no checkpoints"):
        optimize_distill(store, untrained, OptimizeOptions(**base))
    with pytest.raises(OptimizeError, match="student_graph: .* is not a file"):
        optimize_distill(store, trained_run.run_id, OptimizeOptions(**{**base, "student_graph": "missing.nfg"}))
    with pytest.raises(OptimizeError, match="student_graph: distillation needs"):
        optimize_distill(store, trained_run.run_id, OptimizeOptions(**{**base, "student_graph": None}))
    for field, value in (("alpha", 1.5), ("temperature", 0.0), ("finetune_epochs", 0)):
        with pytest.raises(OptimizeError, match=field):
            optimize_distill(store, trained_run.run_id, OptimizeOptions(**{**base, field: value}))
