"""``neuralforge cost``, ``roi`` and ``capacity`` on a store with the demo team history."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.costs import cost_report
from neuralforge_desktop.core.team.demo_costs import create_cost_demo
from neuralforge_desktop.core.team.roi import roi_report


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    with Store(path) as store:
        create_cost_demo(store, HostRegistry(), now=time.time())
    return path


def run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cost_json_matches_the_report_and_the_table_lists_every_group(capsys: Any, store_path: Path) -> None:
    status, out, _ = run(capsys, "cost", "--by", "host", "--bucket", "month", "--json", "--store", str(store_path))
    assert status == 0
    data = json.loads(out)
    with Store(store_path) as store:
        report = cost_report(store, by="host", bucket="month")
    assert data["by"] == "host" and data["bucket"] == "month"
    assert {t["key"]: t["cost"] for t in data["totals"]} == pytest.approx({t.key: t.cost for t in report.totals})
    for series in data["series"]:
        assert len(series["cost"]) == len(data["buckets"])
    assert sum(sum(s["gpu_hours"]) for s in data["series"]) == pytest.approx(data["total"]["gpu_hours"])
    status, out, _ = run(capsys, "cost", "--store", str(store_path))
    assert status == 0 and "cost per week" in out
    for total in cost_report(Store(store_path), by="project").totals:
        assert total.key in out and f"{total.cost:,.2f}" in out


def test_roi_and_capacity_json(capsys: Any, store_path: Path) -> None:
    status, out, _ = run(capsys, "roi", "--project", "vision-defects", "--json", "--store", str(store_path))
    assert status == 0
    data = json.loads(out)
    with Store(store_path) as store:
        report = roi_report(store, project="vision-defects")
    assert data["axis"] == report.axis == "cost"
    (project,) = data["projects"]
    assert project["front"] == [p.run_id for p in report.projects[0].front]
    stretch = report.projects[0].last_stretch
    assert stretch is not None and project["last_stretch"]["last_spend"] == pytest.approx(stretch.last_spend)
    status, out, _ = run(capsys, "roi", "--store", str(store_path))
    assert status == 0 and "Pareto front across projects" in out and "vision-defects" in out
    status, out, _ = run(capsys, "capacity", "--weeks", "3", "--json", "--store", str(store_path))
    assert status == 0
    data = json.loads(out)
    hosts = {h["host"]: h for h in data["hosts"]}
    assert {"h100-pod", "a100-box", "rtx-lab"} <= set(hosts)
    assert all(len(h["forecast"]["weeks"]) == 3 for h in hosts.values() if h["forecast"])
    every = sum(w["gpu_hours"] for w in data["all_hosts"]["history"])
    assert every == pytest.approx(sum(w["gpu_hours"] for h in hosts.values() for w in h["history"]))
    util = {u["host"]: u for u in data["utilisation"]["hosts"]}
    assert util["h100-pod"]["gpus"] == 8 and 0 < util["h100-pod"]["utilisation"] < 1
    status, out, _ = run(capsys, "capacity", "--host", "a100-box", "--store", str(store_path))
    assert status == 0 and "a100-box, week by week" in out and "Utilisation" in out


def test_mistakes_get_one_line(capsys: Any, store_path: Path) -> None:
    status, _, err = run(capsys, "cost", "--period", "2026-Q5", "--store", str(store_path))
    assert status != 0 and "2026-Q5" in err
    status, _, err = run(capsys, "roi", "--project", "nope", "--store", str(store_path))
    assert status != 0 and "no project named 'nope'" in err
    status, _, err = run(capsys, "capacity", "--weeks", "0", "--store", str(store_path))
    assert status != 0 and "--weeks 0" in err
