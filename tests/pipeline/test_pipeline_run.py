"""Real pipelines: a tiny digits MLP trained for one epoch on 200 examples, validated, exported to ONNX and
packaged; a pass condition that fails stops the pipeline, and a resume after fixing the file continues from the
failed stage without training again."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.serialize import dumps
from neuralforge_desktop.core.store.sqlite_store import Store

from training_graphs import digits_mlp

PIPELINE = """\
name: digits-release
stages:
  - name: train
    kind: train
    inputs: {graph: mlp.nfg, dataset: digits}
    options: {epochs: 1, limit: 200, batch_size: 32, device: cpu}
  - name: validate
    kind: validate
    inputs: {run: "${train.run_id}"}
    pass: ["val/acc >= 1.5"]
  - name: export
    kind: export
    inputs: {run: "${validate.run_id}"}
    options: {format: onnx}
    pass: ["size_mb <= 2"]
  - name: package
    kind: package
    inputs: {model: "${export.path}", run: "${train.run_id}"}
"""


def run_json(capsys, argv: list[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


@pytest.mark.slow
def test_a_failed_condition_stops_the_pipeline_and_a_resume_continues_without_training_again(
        tmp_path: Path, capsys) -> None:
    (tmp_path / "mlp.nfg").write_text(dumps(digits_mlp()), encoding="utf-8")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE, encoding="utf-8")
    store_path = tmp_path / "store.db"

    code, failed = run_json(capsys, ["pipeline", "run", str(pipeline), "--store", str(store_path)])
    assert code == 1 and failed["status"] == "failed"
    stages = {s["name"]: s for s in failed["stages"]}
    assert [s["status"] for s in failed["stages"]] == ["passed", "failed", "pending", "pending"]
    train, validate = stages["train"], stages["validate"]
    assert train["started"] <= train["ended"] and train["outputs"]["run_id"]
    accuracy = validate["outputs"]["val/acc"]
    assert 0.0 <= accuracy <= 1.0 and validate["outputs"]["examples"] == 20  # 10 % of 200 kept out
    assert accuracy == pytest.approx(train["outputs"]["val/acc"])  # the same split training validated on
    assert validate["checks"] == [{"condition": "val/acc >= 1.5", "output": "val/acc", "actual": accuracy,
                                   "passed": False}]
    assert validate["message"] == f"pass condition val/acc >= 1.5 failed: val/acc = {accuracy:.6g}"
    assert "stage 'validate' failed" in failed["message"]

    pipeline.write_text(PIPELINE.replace("val/acc >= 1.5", "val/acc >= 0"), encoding="utf-8")
    code, passed = run_json(capsys, ["pipeline", "run", str(pipeline), "--resume", "--store", str(store_path)])
    assert code == 0 and passed["status"] == "passed" and passed["resumed_from"] == failed["id"]
    stages = {s["name"]: s for s in passed["stages"]}
    assert [s["status"] for s in passed["stages"]] == ["passed"] * 4
    assert stages["train"]["reused_from"] == failed["id"]  # taken over, not trained again …
    assert stages["train"]["outputs"]["run_id"] == train["outputs"]["run_id"]
    assert stages["validate"]["reused_from"] is None
    with Store(store_path) as store:
        assert len(store.list_runs()) == 1  # … so the store holds the one training run
        artifacts = {a.name for a in store.list_artifacts(train["outputs"]["run_id"])}
    assert "exports/digits-mlp.onnx" in artifacts  # the exporter recorded its file with the run

    export = stages["export"]["outputs"]
    assert export["format"] == "onnx" and export["verification"] == "parity" and export["max_abs_diff"] < 1e-4
    assert Path(export["path"]).is_file() and export["size_mb"] <= 2 and export["latency_ms"] > 0

    package = Path(stages["package"]["outputs"]["path"])
    metadata = json.loads((package / "metadata.json").read_text(encoding="utf-8"))
    assert set(metadata["files"]) == {"digits-mlp.onnx", "graph.nfg"}
    for name, entry in metadata["files"].items():
        data = (package / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
    assert metadata["run"]["id"] == train["outputs"]["run_id"] and "val/acc" in metadata["run"]["metrics"]
    assert metadata["pipeline"]["id"] == passed["id"]
    with zipfile.ZipFile(stages["package"]["outputs"]["zip"]) as archive:
        assert sorted(archive.namelist()) == [f"{package.name}/{n}" for n in
                                              ("digits-mlp.onnx", "graph.nfg", "metadata.json")]
    assert not [p for p in package.parent.iterdir() if p.name.startswith(".")]  # no staging folder left

    capsys.readouterr()
    assert main(["pipeline", "status", "--store", str(store_path)]) == 0
    shown = capsys.readouterr().out
    assert f"run {passed['id']}: PASSED (continues run {failed['id']})" in shown and "passed (reused)" in shown
    code, listed = run_json(capsys, ["pipeline", "list", "--store", str(store_path)])
    assert [r["id"] for r in listed] == [passed["id"], failed["id"]]
    assert os.path.commonpath([passed["work_dir"], str(tmp_path)]) == str(tmp_path)


DEPLOY_PIPELINE = """\
name: digits-deploy
stages:
  - name: train
    kind: train
    inputs: {graph: mlp.nfg, dataset: digits}
    options: {epochs: 1, limit: 200, batch_size: 32, device: cpu}
  - name: optimise
    kind: optimise
    inputs: {run: "${train.run_id}"}
    options: {method: quantize-static-int8, calibration_samples: 32, latency_runs: 3}
    pass: ["after/size_bytes > 0"]
  - name: register
    kind: register
    inputs: {run: "${optimise.run_id}"}
    options: {name: digits}
  - name: serve
    kind: serve
    inputs: {model: "${register.ref}"}
    options: {cpus: 2, sample_rate: 1}
