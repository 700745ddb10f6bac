"""Recording served requests from inside the serving replicas, without slowing them down.

:class:`RequestRecorder` is what a replica holds: ``record(...)`` appends one tuple to an in-memory buffer
and returns the new prediction id at once. A background thread writes the buffer in one transaction when
``flush_records`` records are waiting or ``flush_seconds`` have passed, and :meth:`flush` / :meth:`close`
write what is left. Several replicas (processes) write one store at once; the store waits for its write lock
instead of failing (see :mod:`neuralforge_desktop.core.store.database`), and the waiting happens in the
recorder's thread, never in ``record``.

Recording must never break serving: every failure inside ``record`` or a write is logged and counted
(``failed_records``), never raised. A failed write keeps its records for the next attempt up to
``max_pending``; beyond that the oldest are dropped and counted (``dropped_records``): memory stays bounded
while the store is unreachable.

Sampling: every request gets a row (latency, version, outcome, the predicted labels); a ``sample_rate``
share of them also keeps its full inputs and predictions (zlib-compressed JSON) for drift and inspection.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import random
import threading
import time
import uuid
import weakref
import zlib
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError

log = logging.getLogger(__name__)

RequestRow = tuple[str, str, str, float, float, int, int, "str | None", "str | None"]
SampleRow = tuple[str, str, str, float, bytes | None, bytes | None]
PendingSample = tuple[str, str, str, float, "list[Any] | None", "list[Any] | None"]
MAX_SAMPLE_BYTES = 4 * 1024 * 1024  # a compressed sample larger than this is not kept (a batch of big images)


def predicted_labels(predictions: list[Any] | None) -> list[Any] | None:
    """The label each instance's prediction stands for: the arg-max of a score vector, the value of a single
    output, or a ``label``/``class`` field of a dict; None for anything else (then no accuracy is scored)."""
    if predictions is None:
        return None
    labels: list[Any] = []
    for prediction in predictions:
        labels.append(_label_of(prediction))
    return labels


def _label_of(prediction: Any) -> Any:
    if isinstance(prediction, dict):
        for key in ("label", "class", "class_id"):
            if key in prediction:
                return prediction[key]
        return None
    if isinstance(prediction, list | tuple):
        flat = prediction[0] if len(prediction) == 1 and isinstance(prediction[0], list | tuple) else prediction
        if len(flat) == 1:
            return _label_of(flat[0])
        if flat and all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
            return max(range(len(flat)), key=lambda i: flat[i])
        return None
    if isinstance(prediction, bool | str | int) or (isinstance(prediction, float) and math.isfinite(prediction)):
        return prediction
    return None


def compress_json(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"), allow_nan=False).encode(), 6)


def decompress_json(blob: bytes | None) -> Any:
    return None if blob is None else json.loads(zlib.decompress(blob))


class RequestRecorder:
    """Buffers served requests of ``model_name`` and writes them to the store at ``store_path``.

    Safe to share between the threads of one replica; each process makes its own (a recorder sent to
    another process, as Ray does with a deployment's arguments, arrives there empty and starts afresh)."""

    def __init__(self, store_path: str | os.PathLike[str], model_name: str, *, sample_rate: float = 0.1,
                 flush_records: int = 200, flush_seconds: float = 1.0, max_pending: int = 50_000,
                 seed: int | None = None) -> None:
        if not str(model_name).strip():
            raise UserError("model_name: a recorder needs the served model's name")
        if not 0.0 <= float(sample_rate) <= 1.0:
            raise UserError(f"sample_rate: must be between 0 and 1, got {sample_rate}")
        self.store_path = Path(store_path)
        self.model_name = str(model_name)
        self.sample_rate = float(sample_rate)
        self.flush_records = max(1, int(flush_records))
        self.flush_seconds = max(0.01, float(flush_seconds))
        self.max_pending = max(self.flush_records, int(max_pending))
        self._seed = seed
        self._random = random.Random(seed)
        self._lock = threading.Lock()  # guards the buffers and counters (record may come from many threads)
        self._write_lock = threading.Lock()  # one write at a time: the flusher thread and flush() callers
        self._requests: list[RequestRow] = []
        self._samples: list[PendingSample] = []
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._store: Any = None
        self._pid = os.getpid()
        self.recorded = 0  # requests handed to record()
        self.written_records = 0  # requests written to the store
        self.failed_records = 0  # requests whose recording or writing failed (logged)
        self.dropped_records = 0  # requests dropped because the store stayed unwritable and the buffer was full
        self.failed_writes = 0  # write attempts that failed

    def __reduce__(self) -> tuple[Any, ...]:
        # A recorder crossing a process boundary carries its settings, never its buffer, thread or connection.
        return (_rebuild, (str(self.store_path), self.model_name, self.sample_rate, self.flush_records,
                           self.flush_seconds, self.max_pending, self._seed))

    # -- the serving side ----------------------------------------------------------------------------------

    def record(self, *, version: str, latency_ms: float, ok: bool, status: int, request_key: str | None = None,
               inputs: list[Any] | None = None, predictions: list[Any] | None = None) -> str:
        """Buffer one served request; returns its new prediction id. Never raises, never waits on the store.
        A sampled request's ``inputs`` and ``predictions`` are encoded later by the writer thread: do not change
        those lists after handing them over."""
        prediction_id = uuid.uuid4().hex
        try:
            now = time.time()
            labels = predicted_labels(predictions) if ok else None
            predicted = None if labels is None else json.dumps(labels, separators=(",", ":"))
            row: RequestRow = (prediction_id, self.model_name, str(version), now, float(latency_ms), int(bool(ok)),
                               int(status), None if request_key is None else str(request_key), predicted)
            sample: PendingSample | None = None
            if (inputs is not None or predictions is not None) and self._sampled():
                # Encoded by the writer thread: JSON + zlib of an image costs milliseconds the response need not wait.
                sample = (prediction_id, self.model_name, str(version), now, inputs, predictions)
            with self._lock:
                self._ensure_process()
                self._requests.append(row)
                if sample is not None:
                    self._samples.append(sample)
                self.recorded += 1
                self._trim()
                full = len(self._requests) >= self.flush_records
                self._start_thread()
            if full:
                self._wake.set()
        except Exception:
            with self._lock:
                self.failed_records += 1
            log.exception("could not record a request of model %s", self.model_name)
        return prediction_id

    def _sampled(self) -> bool:
        with self._lock:
            return self._random.random() < self.sample_rate

    def _encode(self, samples: list[PendingSample]) -> list[SampleRow]:
        rows: list[SampleRow] = []
        for prediction_id, model, version, now, inputs, predictions in samples:
            try:
                blob_in = None if inputs is None else compress_json(inputs)
                blob_out = None if predictions is None else compress_json(predictions)
            except (TypeError, ValueError):
                log.warning("a sampled request of model %s is not plain JSON; its inputs were not kept", model)
                continue
            if len(blob_in or b"") + len(blob_out or b"") <= MAX_SAMPLE_BYTES:
                rows.append((prediction_id, model, version, now, blob_in, blob_out))
        return rows

    def _trim(self) -> None:
        extra = len(self._requests) - self.max_pending
        if extra > 0:
            dropped = {row[0] for row in self._requests[:extra]}
            del self._requests[:extra]
            self._samples = [s for s in self._samples if s[0] not in dropped]
            self.dropped_records += extra

    def _ensure_process(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's thread and connection are not ours
            self._pid = os.getpid()
            self._thread = None
            self._store = None
            self._requests, self._samples = [], []

    def _start_thread(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name=f"monitor-recorder-{self.model_name}",
                                            daemon=True)
            self._thread.start()
            atexit.register(_close_at_exit, weakref.ref(self))

    # -- the writing side ----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._closed:
                return
            self._write_pending()

    def _write_pending(self) -> None:
        with self._write_lock:
            with self._lock:
                requests, samples = self._requests, self._samples
                self._requests, self._samples = [], []
            if not requests:
                return
            try:
                encoded = self._encode(samples)
                store = self._open_store()
                with store.write_transaction() as conn:
                    conn.executemany("INSERT OR IGNORE INTO monitor_requests (prediction_id, model, version, time, "
                                     "latency_ms, ok, status, request_key, predicted) VALUES (?, ?, ?, ?, ?, ?, ?, "
                                     "?, ?)", requests)
                    conn.executemany("INSERT OR IGNORE INTO monitor_samples (prediction_id, model, version, time, "
                                     "inputs, predictions) VALUES (?, ?, ?, ?, ?, ?)", encoded)
            except Exception:
                log.exception("could not write %d request records of model %s to %s; kept for the next try",
                              len(requests), self.model_name, self.store_path)
                with self._lock:
                    self.failed_writes += 1
                    self._requests[:0] = requests  # oldest first, so a later trim drops these before newer ones
                    self._samples[:0] = samples
                    self._trim()
                return
            with self._lock:
                self.written_records += len(requests)

    def _open_store(self) -> Any:
        if self._store is None:
            from neuralforge_desktop.core.store.sqlite_store import Store

            self._store = Store(self.store_path)
        return self._store

    def flush(self) -> None:
        """Write every buffered record now (in the caller's thread). Failures are logged and counted."""
        self._write_pending()

    def feedback(self, prediction_id: str, label: Any) -> bool:
        """Keep a label sent back for one of this model's predictions (the serving API's feedback endpoint);
        returns whether its request is in the store yet (it may still be in a buffer). Unlike ``record``, a bad
        id or label raises :class:`UserError`: the client sent it and gets the message back."""
        from neuralforge_desktop.core.monitoring.feedback import record_feedback

        with self._write_lock:  # the writer thread shares the store's connection
            return record_feedback(self._open_store(), prediction_id, label).matched

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._requests)

    def close(self) -> None:
        """Write what is buffered and stop the writer thread; later records are written by ``flush`` only."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.flush_seconds + 5)
        self._write_pending()
        if self._store is not None:
            try:
                self._store.close()
            except Exception:
                log.exception("closing the store of the recorder of model %s", self.model_name)
            self._store = None

    def __enter__(self) -> RequestRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_at_exit(reference: weakref.ref[RequestRecorder]) -> None:
    # A replica that ends without close() still writes what it buffered (the writer thread is a daemon).
    recorder = reference()
    if recorder is not None and not recorder._closed and recorder._pid == os.getpid():
        recorder.close()


def _rebuild(store_path: str, model_name: str, sample_rate: float, flush_records: int, flush_seconds: float,
             max_pending: int, seed: int | None) -> RequestRecorder:
    return RequestRecorder(store_path, model_name, sample_rate=sample_rate, flush_records=flush_records,
                           flush_seconds=flush_seconds, max_pending=max_pending, seed=seed)
