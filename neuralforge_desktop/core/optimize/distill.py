"""Knowledge distillation: a student graph trained against a teacher run's predictions, as a new run linked to
the teacher (tags ``parent_run`` = the teacher, ``optimization`` = ``distill``).

The student trains with the teacher's dataset and settings for ``finetune_epochs``, through the ordinary loop
(:mod:`.finetune`) with its loss replaced (a training hook, ``training/hooks.py``) by Hinton et al.'s
distillation loss, ``alpha`` weighting the teacher's soft targets as :class:`.OptimizeOptions` defines it:

    loss = (1 − alpha) · CE(student, labels) + alpha · T² · KL(softmax(teacher / T) ‖ softmax(student / T))

T² keeps the soft term's gradients the size of the hard term's whatever the temperature. Validation and the
final report use the student's own loss, so its figures compare with any run on the dataset. The teacher's and
the student's models are exported to the target runtime's files and measured side by side (:mod:`.flow`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.optimize.finetune import finetune
from neuralforge_desktop.core.optimize.flow import export_float, export_run_model, finish, place_file, work_dir
from neuralforge_desktop.core.optimize.lineage import ParentRun, child_run, load_parent
from neuralforge_desktop.core.optimize.measure import validation_data
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.optimize.result import OptimizeResult
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.hooks import TrainingHooks

METHOD = "distill"
ZOO_PREFIX = "zoo:"
SUFFIXES = {"onnxruntime": ".onnx", "litert": ".tflite"}


def distillation_loss(student: Any, teacher: Any, targets: Any, temperature: float, alpha: float
                      ) -> tuple[Any, Any, Any]:
    """(loss, hard term, soft term) for a batch of class scores; ``alpha`` weights the soft term (see the module
    docstring)."""
    from torch.nn import functional

    hard = functional.cross_entropy(student, targets)
    soft = functional.kl_div(functional.log_softmax(student / temperature, dim=1),
                             functional.log_softmax(teacher / temperature, dim=1),
                             reduction="batchmean", log_target=True) * temperature ** 2
    return (1 - alpha) * hard + alpha * soft, hard, soft


class DistillationLoss:
    """The loss hook: the teacher's scores for the same (augmented) batch, then :func:`distillation_loss`.
    Keeps the example-weighted sums of both terms, so the run can report what each contributed."""

    def __init__(self, teacher: Any, teacher_output: int, temperature: float, alpha: float) -> None:
        self.teacher = teacher.eval()
        self.teacher_output = teacher_output  # which of the teacher's outputs holds the class scores
        self.temperature = temperature
        self.alpha = alpha
        self.hard_sum = self.soft_sum = 0.0
        self.seen = 0

    def __call__(self, out: Any, targets: Any, inputs: tuple[Any, ...]) -> Any:
        import torch

        self.teacher.to(out.device)
        with torch.no_grad():
            scores = self.teacher(*inputs)  # the student reads the teacher's inputs, in its order (checked)
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


def load_student(reference: str | Path | None) -> Graph:
    """The student graph: a ``.nfg`` file or ``zoo:NAME`` (a template)."""
    from neuralforge_desktop.core.ir.serialize import load_graph

    if not reference:
        raise UserError("student_graph: distillation needs a student graph (a .nfg file or zoo:TEMPLATE)")
    reference = str(reference)
    if reference.startswith(ZOO_PREFIX):
        from neuralforge_desktop.core.zoo import build

        return build(reference.removeprefix(ZOO_PREFIX))
    path = Path(reference)
    if not path.is_file():
        raise UserError(f"student_graph: {reference} is not a file (give a .nfg file or zoo:TEMPLATE)")
    return load_graph(path)


def optimize_distill(store: Store, run_id: str, options: OptimizeOptions) -> OptimizeResult:
    """Train ``options.student_graph`` against the teacher run ``run_id`` (``options.teacher_run``, when given,
    must be the same run)."""
    options.validate()
    if options.method != METHOD:
        raise UserError(f"method: {options.method!r} is not {METHOD!r}")
    if options.finetune_epochs < 1:
        raise UserError(f"fine-tune epochs: the student trains for at least 1 epoch, got {options.finetune_epochs}")
    if options.teacher_run and options.teacher_run != run_id:
        raise UserError(f"teacher: {options.teacher_run} differs from the run given ({run_id}); the run distilled "
                        "is the teacher")
    student = load_student(options.student_graph)
    teacher = load_parent(store, run_id)
    teacher_output = _check_student(teacher, student)
    data = validation_data(teacher.graph.copy(), teacher.config)
    from neuralforge_desktop.core.exporters.source import load_model

    hook = DistillationLoss(load_model(teacher.graph, teacher.weights), teacher_output, options.temperature,
                            options.alpha)
    settings: dict[str, Any] = {"method": METHOD, "runtime": options.runtime,
                                "finetune_epochs": options.finetune_epochs, "temperature": options.temperature,
                                "alpha": options.alpha,
                                "student_graph": str(options.student_graph)}
    with child_run(store, teacher, METHOD, settings, graph=student) as (new_run, folder), \
            work_dir(options, folder) as (work, out):
        finetune(store, teacher, new_run, folder, student, None, options.finetune_epochs, TrainingHooks(loss=hook))
        means = hook.means()
        store.log_metrics(new_run, {f"distill/{name}": value for name, value in means.items()}, 0)
        settings.update({name: round(value, 6) for name, value in means.items()})
        suffix = SUFFIXES[options.runtime]
        before = export_float(teacher, work / f"{teacher.graph.name}-fp32{suffix}", options.runtime)
        after = export_run_model(student, new_run, teacher.store_path, work / f"{student.name}-distilled{suffix}",
                                 options.runtime)
        notes = [f"student {student.name} trained {options.finetune_epochs} epoch(s) from a fresh initialisation, "
                 f"loss (1 − {options.alpha:g})·CE + {options.alpha:g}·T²·KL at T = {options.temperature:g}; "
                 f"mean hard term {means['hard_loss']:.4f}, soft term {means['soft_loss']:.4f}"]
        files = {"before": place_file(before, out), "after": place_file(after, out)}
        return finish(store, teacher, new_run, options, METHOD, files, notes, settings, after_graph=student,
                      data=data)
    raise AssertionError("unreachable")  # the block returns or raises; mypy cannot tell


def _check_student(teacher: ParentRun, student: Graph) -> int:
    """The teacher's output index of the class scores; refused unless the task is classification and the
    student reads the teacher's dataset fields in the teacher's order (both models take the same examples, in
    training and when measured)."""
    from neuralforge_desktop.core.optimize.measure import run_dataset
    from neuralforge_desktop.core.training.setup import SetupError, bind_dataset, build_setup

    bundle, teacher_fields = run_dataset(teacher.graph.copy(), teacher.config)
    if bundle.task != "classification":
        raise UserError(f"teacher run {teacher.run.id}: distillation matches class scores, but its dataset "
                        f"{bundle.name} is a {bundle.task} task")
    try:
        student_fields = list(bind_dataset(student.copy(), bundle).fields.values())
    except SetupError as exc:
        raise UserError(f"student graph {student.name}: it does not fit the teacher's dataset {bundle.name}: "
                        f"{exc}") from None
    if student_fields != teacher_fields:
        raise UserError(f"student graph {student.name}: its inputs read {student_fields} of {bundle.name}, the "
                        f"teacher's read {teacher_fields}; the student must take the teacher's inputs, in order")
    return int(build_setup(teacher.graph.copy(), bundle).output_index)
