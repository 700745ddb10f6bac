"""Distillation: the loss is the documented blend (alpha on the teacher's soft targets), and a student trained
against a teacher run is a new run linked to the teacher, measured from exported files like every optimisation."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.serialize import load_graph, save_graph
from neuralforge_desktop.core.optimize.distill import distillation_loss, optimize_distill
from neuralforge_desktop.core.optimize.lineage import METHOD_TAG, PARENT_TAG
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.store.sqlite_store import Store

from training_graphs import digits_mlp


def mnist_mlp() -> Graph:
    """A student for the MNIST CNN: one small hidden layer, a tenth of its parameters."""
    c = Composer("mnist-mlp")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=32)
    x = c.layer("ReLU", x, "relu")
    logits = c.layer("Linear", x, "fc2", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def test_distillation_loss_weights_the_soft_targets_by_alpha():
    torch.manual_seed(0)
    student, teacher, targets = torch.randn(6, 10), torch.randn(6, 10), torch.randint(0, 10, (6,))
    temperature = 3.0
    p_teacher = torch.softmax(teacher / temperature, dim=1)
    kl = (p_teacher * (p_teacher.log() - torch.log_softmax(student / temperature, dim=1))).sum(dim=1).mean()
    ce = functional.cross_entropy(student, targets)
    for alpha in (0.0, 0.3, 1.0):
        loss, hard, soft = distillation_loss(student, teacher, targets, temperature, alpha)
        assert hard == pytest.approx(float(ce)) and soft == pytest.approx(float(kl) * temperature ** 2, rel=1e-5)
        assert loss == pytest.approx((1 - alpha) * float(ce) + alpha * float(kl) * temperature ** 2, rel=1e-5)
    loss, hard, _ = distillation_loss(student, teacher, targets, temperature, 0.0)
    assert float(loss) == pytest.approx(float(hard))  # alpha 0: the true labels only
    _, _, soft = distillation_loss(teacher, teacher, targets, temperature, 1.0)
    assert float(soft) == pytest.approx(0.0, abs=1e-6)  # a student that matches its teacher: nothing to learn


def test_a_student_trained_against_a_teacher_run_is_linked_and_trains_on_both_terms(trained, tmp_path):
    student_file = tmp_path / "student.nfg"
    save_graph(mnist_mlp(), student_file)
    options = OptimizeOptions(method="distill", student_graph=student_file, finetune_epochs=1, temperature=4.0,
                              alpha=0.7, latency_runs=3)
    with Store(trained["store"]) as store:
        result = optimize_distill(store, trained["run"], options)
        run = store.get_run(result.run_id)
        artifacts = {a.name: a for a in store.list_artifacts(result.run_id)}
    assert run.status == "finished"
    assert run.tags[PARENT_TAG] == trained["run"] and run.tags[METHOD_TAG] == "distill"
    assert run.tags["graph"] == "mnist-mlp" and load_graph(artifacts["graph.nfg"].path).name == "mnist-mlp"
    hard, soft = run.metrics["distill/hard_loss"].value, run.metrics["distill/soft_loss"].value
    assert hard > 0 and soft > 0
    # what the loop minimised (its epoch loss) is the blend of the two terms the hook recorded, alpha on the soft
    assert run.metrics["train/loss"].value == pytest.approx(0.3 * hard + 0.7 * soft, rel=1e-6)
    assert result.after.params == 25_450 < result.before.params == 421_642
    assert result.after.file.endswith(".onnx") and result.after.accuracy is not None
    assert result.after.size_bytes < result.before.size_bytes / 10
    assert result.settings["alpha"] == 0.7 and run.params["optimize/alpha"] == 0.7


def test_distillation_refuses_what_it_cannot_use(trained, tmp_path):
    misfit = tmp_path / "digits.nfg"  # an 8×8 student cannot take the teacher's 28×28 digits
    save_graph(digits_mlp(), misfit)
    student = tmp_path / "student.nfg"
    save_graph(mnist_mlp(), student)
    base = dict(method="distill", student_graph=student, finetune_epochs=1)
    with Store(trained["store"]) as store:
        runs_before = len(store.list_runs())
        with pytest.raises(UserError, match=rf"run {trained['untrained']} .*has no checkpoint"):
            optimize_distill(store, trained["untrained"], OptimizeOptions(**base))
        with pytest.raises(UserError, match="student_graph: .* is not a file"):
            optimize_distill(store, trained["run"], OptimizeOptions(**{**base, "student_graph": "missing.nfg"}))
        with pytest.raises(UserError, match="student_graph: distillation needs"):
            optimize_distill(store, trained["run"], OptimizeOptions(**{**base, "student_graph": None}))
        with pytest.raises(UserError, match="student graph digits-mlp"):
            optimize_distill(store, trained["run"], OptimizeOptions(**{**base, "student_graph": misfit}))
        with pytest.raises(UserError, match="teacher: nope differs"):
            optimize_distill(store, trained["run"], OptimizeOptions(**{**base, "teacher_run": "nope"}))
        for field, value in (("alpha", 1.5), ("temperature", 0.0), ("fine-tune epochs", 0)):
            key = field.replace("fine-tune ", "finetune_")
            with pytest.raises(UserError, match=field):
                optimize_distill(store, trained["run"], OptimizeOptions(**{**base, key: value}))
        assert len(store.list_runs()) == runs_before