"""


@pytest.mark.slow
def test_a_pipeline_optimises_registers_and_serves_the_quantised_model(tmp_path: Path, capsys, monkeypatch) -> None:
    import shutil
    import signal
    import tempfile
    import urllib.request

    from neuralforge_desktop.core import registry

    (tmp_path / "mlp.nfg").write_text(dumps(digits_mlp()), encoding="utf-8")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(DEPLOY_PIPELINE, encoding="utf-8")
    store_path = tmp_path / "store.db"
    cache = tempfile.mkdtemp(prefix="nfp", dir="/tmp")  # Ray's temporary folder goes under it: short on purpose
    monkeypatch.setenv("XDG_CACHE_HOME", cache)
    code, done = run_json(capsys, ["pipeline", "run", str(pipeline), "--store", str(store_path)])
    stages = {s["name"]: s for s in done["stages"]}
    serve = stages["serve"]["outputs"]
    try:
        assert code == 0, done["message"]
        optimised = stages["optimise"]["outputs"]
        assert optimised["parent_run"] == stages["train"]["outputs"]["run_id"]
        assert optimised["method"] == "quantize-static-int8" and optimised["run_id"] != optimised["parent_run"]
        assert stages["register"]["outputs"]["ref"] == "digits@1"
        with Store(store_path) as store:
            version = registry.resolve(store, "digits@1")
            run = store.get_run(optimised["run_id"])
            model = store.artifact_path(run.id, run.tags["optimized_model"])
        assert version.run_id == optimised["run_id"]
        assert version.onnx_path.read_bytes() == model.read_bytes()  # the quantised file is what is served
        request = urllib.request.Request(serve["predict_url"], method="POST",
                                         data=json.dumps({"instances": [[[[0.0] * 8] * 8]]}).encode())
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert answer["model_version"] == "1" and len(answer["predictions"][0]) == 10
    finally:
        if serve.get("pid"):  # the server was started detached by this process: stop it and wait for it
            os.killpg(int(serve["pid"]), signal.SIGTERM)
            os.waitpid(int(serve["pid"]), 0)
        shutil.rmtree(cache, ignore_errors=True)
