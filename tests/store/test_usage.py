"""GPU-hours and cost of real runs in a real store: per run in `runs list` (table and --json), summed per
experiment and over the store by `runs usage`; a rate recorded at dispatch time is what a run is charged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.store.usage import run_usage, usage_sums


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def runs(store_path: Path) -> dict[str, str]:
    """Three runs as the remote dispatcher and a local worker leave them: host and rate tags, compute time."""
    with Store(store_path) as s:
        a = s.create_run("sweep", "on-a100", tags={"host": "a100", "cost_per_gpu_hour": "2.5"}, environment={})
        s.add_usage(a.id, cpu_seconds=60, gpu_seconds=2 * 3600)
        s.add_usage(a.id, gpu_seconds=3600)  # resumed once: the time adds up
        s.set_status(a.id, "finished")
        b = s.create_run("sweep", "here", environment={})
        s.add_usage(b.id, cpu_seconds=120)
        s.set_status(b.id, "finished")
        c = s.create_run("bigger", "on-h100", tags={"host": "h100", "cost_per_gpu_hour": "4"}, environment={})
        s.add_usage(c.id, gpu_seconds=4 * 1800)  # 4 GPUs for half an hour
        s.set_status(c.id, "failed")  # a failed run was paid for all the same
        return {"a": a.id, "b": b.id, "c": c.id}


def test_runs_list_shows_host_gpu_hours_and_cost(capsys, store_path: Path, runs: dict[str, str]) -> None:
    status, out, _ = cli(capsys, "runs", "list", "--json", "--store", str(store_path))
    assert status == 0
    listed = {r["id"]: r for r in json.loads(out)}
    a, b, c = (listed[runs[k]] for k in "abc")
    assert (a["host"], a["gpu_seconds"], a["gpu_hours"], a["cost_per_gpu_hour"], a["cost"]) == (
        "a100", 10800.0, 3.0, 2.5, 7.5)
    assert (b["host"], b["gpu_hours"], b["cost"], b["cpu_seconds"]) == ("local", 0.0, 0.0, 120.0)
    assert (c["host"], c["gpu_hours"], c["cost"]) == ("h100", 2.0, 8.0)

    status, out, _ = cli(capsys, "runs", "list", "--store", str(store_path))
    header, _rule, *rows = out.splitlines()
    assert header.split()[-4:] == ["HOST", "GPU-H", "COST", "CHECKSUM"]
    row = {line.split()[0]: line.split()[-3:] for line in rows}
    assert row[runs["a"]] == ["a100", "3.00", "7.50"] and row[runs["c"]] == ["h100", "2.00", "8.00"]
    assert row[runs["b"]][-1] == "local"  # no GPU time, no cost: the cells stay empty


def test_runs_usage_sums_per_experiment_and_in_all(capsys, store_path: Path, runs: dict[str, str]) -> None:
    status, out, _ = cli(capsys, "runs", "usage", "--json", "--store", str(store_path))
    assert status == 0
    data = json.loads(out)
    per = {e["experiment"]: e for e in data["experiments"]}
    assert (per["sweep"]["runs"], per["sweep"]["gpu_hours"], per["sweep"]["cost"]) == (2, 3.0, 7.5)
    assert (per["bigger"]["runs"], per["bigger"]["gpu_hours"], per["bigger"]["cost"]) == (1, 2.0, 8.0)
    assert data["total"] == {"runs": 3, "cpu_seconds": 180.0, "gpu_seconds": 18000.0, "gpu_hours": 5.0,
                             "cost": 15.5}

    status, out, _ = cli(capsys, "runs", "usage", "--store", str(store_path))
    lines = [line.split() for line in out.splitlines()[2:]]
    assert lines == [["bigger", "1", "2.00", "8.00"], ["sweep", "2", "3.00", "7.50"], ["total", "3", "5.00", "15.50"]]

    status, out, _ = cli(capsys, "runs", "usage", "--experiment", "sweep", "--json", "--store", str(store_path))
    assert json.loads(out)["total"]["cost"] == 7.5
    status, _, err = cli(capsys, "runs", "usage", "--experiment", "nope", "--store", str(store_path))
    assert status != 0 and "no experiment 'nope'" in err


def test_a_rate_that_is_not_a_number_costs_nothing(store: Store) -> None:
    run = store.create_run("x", tags={"host": "odd", "cost_per_gpu_hour": "free"}, environment={})
    store.add_usage(run.id, gpu_seconds=3600)
    usage = run_usage(store.get_run(run.id))
    assert (usage.host, usage.gpu_hours, usage.rate, usage.cost) == ("odd", 1.0, 0.0, 0.0)
    sums, total = usage_sums([])
    assert sums == [] and (total.runs, total.cost) == (0, 0.0)


def test_runs_show_says_where_a_run_ran_and_what_it_cost(capsys, store_path: Path, runs: dict[str, str]) -> None:
    status, out, _ = cli(capsys, "runs", "show", runs["a"], "--store", str(store_path))
    assert status == 0 and "host a100; 3.00 GPU-h × 2.5 per GPU-hour = cost 7.50" in out
