"""The portfolio of a real store: per-project and per-user figures equal to sums computed independently from
spend_rows, models in staging and production from the registry, budgets and their alerts, the `portfolio` command's
JSON, and one pass over 1,500 runs."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.store.synthetic import add_runs
from neuralforge_desktop.core.team.budgets import list_alerts
from neuralforge_desktop.core.team.demo_data import demo_now
from neuralforge_desktop.core.team.portfolio import compute_portfolio
from neuralforge_desktop.core.team.spend import month_of, parse_period, spend_rows, totals_by

DECEMBER = parse_period("2026-12")


def test_project_and_user_figures_equal_the_spend_rows_sums(demo_store_path: Path) -> None:
    with Store(demo_store_path) as store:
        portfolio = compute_portfolio(store, DECEMBER, now=demo_now())
        rows = spend_rows(store, DECEMBER)
        by_project = {t.key: t for t in totals_by(rows, lambda r: r.project)}
        by_user = {t.key: t for t in totals_by(rows, lambda r: r.user)}
        all_runs = spend_rows(store)
    assert {p.name for p in portfolio.projects} == {"vision", "nlp-search", "fraud-detection", "speech", "recsys"}
    for project in portfolio.projects:
        expected = by_project.get(project.name)
        assert project.cost == pytest.approx(expected.cost if expected else 0.0)
        assert project.gpu_hours == pytest.approx(expected.gpu_hours if expected else 0.0)
        assert project.runs_month == (expected.runs if expected else 0)
        assert project.runs == sum(1 for r in all_runs if r.project == project.name)
    assert {u.user for u in portfolio.users} == set(by_user)
    spenders = [u for u in portfolio.users if u.gpu_hours > 0 and u.cost > 0]
    assert len(spenders) >= 2  # the acceptance check: at least two people's GPU-hours and cost
    for user in portfolio.users:
        expected = by_user[user.user]
        assert (user.gpu_hours, user.cost, user.runs) == (pytest.approx(expected.gpu_hours),
                                                          pytest.approx(expected.cost), expected.runs)
    assert portfolio.cost == pytest.approx(math.fsum(r.cost for r in rows))


def test_status_owner_best_metric_models_and_budget(demo_store_path: Path) -> None:
    with Store(demo_store_path) as store:
        portfolio = compute_portfolio(store, DECEMBER, now=demo_now())
        runs = store.list_runs(project="vision")
    rows = {p.name: p for p in portfolio.projects}
    vision = rows["vision"]
    assert (vision.owner, vision.status, vision.metric) == ("alice", "active", "val/acc")
    assert vision.best == pytest.approx(max(r.metrics["val/acc"].max for r in runs))
    assert vision.last_activity == max(max(t for t in (r.created, r.started, r.ended) if t) for r in runs)
    assert (vision.production, vision.staging) == (["vision-classifier@1"], ["vision-classifier@2"])
    assert rows["recsys"].status == "idle" and rows["recsys"].budget is None
    assert portfolio.in_production == 3 and portfolio.active == 4
    assert vision.budget is not None and vision.budget.hard_stop
    assert vision.percent_used == pytest.approx(100 * vision.cost / 300.0)
    fraud = rows["fraud-detection"]
    assert fraud.percent_used is not None and fraud.percent_used > 100
    december = [(a.project, a.threshold) for a in portfolio.alerts]
    assert ("fraud-detection", 100) in december and len(december) == len(set(december))


def test_computing_the_portfolio_records_crossings_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path / "store.db") as store:
        monkeypatch.setenv("NEURALFORGE_USER", "dana")
        run = store.create_run("e", project="p", tags={"host": "h", "cost_per_gpu_hour": "4"}, environment={})
        with store._db.write() as conn:  # a budget written by hand, as a store shared before the check ran
            conn.execute("INSERT INTO project_budgets (project, monthly, currency, thresholds, hard_stop, updated, "
                         "updated_by) VALUES ('p', 10, 'USD', '50,100', 0, 0, 'dana')")
            conn.execute("UPDATE runs SET gpu_seconds = 3 * 3600 WHERE id = ?", (run.id,))
        month = month_of(time.time())
        assert list_alerts(store) == []
        first = compute_portfolio(store, month)
        second = compute_portfolio(store, month)
    assert [(a.project, a.threshold) for a in first.alerts] == [("p", 100), ("p", 50)]
    assert [(a.threshold, a.created) for a in second.alerts] == [(a.threshold, a.created) for a in first.alerts]


def test_cli_json_and_table(demo_store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portfolio", "--month", "2026-11", "--json", "--store", str(demo_store_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    with Store(demo_store_path) as store:
        november = {t.key: t for t in totals_by(spend_rows(store, parse_period("2026-11")), lambda r: r.user)}
    assert data["month"] == "2026-11"
    assert {u["user"]: round(u["cost"], 6) for u in data["users"]} == {k: round(t.cost, 6) for k, t in november.items()}
    assert {u["user"]: round(u["gpu_hours"], 6) for u in data["users"]} == {
        k: round(t.gpu_hours, 6) for k, t in november.items()}
    assert data["summary"]["projects"] == 5 and {p["project"] for p in data["projects"]} >= {"vision", "speech"}
    assert main(["portfolio", "--month", "2026-11", "--store", str(demo_store_path)]) == 0
    table = capsys.readouterr().out
    assert "portfolio for 2026-11: 5 projects" in table and "vision" in table and "alice" in table
    assert "budgeted" in table  # the demo's projects have budgets
    assert main(["portfolio", "--month", "2026-Q4", "--store", str(demo_store_path)]) == 1
    assert "give a calendar month" in capsys.readouterr().err


def test_cli_summary_of_one_unbudgeted_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Store(tmp_path / "store.db") as store:
        store.create_run("digits", name="only")
    assert main(["portfolio", "--store", str(tmp_path / "store.db")]) == 0
    summary = capsys.readouterr().out.splitlines()[0]
    assert ": 1 project, " in summary and "0 models in production" in summary and "no budgets set" in summary


def test_budget_commands(demo_store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store_args = ["--store", str(demo_store_path)]
    assert main(["budget", "set", "recsys", "--monthly", "250", "--thresholds", "75,100", "--hard-stop",
                 *store_args]) == 0
    assert "recsys: $250.00 a month, alerts at 75%, 100%, hard stop on" in capsys.readouterr().out
    assert main(["budget", "list", "--json", *store_args]) == 0
    listed = {b["project"]: b for b in json.loads(capsys.readouterr().out)["budgets"]}
    assert listed["recsys"]["thresholds"] == [75, 100] and listed["recsys"]["hard_stop"] is True
    assert set(listed) == {"vision", "nlp-search", "fraud-detection", "speech", "recsys"}
    assert main(["budget", "clear", "recsys", *store_args]) == 0
    assert main(["budget", "clear", "recsys", *store_args]) == 1
    assert "has no budget" in capsys.readouterr().err
    assert main(["budget", "set", "vision", "--monthly", "300", "--thresholds", "fifty", *store_args]) == 1
    assert "whole percentages" in capsys.readouterr().err


def test_one_pass_over_1500_runs(tmp_path: Path) -> None:
    with Store(tmp_path / "store.db") as store:
        ids = add_runs(store, 1500, experiments=12)
        with store._db.write() as conn:  # remote runs of three people on two hosts
            for index, run_id in enumerate(ids):
                conn.execute("UPDATE runs SET gpu_seconds = ?, created_by = ? WHERE id = ?",
                             (600.0 * (index % 7 + 1), ("ann", "ben", "cy")[index % 3], run_id))
                conn.execute("INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, 'cost_per_gpu_hour', ?)",
                             (run_id, ("2.5", "4.0")[index % 2]))
        month = month_of(store.get_run(ids[-1]).created)
        started = time.perf_counter()
        portfolio = compute_portfolio(store, month)
        seconds = time.perf_counter() - started
        rows = spend_rows(store, month)
    by_user = {t.key: t for t in totals_by(rows, lambda r: r.user)}
    assert {u.user: pytest.approx(u.cost) for u in portfolio.users} == {k: t.cost for k, t in by_user.items()}
    assert sum(p.runs for p in portfolio.projects) == 1500
    print(f"portfolio of 1,500 runs: {seconds * 1000:.0f} ms")
    assert seconds < 3.0
