"""Run a pipeline file's stages in order, recording each stage's status, times, outputs, artifacts and failure in
the store as it goes (a view polling the store shows it live).

Resuming. Every stage has a fingerprint: its own definition hashed with every earlier stage's (and a train
stage's graph file). A run continues an earlier failed run of the same file by reusing, from the top, each
stage that passed there and whose fingerprint is unchanged, and running the rest: after fixing a pass condition
of the validate stage, training is not repeated; after editing the train stage, everything is. This happens on
its own when the file is unchanged since the failed run, and with ``resume="always"`` (``--resume``) after an
edit.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.pipeline.context import StageContext, StageResult, resolve
from neuralforge_desktop.core.pipeline.deploy_stages import run_optimise, run_register, run_serve
from neuralforge_desktop.core.pipeline.spec import PipelineSpec, StageSpec
from neuralforge_desktop.core.pipeline.stages import run_export, run_package, run_train, run_validate
from neuralforge_desktop.core.store.pipelines import PipelineRun, StageRecord, new_pipeline_id

Resume = Literal["auto", "always", "never"]
StageFunction = Callable[[StageContext], StageResult]
STAGE_FUNCTIONS: dict[str, StageFunction] = {
    "train": run_train, "validate": run_validate, "optimise": run_optimise, "export": run_export,
    "package": run_package, "register": run_register, "serve": run_serve}
INTERRUPTED = "interrupted (Ctrl+C or the pipeline process was stopped)"


def pipelines_root(store_path: str | Path) -> Path:
    """Where pipeline runs write (beside the store, as runs/ is)."""
    from neuralforge_desktop.core.store.location import files_folder

    return files_folder(store_path) / "pipelines"


def earlier_run(spec: PipelineSpec, store: Any, resume: Resume) -> PipelineRun | None:
    """The failed run of this file to continue, or None to start afresh; refuses to start while another run of
    the same file is still going."""
    store.mark_dead_pipeline_runs()
    runs = store.list_pipeline_runs(file=str(spec.file), limit=1)
    latest = runs[0] if runs else None
    if latest is not None and latest.status == "running":
        raise UserError(f"pipeline run {latest.id} of {spec.file} is still running (pid {latest.pid}); wait for it "
                        f"or stop it first")
    if resume == "never":
        return None
    if resume == "always":
        if latest is None:
            raise UserError(f"--resume: {spec.file} has not been run yet, so there is nothing to resume")
        if latest.status != "failed":
            raise UserError(f"--resume: the last run of {spec.file} ({latest.id}) {latest.status}; there is nothing "
                            f"to resume (run it without --resume to run it again)")
        return latest
    if latest is not None and latest.status == "failed" and latest.content_sha256 == spec.content_sha256:
        return latest
    return None


def reusable(spec: PipelineSpec, previous: PipelineRun | None) -> dict[int, StageRecord]:
    """The earlier run's stages this run takes over: from the top, while each passed (or was skipped) with the
    same fingerprint."""
    taken: dict[int, StageRecord] = {}
    if previous is None:
        return taken
    for position, stage in enumerate(spec.stages):
        if position >= len(previous.stages):
            break
        record = previous.stages[position]
        if record.fingerprint != stage.fingerprint or record.status not in ("passed", "skipped"):
            break
        taken[position] = record
    return taken


def run_pipeline(spec: PipelineSpec, store: Any, *, resume: Resume = "auto",
                 say: Callable[[str], None] = lambda text: None) -> PipelineRun:
    """Run ``spec``'s stages in order and return the finished record; stops at the first stage that fails (its
    error, or a pass condition that does not hold). ``say`` is told what happens, a line at a time."""
    previous = earlier_run(spec, store, resume)
    taken = reusable(spec, previous)
    pipeline_id = new_pipeline_id()
    work_dir = pipelines_root(store.path) / pipeline_id
    work_dir.mkdir(parents=True, exist_ok=True)
    store.create_pipeline_run(
        name=spec.name, file=str(spec.file), content_sha256=spec.content_sha256, spec=spec.data,
        work_dir=str(work_dir), stages=[(s.name, s.kind, s.fingerprint) for s in spec.stages],
        resumed_from=previous.id if previous is not None else None, pipeline_id=pipeline_id)
    if previous is not None:
        say(f"pipeline {spec.name}: run {pipeline_id}, continuing run {previous.id} "
            f"({len(taken)} of {len(spec.stages)} stage(s) reused)")
    else:
        say(f"pipeline {spec.name}: run {pipeline_id}")
    outputs: dict[str, dict[str, Any]] = {}
    for position, stage in enumerate(spec.stages):
        if stage.skip:
            store.update_stage(pipeline_id, position, status="skipped")
            say(f"  {stage.name} ({stage.kind}): skipped")
            continue
        if position in taken:
            old = taken[position]
            store.update_stage(pipeline_id, position, status=old.status, started=old.started, ended=old.ended,
                               outputs=old.outputs, artifacts=old.artifacts, checks=old.checks,
                               reused_from=old.reused_from or (previous.id if previous else None))
            outputs[stage.name] = old.outputs
            say(f"  {stage.name} ({stage.kind}): reused from run {old.reused_from or (previous and previous.id)}")
            continue
        failure = _run_stage(spec, store, pipeline_id, position, stage, outputs, work_dir, say)
        if failure is not None:
            store.finish_pipeline_run(pipeline_id, "failed", f"stage '{stage.name}' failed: {failure}")
            say(f"pipeline {spec.name} failed at stage '{stage.name}'; fix it and run again with --resume")
            return store.get_pipeline_run(pipeline_id)
    store.finish_pipeline_run(pipeline_id, "passed")
    say(f"pipeline {spec.name} passed (run {pipeline_id})")
    return store.get_pipeline_run(pipeline_id)


def _run_stage(spec: PipelineSpec, store: Any, pipeline_id: str, position: int, stage: StageSpec,
               outputs: dict[str, dict[str, Any]], work_dir: Path, say: Callable[[str], None]) -> str | None:
    """Run one stage and record how it went; the failure message, or None when it passed."""
    started = time.time()
    store.update_stage(pipeline_id, position, status="running", started=started)
    say(f"  {stage.name} ({stage.kind}): running")
    stage_dir = work_dir / f"{position + 1:02d}-{stage.name}"
    stage_dir.mkdir(parents=True, exist_ok=True)
    try:
        context = StageContext(spec, pipeline_id, stage, resolve(stage, stage.inputs, outputs),
                               resolve(stage, stage.options, outputs), store, stage_dir,
                               lambda text: say(f"    {text}"))
        result = STAGE_FUNCTIONS[stage.kind](context)
    except KeyboardInterrupt:
        _fail(store, pipeline_id, position, INTERRUPTED, [])
        store.finish_pipeline_run(pipeline_id, "failed", f"stage '{stage.name}' was {INTERRUPTED}")
        raise
    except UserError as exc:
        return _fail(store, pipeline_id, position, str(exc), [], say, stage)
    except Exception as exc:  # a bug: recorded with its traceback in the stage's folder, the pipeline stops
        log = stage_dir / "error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        return _fail(store, pipeline_id, position, f"internal error: {type(exc).__name__}: {exc} (traceback: {log})",
                     [], say, stage)
    checks = [condition.check(result.outputs) for condition in stage.conditions]
    failed = [c for c in checks if not c["passed"]]
    store.update_stage(pipeline_id, position, outputs=result.outputs, artifacts=result.artifacts, checks=checks)
    outputs[stage.name] = result.outputs
    if failed:
        return _fail(store, pipeline_id, position, "; ".join(condition_text(c) for c in failed), checks, say, stage)
    store.update_stage(pipeline_id, position, status="passed", ended=time.time())
    say(f"  {stage.name} ({stage.kind}): passed in {time.time() - started:.1f} s"
        + "".join(f"; {condition_text(c)}" for c in checks))
    return None


def condition_text(check: dict[str, Any]) -> str:
    """``val/acc >= 0.9 failed: val/acc = 0.8412`` (or passed), or why it could not be checked."""
    verdict = "passed" if check["passed"] else "failed"
    if check.get("reason"):
        return f"pass condition {check['condition']} {verdict}: {check['output']}: {check['reason']}"
    actual = check["actual"]
    shown = f"{actual:.6g}" if isinstance(actual, float) else str(actual)
    return f"pass condition {check['condition']} {verdict}: {check['output']} = {shown}"


def _fail(store: Any, pipeline_id: str, position: int, message: str, checks: list[dict[str, Any]],
          say: Callable[[str], None] | None = None, stage: StageSpec | None = None) -> str:
    store.update_stage(pipeline_id, position, status="failed", ended=time.time(), message=message,
                       **({"checks": checks} if checks else {}))
    if say is not None and stage is not None:
        say(f"  {stage.name} ({stage.kind}): FAILED: {message}")
    return message
