"""The training event codec: every kind survives a round trip, lines written by earlier versions still read,
a kind from a newer version does not crash a reader, and a damaged line says what is wrong."""

from __future__ import annotations

import io
import json

import pytest

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.training.events import (
    EVENT_KINDS,
    EVENT_TYPES,
    CheckpointEvent,
    CoachEvent,
    EpochEvent,
    Event,
    EventFormatError,
    FailedEvent,
    FinishedEvent,
    LogEvent,
    PausedEvent,
    ResumedEvent,
    StartedEvent,
    StepEvent,
    StoppedEvent,
    UnknownEvent,
    decode_event,
    encode_event,
    read_event_log,
    read_events,
)

ONE_OF_EACH: list[Event] = [
    StartedEvent(run_id="r1", time=1.5, device="cpu", amp=False, params=1234, loss="cross_entropy",
                 dataset={"name": "digits", "train": 1400, "val": 157, "input_shape": [1, 8, 8], "classes": 10,
                          "fingerprint": "abc"},
                 epochs=3, steps_per_epoch=44, resumed_from=None, config={"dataset": "digits", "lr": 0.003}),
    StepEvent(run_id="r1", time=2.0, epoch=1, step=5, loss=2.25, lr=0.003, samples_per_s=5120.5),
    EpochEvent(run_id="r1", time=3.0, epoch=1, epochs=3, step=44, metrics={"train/loss": 1.1, "val/acc": 0.8},
               best=0.8, best_epoch=1),
    EpochEvent(run_id="r1", time=3.5, epoch=2, epochs=3, step=88, note="early stopping: no better val/acc"),
    CheckpointEvent(run_id="r1", time=4.0, tag="epoch-0001", epoch=1, step=44, path="ck/epoch-0001.safetensors"),
    PausedEvent(run_id="r1", time=5.0),
    ResumedEvent(run_id="r1", time=6.0),
    StoppedEvent(run_id="r1", time=7.0, epoch=1, step=60),
    FinishedEvent(run_id="r1", time=8.0, best=0.9, best_epoch=3, epochs=3, steps=132, seconds=4.2,
                  final={"split": "val", "acc": 0.9, "confusion_matrix": [[5, 1], [0, 4]], "class_names": ["a", "b"]}),
    FailedEvent(run_id="r1", time=9.0, error="Input 'x' has shape (3,) but dataset d gives (4,)", user_error=True),
    FailedEvent(run_id="r1", time=9.5, error="RuntimeError: boom", traceback="Traceback ...\nRuntimeError: boom"),
    CoachEvent(run_id="r1", time=9.8, finding={
        "kind": "lr_too_high", "severity": "warning", "title": "The learning rate looks too high", "explanation": "…",
        "evidence": {"numbers": {"peak_loss": 1.4e12}, "layer": None, "steps": [5, 40]},
        "fix": {"kind": "config", "action": "set_config", "label": "Divide the learning rate by 10",
                "args": {"lr": 0.5}}, "step": 40}),
    LogEvent(run_id="", time=10.0, text="a library printed this"),
    UnknownEvent(run_id="r1", time=11.0, name="profiled", fields={"layer": "conv1", "ms": 1.25}),
]


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e.kind)
def test_every_kind_survives_a_round_trip(event: Event) -> None:
    line = encode_event(event)
    assert "\n" not in line and f'"event":"{event.kind}"' in line
    assert decode_event(line) == event
    assert json.loads(line)["event"] == event.kind


def test_the_examples_cover_every_kind() -> None:
    assert {e.kind for e in ONE_OF_EACH} >= set(EVENT_TYPES)
    assert "log" not in EVENT_KINDS and "failed" in EVENT_KINDS


def test_the_wire_format_is_the_one_earlier_versions_wrote() -> None:
    step = encode_event(StepEvent(run_id="r9", time=1.0, epoch=2, step=7, loss=0.5, lr=0.1, samples_per_s=10.0))
    assert step == ('{"event":"step","run_id":"r9","time":1.0,"epoch":2,"step":7,"loss":0.5,"lr":0.1,'
                    '"samples_per_s":10.0}')
    epoch = json.loads(encode_event(EpochEvent(run_id="r9", time=1.0, epoch=1, epochs=2, step=7)))
    assert "note" not in epoch  # only an early stop carries a note


