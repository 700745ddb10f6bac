"""``neuralforge train`` and ``neuralforge resume``: training runs in a worker process; this process shows
progress (or passes the JSON events through with --json) and steers it (Ctrl+C stops with a checkpoint)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import plural
from neuralforge_desktop.cli.graph_source import CliError, load_graph_arg
from neuralforge_desktop.core.training.events import (
    CoachEvent,
    EpochEvent,
    Event,
    FailedEvent,
    FinishedEvent,
    LogEvent,
    PausedEvent,
    ResumedEvent,
    StartedEvent,
    StepEvent,
    encode_event,
)


def add_store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", type=opt.non_empty, metavar="PATH",
                        help="experiment store: an SQLite file (default: the user data dir) or a team store, "
                        "postgresql://USER@HOST:PORT/DBNAME")


def open_store(path: str | None) -> Any:
    from neuralforge_desktop.core.store.sqlite_store import Store

    return Store(path)


def find_run(store: Any, run_id: str) -> Any:
    """The run, after marking runs whose process died as crashed; a one-line error when there is none."""
    from neuralforge_desktop.core.store.entities import NotFoundError

    store.mark_crashed_runs()
    try:
        return store.get_run(run_id)
    except NotFoundError:
        raise CliError(f"no run {run_id!r} in {store.path}") from None


def add_trust_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust-code", action="store_true",
                        help="allow metrics given as module:function, which import and run that module's code")


def check_code(metrics: list[str], trust_code: bool) -> None:
    """Refuse code metrics without --trust-code; with it, say what will run."""
    from neuralforge_desktop.core.training.metrics import check_metrics

    for module in check_metrics(metrics, trust_code):
        print(f"warning: running code from {module}: only do this for code you trust", file=sys.stderr)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a graph on a dataset",
                       description="Train GRAPH (a .nfg file or zoo:NAME) on a dataset in a worker process, "
                       "record the run in the experiment store, and print the run id and best validation "
                       "accuracy. Ctrl+C stops after a checkpoint; `neuralforge resume RUN` continues.")
    p.add_argument("graph", metavar="GRAPH", type=opt.non_empty)
    p.add_argument("--dataset", required=True, type=opt.non_empty, metavar="NAME|PATH",
                   help="built-in name or a path (see `neuralforge datasets list`)")
    add_config_args(p)
    p.add_argument("--init", metavar="FILE.safetensors", type=opt.non_empty,
                   help="start from these weights (e.g. the OUT.safetensors `neuralforge import` wrote), loaded "
                   "strictly: every tensor of the model, none missing, none extra")
    p.add_argument("--parent", metavar="RUN", type=opt.non_empty,
                   help="the run this one retrains (recorded as the tag parent_run, e.g. after a Coach fix)")
    p.add_argument("--coach-fix", metavar="ACTION", type=opt.non_empty,
                   help="the Coach fix applied before this retrain (recorded as the tag coach_fix; with --parent)")
    p.add_argument("--coach-finding", metavar="KIND", type=opt.non_empty,
                   help="the Coach finding that fix addressed (recorded as the tag coach_finding; with --coach-fix)")
    parallel = p.add_mutually_exclusive_group()
    parallel.add_argument("--procs", type=opt.positive_int, metavar="N",
                          help="data-parallel training in N processes (torchrun; gloo on CPU), each taking a share "
                          "of every batch")
    parallel.add_argument("--gpus", type=opt.positive_int, metavar="N",
                          help="data-parallel training on N GPUs (torchrun; NCCL), one process per GPU")
    p.add_argument("--experiment", default="default", type=opt.non_empty, metavar="NAME")
    p.add_argument("--name", metavar="RUN_NAME")
    p.add_argument("--json", action="store_true", help="print the worker's JSON events instead of progress")
    from neuralforge_desktop.cli import queue_cmd  # (it imports this module)

    queue_cmd.add_train_args(p)
    from neuralforge_desktop.cli import remote_train

    remote_train.add_train_args(p)
    add_store_arg(p)
    p.set_defaults(func=cmd_train)

    r = sub.add_parser("resume", help="continue a stopped or crashed run from its last checkpoint",
                       description="Continue RUN from its last checkpoint, in a new worker process.")
    r.add_argument("run", metavar="RUN", type=opt.non_empty)
    r.add_argument("--json", action="store_true")
    add_trust_arg(r)
    add_store_arg(r)
    r.set_defaults(func=cmd_resume)


def add_config_args(p: argparse.ArgumentParser) -> None:
    """The options that make a run's TrainConfig (``train``'s, and ``sweep``'s fixed settings)."""
    p.add_argument("--epochs", type=opt.positive_int, default=3)
    p.add_argument("--batch-size", type=opt.positive_int, default=64)
    p.add_argument("--lr", type=opt.positive_float, default=1e-3)
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop"], default="adam")
    p.add_argument("--schedule", choices=["none", "step", "cosine", "onecycle"], default="none")
    p.add_argument("--warmup-steps", type=opt.non_negative_int, default=0)
    p.add_argument("--weight-decay", type=opt.non_negative_float, default=0.0)
    p.add_argument("--grad-clip", type=opt.positive_float, metavar="NORM")
    p.add_argument("--early-stopping", type=opt.positive_int, metavar="EPOCHS")
    p.add_argument("--seed", type=opt.seed, default=0)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--class-weights", action="store_true",
                   help="classification: weigh each class's loss by 1 / its share of the training labels (for "
                   "imbalanced data)")
    p.add_argument("--limit", type=opt.positive_int, metavar="N", help="use at most N training examples")
    p.add_argument("--val-fraction", type=opt.fraction, default=0.1)
    p.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE",
                   help="a dataset loader option, e.g. -o max_len=64 -o context=128 -o tokenizer=bytes (see "
                   "`neuralforge datasets show`)")
    p.add_argument("--augment", action="append", choices=["flip", "crop"], default=[],
                   help="image augmentation (repeatable)")
    p.add_argument("--diagnostics", choices=["off", "basic", "full"], default="basic",
                   help="what the Coach records inside the model while it trains: basic (default) takes layer "
                   "statistics every 50 steps, the inputs' statistics every epoch and watches for NaN; full adds "
                   "histograms and records five times as often; off records nothing")
    p.add_argument("--metric", action="append", default=[], metavar="NAME",
                   help="extra validation metric: f1_macro, mae, rmse, a plugin's, or module:function "
                   "(with --trust-code)")
    add_trust_arg(p)


