"""Pipeline runs in the store, and which earlier run a new one continues (no training: records made directly)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.pipeline.runner import earlier_run, reusable
from neuralforge_desktop.core.pipeline.spec import PipelineSpec, load_pipeline
from neuralforge_desktop.core.store.entities import NotFoundError
from neuralforge_desktop.core.store.pipelines import DIED_MESSAGE
from neuralforge_desktop.core.store.sqlite_store import Store

TEXT = """\
stages:
  - {name: train, kind: train, inputs: {graph: "zoo:mnist-cnn", dataset: digits}}
  - {name: validate, kind: validate, inputs: {run: "${train.run_id}"}, pass: ["val/acc >= 0.9"]}
  - {name: export, kind: export, inputs: {run: "${train.run_id}"}}
"""


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "store.db") as s:
        yield s


def spec_of(tmp_path: Path, text: str = TEXT) -> PipelineSpec:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return load_pipeline(path)


def record(store: Store, spec: PipelineSpec, statuses: list[str], ended: str = "failed") -> str:
    run = store.create_pipeline_run(name=spec.name, file=str(spec.file), content_sha256=spec.content_sha256,
                                    spec=spec.data, work_dir="/nowhere",
                                    stages=[(s.name, s.kind, s.fingerprint) for s in spec.stages])
    for position, status in enumerate(statuses):
        store.update_stage(run.id, position, status=status, started=1.0, ended=2.0,
                           outputs={"run_id": "r1"} if status == "passed" else {})
    store.finish_pipeline_run(run.id, ended)  # type: ignore[arg-type]
    return run.id


def test_stage_records_round_trip_and_ids_may_be_shortened(store: Store, tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    pipeline_id = record(store, spec, ["passed", "failed", "pending"])
    store.update_stage(pipeline_id, 1, message="pass condition val/acc >= 0.9 failed: val/acc = 0.5",
                       checks=[{"condition": "val/acc >= 0.9", "actual": 0.5, "passed": False}])
    got = store.get_pipeline_run(pipeline_id[:5])
    assert got.id == pipeline_id and got.status == "failed" and got.ended is not None
    assert [(s.name, s.kind, s.status) for s in got.stages] == [("train", "train", "passed"),
                                                                 ("validate", "validate", "failed"),
                                                                 ("export", "export", "pending")]
    assert got.stage("validate").checks[0]["actual"] == 0.5 and got.stage("train").outputs == {"run_id": "r1"}
    assert got.stage("train").seconds == 1.0
    with pytest.raises(NotFoundError, match="no pipeline run 'zzz'"):
        store.get_pipeline_run("zzz")
    with pytest.raises(NotFoundError, match="has no stage 7"):
        store.update_stage(pipeline_id, 7, status="passed")


def test_an_unchanged_file_continues_its_failed_run_on_its_own(store: Store, tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    assert earlier_run(spec, store, "auto") is None
    failed = record(store, spec, ["passed", "failed", "pending"])
    previous = earlier_run(spec, store, "auto")
    assert previous is not None and previous.id == failed
    assert list(reusable(spec, previous)) == [0]  # train is reused; validate runs again
    assert earlier_run(spec, store, "never") is None


def test_an_edited_file_continues_only_with_resume_and_only_its_unchanged_stages(store: Store,
                                                                                  tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    record(store, spec, ["passed", "failed", "pending"])
    fixed = spec_of(tmp_path, TEXT.replace("0.9", "0.5"))
    assert earlier_run(fixed, store, "auto") is None
    previous = earlier_run(fixed, store, "always")
    assert previous is not None and list(reusable(fixed, previous)) == [0]
    retrained = spec_of(tmp_path, TEXT.replace('dataset: digits}', 'dataset: digits}, options: {epochs: 2}', 1))
    assert reusable(retrained, earlier_run(retrained, store, "always")) == {}  # the first stage changed


def test_resume_is_refused_when_there_is_nothing_to_resume(store: Store, tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    with pytest.raises(UserError, match="has not been run yet"):
        earlier_run(spec, store, "always")
    record(store, spec, ["passed", "passed", "passed"], ended="passed")
    with pytest.raises(UserError, match="passed; there is nothing to resume"):
        earlier_run(spec, store, "always")
    assert earlier_run(spec, store, "auto") is None  # a passed run is run again from the start


def test_a_run_whose_process_died_is_marked_failed_and_a_live_one_blocks_another(store: Store,
                                                                                 tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    live = store.create_pipeline_run(name=spec.name, file=str(spec.file), content_sha256=spec.content_sha256,
                                     spec=spec.data, work_dir="/nowhere", stages=[("train", "train", "f")])
    with pytest.raises(UserError, match=f"pipeline run {live.id} of .* is still running"):
        earlier_run(spec, store, "auto")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with store._db.write() as conn:  # as if a process that has since ended had started it
        conn.execute("UPDATE pipeline_runs SET pid = ?, process_start = NULL WHERE id = ?", (dead.pid, live.id))
    store.update_stage(live.id, 0, status="running", started=1.0)
    assert store.mark_dead_pipeline_runs() == [live.id]
    got = store.get_pipeline_run(live.id)
    assert got.status == "failed" and got.message == DIED_MESSAGE
    assert got.stages[0].status == "failed" and got.stages[0].message == DIED_MESSAGE
