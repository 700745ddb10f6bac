"""``neuralforge runs list --json`` and ``--jsonl``: every field of ``runs show --json``, streamed a page at a time
with params and environment copied from the store's JSON text; ``--limit`` keeps its default of 50."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.store.synthetic import add_runs


def run(capsys: Any, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().out


def test_jsonl_streams_one_object_per_run_with_what_show_prints(capsys: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    with Store(db) as store:
        ids = add_runs(store, 120, seed=1)
        odd = store.create_run("odd", "odd-one", params={"lr": 1e-3, "note": "naïve \"quoted\"", "amp": True,
                                                          "scheduler": None, "nan": math.nan, "sizes": [1, 2]},
                               tags={"host": "a100", "cost_per_gpu_hour": "2.5", "ünï": "côde"},
                               environment={"python": "3.12"})
        store.log_series(odd.id, "val/acc", [1, 2], [0.5, math.nan])
        store.log_series(odd.id, "train/loss", [1, 2], [math.inf, -math.inf])  # spelt as json.dumps does
        store.add_usage(odd.id, gpu_seconds=3600)
        store.set_status(odd.id, "finished")

    status, out = run(capsys, "runs", "list", "--jsonl", "--limit", "1000", "--store", db)
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 121
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [odd.id, *ids[::-1]]  # newest first

    status, shown = run(capsys, "runs", "show", odd.id, "--json", "--store", db)
    expected = json.loads(shown)
    del expected["artifacts"], expected["exports"]
    listed = records[0]
    assert math.isnan(listed["params"].pop("nan")) and math.isnan(expected["params"].pop("nan"))
    assert math.isnan(listed["metrics"]["val/acc"].pop("value"))
    assert math.isnan(expected["metrics"]["val/acc"].pop("value"))
    assert listed == expected
    assert listed["cost"] == 2.5 and listed["host"] == "a100" and listed["params"]["note"] == 'naïve "quoted"'

    status, whole = run(capsys, "runs", "list", "--json", "--limit", "1000", "--store", db)
    array = json.loads(whole)
    assert status == 0 and len(array) == 121
    assert json.dumps(array[1:], sort_keys=True) == json.dumps(records[1:], sort_keys=True)


def test_the_default_limit_stays_50(capsys: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    with Store(db) as store:
        add_runs(store, 60)
    assert len(run(capsys, "runs", "list", "--jsonl", "--store", db)[1].splitlines()) == 50
    assert len(json.loads(run(capsys, "runs", "list", "--json", "--store", db)[1])) == 50
    assert len(json.loads(run(capsys, "runs", "list", "--json", "--limit", "7", "--store", db)[1])) == 7


def test_an_empty_listing_is_an_empty_array_or_no_lines(capsys: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    Store(db).close()
    assert json.loads(run(capsys, "runs", "list", "--json", "--store", db)[1]) == []
    assert run(capsys, "runs", "list", "--jsonl", "--store", db)[1] == ""
