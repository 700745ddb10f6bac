"""What the experiment store hands out: frozen records, never database rows.

Rows are an implementation detail of :mod:`.sqlite_store`; callers (the CLI, the UI, the trainer) see these
dataclasses only, so the schema can change under them through migrations. Timestamps are seconds since the
Unix epoch as floats (``time.time()``), which is what both SQLite and the plots want.

The records are frozen so a run list handed to the UI cannot be edited by accident; the dicts inside them
are plain dicts (copies made for each read), so editing one changes nothing in the store.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from neuralforge_desktop.core.disk_full import DiskFullError
from neuralforge_desktop.core.errors import UserError

if TYPE_CHECKING:  # imported where a series is made: listing runs never needs numpy
    import numpy as np

# "queued": created by the job queue (see queue_store.py), waiting for a host; it becomes "running" when started.
RunStatus = Literal["running", "finished", "failed", "stopped", "crashed", "paused", "queued"]
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
# A run in one of these states has ended: setting one stamps ``ended``. "paused" has not ended (it resumes).
TERMINAL_STATUSES: frozenset[str] = frozenset({"finished", "failed", "stopped", "crashed"})


class StoreError(Exception):
    """Any failure the store reports on purpose (bad argument, conflicting write, newer schema)."""


class StoreFileError(StoreError, UserError):
    """The store file cannot be used: a directory, not a NeuralForge store (left untouched), damaged,
    unreadable, read-only, or from a newer NeuralForge. The message names the path and what it is."""


class StoreDiskFullError(StoreFileError, DiskFullError):
    """A write to the store found its disk full; the transaction was rolled back, the file is consistent."""


class NotFoundError(StoreError, UserError, KeyError):
    """A project, experiment, run or artifact that does not exist. Also a KeyError, for ``except KeyError``."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ParamConflictError(StoreError, ValueError):
    """A parameter logged again with a different value: params describe how a run was set up, so they are
    write-once (as in MLflow) and a changed value is a mistake, not an update. Use tags for mutable notes."""


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    created: float
    owner: str | None = None  # who created it (None: created before the store recorded it)


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    project_id: str
    name: str
    created: float


@dataclass(frozen=True, slots=True)
class LatestMetric:
    """Summary of one metric of one run, kept up to date on every write so run lists need no scan.

    ``step``/``value``/``timestamp`` are those of the *latest* point: the largest step, and among points at
    that step the one logged last (MLflow's rule, which keeps a resumed run that re-logs steps right).
    ``min``/``max`` ignore NaN and are NaN when every value was NaN.
    """

    name: str
    step: int
    value: float
    timestamp: float
    min: float
    max: float
    count: int

    def best(self, mode: Literal["min", "max"] = "min") -> float:
        return self.min if mode == "min" else self.max


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    name: str
    experiment_id: str
    experiment: str
    status: RunStatus
    created: float
    started: float | None
    ended: float | None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, LatestMetric] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    gpu_seconds: float = 0.0
    graph_sha256: str | None = None
    checksum: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    pid: int | None = None
    hostname: str | None = None
    user: str | None = None  # who created the run (None: written before the store recorded it)

    @property
    def is_active(self) -> bool:
        return self.status == "running"

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as a long listing reads it (:meth:`Store.iter_runs`): its params and environment are the JSON
    text the store holds, its latest metrics the rows of ``latest_metrics``; each is turned into Python objects
    only when :attr:`params`, :attr:`environment` or :attr:`metrics` is read, so listing 10,000 runs as JSON
    copies text instead of parsing and re-encoding it."""

    id: str
    name: str
    experiment_id: str
    experiment: str
    status: RunStatus
    created: float
    started: float | None
    ended: float | None
    cpu_seconds: float
    gpu_seconds: float
    graph_sha256: str | None
    checksum: str | None
    environment_json: str
    pid: int | None
    hostname: str | None
    params_json: str  # one JSON object: each key with its value's canonical JSON text
    tags_json: str  # one JSON object of strings
    metric_rows: list[tuple[Any, ...]]  # (run id, name, step, value, timestamp, min, max, count); NaN is None
    user: str | None = None  # who created the run

    @property
    def params(self) -> dict[str, Any]:
        return dict(json.loads(self.params_json))

    @property
    def tags(self) -> dict[str, str]:
        return dict(json.loads(self.tags_json))

    @property
    def environment(self) -> dict[str, Any]:
        return dict(json.loads(self.environment_json))

    @property
    def metrics(self) -> dict[str, LatestMetric]:
        nan = math.nan
        return {name: LatestMetric(name, int(step), nan if value is None else value, float(stamp),
                                   nan if lo is None else lo, nan if hi is None else hi, int(count))
                for _, name, step, value, stamp, lo, hi, count in self.metric_rows}


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One point for :meth:`Store.log_batch`; ``timestamp=None`` means "now"."""

    name: str
    value: float
    step: int
    timestamp: float | None = None


@dataclass(frozen=True, slots=True, eq=False)  # eq on arrays would be elementwise; compare with np.array_equal
class MetricSeries:
    """The points of one metric, in the order they were logged, as numpy arrays of equal length."""

    name: str
    steps: np.ndarray  # int64
    values: np.ndarray  # float64
    timestamps: np.ndarray  # float64

    def __post_init__(self) -> None:
        if not (len(self.steps) == len(self.values) == len(self.timestamps)):
            raise StoreError(f"metric {self.name!r}: steps, values and timestamps differ in length "
                             f"({len(self.steps)}, {len(self.values)}, {len(self.timestamps)})")

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def empty(cls, name: str) -> MetricSeries:
        import numpy as np

        return cls(name, np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64))

    def last(self) -> tuple[int, float] | None:
        if not len(self.steps):
            return None
        return int(self.steps[-1]), float(self.values[-1])


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file attached to a run. ``path`` is the content-addressed copy in the store (shared between runs
    with identical content), so it must be treated as read-only."""

    run_id: str
    name: str
    kind: str
    sha256: str
    size: int
    path: Path
    created: float


@dataclass(frozen=True, slots=True)
class RunComparison:
    """Side-by-side view of runs: which params differ, and every metric's latest value per run.

    ``params_same`` holds keys every run has with one identical value; ``params_diff`` the others, as
    ``{key: {run_id: value or None when the run lacks it}}``. ``metrics`` is ``{name: {run_id: LatestMetric
    or None}}`` over the union of metric names.
    """

    runs: list[Run]
    params_same: dict[str, Any]
    params_diff: dict[str, dict[str, Any]]
    metrics: dict[str, dict[str, LatestMetric | None]]


def nan_if_none(value: float | None) -> float:
    # SQLite stores NaN as NULL, so a NULL in a REAL column of a written metric means NaN.
    return math.nan if value is None else float(value)
