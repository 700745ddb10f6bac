"""The request recorder: several serving processes at once lose nothing, and a failing store never raises
into the serving path."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import sqlite3
import sys
import traceback
from pathlib import Path

from neuralforge_desktop.core.monitoring.recorder import RequestRecorder, decompress_json, predicted_labels
from neuralforge_desktop.core.store import Store

PROCESSES = 4
PER_PROCESS = 600


def _rows(path: Path, query: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def _replica(path: str, index: int, barrier: object, out: str) -> None:
    try:
        recorder = RequestRecorder(path, "digits", sample_rate=0.5, flush_records=37, flush_seconds=0.05,
                                   seed=index)
        barrier.wait()  # type: ignore[attr-defined]
        ids = [recorder.record(version=str(index % 2 + 1), latency_ms=float(i), ok=i % 10 != 0,
                               status=200 if i % 10 else 500, request_key=f"user-{i % 7}",
                               inputs=[[index, i]], predictions=[[0.1, 0.9]]) for i in range(PER_PROCESS)]
        recorder.close()
        assert recorder.failed_records == 0 and recorder.dropped_records == 0, recorder.failed_records
        Path(out).write_text(json.dumps(ids))
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(1)


def test_four_processes_recording_at_once_lose_no_record(store_path: Path, tmp_path: Path) -> None:
    Store(store_path).close()
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    barrier = ctx.Barrier(PROCESSES)
    outs = [tmp_path / f"ids-{i}.json" for i in range(PROCESSES)]
    procs = [ctx.Process(target=_replica, args=(str(store_path), i, barrier, str(outs[i]))) for i in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    returned = [pid for out in outs for pid in json.loads(out.read_text())]
    stored = _rows(store_path, "SELECT prediction_id, ok, status, predicted FROM monitor_requests")
    assert len(returned) == len(set(returned)) == PROCESSES * PER_PROCESS
    assert {row[0] for row in stored} == set(returned)
    assert sum(1 for row in stored if not row[1]) == PROCESSES * PER_PROCESS // 10
    assert {row[3] for row in stored if row[1]} == {"[1]"}  # the arg-max of [0.1, 0.9]
    samples = _rows(store_path, "SELECT prediction_id, inputs FROM monitor_samples")
    assert {s[0] for s in samples} <= set(returned)
    assert 0.35 * len(returned) < len(samples) < 0.65 * len(returned)  # sample_rate 0.5
    assert all(len(decompress_json(s[1])) == 1 for s in samples)


def test_a_store_that_cannot_be_written_is_logged_and_counted_never_raised(tmp_path: Path, caplog) -> None:
    not_a_store = tmp_path / "other.db"
    not_a_store.write_bytes(b"this is some other program's file" * 100)
    recorder = RequestRecorder(not_a_store, "digits", flush_records=1000)
    ids = [recorder.record(version="1", latency_ms=1.0, ok=True, status=200, inputs=[[1]], predictions=[[1]])
           for _ in range(5)]
    recorder.flush()
    assert len(set(ids)) == 5
    assert recorder.failed_writes == 1 and recorder.pending == 5  # kept for the next try
    assert "could not write 5 request records" in caplog.text
    assert not_a_store.read_bytes().startswith(b"this is some other program's file")
    recorder.close()  # tries again, fails again, still quiet
    assert recorder.failed_writes == 2


def test_the_buffer_stays_bounded_while_the_store_is_unwritable(tmp_path: Path) -> None:
    not_a_store = tmp_path / "other.db"
    not_a_store.write_bytes(b"x" * 4096)
    recorder = RequestRecorder(not_a_store, "digits", flush_records=10, max_pending=50, flush_seconds=60)
    for _ in range(80):
        recorder.record(version="1", latency_ms=1.0, ok=True, status=200)
    recorder.flush()  # waits for a write the writer thread may have in hand (its records are out of the buffer)
    assert recorder.pending == 50 and recorder.dropped_records == 30
    recorder.close()


def test_bad_values_are_counted_not_raised(store_path: Path) -> None:
    with RequestRecorder(store_path, "digits", sample_rate=1.0) as recorder:
        prediction_id = recorder.record(version="1", latency_ms="slow", ok=True, status=200)  # type: ignore[arg-type]
        recorder.record(version="1", latency_ms=2.0, ok=True, status=200, inputs=[{1, 2}], predictions=[[0.0]])
    assert len(prediction_id) == 32
    assert recorder.failed_records == 1 and recorder.written_records == 1
    assert _rows(store_path, "SELECT COUNT(*) FROM monitor_samples") == [(0,)]  # a set is not JSON: not sampled


def test_a_recorder_sent_to_another_process_arrives_empty(store_path: Path) -> None:
    recorder = RequestRecorder(store_path, "digits", sample_rate=0.25, flush_records=7)
    recorder.record(version="1", latency_ms=1.0, ok=True, status=200)
    copy = pickle.loads(pickle.dumps(recorder))
    assert (copy.model_name, copy.sample_rate, copy.flush_records, copy.pending) == ("digits", 0.25, 7, 0)
    recorder.close()
    copy.close()


def test_predicted_labels() -> None:
    assert predicted_labels([[0.1, 0.7, 0.2], [0.9, 0.1], [3.5], 2, {"label": "cat"}, [[0.2, 0.8]], "x"]) == [
        1, 0, 3.5, 2, "cat", 1, "x"]
    assert predicted_labels(None) is None
