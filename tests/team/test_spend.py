"""Spend per run, grouped and bounded by calendar periods, read from a real store file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.spend import PeriodError, parse_period, spend_rows, totals_by, week_of


def _at(year: int, month: int, day: int, hour: int = 12) -> float:
    return dt.datetime(year, month, day, hour).timestamp()


def test_periods_are_half_open_calendar_spans() -> None:
    q4 = parse_period("2026-Q4")
    assert (q4.start, q4.end) == (_at(2026, 10, 1, 0), _at(2027, 1, 1, 0))
    december = parse_period("2026-12")
    assert december.contains(_at(2026, 12, 31, 23)) and not december.contains(_at(2027, 1, 1, 0))
    assert parse_period("2026").end == _at(2027, 1, 1, 0)
    week = week_of(_at(2026, 12, 3))
    assert week.label == "2026-W49" and week.end - week.start == pytest.approx(7 * 86400, abs=3600)
    for bad in ("2026-13", "26-Q1", "2026-Q5", "2026-W54", "Q4"):
        with pytest.raises(PeriodError, match="period"):
            parse_period(bad)


def test_rows_carry_project_user_host_and_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path / "store.db") as store:
        monkeypatch.setenv("NEURALFORGE_USER", "alice")
        a = store.create_run("resnet", project="vision", tags={"host": "gpu-box", "cost_per_gpu_hour": "2.5"})
        store.add_usage(a.id, gpu_seconds=7200)
        monkeypatch.setenv("NEURALFORGE_USER", "bob")
        b = store.create_run("bert", project="text", tags={"host": "gpu-box", "cost_per_gpu_hour": "2.5"})
        store.add_usage(b.id, gpu_seconds=3600)
        local = store.create_run("bert", project="text")
        store.add_usage(local.id, gpu_seconds=1800)
        rows = {r.run_id: r for r in spend_rows(store)}
        assert (rows[a.id].project, rows[a.id].user, rows[a.id].cost) == ("vision", "alice", pytest.approx(5.0))
        assert (rows[b.id].project, rows[b.id].user, rows[b.id].gpu_hours) == ("text", "bob", pytest.approx(1.0))
        assert (rows[local.id].host, rows[local.id].cost) == ("local", 0.0)
        by_user = {t.key: t for t in totals_by(rows.values(), lambda r: r.user)}
        assert by_user["bob"].gpu_hours == pytest.approx(1.5) and by_user["bob"].cost == pytest.approx(2.5)
        assert [t.key for t in totals_by(rows.values(), lambda r: r.project)] == ["vision", "text"]
        assert spend_rows(store, parse_period("2001-01")) == []
        assert [r.run_id for r in spend_rows(store, project="text")] == [b.id, local.id]
