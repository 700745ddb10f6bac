"""Knowledge distillation: a student graph trained against a teacher run's predictions, as a new run linked to
the teacher (tags ``parent_run`` = the teacher, ``optimization`` = ``distill``).

The student trains with the teacher's dataset and settings for ``finetune_epochs``, through the ordinary loop
with its loss replaced (a training hook, ``training/hooks.py``) by Hinton et al.'s distillation loss:

    loss = alpha · CE(student, labels) + (1 − alpha) · T² · KL(softmax(teacher / T) ‖ softmax(student / T))

T² keeps the soft term's gradients the size of the hard term's whatever the temperature. Validation and the
final report use the student's own loss, so its figures compare with any run on the dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.optimize.derived_run import (
    OptimizeError,
    Validation,
    create_derived_run,
    final_weights,
    finetune,
    load_model,
    load_trained_run,
    measure_model,
    record_figures,
)
from neuralforge_desktop.core.optimize.result import OptimizeOptions, OptimizeResult
from neuralforge_desktop.core.training.hooks import TrainingHooks

METHOD = "distill"
ZOO_PREFIX = "zoo:"


def distillation_loss(student: Any, teacher: Any, targets: Any, temperature: float, alpha: float
                      ) -> tuple[Any, Any, Any]:
    """(loss, hard term, soft term) for a batch of class scores (see the module docstring)."""
    from torch.nn import functional

    hard = functional.cross_entropy(student, targets)
    soft = functional.kl_div(functional.log_softmax(student / temperature, dim=1),
                             functional.log_softmax(teacher / temperature, dim=1),
                             reduction="batchmean", log_target=True) * temperature ** 2
    return alpha * hard + (1 - alpha) * soft, hard, soft


class DistillationLoss:
    """The loss hook: the teacher's scores for the same (augmented) batch, then :func:`distillation_loss`.
    Keeps the example-weighted sums of both terms, so the run can report what each contributed."""

    def __init__(self, teacher: Any, teacher_inputs: list[int], teacher_output: int, temperature: float,
                 alpha: float) -> None:
        self.teacher = teacher.eval()
        self.teacher_inputs = teacher_inputs  # which of the student's inputs the teacher takes, in its order
        self.teacher_output = teacher_output
        self.temperature = temperature
        self.alpha = alpha
        self.hard_sum = self.soft_sum = 0.0
        self.seen = 0

    def __call__(self, out: Any, targets: Any, inputs: tuple[Any, ...]) -> Any:
        import torch

        self.teacher.to(out.device)
        with torch.no_grad():
            scores = self.teacher(*(inputs[i] for i in self.teacher_inputs))
            scores = scores[self.teacher_output] if isinstance(scores, tuple) else scores
        loss, hard, soft = distillation_loss(out.float(), scores.float(), targets, self.temperature, self.alpha)
        n = len(targets)
        self.hard_sum += float(hard.detach()) * n
        self.soft_sum += float(soft.detach()) * n
        self.seen += n
        return loss

    def means(self) -> dict[str, float]:
        seen = max(self.seen, 1)
        return {"hard_loss": self.hard_sum / seen, "soft_loss": self.soft_sum / seen}


def load_student(reference: str | None) -> Graph:
    """The student graph: a ``.nfg`` file or ``zoo:NAME`` (a template)."""
    from neuralforge_desktop.core.ir.serialize import load_graph

    if not reference:
        raise OptimizeError("student_graph: distillation needs a student graph (a .nfg file or zoo:TEMPLATE)")
    if reference.startswith(ZOO_PREFIX):
        from neuralforge_desktop.core.zoo import build

        return build(reference.removeprefix(ZOO_PREFIX))
    path = Path(reference)
    if not path.is_file():
        raise OptimizeError(f"student_graph: {reference} is not a file (give a .nfg file or zoo:TEMPLATE)")
    return load_graph(path)


def _check_options(options: OptimizeOptions) -> None:
    if options.method != METHOD:
        raise OptimizeError(f"method: {options.method!r} is not {METHOD!r}")
    if options.finetune_epochs < 1:
        raise OptimizeError(f"finetune_epochs: the student trains for at least 1 epoch, got {options.finetune_epochs}")
    if not options.temperature > 0:
        raise OptimizeError(f"temperature: must be above 0, got {options.temperature}")
    if not 0 <= options.alpha <= 1:
        raise OptimizeError(f"alpha: the weight of the hard-label loss must be from 0 to 1, got {options.alpha}")


def optimize_distill(store: Any, run_id: str, options: OptimizeOptions) -> OptimizeResult:
    """Train ``options.student_graph`` against the teacher run (``options.teacher_run``, else ``run_id``)."""
    _check_options(options)
    teacher_id = options.teacher_run or run_id
    if options.teacher_run and run_id and options.teacher_run != run_id:
        raise OptimizeError(f"teacher_run: {options.teacher_run} differs from the run given ({run_id}); the run "
                            "distilled is the teacher")
    teacher_run = load_trained_run(store, teacher_id, role="teacher run")
    student_graph = load_student(options.student_graph)
    teacher_val = Validation(teacher_run.graph, teacher_run.config)
    if teacher_val.task != "classification":
        raise OptimizeError(f"teacher run {teacher_id}: distillation matches class scores, but its dataset "
                            f"{teacher_run.config.dataset} is a {teacher_val.task} task")
    student_val = Validation(student_graph, teacher_run.config)  # the student must fit the teacher's data
    teacher = load_model(teacher_run.graph, teacher_run.weights)
    before = measure_model(teacher, teacher_run.graph, teacher_val, options.runtime)
    hook = DistillationLoss(teacher, _teacher_inputs(teacher_val, student_val), teacher_val.output_index,
                            options.temperature, options.alpha)
    tags = {"teacher_run": teacher_id, "temperature": options.temperature, "alpha": options.alpha,
            "student_graph": options.student_graph}
    new_run, folder, config = create_derived_run(store, teacher_run, student_graph, METHOD, None,
                                                 options.finetune_epochs, tags)
    finetune(store, new_run, folder, student_graph, config, options.finetune_epochs, TrainingHooks(loss=hook))
    student = load_model(student_graph, final_weights(folder))
    onnx_path = (options.output_dir / f"{new_run}.onnx") if options.output_dir is not None else folder / "model.onnx"
    after = measure_model(student, student_graph, student_val, options.runtime, onnx_path)
    details = {"temperature": options.temperature, "alpha": options.alpha, "epochs": options.finetune_epochs,
               **hook.means()}
    figures = record_figures(store, new_run, folder, METHOD, teacher_id, before, after, details)
    return OptimizeResult(teacher_id, new_run, METHOD, before, after,
                          [figures, folder / "graph.nfg", final_weights(folder), onnx_path])


def _teacher_inputs(teacher: Validation, student: Validation) -> list[int]:
    """For each input of the teacher's model, the position of the same dataset field among the student's."""
    positions = {field: i for i, field in enumerate(student.fields)}
    missing = [field for field in teacher.fields if field not in positions]
    if missing:
        raise OptimizeError(f"student_graph: the teacher reads the dataset field {missing[0]!r}, which no Input of "
                            "the student reads; the student must take the teacher's inputs")
    return [positions[field] for field in teacher.fields]
