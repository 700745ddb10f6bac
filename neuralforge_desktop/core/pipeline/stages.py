"""The stages that run NeuralForge's own engines: train (the training worker), validate (the training code's
evaluation of a run's best checkpoint), export (the export worker, verified against torch) and package (a
deployable folder and zip). Each takes a :class:`.context.StageContext` and returns a :class:`.context.StageResult`
or raises :class:`.context.StageFailure` naming what went wrong."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.pipeline.context import StageContext, StageFailure, StageResult

PACKAGE_FORMAT = "neuralforge-package/1"
TRAIN_SETTINGS = ("epochs", "batch_size", "lr", "optimizer", "schedule", "weight_decay", "seed", "limit",
                  "val_fraction", "device", "dataset_options", "diagnostics")


def _megabytes(size: int) -> float:
    return round(size / 2**20, 4)


def run_folder(store: Any, run_id: str) -> Path:
    from neuralforge_desktop.core.store.entities import NotFoundError
    from neuralforge_desktop.core.training.runner import runs_root

    try:
        run = store.get_run(str(run_id))
    except NotFoundError:
        raise StageFailure(f"no run {run_id!r} in {store.path}") from None
    return runs_root(Path(store.path)) / run.id


def run_graph(store: Any, run_id: str) -> Any:
    """The graph a run trained (its folder's graph.nfg)."""
    from neuralforge_desktop.core.ir.serialize import loads

    path = run_folder(store, run_id) / "graph.nfg"
    try:
        return loads(path.read_bytes(), source=str(path))
    except OSError as exc:
        raise StageFailure(f"run {run_id}: cannot read its graph {path}: {exc.strerror or exc}") from None


def latest_metrics(store: Any, run_id: str) -> dict[str, float]:
    return {name: m.value for name, m in store.latest_metrics(run_id).items() if m.value is not None}


# -- train ---------------------------------------------------------------------------------------------------
def _load_graph(ctx: StageContext) -> Any:
    text = str(ctx.inputs["graph"])
    if text.startswith("zoo:"):
        from neuralforge_desktop.core import zoo

        try:
            return zoo.build(text[4:])
        except KeyError:
            raise StageFailure(f"key 'inputs.graph': no zoo model {text[4:]!r} (see `neuralforge zoo list`)") from None
    from neuralforge_desktop.core.ir.serialize import loads

    path = ctx.path_input("graph")
    try:
        return loads(path.read_bytes(), source=str(path))
    except OSError as exc:
        raise StageFailure(f"key 'inputs.graph': cannot read {path}: {exc.strerror or exc}") from None


def run_train(ctx: StageContext) -> StageResult:
    from neuralforge_desktop.core.training.config import ConfigError, TrainConfig
    from neuralforge_desktop.core.training.events import FailedEvent, FinishedEvent
    from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

    graph = _load_graph(ctx)
    settings = {k: ctx.options[k] for k in TRAIN_SETTINGS if ctx.options.get(k) is not None}
    dataset = str(ctx.inputs["dataset"])
    if not dataset.startswith("/") and (ctx.pipeline.base_dir / dataset).exists():
        dataset = str(ctx.pipeline.base_dir / dataset)  # a dataset folder beside the pipeline file
    try:
        config = TrainConfig(dataset=dataset, **settings).validate()
    except ConfigError as exc:
        setting, _, why = str(exc).partition(": ")
        raise StageFailure(f"key 'options.{setting}': {why}") from None
    tags = {"pipeline": ctx.pipeline_id, "pipeline_stage": ctx.stage.name}
    run_id, folder = prepare_run(graph, config, ctx.store, str(ctx.options["experiment"]),
                                 ctx.options.get("run_name"), tags=tags)
    ctx.say(f"run {run_id}: training {graph.name} on {dataset} ({config.epochs} epoch(s)) in a worker process")
    process = TrainingProcess(folder).start()
    final = None
    try:
        for event in process.events():
            if event.TERMINAL:
                final = event
    except BaseException:  # the pipeline was stopped: so is its training, and the run says why
        process.kill()
        process.wait()
        ctx.store.set_status(run_id, "stopped", reason="the pipeline running it was interrupted")
        raise
    code = process.wait()
    if final is None:
        if ctx.store.get_run(run_id).status in ("running", "paused"):
            ctx.store.set_status(run_id, "crashed")
        raise StageFailure(f"run {run_id}: the training worker exited ({code}) without finishing\n"
                           f"{process.stderr_tail()}")
    if isinstance(final, FailedEvent):
        raise StageFailure(f"run {run_id} failed: {final.error}")
    outputs: dict[str, Any] = {"run_id": run_id, "run_dir": str(folder), "graph": str(folder / "graph.nfg"),
                               **latest_metrics(ctx.store, run_id)}
    if isinstance(final, FinishedEvent):
        outputs.update({"best": final.best, "best_epoch": final.best_epoch, "epochs": final.epochs})
    return StageResult(outputs, [str(folder / "graph.nfg")])


# -- validate ------------------------------------------------------------------------------------------------
def run_validate(ctx: StageContext) -> StageResult:
    """The run's best checkpoint (its latest when there is no best), evaluated on its validation split: the
    dataset loaded with the run's own settings (seed, fraction, limit), so it is the split training kept out."""
    from neuralforge_desktop.core.exporters.source import resolve_source
    from neuralforge_desktop.core.training.checkpoints import load_checkpoint
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.evaluation import validation_metrics
    from neuralforge_desktop.core.training.parts import build_parts

    run_id = str(ctx.inputs["run"])
    folder = run_folder(ctx.store, run_id)
    graph = run_graph(ctx.store, run_id)
    source = resolve_source(run_id=run_id, store=ctx.store.path)
    assert source.path is not None
    try:
        saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        config = TrainConfig.from_json({**saved, "device": ctx.options["device"], "diagnostics": "off",
                                        "procs": None, "init": None})
    except (OSError, ValueError) as exc:
        raise StageFailure(f"run {run_id}: cannot read its training settings {folder / 'config.json'}: {exc}") from None
    ctx.say(f"evaluating run {run_id} ({source.description}) on the validation split of {config.dataset}")
    parts = build_parts(graph, config)
    if parts.y_val is None:
        raise StageFailure(f"run {run_id} has no validation split (val_fraction {config.val_fraction}): there is "
                           "nothing to validate on")
    load_checkpoint(source.path.parent, source.path.stem, parts.model, parts.device)
    metrics = validation_metrics(parts)
    outputs: dict[str, Any] = {"run_id": run_id, "examples": len(parts.y_val), "checkpoint": str(source.path),
                               **{f"val/{k}": v for k, v in metrics.items()}}
    return StageResult(outputs)


# -- export --------------------------------------------------------------------------------------------------
def run_export(ctx: StageContext) -> StageResult:
    from neuralforge_desktop.core.exporters.base import ExportError
    from neuralforge_desktop.core.exporters.pipeline import ExportRequest
    from neuralforge_desktop.core.exporters.process import ExportProcess
    from neuralforge_desktop.core.exporters.registry import get_format

    run_id = str(ctx.inputs["run"])
    graph = run_graph(ctx.store, run_id)
    try:
        fmt = get_format(str(ctx.options["format"]))
    except UserError as exc:
        raise StageFailure(f"key 'options.format': {exc}") from None
    name = ctx.options.get("file_name") or f"{graph.name or 'model'}{fmt.suffix}"
    output = ctx.work_dir / Path(str(name)).name
    request = ExportRequest(graph=graph, format=fmt.name, output=output, precision=str(ctx.options["precision"]),
                            run_id=run_id, store=Path(ctx.store.path), verify=bool(ctx.options["verify"]))
    ctx.say(f"exporting run {run_id} to {fmt.title} {request.precision} in a worker process")
    process = ExportProcess(request).start()
    last: dict[str, Any] = {}
    try:
        for event in process.events():
            if event.get("event") != "progress":
                last = event
    except BaseException:
        process.kill()
        raise
    if last.get("event") != "result":
        raise ExportError(str(last.get("error") or "the export ended without a result")
                          + (f"\n{last['stderr']}" if last.get("stderr") else ""))
    report = last["report"]
    parity = report.get("parity") or []
    latency: dict[int, dict[str, Any]] = {m["batch"]: m for m in report.get("latency") or []
                                          if m.get("export_ms") is not None}
    timed: dict[str, Any] = latency.get(1) or next(iter(latency.values()), {})
    outputs: dict[str, Any] = {
        "path": str(output), "format": fmt.name, "precision": request.precision, "run_id": run_id,
        "size_bytes": report["size_bytes"], "size_mb": _megabytes(report["size_bytes"]),
        "verification": report["verification"],
        "max_abs_diff": max((p["max_abs"] for p in parity), default=None),
        "latency_ms": timed.get("export_ms"),  # batch 1 where it was timed
    }
    return StageResult(outputs, [str(output)])


# -- package -------------------------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_package(ctx: StageContext) -> StageResult:
    """A folder holding the model file, the graph and ``metadata.json`` (every file's SHA-256 and size, the run,
    its metrics, the pipeline), built in a temporary folder beside it and renamed into place, so a reader finds a
    complete package or none; then its zip, written atomically too."""
    from neuralforge_desktop import __version__
    from neuralforge_desktop.core.exporters.record import zip_folder
    from neuralforge_desktop.core.ir.atomic import write_bytes_atomic, write_text_atomic

    model = ctx.path_input("model")
    if not model.exists():
        raise StageFailure(f"key 'inputs.model': no such model file {model}")
    run_id = ctx.inputs.get("run")
    name = str(ctx.options.get("name") or model.stem)
    target = ctx.work_dir / Path(name).name
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=ctx.work_dir))
    try:
        staging.chmod(0o755)  # mkdtemp's folder is private; a package is for others to deploy
        copied = staging / model.name
        (shutil.copytree if model.is_dir() else shutil.copyfile)(model, copied)
        metadata: dict[str, Any] = {"format": PACKAGE_FORMAT, "name": name, "created": time.time(),
                                    "neuralforge": __version__, "model": model.name,
                                    "pipeline": {"id": ctx.pipeline_id, "name": ctx.pipeline.name,
                                                 "file": str(ctx.pipeline.file), "stage": ctx.stage.name}}
        if run_id is not None:
            run = ctx.store.get_run(str(run_id))
            shutil.copyfile(run_folder(ctx.store, run.id) / "graph.nfg", staging / "graph.nfg")
            metadata["run"] = {"id": run.id, "name": run.name, "checksum": run.checksum,
                               "graph_sha256": run.graph_sha256, "metrics": latest_metrics(ctx.store, run.id)}
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        metadata["files"] = {p.relative_to(staging).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                             for p in files}
        write_text_atomic(staging / "metadata.json", json.dumps(metadata, indent=2))
        if target.exists():  # a stage run again in the same folder: the new package replaces the old whole
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    listed: dict[str, dict[str, Any]] = metadata["files"]
    outputs: dict[str, Any] = {"path": str(target), "model": str(target / model.name),
                               "size_mb": _megabytes(sum(f["bytes"] for f in listed.values())),
                               "files": len(listed) + 1}
    artifacts = [str(target)]
    if ctx.options["zip"]:
        archive = target.with_name(target.name + ".zip")
        write_bytes_atomic(archive, zip_folder(target))
        archive.chmod(0o644)
        outputs.update({"zip": str(archive), "zip_sha256": sha256_file(archive)})
        artifacts.append(str(archive))
    return StageResult(outputs, artifacts)
