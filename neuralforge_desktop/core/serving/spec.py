"""What to serve: the versions of one model with their ONNX files, the traffic split, replicas and batching.

Built on the driver before Ray starts, so every mistake in the command line (a bad ``NAME@V=50`` list, a
canary of another model, percentages that do not add up) is reported before anything is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.serving.traffic import PERCENT, TrafficState, check_weights

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"  # loopback unless asked: the admin endpoints must not face the network by default
DEFAULT_MAX_BATCH_SIZE = 32
DEFAULT_BATCH_WAIT_S = 0.005  # how long a replica waits to fill a batch: a few ms of latency for throughput
DEFAULT_TARGET_ONGOING_REQUESTS = 8.0  # per replica; batching makes a handful in flight the efficient point


@dataclass(frozen=True)
class InputSpec:
    """The model's (first) input: ONNX name, shape without the batch dimension (``None`` = any size) and the
    numpy dtype name; ``batch`` is the fixed batch size the file was exported with, ``None`` when dynamic."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str
    batch: int | None = None

    def shape_text(self) -> str:
        dims = ["any" if d is None else str(d) for d in self.shape]
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


@dataclass(frozen=True)
class ServedVersion:
    """One version of the model: its label in responses (the registry's version number), its ONNX file and
    what the file expects."""

    label: str
    onnx_path: Path
    input: InputSpec
    output_names: tuple[str, ...]


@dataclass(frozen=True)
class Replicas:
    """Replicas per version: autoscaled between ``minimum`` and ``maximum`` by ongoing requests."""

    minimum: int = 1
    maximum: int = 1
    target_ongoing_requests: float = DEFAULT_TARGET_ONGOING_REQUESTS


@dataclass(frozen=True)
class ServeConfig:
    """Everything the application is built from. ``weights`` maps version labels to percentages."""

    model_name: str
    versions: tuple[ServedVersion, ...]
    weights: dict[str, float]
    primary: str
    replicas: Replicas = field(default_factory=Replicas)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    batch_wait_s: float = DEFAULT_BATCH_WAIT_S
    seed: int | None = None  # of the router's weighted draw; None in service, fixed in tests

    def __post_init__(self) -> None:
        labels = [v.label for v in self.versions]
        if len(set(labels)) != len(labels):
            raise UserError(f"{self.model_name}: a version is listed twice ({', '.join(labels)})")
        missing = [label for label in self.weights if label not in labels]
        if missing:
            raise UserError(f"{self.model_name}: no ONNX file for version {', '.join(missing)}")
        self.traffic()  # checks the weights and the primary

    def traffic(self) -> TrafficState:
        weights = {v.label: self.weights.get(v.label, 0.0) for v in self.versions}
        return TrafficState(weights=weights, primary=self.primary)


def parse_replicas(text: str) -> tuple[int, int]:
    """``--replicas``: ``N`` or ``MIN:MAX``, 1 ≤ MIN ≤ MAX."""
    parts = text.split(":")
    try:
        numbers = [int(p.strip()) for p in parts]
    except ValueError:
        raise UserError(f"--replicas takes N or MIN:MAX (whole numbers), got {text!r}") from None
    if len(numbers) == 1:
        numbers *= 2
    if len(numbers) != 2 or numbers[0] < 1 or numbers[0] > numbers[1]:
        raise UserError(f"--replicas takes N or MIN:MAX with 1 <= MIN <= MAX, got {text!r}")
    return numbers[0], numbers[1]


def split_ref(ref: str, option: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME@SELECTOR`` → (name, selector or None)."""
    name, at, selector = ref.strip().partition("@")
    if not name or (at and not selector):
        raise UserError(f"{option}: expected NAME or NAME@VERSION, got {ref!r}")
    return name, selector if at else None


@dataclass(frozen=True)
class TrafficPlan:
    """The split asked for on the command line, before the references are resolved: ``refs`` in order with
    their percentages; the first is the primary (the stable version of a canary, the first side of an A/B)."""

    refs: tuple[str, ...]
    percents: tuple[float, ...]


def plan_traffic(model_ref: str, canary: str | None, canary_percent: float | None, ab: str | None) -> TrafficPlan:
    """The plan from ``serve MODEL_REF [--canary REF --canary-percent P | --ab REF=W,REF=W]``."""
    name, _ = split_ref(model_ref, "model")
    if canary and ab:
        raise UserError("--canary and --ab cannot be used together: a canary is an A/B of two versions")
    if canary_percent is not None and not canary:
        raise UserError("--canary-percent needs --canary NAME@VERSION")
    if canary:
        canary_name, selector = split_ref(canary, "--canary")
        _same_model(name, canary_name, "--canary", canary)
        if selector is None:
            raise UserError(f"--canary needs a version: {canary_name}@VERSION, got {canary!r}")
        percent = 10.0 if canary_percent is None else canary_percent
        if not 0 < percent < PERCENT:
            raise UserError(f"--canary-percent must be between 0 and 100 (exclusive), got {percent:g}")
        return TrafficPlan(refs=(model_ref, canary), percents=(PERCENT - percent, percent))
    if ab:
        refs, percents = [], []
        for item in ab.split(","):
            ref, eq, weight = item.partition("=")
            try:
                percent = float(weight)
            except ValueError:
                raise UserError(f"--ab: expected NAME@VERSION=PERCENT, got {item.strip()!r}") from None
            if not eq:
                raise UserError(f"--ab: expected NAME@VERSION=PERCENT, got {item.strip()!r}")
            ab_name, _ = split_ref(ref, "--ab")
            _same_model(name, ab_name, "--ab", item.strip())
            refs.append(ref.strip())
            percents.append(percent)
        if len(refs) < 2:
            raise UserError(f"--ab needs two versions or more, got {ab!r}")
        check_weights({f"{r} (#{i + 1})": p for i, (r, p) in enumerate(zip(refs, percents, strict=True))})
        return TrafficPlan(refs=tuple(refs), percents=tuple(percents))
    return TrafficPlan(refs=(model_ref,), percents=(PERCENT,))


def _same_model(name: str, other: str, option: str, text: str) -> None:
    if other != name:
        raise UserError(f"{option} {text!r} names model {other!r}, but the model served is {name!r}: "
                        "a split is between versions of one model")
