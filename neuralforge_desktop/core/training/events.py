"""The training event stream: typed events, written as JSON lines, that the CLI, the app and the remote
dispatcher all consume.

On the wire every event is one JSON object with ``"event"`` (its kind), ``"run_id"`` and ``"time"`` (Unix
seconds), plus the fields of its class below. The worker writes them to stdout and to ``events.jsonl``;
:func:`encode_event` and :func:`decode_event` are the one codec both sides use. Decoding is lenient where
compatibility needs it and strict where a silent guess would mislead:

- a field an older worker did not write takes its default (``user_error`` of an old ``failed`` event is False);
- a field a newer worker adds is kept in ``extra`` and written back unchanged;
- a kind this version does not know becomes an :class:`UnknownEvent`, so a newer worker cannot crash a reader;
- a line that is not a JSON object with a string ``"event"``, or a known kind whose field has the wrong type
  or is missing, raises :class:`EventFormatError` saying which field and why.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import traceback
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, ClassVar

from neuralforge_desktop.core.errors import UserError


class EventFormatError(ValueError):
    """A line or object that is not a readable training event; the message says what is wrong."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Fields every event carries. ``extra`` holds fields this version does not know (from a newer worker)."""

    KIND: ClassVar[str] = ""
    TERMINAL: ClassVar[bool] = False  # the worker's last event: finished, stopped or failed

    run_id: str = ""
    time: float = dataclasses.field(default_factory=time.time)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.KIND

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.kind, "run_id": self.run_id, "time": self.time}
        for f in dataclasses.fields(self):
            if f.name not in ("run_id", "time", "extra"):
                data[f.name] = getattr(self, f.name)
        data.update(self.extra)
        return data


@dataclasses.dataclass(frozen=True, kw_only=True)
class StartedEvent(Event):
    """The model is built and on its device; training is about to begin (or continue, after a resume).

    ``dataset`` holds name, task, train, val (example counts), input_shape, classes, fingerprint and inputs
    (the dataset field each model input reads, by Input id)."""

    KIND: ClassVar[str] = "started"
    device: str = ""
    amp: bool = False
    params: int = 0
    loss: str = ""
    dataset: dict[str, Any] = dataclasses.field(default_factory=dict)
    epochs: int = 0
    steps_per_epoch: int = 0
    resumed_from: int | None = None  # the global step a resumed run continues from
    config: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StepEvent(Event):
    """Every ``log_every`` optimizer steps: the batch loss, learning rate and throughput (epoch is 1-based)."""

    KIND: ClassVar[str] = "step"
    # In the order earlier versions wrote them (kw_only lets a required field follow a defaulted one).
    epoch: int = 0
    step: int
    loss: float
    lr: float | None = None
    samples_per_s: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class EpochEvent(Event):
    """An epoch ended: its metrics (``train/loss``, ``val/acc`` …) and the best so far. An early stop is
    reported as a second event for the same epoch with empty metrics and a ``note`` saying why."""

    KIND: ClassVar[str] = "epoch"
    epoch: int
    epochs: int = 0
    step: int
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    best: float | None = None
    best_epoch: int | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        if not self.note:  # the worker has always left it out of ordinary epoch events
            del data["note"]
        return data


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckpointEvent(Event):
    KIND: ClassVar[str] = "checkpoint"
    tag: str
    epoch: int = 0
    step: int
    path: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PausedEvent(Event):
    KIND: ClassVar[str] = "paused"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResumedEvent(Event):
    KIND: ClassVar[str] = "resumed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class FinishedEvent(Event):
    """The run completed. ``final`` is the report on the test split (else val): split, loss, and for a
    classification acc, confusion_matrix, per_class_acc and class_names."""

    KIND: ClassVar[str] = "finished"
    TERMINAL: ClassVar[bool] = True
    best: float | None = None
    best_epoch: int | None = None
    epochs: int = 0
    steps: int = 0
    seconds: float = 0.0
    final: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoppedEvent(Event):
    """The run was asked to stop and wrote a checkpoint; ``resume`` continues it."""

    KIND: ClassVar[str] = "stopped"
    TERMINAL: ClassVar[bool] = True
    epoch: int = 0
    step: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class FailedEvent(Event):
    """The run failed. ``user_error``: the user's to fix (a graph that does not fit its data, a bad setting):
    ``error`` is the message alone and there is no traceback. Otherwise ``error`` names the exception type
    and ``traceback`` is for whoever fixes the program."""

    KIND: ClassVar[str] = "failed"
    TERMINAL: ClassVar[bool] = True
    error: str
    user_error: bool = False
    traceback: str = ""

    @classmethod
    def from_exception(cls, run_id: str, exc: BaseException) -> FailedEvent:
        """Call inside the ``except`` block, so the traceback is the one being handled."""
        if isinstance(exc, UserError):
            return cls(run_id=run_id, error=str(exc), user_error=True)
        return cls(run_id=run_id, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())


