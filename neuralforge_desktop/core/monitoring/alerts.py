"""Thresholds on the served figures, and the alerts raised when they are crossed.

A config is a small mapping (a YAML file or a dict)::

    window: 5m              # figures over the last five minutes
    p99_latency_ms: 250     # p99 latency above this
    error_rate: 0.05        # share of failed requests above this
    drift_psi: 0.25         # largest feature/channel PSI of the latest drift report above this
    accuracy_drop: 0.05     # accuracy from feedback this far below the baseline
    baseline_accuracy: 0.98 # optional: else the registered version's validation accuracy
    min_requests: 20        # fewer requests (or labels) than this in the window: too few to judge

One alert per breach: an alert row is written when a figure crosses its threshold, none while it stays
across, and the breach is closed (``resolved`` stamped) when the figure comes back; crossing again later
raises a new alert. Each version of a model is judged on its own, so a bad canary alerts by itself.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.monitoring import feedback, stats
from neuralforge_desktop.core.monitoring.drift import drift_history

DEFAULTS: dict[str, float | None] = {"window": 300.0, "p99_latency_ms": 500.0, "error_rate": 0.05,
                                     "drift_psi": 0.25, "accuracy_drop": 0.05, "baseline_accuracy": None,
                                     "min_requests": 20.0}
KINDS = ("p99_latency_ms", "error_rate", "drift_psi", "accuracy_drop")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    model: str
    version: str
    threshold: float
    value: float
    time: float
    acknowledged: bool
    resolved: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        what = {"p99_latency_ms": f"p99 latency {self.value:.1f} ms above {self.threshold:.1f} ms",
                "error_rate": f"error rate {self.value:.1%} above {self.threshold:.1%}",
                "drift_psi": f"input drift PSI {self.value:.2f} above {self.threshold:.2f}",
                "accuracy_drop": f"accuracy {self.value:.1%} below {self.threshold:.1%}"}.get(self.kind, self.kind)
        return f"{self.model}@{self.version}: {what}"


def parse_duration(text: str | float | int, field: str = "since") -> float:
    """Seconds in ``90``, ``90s``, ``15m``, ``1h``, ``2d``."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text <= 0:
            raise UserError(f"{field}: must be a positive duration, got {text}")
        return float(text)
    match = _DURATION.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise UserError(f"{field}: {text!r} is not a duration; write e.g. 90s, 15m, 1h or 2d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def load_config(source: Mapping[str, Any] | str | Path | None = None) -> dict[str, float | None]:
    """Thresholds from a mapping or a YAML file, on top of :data:`DEFAULTS`; an unknown key is named."""
    if source is None:
        return dict(DEFAULTS)
    if isinstance(source, str | Path):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            raise UserError("alert thresholds: reading a YAML file needs PyYAML, which is not installed here; "
                            "`pip install pyyaml`, or pass the thresholds as a mapping") from None

        path = Path(source)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except OSError as exc:
            raise UserError(f"{path}: cannot read the alert thresholds ({exc.strerror or exc})") from None
        except yaml.YAMLError as exc:
            raise UserError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: the alert thresholds must be a mapping of names to numbers")
        source = data
    config = dict(DEFAULTS)
    for key, value in source.items():
        if key not in DEFAULTS:
            raise UserError(f"alert thresholds: unknown key {key!r}; known: {', '.join(DEFAULTS)}")
        if key == "window":
            config[key] = parse_duration(value, "window")
        elif value is None:
            config[key] = None  # switched off
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise UserError(f"alert thresholds: {key} must be a number ≥ 0 (or null to switch it off), got {value!r}")
        else:
            config[key] = float(value)
    return config


def _baseline_accuracy(store: Any, model_name: str, version: str, config: Mapping[str, float | None]) -> float | None:
    if config.get("baseline_accuracy") is not None:
        return config["baseline_accuracy"]
    try:
        registry = importlib.import_module("neuralforge_desktop.core.registry")
        metrics = registry.resolve(store, f"{model_name}@{version}").metrics
    except Exception:  # no registry, or the version is not registered: no baseline to compare with
        return None
    for key in ("val_accuracy", "accuracy", "val_acc", "test_accuracy"):
        if key in metrics:
            return float(metrics[key])
    return None


def measure(store: Any, model_name: str, config: Mapping[str, float | None], now: float
            ) -> dict[tuple[str, str], tuple[float, float]]:
    """(kind, version) → (value, threshold) for every figure there is enough data to judge."""
    window = float(config["window"] or DEFAULTS["window"] or 300.0)
    since = now - window
    minimum = int(config.get("min_requests") or 0)
    requests = stats.load_requests(store, model_name, since=since, until=now)
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for version, figures in stats.per_version(requests).items():
        if figures["count"] < max(minimum, 1):
            continue
        if config.get("p99_latency_ms") is not None:
            found[("p99_latency_ms", version)] = (figures["p99"], float(config["p99_latency_ms"] or 0))
        if config.get("error_rate") is not None:
            found[("error_rate", version)] = (figures["error_rate"], float(config["error_rate"] or 0))
    if config.get("drift_psi") is not None:
        latest: dict[str, float] = {}
        for _when, version, report in drift_history(store, model_name, since=since):
            if report.max_psi is not None:
                latest[version] = report.max_psi
        for version, value in latest.items():
            found[("drift_psi", version)] = (value, float(config["drift_psi"] or 0))
    if config.get("accuracy_drop") is not None:
        scored = feedback.accuracy(store, model_name, since=since, until=now)
        for version, (labelled, correct) in scored.per_version.items():
            baseline = _baseline_accuracy(store, model_name, version, config)
            if baseline is None or labelled < max(minimum, 1):
                continue
            found[("accuracy_drop", version)] = (correct / labelled, baseline - float(config["accuracy_drop"] or 0))
    return found


def _breached(kind: str, value: float, threshold: float) -> bool:
    return value < threshold if kind == "accuracy_drop" else value > threshold


def evaluate_alerts(store: Any, model_name: str, config: Mapping[str, Any] | str | Path | None = None, *,
                    now: float | None = None) -> list[Alert]:
    """Judge the figures of the last window; raise an alert for each new breach, close those that ended.
    Returns the alerts raised by this call."""
    settings = load_config(config)
    when = time.time() if now is None else float(now)
    measured = measure(store, model_name, settings, when)
    raised: list[int] = []
    with store.write_transaction() as conn:
        open_rows = {(k, v): i for i, k, v in conn.execute(
            "SELECT id, kind, version FROM monitor_alerts WHERE model = ? AND resolved IS NULL", (model_name,))}
        for (kind, version), (value, threshold) in measured.items():
            breached = _breached(kind, value, threshold)
            if breached and (kind, version) not in open_rows:
                cursor = conn.execute("INSERT INTO monitor_alerts (kind, model, version, threshold, value, time) "
                                      "VALUES (?, ?, ?, ?, ?, ?)", (kind, model_name, version, threshold, value, when))
                raised.append(int(cursor.lastrowid or 0))
            elif not breached and (kind, version) in open_rows:
                conn.execute("UPDATE monitor_alerts SET resolved = ? WHERE id = ?", (when, open_rows[(kind, version)]))
    return [a for a in list_alerts(store, model_name) if a.id in raised]


def list_alerts(store: Any, model_name: str, *, since: float | None = None, open_only: bool = False) -> list[Alert]:
    """Alerts of ``model_name`` newest first; ``open_only``: breaches not yet over."""
    query = ("SELECT id, kind, model, version, threshold, value, time, acknowledged, resolved FROM monitor_alerts "
             "WHERE model = ? AND time >= ?" + (" AND resolved IS NULL" if open_only else "")
             + " ORDER BY time DESC, id DESC")
    with store.read_transaction() as conn:
        rows = conn.execute(query, (model_name, -1.0 if since is None else since)).fetchall()
    return [Alert(int(r[0]), r[1], r[2], r[3], float(r[4]), float(r[5]), float(r[6]), bool(r[7]),
                  None if r[8] is None else float(r[8])) for r in rows]


def acknowledge(store: Any, alert_id: int) -> None:
    with store.write_transaction() as conn:
        if conn.execute("UPDATE monitor_alerts SET acknowledged = 1 WHERE id = ?", (int(alert_id),)).rowcount == 0:
            raise UserError(f"alert {alert_id}: no such alert")