INIT_FILE = "init.safetensors"


def _init_file(text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    if not path.is_file():
        raise CliError(f"--init {text}: no such file")
    if path.suffix != ".safetensors":
        raise CliError(f"--init {text}: expected a .safetensors file (weights only, never pickled code)")
    return path


def cmd_train(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

    graph = load_graph_arg(args.graph)
    config = config_from_args(args)
    check_dataset(args.dataset)
    check_code(config.metrics, args.trust_code)
    store = open_store(args.store)  # a bad store is named first: it is the first thing the command needs
    check_graph_fits_dataset(graph, config)
    from neuralforge_desktop.cli import queue_cmd

    if queue_cmd.wants_queue(args):
        if getattr(args, "hosts", None):
            raise CliError("--queue takes one host (--host NAME); a job over several hosts starts at once")
        return queue_cmd.queue_train(args, graph, config, store)
    from neuralforge_desktop.cli import remote_train

    host = remote_train.wanted_host(args)
    if args.gpus:
        _check_gpus(args.gpus, host)
    init = _init_file(args.init)
    source = None if args.graph.startswith("zoo:") else args.graph  # a zoo model has no file of the user's
    run_id, folder = prepare_run(graph, config, store, args.experiment, args.name, tags=lineage_tags(args, store),
                                 source=source)
    if init is not None:  # a copy in the run folder: the run keeps what it started from, remote hosts get it too
        import shutil

        shutil.copyfile(init, folder / INIT_FILE)
    if not args.json:
        where = (f"on host {host.name}" if host is not None else "in a worker process") + (
            f" and {', '.join(remote_train.extra_hosts(args))}" if remote_train.extra_hosts(args) else "")
        print(f"run {run_id}: training {graph.name} on {args.dataset} ({plural(args.epochs, 'epoch')}) {where}")
    if host is not None:
        process = remote_train.start(folder, host, store, trust_code=args.trust_code, as_json=args.json,
                                     extra=remote_train.extra_hosts(args))
    else:
        process = TrainingProcess(folder, trust_code=args.trust_code).start()
    return follow_run(process, run_id, store, args.json)


def config_from_args(args: argparse.Namespace) -> Any:
    """The TrainConfig the options of :func:`add_config_args` (and ``--dataset``, ``--procs``/``--gpus``,
    ``--init`` where the command has them) describe; a bad combination is a one-line error naming the field."""
    from neuralforge_desktop.cli.datasets_cmd import parse_options
    from neuralforge_desktop.core.training.config import ConfigError, TrainConfig

    gpus = getattr(args, "gpus", None)
    try:
        return TrainConfig(dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                           optimizer=args.optimizer, schedule=args.schedule, warmup_steps=args.warmup_steps,
                           weight_decay=args.weight_decay, grad_clip=args.grad_clip,
                           early_stopping=args.early_stopping, seed=args.seed,
                           device="cuda" if gpus else args.device,
                           limit=args.limit, val_fraction=args.val_fraction, augment_flip="flip" in args.augment,
                           augment_crop=4 if "crop" in args.augment else 0, metrics=list(args.metric),
                           trust_code=args.trust_code, dataset_options=parse_options(args.option),
                           procs=_procs(args), init=INIT_FILE if getattr(args, "init", None) else None,
                           class_weights=args.class_weights, diagnostics=args.diagnostics).validate()
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def cmd_resume(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.training.runner import TrainingProcess, runs_root

    store = open_store(args.store)
    run = find_run(store, args.run)
    from neuralforge_desktop.cli import remote_train

    folder = runs_root(Path(store.path)) / run.id
    if run.status != "finished":
        check_code(_saved_metrics(folder), args.trust_code)
        remote = remote_train.resume(run, folder, store, trust_code=args.trust_code, as_json=args.json)
        if remote is not None:
            return follow_run(remote, run.id, store, args.json)
    if run.status in ("running", "paused"):
        raise CliError(f"run {run.id} is {run.status} (owned by a live process); stop it first")
    if run.status == "finished":
        raise CliError(f"run {run.id} already finished")
    if not (folder / "checkpoints" / "latest.json").exists():
        raise CliError(f"run {run.id} has no checkpoint to resume from ({folder / 'checkpoints'})")
    if not args.json:
        print(f"run {run.id}: resuming from its last checkpoint")
    return follow_run(TrainingProcess(folder, resume=True, trust_code=args.trust_code).start(), run.id, store,
                      args.json)


def lineage_tags(args: argparse.Namespace, store: Any) -> dict[str, str]:
    """``--parent RUN`` (a run of this store), ``--coach-fix ACTION`` and ``--coach-finding KIND`` as the new
    run's tags."""
    tags: dict[str, str] = {}
    if getattr(args, "parent", None):
        tags["parent_run"] = find_run(store, args.parent).id
    if getattr(args, "coach_fix", None):
        if "parent_run" not in tags:
            raise CliError("--coach-fix names the fix applied to a run: give that run with --parent RUN")
        tags["coach_fix"] = args.coach_fix
    if getattr(args, "coach_finding", None):
        if "coach_fix" not in tags:
            raise CliError("--coach-finding names the finding a fix addressed: give the fix with --coach-fix")
        tags["coach_finding"] = args.coach_finding
    return tags


def _check_gpus(wanted: int, host: Any | None) -> None:
    """--gpus N on a machine with fewer GPUs: refused before a run is recorded."""
    if host is not None:
        have = len(host.probe.get("gpus") or [])
        where = f"host {host.name} (as last probed; `neuralforge hosts probe {host.name}`)"
    else:
        import torch

        have, where = torch.cuda.device_count(), "this machine"
    if have < wanted:
        raise CliError(f"--gpus {wanted}: {where} has {plural(have, 'CUDA GPU')}; use --procs N for several CPU "
                       "processes", status=1)


def _procs(args: argparse.Namespace) -> int | None:
    wanted = getattr(args, "gpus", None) or getattr(args, "procs", None)
    return wanted if wanted and wanted > 1 else None


def _saved_metrics(folder: Path) -> list[str]:
    """The metrics a run's config names (the worker reports a config it cannot read)."""
    try:
        metrics = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("metrics", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [m for m in metrics if isinstance(m, str)] if isinstance(metrics, list) else []


def check_dataset(spec: str) -> None:
    from neuralforge_desktop.core.training.datasets import list_datasets

    names = {d.name: d for d in list_datasets()}
    if spec in names and not names[spec].available:
        raise CliError(f"dataset {spec} is not available here: {names[spec].how_to_get}")
    if spec not in names and not Path(spec).expanduser().exists():
        raise CliError(f"no dataset {spec!r}: not a built-in ({', '.join(names)}) and no such path")


def check_graph_fits_dataset(graph: Any, config: Any) -> None:
    """Refuse, before a run is recorded, a graph whose data Input does not match the dataset's examples: the
    worker would load the same data and fail the same way, leaving a failed run for a mistake known up front."""
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.training.datasets import load_dataset
    from neuralforge_desktop.core.training.setup import bind_dataset

    try:
        bundle = load_dataset(config.dataset, val_fraction=config.val_fraction, seed=config.seed,
                              normalize=config.normalize, limit=config.limit, options=dict(config.dataset_options))
        bind_dataset(graph.copy(), bundle)  # a copy: binding writes the data's sizes into the graph's symbols
    except UserError as exc:  # status 1, as when the worker reported it: the call was well formed
        raise CliError(" ".join(str(exc).split()), status=1) from None


def follow_run(process: Any, run_id: str, store: Any, as_json: bool) -> int:
    final: Event | None = None
    bar = _Progress(sys.stdout)
    try:
        for event in process.events():
            if as_json:
                if not isinstance(event, LogEvent):
                    print(encode_event(event), flush=True)
            else:
                bar.show(event)
            if event.TERMINAL:
                final = event
    except KeyboardInterrupt:
        process.stop()
        print("\nstopping after the current step (a checkpoint is written) …", file=sys.stderr)
        for event in process.events():
            if event.TERMINAL:
                final = event
    code = process.wait()
    if final is None:
        tail = process.stderr_tail()
        run = store.get_run(run_id)
        if run.status in ("running", "paused"):  # the worker died before it could say so
            store.set_status(run_id, "crashed")
        raise CliError(f"run {run_id}: the worker exited ({code}) without finishing\n{tail}", status=1)
    if isinstance(final, FailedEvent):
        if final.traceback:
            print(final.traceback, file=sys.stderr)
        raise CliError(f"run {run_id} failed: {final.error}", status=1)
    if not as_json:
        run = store.get_run(run_id)
        print(f"run {run_id} {final.kind}: {bar.outcome_text(final)}; checksum "
              f"{(run.checksum or '')[:12]}; store {store.path}")
    return 0


class _Progress:
    """One line per epoch, with an in-place step bar on terminals."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.tty = out.isatty()
        self.steps = 1
        self.epochs = 1
        self.has_val = True
        self.classification = True
        self.language_model = False
        self.last_epoch: int | None = None  # the last epoch that completed
        self.best_so_far: tuple[float, int | None] | None = None  # (value, epoch), as the worker ranks them

    def outcome_text(self, final: Event) -> str:
        """What is true at the end: the best epoch when the run finished; after a stop, where it stopped and
        the best so far, or that no epoch completed."""
        if isinstance(final, FinishedEvent):
            epoch = f" (epoch {final.best_epoch})" if final.best is not None else ""
            return self.best_text(final.best) + epoch
        if self.last_epoch is None:
            return "no completed epoch yet"
        if self.best_so_far is None:
            return f"stopped at epoch {self.last_epoch}"
        value, epoch = self.best_so_far
        return f"stopped at epoch {self.last_epoch}; {self.best_text(value)} so far (epoch {epoch})"

    def best_text(self, best: float | None) -> str:
        """What the run's best value is: the worker ranks epochs by val accuracy (classification) or val
        loss, and by train loss when there is no validation split."""
        if best is None:
            return "no best epoch"
        ppl = f", perplexity {perplexity(best):.4g}" if self.language_model else ""
        if not self.has_val:
            return f"best train loss {best:.4f}{ppl} (no validation split)"
        if self.classification:
            return f"best val accuracy {best:.2%}"
        return f"best val loss {best:.4f}{ppl}"

    def show(self, event: Event) -> None:
        if isinstance(event, StartedEvent):
            self.steps, self.epochs = event.steps_per_epoch, event.epochs
            ds = event.dataset
            self.has_val = bool(ds.get("val"))
            self.classification = ds.get("classes") is not None
            self.language_model = ds.get("task") == "language-modeling"
            inputs = ds.get("inputs") or {}
            fed = ("; inputs " + ", ".join(f"{node} ← {field}" for node, field in inputs.items())
                   if len(inputs) > 1 or any(node != field for node, field in inputs.items()) else "")
            print(f"device {event.device}, {plural(event.params, 'param')}, loss {event.loss}; "
                  f"{ds['name']}: {ds['train']:,} train / {ds['val']:,} val{fed}", file=self.out)
            if not self.has_val:
                print("no validation split: val metrics are not computed; the best epoch is the one with the "
                      "lowest train loss", file=self.out)
        elif isinstance(event, StepEvent) and self.tty:
            done = (event.step - 1) % self.steps + 1
            filled = int(30 * done / self.steps)
            self.out.write(f"\repoch {event.epoch}/{self.epochs} [{'#' * filled}{'.' * (30 - filled)}] "
                           f"loss {event.loss:.4f}  {event.samples_per_s or 0:.0f} samples/s")
            self.out.flush()
        elif isinstance(event, EpochEvent) and event.metrics:
            self.last_epoch = event.epoch
            m = event.metrics
            if event.best is not None:
                self.best_so_far = (event.best, event.best_epoch)
            parts = [f"train loss {m['train/loss']:.4f}"]
            if "train/acc" in m:
                parts.append(f"acc {m['train/acc']:.2%}")
            if "train/perplexity" in m:
                parts.append(f"ppl {m['train/perplexity']:.4g}")
            if "val/loss" in m:
                parts.append(f"val loss {m['val/loss']:.4f}")
            if "val/acc" in m:
                parts.append(f"val acc {m['val/acc']:.2%}")
            if "val/perplexity" in m:
                parts.append(f"val ppl {m['val/perplexity']:.4g}")
            parts.append(f"{m['epoch_seconds']:.1f}s")
            prefix = "\r" if self.tty else ""
            print(f"{prefix}epoch {event.epoch}/{event.epochs}: " + ", ".join(parts) + " " * 10, file=self.out)
        elif isinstance(event, EpochEvent) and event.note:
            print(event.note, file=self.out)
        elif isinstance(event, PausedEvent | ResumedEvent):
            print(event.kind, file=self.out)
        elif isinstance(event, CoachEvent):
            prefix = "\r" if self.tty else ""
            print(prefix + finding_text(event.finding) + " " * 10, file=self.out)


def finding_text(finding: dict[str, Any], indent: str = "  ") -> str:
    """A Coach finding for the terminal: severity, title and step; the explanation; the evidence's numbers; the
    fix (what `neuralforge coach RUN` and the training progress both print)."""
    where = f" (step {finding['step']})" if finding.get("step") is not None else ""
    layer = (finding.get("evidence") or {}).get("layer")
    lines = [f"coach {finding.get('severity', '?')}: {finding.get('title', finding.get('kind', ''))}"
             f"{f' [{layer}]' if layer else ''}{where}",
             indent + str(finding.get("explanation", ""))]
    numbers = (finding.get("evidence") or {}).get("numbers") or {}
    shown = [f"{name} {_number(value)}" for name, value in numbers.items() if value is not None]
    if shown:
        lines.append(indent + "evidence: " + ", ".join(shown))
    fix = finding.get("fix")
    if fix:
        args = ", ".join(f"{k}={v}" for k, v in (fix.get("args") or {}).items())
        lines.append(indent + f"fix: {fix.get('label', fix.get('action'))} ({fix.get('action')}: {args})")
    return "\n".join(lines)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_number(v) for v in value[:12]) + (", …" if len(value) > 12 else "") + "]"
    return str(value)


def perplexity(loss: float) -> float:
    return math.exp(loss) if loss < 700 else math.inf


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
