"""The loss landscape of a run's checkpoint, as plain data for the Coach's views and the CLI.

Two pictures, both evaluated on a fixed, seeded subset of the training data, in eval mode, without gradients:

* a **line** between two checkpoints A and B: the loss of θ(α) = (1 − α)·θ_A + α·θ_B for α over a range that
  usually reaches a little past both ends ([−0.25, 1.25]); a bump between them is a barrier the optimiser crossed;
* a **surface** around one checkpoint θ: the loss of θ + x·δ + y·η over a G × G grid of (x, y) in [−1, 1]²,
  along two random directions δ, η **filter-normalised** as in Li et al. 2018, "Visualizing the Loss Landscape
  of Neural Nets": each direction is drawn Gaussian with the parameters' shapes, then every filter (the slice
  of a weight for one output unit: one output channel of a convolution, one row of a linear layer) is rescaled
  to the norm of the same filter of θ. Without it a step of 1 would mean little to a layer with large weights
  and everything to one with small weights, and surfaces of two models could not be compared. Biases and
  normalisation parameters (every parameter with at most one dimension) get a zero direction, the paper's
  ``ignore biasbn`` choice: they are few, and their scale says nothing about a filter's.

Buffers (BatchNorm's running statistics) are never moved. Everything is seeded (the directions and the data
subset), so the same request gives the same numbers. Progress goes to ``progress(done, total)`` after every
evaluation; ``cancelled()`` is asked before each and stops the work with :class:`LandscapeCancelled`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

DEFAULT_GRID = 21
DEFAULT_POINTS = 31  # α in [−0.25, 1.25] every 0.05: α = 0 and α = 1 fall exactly on the line
DEFAULT_EXAMPLES = 1000
DEFAULT_SEED = 0
MAX_GRID = 101
RESULT_FORMAT = "neuralforge-loss-landscape/1"
_CHUNK = 512  # examples per forward pass
ONE_THREAD_BELOW = 1_000_000  # parameters: smaller models are evaluated on one CPU thread (see compute_landscape)
_TINY = 1e-10  # keeps a filter of θ that is all zeros from dividing by zero: its direction stays zero


class LandscapeError(UserError):
    """A landscape that cannot be computed as asked: an unknown checkpoint, a run without any, a bad grid."""


class LandscapeCancelled(Exception):
    """The caller asked to stop (its ``cancelled()`` said so); nothing was computed to the end."""


@dataclass
class LandscapeRequest:
    """What to compute. ``between`` given: the line from ``between[0]`` to ``between[1]``; otherwise the surface
    around ``checkpoint`` (None: the latest)."""

    checkpoint: str | None = None
    between: tuple[str, str] | None = None
    grid: int = DEFAULT_GRID
    span: float = 1.0  # the surface covers [−span, span]²
    points: int = DEFAULT_POINTS
    alpha_range: tuple[float, float] = (-0.25, 1.25)
    examples: int = DEFAULT_EXAMPLES
    seed: int = DEFAULT_SEED
    device: str = "cpu"

    @property
    def kind(self) -> str:
        return "line" if self.between is not None else "surface"

    def validate(self) -> None:
        if self.kind == "surface" and not 2 <= self.grid <= MAX_GRID:
            raise LandscapeError(f"grid: {self.grid} points a side; give 2 to {MAX_GRID} (21 is a good start)")
        if self.kind == "line" and not 2 <= self.points <= 10 * MAX_GRID:
            raise LandscapeError(f"points: {self.points}; give 2 to {10 * MAX_GRID}")
        if self.examples < 1:
            raise LandscapeError(f"examples: {self.examples}; give at least 1")
        if not self.span > 0:
            raise LandscapeError(f"span: {self.span}; give a positive number")
        low, high = self.alpha_range
        if not low < high:
            raise LandscapeError(f"alpha range: {low} to {high} is empty; the first must be below the second")


@dataclass
class LandscapeResult:
    """A computed landscape, as lists of numbers. A surface: ``losses[i][j]`` is the loss at (``xs[j]``,
    ``ys[i]``) (rows are y, as an image is drawn); a line: ``losses[k]`` is the loss at ``alphas[k]``.
    ``accuracies`` has the same shape for a classification (a language model: the share of tokens predicted),
    None otherwise. ``center_loss`` is the loss of the checkpoint itself (of A for a line)."""

    kind: str  # surface | line
    run_id: str
    run_name: str
    checkpoint: str  # the surface's centre, or A
    losses: list[Any]
    center_loss: float
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    alphas: list[float] = field(default_factory=list)
    accuracies: list[Any] | None = None
    center_accuracy: float | None = None
    checkpoint_b: str | None = None
    end_loss: float | None = None  # the loss of B
    end_accuracy: float | None = None
    distance: float | None = None  # ‖θ_B − θ_A‖ of a line
    examples: int = 0
    seed: int = DEFAULT_SEED
    loss_name: str = ""
    task: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"format": RESULT_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LandscapeResult:
        if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
            raise LandscapeError(f"not a loss landscape of this version (format {RESULT_FORMAT})")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: Path) -> None:
        from neuralforge_desktop.core.ir.atomic import write_text_atomic

        write_text_atomic(Path(path), json.dumps(self.to_json()))

    @classmethod
    def load(cls, path: Path) -> LandscapeResult:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise LandscapeError(f"{path}: not a readable loss landscape ({exc})") from None
        try:
            return cls.from_json(data)
        except (TypeError, LandscapeError) as exc:
            raise LandscapeError(f"{path}: {exc}") from None


# -- checkpoints of a run -----------------------------------------------------------------------------------
def checkpoint_tags(run_dir: Path) -> list[str]:
    """The run's checkpoints, oldest first (``epoch-0001``, ``step-…``), then ``best`` if it has one. Files
    only: nothing is loaded, so the CLI can check a request without torch."""
    folder = Path(run_dir) / "checkpoints"
    tags = sorted(p.name.removesuffix(".safetensors") for p in folder.glob("*.safetensors")
                  if not p.name.endswith(".state.safetensors"))
    if (folder / "best" / "best.safetensors").exists():
        tags.append("best")
    return tags


def resolve_tag(run_dir: Path, tag: str | None, run_label: str) -> str:
    """The checkpoint ``tag`` names: None or ``latest`` is the newest, ``best`` the best, a number N the
    checkpoint of epoch N; an error that lists what the run has otherwise."""
    from neuralforge_desktop.core.training.checkpoints import latest_checkpoint

    tags = checkpoint_tags(run_dir)
    if not tags:
        raise LandscapeError(f"run {run_label} has no checkpoints ({Path(run_dir) / 'checkpoints'}): "
                             "train it for at least one epoch first")
    if tag is None or tag == "latest":
        latest = latest_checkpoint(Path(run_dir) / "checkpoints")
        return latest if latest is not None else tags[-1]
    if tag.isdigit() and f"epoch-{int(tag):04d}" in tags:
        return f"epoch-{int(tag):04d}"
    if tag in tags:
        return tag
    raise LandscapeError(f"run {run_label} has no checkpoint {tag!r}; it has {', '.join(tags)} "
                         "(or say latest, or an epoch number)")


def _checkpoint_place(run_dir: Path, tag: str) -> tuple[Path, str]:
    folder = Path(run_dir) / "checkpoints"
    return (folder / "best", "best") if tag == "best" else (folder, tag)


# -- directions ---------------------------------------------------------------------------------------------
def filter_normalized_direction(weights: dict[str, Any], generator: Any) -> dict[str, Any]:
    """A random direction with the shapes of ``weights`` (name → tensor), each filter scaled to the norm of the
    same filter of the weights; parameters of at most one dimension (biases, normalisation) get zeros."""
    import torch

    direction = {}
    for name, weight in weights.items():
        drawn = torch.randn(weight.shape, generator=generator, dtype=torch.float32).to(weight.device, weight.dtype)
        if weight.dim() <= 1:
            direction[name] = torch.zeros_like(weight)
            continue
        # A filter is one slice along dim 0 (a conv's output channel, a linear layer's output unit).
        theta_norms = weight.reshape(weight.shape[0], -1).norm(dim=1)
        drawn_norms = drawn.reshape(drawn.shape[0], -1).norm(dim=1)
        scale = (theta_norms / (drawn_norms + _TINY)).reshape(-1, *([1] * (weight.dim() - 1)))
        direction[name] = drawn * scale
    return direction


# -- evaluation ---------------------------------------------------------------------------------------------
def loss_and_accuracy(parts: Any, x: tuple[Any, ...], y: Any) -> tuple[float, float | None]:
    """The loss of ``parts.model`` as it is now on (x, y), and its accuracy for a classification (token accuracy
    for a language model; None for a regression). Eval mode, no gradients, in chunks."""
    import torch

    from neuralforge_desktop.core.training.datasets.types import IGNORE_INDEX

    model = parts.model
    model.eval()
    loss_sum = correct = counted = 0.0
    with torch.no_grad(), torch.autocast(parts.device.type, dtype=parts.amp_dtype, enabled=parts.amp):
        for start in range(0, len(y), _CHUNK):
            batch = tuple(t[start:start + _CHUNK] for t in x)
            target = y[start:start + _CHUNK]
            out = parts.evaluate(*batch).float()
            # The loss is a mean over what it counts (examples; a language model's non-padding tokens), so
            # chunks are weighted by that count.
            if parts.task == "language-modeling":
                mask = target != IGNORE_INDEX
                n = float(mask.sum())
                if n == 0:
                    continue
                correct += float(((out.argmax(dim=parts.setup.class_dim) == target) & mask).sum())
            else:
                n = float(len(target))
                if parts.task == "classification":
                    correct += float((out.argmax(dim=1) == target).sum())
            loss_sum += float(parts.setup.loss_fn(out, target)) * n
            counted += n
    if counted == 0:
        raise LandscapeError("the examples chosen hold nothing the loss counts (all padding)")
    accuracy = correct / counted if parts.task in ("classification", "language-modeling") else None
    return loss_sum / counted, accuracy


def data_subset(parts: Any, examples: int, seed: int) -> tuple[tuple[Any, ...], Any]:
    """Up to ``examples`` training examples, drawn without replacement by ``seed`` (the same ones every time)."""
    import torch

    total = len(parts.y_train)
    if examples >= total:
        return parts.x_train, parts.y_train
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:examples].sort().values
    order = order.to(parts.y_train.device)
    return tuple(t[order] for t in parts.x_train), parts.y_train[order]


def surface(parts: Any, request: LandscapeRequest, x: tuple[Any, ...], y: Any,
            progress: Progress | None = None, cancelled: Cancelled | None = None) -> dict[str, Any]:
    """The loss over the grid around the model's current weights (restored afterwards)."""
    import torch

    params = dict(parts.model.named_parameters())
    center = {name: p.detach().clone() for name, p in params.items()}
    generator = torch.Generator().manual_seed(request.seed)
    delta = filter_normalized_direction(center, generator)
    eta = filter_normalized_direction(center, generator)
    g = request.grid
    coords = [-request.span + 2 * request.span * i / (g - 1) for i in range(g)]
    total, done = g * g + 1, 0
    step = _stepper(progress, cancelled, total)
    try:
        center_loss, center_acc = loss_and_accuracy(parts, x, y)
        done = step(done)
        losses: list[list[float]] = []
        accuracies: list[list[float | None]] = []
        for b in coords:
            row, row_acc = [], []
            for a in coords:
                with torch.no_grad():
                    for name, p in params.items():
                        p.copy_(center[name] + a * delta[name] + b * eta[name])
                loss, acc = loss_and_accuracy(parts, x, y)
                row.append(loss)
                row_acc.append(acc)
                done = step(done)
            losses.append(row)
            accuracies.append(row_acc)
    finally:
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(center[name])
    return {"xs": coords, "ys": list(coords), "losses": losses,
            "accuracies": accuracies if center_acc is not None else None,
            "center_loss": center_loss, "center_accuracy": center_acc}