def test_lines_written_by_an_earlier_worker_still_read() -> None:
    # A failed event from before user errors were told apart, and the minimal events an old log may hold.
    failed = decode_event('{"event":"failed","run_id":"a1","time":1700000000.25,'
                          '"error":"ValueError: bad","traceback":"Traceback (most recent call last): ..."}')
    assert isinstance(failed, FailedEvent) and failed.user_error is False and failed.error == "ValueError: bad"
    assert failed.time == 1700000000.25 and failed.run_id == "a1"
    finished = decode_event('{"event":"finished","best":0.9,"final":{"split":"test","confusion_matrix":[[1]]}}')
    assert isinstance(finished, FinishedEvent) and finished.final["split"] == "test"
    assert finished.run_id == "" and finished.best_epoch is None and finished.time == 0.0
    stop_note = decode_event('{"event":"epoch","run_id":"a1","time":2,"epoch":3,"epochs":9,"step":30,'
                             '"metrics":{},"note":"early stopping: no better val/acc for 2 epochs"}')
    assert isinstance(stop_note, EpochEvent) and stop_note.best is None and stop_note.note.startswith("early")
    step = decode_event('{"event":"step","step":3,"loss":1}')
    assert isinstance(step, StepEvent) and step.loss == 1.0 and isinstance(step.loss, float)


def test_fields_a_newer_worker_adds_are_kept_and_written_back() -> None:
    line = '{"event":"step","run_id":"r","time":1.0,"epoch":1,"step":2,"loss":0.5,"grad_norm":3.5}'
    event = decode_event(line)
    assert isinstance(event, StepEvent) and event.extra == {"grad_norm": 3.5}
    assert json.loads(encode_event(event))["grad_norm"] == 3.5


def test_an_unknown_kind_decodes_to_a_generic_event() -> None:
    line = '{"event":"gpu_memory","run_id":"r","time":4.0,"bytes":1024,"device":"cuda:0"}'
    event = decode_event(line)
    assert isinstance(event, UnknownEvent) and event.kind == "gpu_memory" and not event.TERMINAL
    assert event.fields == {"bytes": 1024, "device": "cuda:0"}
    assert json.loads(encode_event(event)) == json.loads(line)


@pytest.mark.parametrize(("line", "message"), [
    ('{"event":"step","step":1,', "not JSON"),
    ('[1, 2]', "a JSON object, not list"),
    ('{"step": 1}', 'needs an "event" field'),
    ('{"event": 3}', '"event" must be a string'),
    ('{"event":"step","step":"ten","loss":1.0}', "step event: 'step' must be int, not \"ten\""),
    ('{"event":"step","step":true,"loss":1.0}', "'step' must be int"),
    ('{"event":"step","loss":1.0}', "step event without its 'step' field"),
    ('{"event":"failed","run_id":"r"}', "failed event without its 'error' field"),
    ('{"event":"finished","best":"high"}', "'best' must be float or null"),
    ('{"event":"paused","time":"noon"}', "'time' must be float"),
])
def test_a_malformed_line_says_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(EventFormatError) as caught:
        decode_event(line)
    assert message in str(caught.value)


def test_an_events_log_names_the_file_and_line_of_a_bad_event(tmp_path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text(encode_event(ONE_OF_EACH[0]) + "\n\n" + '{"event":"step","loss":1}\n')
    events = read_event_log(log)
    assert isinstance(next(events), StartedEvent)
    with pytest.raises(EventFormatError, match=r"events\.jsonl:3: step event without its 'step' field"):
        next(events)


def test_the_stdout_stream_passes_stray_output_on_as_log_events() -> None:
    stream = io.StringIO("\n".join([
        encode_event(ONE_OF_EACH[1]),
        "Downloading weights ... 100%",
        '{"progress": 0.5}',
        '{"event":"step","step":"x","loss":1}',
        encode_event(ONE_OF_EACH[8]),
    ]))
    events = list(read_events(stream))
    assert [e.kind for e in events] == ["step", "log", "log", "log", "finished"]
    assert isinstance(events[1], LogEvent) and events[1].text == "Downloading weights ... 100%"
    assert isinstance(events[3], LogEvent) and "unreadable event" in events[3].text and "'step'" in events[3].text
    assert events[-1].TERMINAL


def test_a_failed_event_carries_whether_the_error_is_the_users() -> None:
    class WrongDataset(UserError):
        pass

    try:
        raise WrongDataset("dataset digits has 10 classes but the graph predicts 2")
    except UserError as exc:
        mine = FailedEvent.from_exception("r", exc)
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        ours = FailedEvent.from_exception("r", exc)
    assert mine.user_error and mine.error == "dataset digits has 10 classes but the graph predicts 2"
    assert mine.traceback == ""
    assert not ours.user_error and ours.error == "ZeroDivisionError: division by zero"
    assert "Traceback" in ours.traceback and "raise ZeroDivisionError" in ours.traceback
    assert decode_event(encode_event(mine)) == mine
