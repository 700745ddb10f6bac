"""A stand-in for the monitoring package's RequestRecorder (same ``record``/``flush``/``feedback`` signature), so
these tests need no store: it keeps every record in a list and appends it as a JSON line to a file (labels sent
back to a second file), because it runs in the router's replica process and the test reads them from there."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError


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

    def feedback(self, prediction_id: str, label: Any) -> bool:
        if not isinstance(prediction_id, str) or not prediction_id.isalnum():
            raise UserError(f"prediction_id: {prediction_id!r} is not a prediction id")
        with feedback_path(self.path).open("a", encoding="utf-8") as out:
            out.write(json.dumps({"prediction_id": prediction_id, "label": label}) + "\n")
        return any(r["id"] == prediction_id for r in self.records)


def feedback_path(records: Path) -> Path:
    return records.with_suffix(".feedback.jsonl")


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
