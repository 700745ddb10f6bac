"""``neuralforge sweep``: hyperparameter sweeps and architecture search on Optuna (see
:mod:`neuralforge_desktop.core.sweeps`); ``sweep resume ID`` continues one, ``sweep show ID`` prints its
results or writes one trial's graph, ``sweep list`` lists them."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import count, plural, table
from neuralforge_desktop.cli.graph_source import CliError, load_graph_arg
from neuralforge_desktop.cli.train_cmds import add_config_args, add_store_arg, add_trust_arg, open_store

ACTIONS = ("resume", "show", "list")
SPACE_EXAMPLE = """\
space file (YAML): a key without a dot is a training setting, node.field a graph setting
  lr: {log_uniform: [1e-4, 1e-2]}
  batch_size: [32, 64]
  optimizer: [adam, sgd]
  conv1.out_channels: [16, 32, 64]
  dropout.p: {uniform: [0.1, 0.5]}
  fc1.out_features: {int: [32, 256]}"""


def route(argv: list[str]) -> list[str]:
    """``sweep resume ID`` / ``sweep show ID`` / ``sweep list`` → their own parsers (``sweep GRAPH`` keeps
    the GRAPH form): argparse cannot mix a positional GRAPH with subcommands in one parser."""
    for i, arg in enumerate(argv):
        if not arg.startswith("-"):
            if arg == "sweep" and i + 1 < len(argv) and argv[i + 1] in ACTIONS:
                return [*argv[:i], f"sweep-{argv[i + 1]}", *argv[i + 2:]]
            return argv
    return argv


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="hyperparameter sweep or architecture search (Optuna)",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=SPACE_EXAMPLE,
                       description="Train TRIALS variants of GRAPH, PARALLEL at once, with settings drawn from "
                       "the search space; each trial is a run in the store under the sweep's experiment. "
                       "train's options are the fixed settings of every trial. With --max-params, --max-macs or "
                       "--max-latency-ms it is an architecture search: variants over the bound are never "
                       "trained, and the metric and the bounded costs are optimised together (NSGA-II). "
                       "Ctrl+C stops the running trials at a checkpoint; `neuralforge sweep resume ID` "
                       "continues, `neuralforge sweep show ID` prints the results.")
    p.add_argument("graph", metavar="GRAPH", type=opt.non_empty)
    p.add_argument("--dataset", required=True, type=opt.non_empty, metavar="NAME|PATH")
    p.add_argument("--space", required=True, metavar="FILE.yaml", type=opt.non_empty, help="the search space")
    p.add_argument("--trials", type=opt.positive_int, default=10, metavar="N", help="trials to train (default 10)")
    p.add_argument("--parallel", type=opt.positive_int, default=1, metavar="K",
                   help="trials training at once, each in its own worker process (default 1)")
    p.add_argument("--sampler", choices=["tpe", "random", "grid", "nsga2"],
                   help="Optuna's sampler (default: tpe; nsga2 for an architecture search)")
    p.add_argument("--pruner", choices=["median", "none"], default="median",
                   help="stop trials whose epochs fall below the median of earlier trials (single objective)")
    p.add_argument("--objective", default="val/acc:max", metavar="METRIC:max|min",
                   help="the epoch metric to optimise (default val/acc:max; the run's best epoch counts)")
    p.add_argument("--max-params", type=opt.positive_int, metavar="N", help="bound on the parameter count")
    p.add_argument("--max-macs", type=opt.positive_float, metavar="N", help="bound on MACs per example")
    p.add_argument("--max-latency-ms", type=opt.positive_float, metavar="MS",
                   help="bound on the estimated latency per example (on --latency-device)")
    p.add_argument("--latency-device", choices=["cpu", "t4", "a10g", "a100", "h100"], default="cpu",
                   help="device profile of the latency estimate (as `neuralforge summary --device`)")
    p.add_argument("--host", metavar="NAME", help="train the trials on a registered host over SSH")
    add_config_args(p)
    p.add_argument("--experiment", type=opt.non_empty, metavar="NAME", help="default: sweep-ID")
    p.add_argument("--id", type=opt.non_empty, metavar="ID", dest="sweep_id",
                   help="the new sweep's id (default: a random one); letters, digits, - and _")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line (no progress)")
    add_store_arg(p)
    p.set_defaults(func=cmd_sweep)

    r = sub.add_parser("sweep-resume", prog="neuralforge sweep resume",
                       description="Continue sweep ID: trials left running resume from their checkpoints, "
                       "finished ones are kept, and the remaining trials are trained.")
    r.add_argument("sweep_id", metavar="ID", type=opt.non_empty)
    r.add_argument("--json", action="store_true")
    add_trust_arg(r)
    add_store_arg(r)
    r.set_defaults(func=cmd_resume)

    s = sub.add_parser("sweep-show", prog="neuralforge sweep show",
                       description="Print the results of sweep ID (best trial, importance, Pareto front), or "
                       "with --trial N -o FILE write that trial's graph.")
    s.add_argument("sweep_id", metavar="ID", type=opt.non_empty)
    s.add_argument("--trial", type=opt.non_negative_int, metavar="N")
    s.add_argument("-o", "--output", metavar="FILE.nfg", help="with --trial: write its graph here")
    s.add_argument("--json", action="store_true")
    add_store_arg(s)
    s.set_defaults(func=cmd_show)

    ls = sub.add_parser("sweep-list", prog="neuralforge sweep list", description="The sweeps beside the store.")
    ls.add_argument("--json", action="store_true")
    add_store_arg(ls)
    ls.set_defaults(func=cmd_list)


def cmd_sweep(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from neuralforge_desktop.cli.train_cmds import check_code, check_dataset, check_graph_fits_dataset, config_from_args
    from neuralforge_desktop.core.sweeps.space import parse_space_text
    from neuralforge_desktop.core.sweeps.sweep_file import Objective, SweepSpec, save_sweep
    from neuralforge_desktop.core.sweeps.variant import Budget, check_budget_reachable

    graph = load_graph_arg(args.graph)
    config = config_from_args(args)
    if config.threads is None:  # K workers share this machine's cores instead of each taking all of them
        config = replace(config, threads=max(1, (os.cpu_count() or 1) // args.parallel))
    Objective.parse(args.objective)
    space_path = Path(args.space)
    try:
        text = space_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"--space {args.space}: cannot read it: {exc.strerror or exc}") from None
    space = parse_space_text(text, graph, config, source=args.space)
    budget = Budget(args.max_params, args.max_macs, args.max_latency_ms, args.latency_device)
    sampler = args.sampler or ("nsga2" if budget.bounded else "tpe")
    trials = args.trials
    if sampler == "grid":
        points = space.grid_size()
        if trials > points:
            _note(args, f"the grid has {plural(points, 'point')}: {plural(points, 'trial')}, not {trials}")
            trials = points
    check_dataset(args.dataset)
    check_code(config.metrics, args.trust_code)
    store = open_store(args.store)
    check_graph_fits_dataset(graph, config)
    fitting = check_budget_reachable(graph, space, budget)  # before anything trains
    if budget.bounded:
        _note(args, f"budget: {plural(fitting, 'variant')} of those checked fit {_budget_text(budget)}")
    host = _host(args)
    sweep_id = _new_id(args.sweep_id, Path(store.path))
    spec = SweepSpec(id=sweep_id, graph_name=graph.name, space=space.raw, config=config.to_json(), trials=trials,
                     parallel=args.parallel, sampler=sampler, pruner=args.pruner, objective=args.objective,
                     budget=budget.to_json() if budget.bounded else {},
                     experiment=args.experiment or f"sweep-{sweep_id}", seed=config.seed,
                     host=host.name if host is not None else None, trust_code=args.trust_code)
    save_sweep(Path(store.path), spec, graph)
    from neuralforge_desktop.core.sweeps.sweep_file import open_study

    study = open_study(Path(store.path), spec, graph, create=True)
    _note(args, f"sweep {sweep_id}: {plural(trials, 'trial')} of {graph.name} on {args.dataset}, {args.parallel} at "
          f"once, {sampler} sampler, objective {spec.objective}; experiment {spec.experiment}")
    return _run_and_print(args, spec, graph, store, study)


def _new_id(wanted: str | None, store_path: Path) -> str:
    """``--id`` (the app names the sweep before it starts, to follow it), refused if taken or not a plain name."""
    from neuralforge_desktop.core.sweeps.sweep_file import list_sweep_ids, new_sweep_id

    if wanted is None:
        return new_sweep_id()
    if not all(c.isalnum() or c in "-_" for c in wanted):
        raise CliError(f"--id {wanted!r}: use letters, digits, - and _ only")
    if wanted in list_sweep_ids(store_path):
        raise CliError(f"--id {wanted}: a sweep with that id exists; continue it with `neuralforge sweep resume "
                       f"{wanted}`")
    return wanted


def cmd_resume(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.sweeps.sweep_file import load_sweep, open_study

    store = open_store(args.store)
    spec, graph = load_sweep(Path(store.path), args.sweep_id)
    study = open_study(Path(store.path), spec, graph)
    _note(args, f"sweep {spec.id}: resuming ({plural(spec.trials, 'trial')} wanted)")
    return _run_and_print(args, spec, graph, store, study)


def cmd_show(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.sweeps.results import summarize, write_trial_graph
    from neuralforge_desktop.core.sweeps.sweep_file import load_sweep, open_study

    store = open_store(args.store)
    spec, graph = load_sweep(Path(store.path), args.sweep_id)
    study = open_study(Path(store.path), spec, graph)
    if args.trial is not None:
        if not args.output:
            raise CliError("--trial N writes that trial's graph: give the file with -o FILE.nfg")
        path = write_trial_graph(spec, graph, study, args.trial, Path(args.output))
        print(f"trial {args.trial} of sweep {spec.id}: graph written to {path}")
        return 0
    if args.output:
        raise CliError("-o writes one trial's graph: give the trial with --trial N")
    _print_results(summarize(spec, study), args.json)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.sweeps.results import summarize
    from neuralforge_desktop.core.sweeps.sweep_file import list_sweep_ids, load_sweep, open_study

    store = open_store(args.store)
    rows = []
    for sweep_id in list_sweep_ids(Path(store.path)):
        spec, graph = load_sweep(Path(store.path), sweep_id)
        data = summarize(spec, open_study(Path(store.path), spec, graph))
        best = data["best"]
        rows.append({"sweep": sweep_id, "graph": spec.graph_name, "objective": spec.objective,
                     "trials": spec.trials, "counts": data["counts"],
                     "best": None if best is None else best["value"], "best_run": best and best["run_id"]})
    if args.json:
        print(json.dumps(rows))
        return 0
    print(table(["SWEEP", "GRAPH", "OBJECTIVE", "TRIALS", "DONE", "BEST", "BEST RUN"],
                [[r["sweep"], r["graph"], r["objective"], str(r["trials"]), _counts_text(r["counts"]),
                  _value(r["best"]), r["best_run"] or ""] for r in rows]) if rows else "no sweeps")
    return 0


def _run_and_print(args: argparse.Namespace, spec: Any, graph: Any, store: Any, study: Any) -> int:
    from neuralforge_desktop.core.sweeps.driver import SweepRunner
    from neuralforge_desktop.core.sweeps.results import summarize

    runner = SweepRunner(spec, graph, store, study, _starter(spec, store, args.json),
                         report=None if args.json else _progress)
    try:
        runner.run()
    except KeyboardInterrupt:
        print(f"\nsweep {spec.id} stopped; the running trials stopped at a checkpoint. Continue with "
              f"`neuralforge sweep resume {spec.id}`", file=sys.stderr)
        raise
    _print_results(summarize(spec, study), args.json)
    return 0


def _host(args: argparse.Namespace) -> Any | None:
    if not args.host or args.host == "local":
        return None
    from neuralforge_desktop.cli import remote_train

    return remote_train.wanted_host(args)


def _starter(spec: Any, store: Any, as_json: bool) -> Any:
    """How a trial's worker starts: in a local worker process, or on the sweep's host the way
    ``train --host``/``resume`` start one there."""
    from neuralforge_desktop.core.training.runner import TrainingProcess

    def start(run_id: str, folder: Path, resume: bool) -> Any:
        if spec.host is None:
            return TrainingProcess(folder, resume=resume, trust_code=spec.trust_code).start()
        from neuralforge_desktop.cli import remote_train

        if resume:
            process = remote_train.resume(store.get_run(run_id), folder, store, trust_code=spec.trust_code,
                                          as_json=True)
            if process is not None:
                return process
        host = remote_train.wanted_host(argparse.Namespace(host=spec.host, hosts=None))
        return remote_train.start(folder, host, store, trust_code=spec.trust_code, as_json=True, extra=[])

    return start


def _note(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, flush=True)


def _progress(event: dict[str, Any]) -> None:
    kind, n = event["event"], event.get("trial")
    if kind in ("trial_started", "trial_resumed"):
        settings = ", ".join(f"{k}={_value(v)}" for k, v in event["params"].items())
        verb = "resumed" if kind == "trial_resumed" else "started"
        print(f"trial {n} {verb}: run {event['run_id']} ({settings})", flush=True)
    elif kind == "trial_done":
        state = event["state"]
        detail = {"complete": lambda: "value " + ", ".join(_value(v) for v in event["values"]),
                  "skipped": lambda: event["reason"], "failed": lambda: event["error"],
                  "pruned": lambda: "stopped by the pruner"}[state]()
        print(f"trial {n} {state}: {detail}", flush=True)
    elif kind == "trial_requeued":
        print(f"trial {n} is trained again: {event['reason']}", flush=True)
    elif kind == "note":
        print(event["text"], flush=True)


def _print_results(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, default=str))
        return
    print(f"\nsweep {data['sweep']}  ({_counts_text(data['counts'])}; experiment {data['experiment']})")
    best = data["best"]
    if best is None:
        print("no trial completed")
    else:
        settings = ", ".join(f"{k}={_value(v)}" for k, v in best["params"].items())
        print(f"best trial {best['number']}: {data['objective']} {_value(best['value'])}, run {best['run_id']}")
        print(f"  {settings}")
    if data["importance"]:
        print("\nparameter importance (Optuna)")
        print(table(["PARAM", "IMPORTANCE"], [[k, f"{v:.3f}"] for k, v in data["importance"].items()], right=[1]))
    else:
        print(f"\nparameter importance: {data['importance_note']}")
    if data["pareto_front"]:
        print(f"\nPareto front ({data['objective']} against params, MACs, est. latency)")
        rows = [[str(t["number"]), _value(t["value"]), f"{(t['cost'] or {}).get('params', 0):,}",
                 count((t["cost"] or {}).get("macs", 0)), f"{(t['cost'] or {}).get('latency_ms', 0):.3g} ms",
                 t["run_id"] or "", ", ".join(f"{k}={_value(v)}" for k, v in t["params"].items())]
                for t in data["pareto_front"]]
        print(table(["TRIAL", "VALUE", "PARAMS", "MACS", "EST. LATENCY", "RUN", "SETTINGS"], rows,
                    right=[1, 2, 3, 4]))
    print(f"\n`neuralforge sweep show {data['sweep']} --trial N -o trial.nfg` writes a trial's graph")


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no trials"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _budget_text(budget: Any) -> str:
    parts = []
    if budget.max_params is not None:
        parts.append(f"≤ {budget.max_params:,} params")
    if budget.max_macs is not None:
        parts.append(f"≤ {count(budget.max_macs)} MACs")
    if budget.max_latency_ms is not None:
        parts.append(f"≤ {budget.max_latency_ms:g} ms on {budget.device}")
    return ", ".join(parts)