@dataclasses.dataclass(frozen=True, kw_only=True)
class CoachEvent(Event):
    """The training Coach found something new (or found it worse): ``finding`` is a ``Finding.to_json()``
    (kind, severity, title, explanation, evidence, fix, step; see ``coach/findings.py``)."""

    KIND: ClassVar[str] = "coach"
    finding: dict[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class LogEvent(Event):
    """A stdout line that is not an event (a library printing); never written by the worker itself."""

    KIND: ClassVar[str] = "log"
    text: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class UnknownEvent(Event):
    """An event of a kind this version does not know (from a newer worker): its name and its other fields."""

    name: str
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.name

    def to_json(self) -> dict[str, Any]:
        return {"event": self.name, "run_id": self.run_id, "time": self.time, **self.fields, **self.extra}


EVENT_TYPES: dict[str, type[Event]] = {cls.KIND: cls for cls in (
    StartedEvent, StepEvent, EpochEvent, CheckpointEvent, PausedEvent, ResumedEvent, FinishedEvent, StoppedEvent,
    FailedEvent, CoachEvent, LogEvent)}
EVENT_KINDS = tuple(kind for kind in EVENT_TYPES if kind != "log")
TERMINAL = tuple(kind for kind, cls in EVENT_TYPES.items() if cls.TERMINAL)

Sink = Callable[[Event], None]


# -- the codec ---------------------------------------------------------------------------------------------
def encode_event(event: Event) -> str:
    """One JSON line (without the newline), compact: the confusion reader looks for ``"event":"finished"``."""
    return json.dumps(event.to_json(), separators=(",", ":"), allow_nan=False, default=_plain)


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__} in an event")


def decode_event(line: str | bytes) -> Event:
    """The event on one JSON line; :class:`EventFormatError` if it is not one."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EventFormatError(f"not JSON: {exc}") from None
    return event_from_json(data)


def event_from_json(data: Any) -> Event:
    """The event an already parsed JSON value holds; :class:`EventFormatError` if it is not one."""
    if not isinstance(data, dict):
        raise EventFormatError(f"an event is a JSON object, not {type(data).__name__}")
    kind = data.get("event")
    if not isinstance(kind, str):
        raise EventFormatError("an event needs an \"event\" field naming its kind" if kind is None else
                               f"\"event\" must be a string, not {kind!r}")
    run_id = data.get("run_id", "")
    stamp = data.get("time", 0.0)
    _check("run_id", run_id, str, kind)
    _check("time", stamp, float, kind)
    rest = {key: value for key, value in data.items() if key not in ("event", "run_id", "time")}
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        return UnknownEvent(run_id=run_id, time=float(stamp), name=kind, fields=rest)
    known: dict[str, Any] = {}
    for name, hint in _payload_hints(cls).items():
        if name in rest:
            known[name] = _check(name, rest.pop(name), hint, kind)
        elif _required(cls, name):
            raise EventFormatError(f"{kind} event without its {name!r} field")
    return cls(run_id=run_id, time=float(stamp), extra=rest, **known)


def _payload_hints(cls: type[Event]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name not in ("run_id", "time", "extra")}


def _required(cls: type[Event], name: str) -> bool:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _check(name: str, value: Any, hint: Any, kind: str) -> Any:
    """``value`` if it is of the field's declared type (an int counts as a float, a bool as neither)."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        base = typing.get_origin(option) or option
        if base is type(None) and value is None:
            return value
        if base is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if base is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if base in (str, bool, dict, list) and isinstance(value, base):
            return value
    wanted = " or ".join("null" if o is type(None) else (typing.get_origin(o) or o).__name__ for o in options)
    raise EventFormatError(f"{kind} event: {name!r} must be {wanted}, not {json.dumps(value)[:60]}")


# -- streams and files -------------------------------------------------------------------------------------
def stdout_sink(stream: IO[str] | None = None) -> Sink:
    out = stream or sys.stdout

    def sink(event: Event) -> None:
        out.write(encode_event(event) + "\n")
        out.flush()

    return sink


def read_events(lines: IO[str] | Iterator[str]) -> Iterator[Event]:
    """Events from a worker's stdout. A line that is not an event (a library printing) comes through as a
    :class:`LogEvent`, and so does an event this version cannot read, with the reason: the stream goes on."""
    for line in lines:
        text = line.strip()
        if not text:
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            yield LogEvent(text=text)
            continue
        if not isinstance(data, dict) or "event" not in data:
            yield LogEvent(text=text)
            continue
        try:
            yield event_from_json(data)
        except EventFormatError as exc:
            yield LogEvent(text=f"unreadable event ({exc}): {text[:200]}")


def read_event_log(path: Path) -> Iterator[Event]:
    """The events of a run's ``events.jsonl``; :class:`EventFormatError` names the file and line of a bad one."""
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield decode_event(line)
                except EventFormatError as exc:
                    raise EventFormatError(f"{path}:{number}: {exc}") from None
