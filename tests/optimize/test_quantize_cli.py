"""``neuralforge optimize`` as a user runs it: the before/after table (or JSON) of a new run, and one line on
stderr with exit status 1 for an unknown method or a run without checkpoints."""

from __future__ import annotations

import json

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store.sqlite_store import Store


def test_optimize_prints_the_before_after_table_and_json(trained, capsys):
    store = str(trained["store"])
    assert main(["optimize", trained["run"], "--method", "quantize-static-int8", "--calibration-samples", "64",
                 "--latency-runs", "5", "--store", store]) == 0
    captured = capsys.readouterr()
    assert f"optimising run {trained['run']} with quantize-static-int8" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith(f"quantize-static-int8: run {trained['run']} → new run ")
    assert lines[1].split() == ["before", "after", "change"]
    assert lines[2].lstrip().startswith("validation accuracy") and lines[2].endswith("points")
    assert lines[3].lstrip().startswith("size on disk") and "×0.2" in lines[3]
    assert "latency, batch 1 (onnxruntime)" in lines[6] and lines[6].count(" ms") == 2

    assert main(["optimize", trained["run"], "--method", "fp16", "--latency-runs", "3", "--json",
                 "--store", store]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parent_run"] == trained["run"] and report["method"] == "fp16"
    assert set(report["before"]) >= {"accuracy", "size_bytes", "params", "macs", "latency_ms"}
    assert 0.45 < report["change"]["size_ratio"] < 0.55
    with Store(trained["store"]) as opened:
        children = opened.list_runs(tags={"parent_run": trained["run"]})
    # other tests of the session optimise the same run: these two are among its children
    assert {"fp16", "quantize-static-int8"} <= {r.tags["optimization"] for r in children}
    assert report["run_id"] in {r.id for r in children}
    assert main(["runs", "show", report["run_id"], "--store", store]) == 0
    assert f"  fp16 of run {trained['run']}\n" in capsys.readouterr().out


def test_bad_requests_are_one_line_and_status_1(trained, capsys):
    store = str(trained["store"])
    assert main(["optimize", trained["run"], "--method", "int3", "--store", store]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuralforge: unknown optimisation method 'int3'; the methods are quantize-dynamic-int8")
    assert len(err.splitlines()) == 1

    assert main(["optimize", trained["untrained"], "--method", "fp16", "--store", store]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"neuralforge: run {trained['untrained']} (running) has no checkpoint")

    assert main(["optimize", trained["run"], "--method", "fp16", "--runtime", "coreml", "--store", store]) == 1
    assert "runtime must be one of onnxruntime, litert, got 'coreml'" in capsys.readouterr().err