def line(parts: Any, weights_a: dict[str, Any], weights_b: dict[str, Any], request: LandscapeRequest,
         x: tuple[Any, ...], y: Any, progress: Progress | None = None,
         cancelled: Cancelled | None = None) -> dict[str, Any]:
    """The loss along (1 − α)·A + α·B for the request's α values (every parameter and buffer moved: the
    running statistics of a normalisation layer belong to the weights they were gathered with)."""
    import torch

    low, high = request.alpha_range
    n = request.points
    alphas = [low + (high - low) * k / (n - 1) for k in range(n)]
    state = {k: v for k, v in parts.model.state_dict().items() if k in weights_a and v.is_floating_point()}
    total, done = n + 2, 0
    step = _stepper(progress, cancelled, total)

    def place(alpha: float) -> tuple[float, float | None]:
        with torch.no_grad():
            for name, tensor in state.items():
                tensor.copy_((1 - alpha) * weights_a[name] + alpha * weights_b[name])
        return loss_and_accuracy(parts, x, y)

    loss_a, acc_a = place(0.0)
    done = step(done)
    loss_b, acc_b = place(1.0)
    done = step(done)
    losses, accuracies = [], []
    for alpha in alphas:
        loss, acc = place(alpha)
        losses.append(loss)
        accuracies.append(acc)
        done = step(done)
    distance = float(sum(float((weights_b[k].float() - weights_a[k].float()).pow(2).sum()) for k in state) ** 0.5)
    return {"alphas": alphas, "losses": losses, "accuracies": accuracies if acc_a is not None else None,
            "center_loss": loss_a, "center_accuracy": acc_a, "end_loss": loss_b, "end_accuracy": acc_b,
            "distance": distance}


