"""A stand-in for the monitoring package's RequestRecorder (same ``record``/``flush`` signature), which is not
in this tree yet: it keeps every record in a list and appends it as a JSON line to a file, because it runs in
the router's replica process and the test reads what it recorded from there."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any


class ListRecorder:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.records: list[dict[str, Any]] = []

    def record(self, *, version: str, latency_ms: float, ok: bool, status: int, request_key: str | None,
               inputs: list | None, predictions: list | None) -> str:
        prediction_id = uuid.uuid4().hex
        entry = {"id": prediction_id, "version": version, "latency_ms": latency_ms, "ok": ok, "status": status,
                 "request_key": request_key, "inputs": inputs, "predictions": predictions}
        self.records.append(entry)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")
        return prediction_id

    def flush(self) -> None:
        pass


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
