"""The reads behind a table of every run: the matching ids in any column's order, counts, what changed since a
revision, usage sums. Filtering (:mod:`.run_filter`) and sorting happen in SQLite, so a table of 10,000 runs
builds Python objects only for the rows it shows (:meth:`Store.get_runs`), and a periodic refresh reads only
the runs changed since its last look (``runs.revision``, kept by the schema's triggers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.store import queries as _q
from neuralforge_desktop.core.store import run_filter
from neuralforge_desktop.core.store.entities import RUN_STATUSES, Run, RunRecord, StoreError

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.database import Database
    from neuralforge_desktop.core.team.access import AccessCache

ACTIVE_STATUSES = ("running", "paused", "queued")  # a table showing one of these keeps refreshing itself
_FROM = "FROM runs r JOIN experiments e ON e.id = r.experiment_id"


def _latest(name: str) -> str:
    # NULL when the run has no such metric or its latest value is NaN (SQLite stores NaN as NULL).
    return f"(SELECT m.value FROM latest_metrics m WHERE m.run_id = r.id AND m.name = '{name}')"


def _tag(key: str) -> str:
    return f"(SELECT t.value FROM tags t WHERE t.run_id = r.id AND t.key = '{key}')"


# The key each column sorts by, ascending; the same keys the table's cells show (see the runs table model).
# Text sorts case-insensitively as Python's str.lower does; a missing number sorts after every number.
SORT_KEYS: dict[str, str] = {
    "id": "r.id",
    "name": "nf_lower(r.name)",
    "experiment": "nf_lower(e.name)",
    "status": "nf_lower(r.status)",
    "created": "r.created",
    "val acc": _latest("val/acc"),
    "val loss": _latest("val/loss"),
    "train loss": _latest("train/loss"),
    "epochs": run_filter.EPOCHS_SQL,
    "host": f"nf_lower(COALESCE(NULLIF({_tag('host')}, ''), 'local'))",
    "GPU-h": "r.gpu_seconds",
    # cost = GPU-hours × the rate tag as usage.rate_of reads it (a Python callback: float() decides what a number is)
    "cost": f"r.gpu_seconds / 3600.0 * nf_rate({_tag('cost_per_gpu_hour')})",
    "checksum": "COALESCE(substr(r.checksum, 1, 12), '')",
}
_NULLABLE = {"val acc", "val loss", "train loss"}


def _order(column: str, descending: bool) -> str:
    if column not in SORT_KEYS:
        raise StoreError(f"cannot sort runs by {column!r}: use one of {', '.join(SORT_KEYS)}")
    key, direction = SORT_KEYS[column], "DESC" if descending else "ASC"
    # Descending is the exact reverse of ascending, ties included (rowid: the order runs were created in).
    missing_last = f"({key} IS NULL) {direction}, " if column in _NULLABLE else ""
    return f"{missing_last}{key} {direction}, r.rowid {direction}"


def _source(*sql: str) -> str:
    # The experiments join only where a clause names the experiment: without it the default order is an
    # index-only scan (runs_by_created) instead of a walk over every run's row.
    return _FROM if any("e." in part for part in sql) else "FROM runs r"


class RunViewStoreMixin:
    """Store methods for a table over all runs (mixed into :class:`.sqlite_store.Store`)."""

    _db: Database
    _access: AccessCache
    flush: Callable[[], None]  # Store's: writes this Store's buffered points, so a listing sees them

    def _view_read(self) -> Any:
        return self._db.read()

    def _visible_sql(self) -> tuple[str, tuple[str, ...]]:
        """A condition on ``r`` leaving out the runs of projects the acting user has no role in (see
        :mod:`neuralforge_desktop.core.team.access`): "1 = 1" on a store where every project is open."""
        hidden = tuple(sorted(self._access.hidden_projects()))
        if not hidden:
            return "1 = 1", ()
        marks = ", ".join("?" * len(hidden))
        return f"r.experiment_id NOT IN (SELECT id FROM experiments WHERE project_id IN ({marks}))", hidden

    def iter_runs(self, experiment: str | None = None, *, project: str | None = None,
                  status: str | Iterable[str] | None = None, tags: Mapping[str, Any] | None = None,
                  order_by: str = "-created", limit: int | None = None, page: int = 1000) -> Iterator[RunRecord]:
        """The runs :meth:`Store.list_runs` would list, as :class:`RunRecord` s read ``page`` at a time (a
        listing of any length holds one page in memory). The read transaction stays open until the iterator is
        exhausted or closed, so the whole listing is one snapshot."""
        statuses = [status] if isinstance(status, str) else list(status) if status is not None else None
        for s in statuses or ():
            if s not in RUN_STATUSES:
                raise StoreError(f"unknown run status {s!r}; expected one of {', '.join(RUN_STATUSES)}")
        tag_texts = {k: str(v) for k, v in (tags or {}).items()}
        self.flush()
        hidden = self._access.hidden_experiments()
        with self._view_read() as conn:
            exp_id = None
            if experiment is not None:
                exp_id = _q.experiment(conn, experiment, project or _q.DEFAULT_PROJECT, create=False).id
            sql, args = _q.list_runs_sql(exp_id, project if experiment is None else None, statuses, tag_texts, {},
                                         order_by, limit, _q.RECORD_COLUMNS)
            for record in _q.run_records(conn, sql, args, page):
                if not hidden or record.experiment_id not in hidden:
                    yield record

    def run_ids(self, filter_text: str = "", sort: str = "created", descending: bool = True) -> list[str]:
        """The ids of every run matching ``filter_text`` (the Runs dock's syntax, :mod:`.run_filter`), in the
        order of column ``sort`` (one of :data:`SORT_KEYS`)."""
        where, args = run_filter.filter_sql(run_filter.parse_filter(filter_text), self._db.dialect)
        visible, hidden = self._visible_sql()
        with self._view_read() as conn:
            run_filter.register_functions(conn)
            order = _order(sort, descending)
            rows = conn.execute(f"SELECT r.id {_source(where, order)} WHERE {where} AND {visible} ORDER BY {order}",
                                (*args, *hidden))
            return [run_id for (run_id,) in rows]

    def run_revision(self) -> tuple[int, int]:
        """(the latest change's revision, the number of runs): equal results mean nothing changed between."""
        with self._view_read() as conn:
            revision, count = conn.execute("SELECT COALESCE(MAX(revision), 0), COUNT(*) FROM runs").fetchone()
        return int(revision), int(count)

    def runs_changed_since(self, revision: int) -> list[str]:
        """The ids of the runs written (status, params, tags, metrics …) after ``revision``."""
        visible, hidden = self._visible_sql()
        with self._view_read() as conn:
            return [run_id for (run_id,) in conn.execute(f"SELECT r.id FROM runs r WHERE r.revision > ? AND {visible}"
                                                         " ORDER BY r.revision", (int(revision), *hidden))]

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """The runs among ``run_ids`` that exist, in the order given (one query for any number)."""
        hidden = self._access.hidden_experiments()
        with self._view_read() as conn:  # (a Store's own buffered points are flushed by the table's refresh)
            runs = _q.runs_by_ids(conn, list(run_ids))
        return [r for r in runs if r.experiment_id not in hidden] if hidden else runs

    def has_active_runs(self) -> bool:
        with self._view_read() as conn:
            return conn.execute("SELECT EXISTS (SELECT 1 FROM runs WHERE status IN (?, ?, ?))",
                                ACTIVE_STATUSES).fetchone()[0] == 1

    def run_usage_total(self, filter_text: str = "") -> tuple[float, float]:
        """(GPU-seconds, cost) summed over the runs matching ``filter_text``, as :func:`.usage.usage_sums` sums."""
        where, args = run_filter.filter_sql(run_filter.parse_filter(filter_text), self._db.dialect)
        visible, hidden = self._visible_sql()
        where, args = f"{where} AND {visible}", [*args, *hidden]
        with self._view_read() as conn:
            run_filter.register_functions(conn)
            cost_key = SORT_KEYS["cost"]
            gpu, cost = conn.execute(f"SELECT COALESCE(SUM(r.gpu_seconds), 0), COALESCE(SUM({cost_key}), 0)"
                                     f" {_source(where, cost_key)} WHERE {where} AND r.gpu_seconds > 0",
                                     args).fetchone()
        return float(gpu), float(cost)