def _stepper(progress: Progress | None, cancelled: Cancelled | None, total: int) -> Callable[[int], int]:
    """Count one evaluation done, report it, and stop here if the caller asked to."""
    def step(done: int) -> int:
        done += 1
        if progress is not None:
            progress(done, total)
        if cancelled is not None and done < total and cancelled():
            raise LandscapeCancelled(f"stopped after {done} of {total} evaluations")
        return done

    if cancelled is not None and cancelled():
        raise LandscapeCancelled("stopped before the first evaluation")
    return step


# -- a run's landscape ----------------------------------------------------------------------------------------
def compute_landscape(run_dir: Path, request: LandscapeRequest, *, run_id: str = "", run_name: str = "",
                      progress: Progress | None = None, cancelled: Cancelled | None = None) -> LandscapeResult:
    """The landscape ``request`` asks for, of the run whose folder is ``run_dir`` (its graph, its config and
    its checkpoints), on its training data."""
    import torch

    from neuralforge_desktop.core.ir.serialize import load_graph
    from neuralforge_desktop.core.training.checkpoints import load_checkpoint
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.parts import build_parts

    request.validate()
    started = time.monotonic()
    run_dir = Path(run_dir)
    label = run_name or run_id or run_dir.name
    first = resolve_tag(run_dir, request.between[0] if request.between else request.checkpoint, label)
    second = resolve_tag(run_dir, request.between[1], label) if request.between else None
    try:
        graph = load_graph(run_dir / "graph.nfg")
        config = TrainConfig.from_json(json.loads((run_dir / "config.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise LandscapeError(f"run {label}: its folder {run_dir} lacks a readable graph or config ({exc})") from None
    # Evaluated here, whatever device or processes the run trained with; extra metrics (maybe code) unused.
    config = replace(config, device=request.device, procs=None, metrics=[], trust_code=False)
    threads = torch.get_num_threads()
    try:
        parts = build_parts(graph, config)
        if config.threads is None and parts.device.type == "cpu" and \
                sum(p.numel() for p in parts.model.parameters()) < ONE_THREAD_BELOW:
            # A small model's forward pass is too short to share: handing work between threads costs more than
            # it saves, ten times over on a busy machine (measured on the digits CNN: 8 ms a pass on one thread,
            # 140 ms on two while other programs ran).
            torch.set_num_threads(1)
        x, y = data_subset(parts, request.examples, request.seed)
        folder, tag = _checkpoint_place(run_dir, first)
        load_checkpoint(folder, tag, parts.model, parts.device)
        common: dict[str, Any] = {"run_id": run_id, "run_name": run_name, "checkpoint": first,
                                  "examples": len(y), "seed": request.seed, "loss_name": parts.setup.loss_name,
                                  "task": parts.task}
        if second is None:
            data = surface(parts, request, x, y, progress, cancelled)
            return LandscapeResult(kind="surface", **common, **data, seconds=time.monotonic() - started)
        weights_a = {k: v.detach().clone() for k, v in parts.model.state_dict().items()}
        folder_b, tag_b = _checkpoint_place(run_dir, second)
        load_checkpoint(folder_b, tag_b, parts.model, parts.device)
        weights_b = {k: v.detach().clone() for k, v in parts.model.state_dict().items()}
        with torch.no_grad():
            data = line(parts, weights_a, weights_b, request, x, y, progress, cancelled)
        return LandscapeResult(kind="line", checkpoint_b=second, **common, **data,
                               seconds=time.monotonic() - started)
    finally:
        torch.set_num_threads(threads)  # called in a longer-lived process (tests, a notebook): left as it was
