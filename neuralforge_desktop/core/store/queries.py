"""Reading rows into entities, and the lookups shared by the store's methods. Every function takes an open
connection and runs inside the caller's transaction, so a Store method composes them atomically."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from neuralforge_desktop.core.store import chunks
from neuralforge_desktop.core.store.entities import (
    Experiment,
    LatestMetric,
    NotFoundError,
    Project,
    Run,
    RunComparison,
    RunRecord,
    StoreError,
)
from neuralforge_desktop.core.store.environment import canonical_json
from neuralforge_desktop.core.team.identity import current_user

DEFAULT_PROJECT = "default"
_RUN_COLUMNS = ("r.id, r.name, r.experiment_id, e.name, r.status, r.created, r.started, r.ended, r.cpu_seconds,"
                " r.gpu_seconds, r.graph_sha256, r.checksum, r.environment, r.pid, r.hostname, r.created_by")
_RUN_FROM = "FROM runs r JOIN experiments e ON e.id = r.experiment_id"
_ORDER_COLUMNS = {"created", "started", "ended", "name", "status"}
_METRIC_FIELDS = {"value", "min", "max"}


def _ids_json(ids: Sequence[str]) -> str:
    # One bound JSON array (expanded with json_each) instead of one placeholder per id: no variable limit.
    return json.dumps(list(ids))


def project(conn: sqlite3.Connection, name: str, *, create: bool) -> Project:
    row = conn.execute("SELECT id, name, created, owner FROM projects WHERE name = ?", (name,)).fetchone()
    if row is None and create:
        from neuralforge_desktop.core.team.quotas import check_new_project

        check_new_project(conn, name)  # only a new project counts against the plan
        conn.execute("INSERT OR IGNORE INTO projects (id, name, created, owner) VALUES (?, ?, ?, ?)",
                     (uuid.uuid4().hex[:12], name, time.time(), current_user()))
        row = conn.execute("SELECT id, name, created, owner FROM projects WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFoundError(f"no project {name!r}")
    return Project(*row)


def projects(conn: sqlite3.Connection) -> list[Project]:
    return [Project(*row) for row in conn.execute("SELECT id, name, created, owner FROM projects ORDER BY name")]


def experiment(conn: sqlite3.Connection, ref: Experiment | str, project_name: str, *, create: bool) -> Experiment:
    """An experiment by entity, by id, or by name within ``project_name`` (created with it when asked)."""
    columns = "SELECT id, project_id, name, created FROM experiments"
    key = ref.id if isinstance(ref, Experiment) else ref
    row = conn.execute(f"{columns} WHERE id = ?", (key,)).fetchone()
    if row is None and not isinstance(ref, Experiment):
        if create:
            owner = project(conn, project_name, create=True)
            conn.execute("INSERT OR IGNORE INTO experiments (id, project_id, name, created) VALUES (?, ?, ?, ?)",
                         (uuid.uuid4().hex[:12], owner.id, ref, time.time()))
        row = conn.execute(f"{columns} WHERE name = ? AND project_id = (SELECT id FROM projects WHERE name = ?)",
                           (ref, project_name)).fetchone()
    if row is None:
        raise NotFoundError(f"no experiment {key!r} in project {project_name!r}")
    return Experiment(*row)


def experiments(conn: sqlite3.Connection, project_name: str | None) -> list[Experiment]:
    sql = "SELECT x.id, x.project_id, x.name, x.created FROM experiments x JOIN projects p ON p.id = x.project_id"
    if project_name is None:
        return [Experiment(*row) for row in conn.execute(sql + " ORDER BY p.name, x.name")]
    return [Experiment(*row) for row in conn.execute(sql + " WHERE p.name = ? ORDER BY x.name", (project_name,))]


def require_run(conn: sqlite3.Connection, run_id: str) -> None:
    if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
        raise NotFoundError(f"no run {run_id!r}")


def latest_by_run(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, dict[str, LatestMetric]]:
    out: dict[str, dict[str, LatestMetric]] = {}
    rows = conn.execute("SELECT run_id, name, step, value, timestamp, min, max, count FROM latest_metrics "
                        "WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, name", (_ids_json(ids),))
    for run_id, *rest in rows:
        out.setdefault(run_id, {})[rest[0]] = chunks.latest_from_row(tuple(rest))
    return out


def _key_values(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    rows = conn.execute(f"SELECT run_id, key, value FROM {table} WHERE run_id IN (SELECT value FROM json_each(?)) "
                        "ORDER BY run_id, key", (_ids_json(ids),))
    for run_id, key, value in rows:
        out.setdefault(run_id, {})[key] = value
    return out


def _runs_from_rows(conn: sqlite3.Connection, rows: list[tuple]) -> list[Run]:
    ids = [row[0] for row in rows]
    params = _key_values(conn, "params", ids)
    tags = _key_values(conn, "tags", ids)
    latest = latest_by_run(conn, ids)
    runs = []
    for (run_id, name, exp_id, exp_name, status, created, started, ended, cpu, gpu, graph_sha, checksum, env,
         pid, host, user) in rows:
        runs.append(Run(
            id=run_id, name=name, experiment_id=exp_id, experiment=exp_name, status=status, created=created,
            started=started, ended=ended,
            params={k: json.loads(v) for k, v in params.get(run_id, {}).items()},
            tags=tags.get(run_id, {}), metrics=latest.get(run_id, {}), cpu_seconds=cpu, gpu_seconds=gpu,
            graph_sha256=graph_sha, checksum=checksum, environment=json.loads(env), pid=pid, hostname=host,
            user=user))
    return runs


def runs_by_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> list[Run]:
    """The runs that exist among ``ids``, in the order given."""
    rows = conn.execute(f"SELECT {_RUN_COLUMNS} {_RUN_FROM} WHERE r.id IN (SELECT value FROM json_each(?))",
                        (_ids_json(ids),)).fetchall()
    position = {run_id: i for i, run_id in enumerate(ids)}
    rows.sort(key=lambda row: position[row[0]])
    return _runs_from_rows(conn, rows)


# A run's params and tags as one JSON object each, put together by SQLite from the stored text (params are
# canonical JSON values already): a listing copies them instead of parsing and re-encoding them.
RECORD_COLUMNS = (f"{_RUN_COLUMNS}, (SELECT '{{' || group_concat(json_quote(p.key) || ': ' || p.value, ', ') || '}}' "
                  "FROM params p WHERE p.run_id = r.id), "
                  "(SELECT json_group_object(t.key, t.value) FROM tags t WHERE t.run_id = r.id)")


def list_runs_sql(experiment_id: str | None, project_name: str | None, statuses: Sequence[str] | None,
                  tags: dict[str, str], params: dict[str, str], order_by: str,
                  limit: int | None, columns: str = _RUN_COLUMNS) -> tuple[str, list[Any]]:
    """The query selecting ``columns`` (``_RUN_COLUMNS`` or :data:`RECORD_COLUMNS`) of the runs
    :meth:`Store.list_runs` lists, in its order."""
    where: list[str] = []
    args: list[Any] = []
    join = ""
    descending = order_by.startswith("-")
    key = order_by.lstrip("-")
    direction = "DESC" if descending else "ASC"
    if key.startswith("metrics."):
        metric, _, field = key[len("metrics."):].partition("@")
        field = field or "value"
        if not metric or field not in _METRIC_FIELDS:
            raise StoreError(f"cannot order by {order_by!r}: use metrics.<name>, metrics.<name>@min or @max")
        join = " LEFT JOIN latest_metrics m ON m.run_id = r.id AND m.name = ?"
        args.append(metric)
        # NULL (no such metric, or NaN) sorts last either way; newest first among equals.
        order = f"m.{field} IS NULL, m.{field} {direction}, r.created DESC, r.rowid DESC"
    elif key in _ORDER_COLUMNS:
        order = f"r.{key} IS NULL, r.{key} {direction}, r.rowid {direction}"
        if key == "created":  # never NULL: this order is the one the runs_by_created index serves
            order = f"r.created {direction}, r.rowid {direction}"
    else:
        raise StoreError(f"cannot order by {order_by!r}: use one of {sorted(_ORDER_COLUMNS)} or metrics.<name>")
    if experiment_id is not None:
        where.append("r.experiment_id = ?")
        args.append(experiment_id)
    if project_name is not None:
        where.append("e.project_id = (SELECT id FROM projects WHERE name = ?)")
        args.append(project_name)
    if statuses is not None:
        where.append("r.status IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(statuses))
    for table, filters in (("tags", tags), ("params", params)):
        for k, v in filters.items():
            where.append(f"EXISTS (SELECT 1 FROM {table} f WHERE f.run_id = r.id AND f.key = ? AND f.value = ?)")
            args += [k, v]
    sql = f"SELECT {columns} {_RUN_FROM}{join}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    return sql, args


def list_runs(conn: sqlite3.Connection, experiment_id: str | None, project_name: str | None,
              statuses: Sequence[str] | None, tags: dict[str, str], params: dict[str, str], order_by: str,
              limit: int | None) -> list[Run]:
    sql, args = list_runs_sql(experiment_id, project_name, statuses, tags, params, order_by, limit)
    return _runs_from_rows(conn, conn.execute(sql, args).fetchall())


def run_records(conn: sqlite3.Connection, sql: str, args: Sequence[Any], page: int = 1000) -> Iterator[RunRecord]:
    """The runs ``sql`` (from :func:`list_runs_sql` with :data:`RECORD_COLUMNS`) selects, read ``page`` rows at
    a time, as records whose params, tags, environment and metrics stay as the store's text and rows until
    asked for."""
    cursor = conn.execute(sql, args)
    while rows := cursor.fetchmany(page):
        latest: dict[str, list[tuple[Any, ...]]] = {}
        for metric in conn.execute("SELECT run_id, name, step, value, timestamp, min, max, count FROM "
                                   "latest_metrics WHERE run_id IN (SELECT value FROM json_each(?)) "
                                   "ORDER BY run_id, name", (_ids_json([row[0] for row in rows]),)):
            latest.setdefault(metric[0], []).append(metric)
        for (run_id, name, exp_id, exp_name, status, created, started, ended, cpu, gpu, graph_sha, checksum, env,
             pid, host, user, params, tags) in rows:
            yield RunRecord(run_id, name, exp_id, exp_name, status, created, started, ended, cpu, gpu, graph_sha,
                            checksum, env, pid, host, params or "{}", tags or "{}", latest.get(run_id, []), user)


def compare(runs: list[Run]) -> RunComparison:
    missing = object()
    same: dict[str, Any] = {}
    diff: dict[str, dict[str, Any]] = {}
    for key in sorted({k for run in runs for k in run.params}):
        values = {run.id: run.params.get(key, missing) for run in runs}
        spelled = {canonical_json(v) if v is not missing else None for v in values.values()}
        if len(spelled) == 1 and None not in spelled:  # canonical text: NaN equals NaN, 1 differs from 1.0
            same[key] = next(iter(values.values()))
        else:
            diff[key] = {run_id: None if v is missing else v for run_id, v in values.items()}
    names = sorted({name for run in runs for name in run.metrics})
    metrics = {name: {run.id: run.metrics.get(name) for run in runs} for name in names}
    return RunComparison(runs, same, diff, metrics)
