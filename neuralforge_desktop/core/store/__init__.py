"""The experiment store: runs, params, tags, metrics and artifacts in one SQLite file, shared safely by
every process that trains, and fast to read back. Headless: no Qt, and torch only when asked for."""

from neuralforge_desktop.core.store.entities import (
    RUN_STATUSES,
    Artifact,
    Experiment,
    LatestMetric,
    MetricPoint,
    MetricSeries,
    NotFoundError,
    ParamConflictError,
    Project,
    Run,
    RunComparison,
    RunStatus,
    StoreError,
)
from neuralforge_desktop.core.store.environment import (
    CHECKSUM_ENVIRONMENT_KEYS,
    canonical_json,
    environment_snapshot,
    reproducibility_checksum,
    sha256_json,
)
from neuralforge_desktop.core.store.sqlite_store import DEFAULT_PROJECT, Store, default_store_path

__all__ = [
    "CHECKSUM_ENVIRONMENT_KEYS", "DEFAULT_PROJECT", "RUN_STATUSES", "Artifact", "Experiment", "LatestMetric",
    "MetricPoint", "MetricSeries", "NotFoundError", "ParamConflictError", "Project", "Run", "RunComparison",
    "RunStatus", "Store", "StoreError", "canonical_json", "default_store_path", "environment_snapshot",
    "reproducibility_checksum", "sha256_json",
]
