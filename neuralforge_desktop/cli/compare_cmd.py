"""``neuralforge runs compare … --diff``, ``runs stats`` and ``runs seeds``: comparing runs beyond their latest
values (the architecture diff of their graphs, statistics across seeds, more seeds of a run)."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import plural, table
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, find_run, open_store

DEFAULT_METRIC = "val/acc"


def add_parsers(rsub: argparse._SubParsersAction) -> None:
    """``stats`` and ``seeds`` under ``neuralforge runs``."""
    st = rsub.add_parser("stats", help="group runs by a param: mean, 95 %% CI, and a test between two groups",
                         description="Group finished runs by a param (over their seeds), show each group's mean, "
                         "standard deviation and 95 %% confidence interval of a metric, and test whether two "
                         "groups differ (Welch's t-test or Mann–Whitney U), with the effect size in words.")
    st.add_argument("--experiment", metavar="NAME", help="only this experiment (default: every run)")
    st.add_argument("--group-by", required=True, metavar="PARAM", help="the param whose values form the groups")
    st.add_argument("--metric", default=DEFAULT_METRIC, metavar="NAME", help=f"default {DEFAULT_METRIC}")
    st.add_argument("--test", choices=["welch", "mannwhitney"], default="welch")
    st.add_argument("--groups", metavar="A,B", help="the two groups to test (default: the two best means)")
    st.add_argument("--half-width", type=opt.positive_float, metavar="H",
                    help="also say how many more seeds each group needs for a 95 %% CI of ± H")
    st.add_argument("--json", action="store_true")
    add_store_arg(st)
    st.set_defaults(func=cmd_stats)
    sd = rsub.add_parser("seeds", help="train a run again with new seeds",
                         description="Repeat a run (its graph and settings) with N new seeds, one after another, "
                         "to narrow a confidence interval; the new runs are tagged seed_of and parent_run.")
    sd.add_argument("run", metavar="RUN")
    sd.add_argument("--more", type=opt.positive_int, required=True, metavar="N", help="how many new seeds")
    sd.add_argument("--trust-code", action="store_true", help="allow metrics named module:function")
    sd.add_argument("--json", action="store_true")
    add_store_arg(sd)
    sd.set_defaults(func=cmd_seeds)


def graph_diffs(store: Any, run_ids: list[str]) -> dict[str, Any]:
    """Each run's graph against the first run's: run id → GraphDiff (the first is left out)."""
    from neuralforge_desktop.core.compare.graph_diff import diff_graphs, run_graph

    base = run_graph(store, run_ids[0])
    return {rid: diff_graphs(base, run_graph(store, rid)) for rid in run_ids[1:]}


def print_diffs(store: Any, run_ids: list[str]) -> None:
    """The architecture diff of every run against the first, as ``runs compare --diff`` prints it."""
    for rid, diff in graph_diffs(store, run_ids).items():
        print(f"\narchitecture {run_ids[0]} → {rid}: " + ("same graph" if diff.empty else
                                                           plural(len(diff.lines()), "change")))
        for line in diff.lines():
            print(f"  {line}")


def diffs_json(store: Any, run_ids: list[str]) -> dict[str, Any]:
    return {"base": run_ids[0], "runs": {rid: d.to_json() for rid, d in graph_diffs(store, run_ids).items()}}


def _pick_pair(groups: list[Any], wanted: str | None, metric: str) -> tuple[Any, Any] | None:
    from neuralforge_desktop.core.compare.stats import best_pair

    by_key = {g.key: g for g in groups}
    if wanted:
        keys = [k.strip() for k in wanted.split(",")]
        missing = [k for k in keys if k not in by_key]
        if len(keys) != 2 or missing:
            raise CliError(f"--groups takes two of {', '.join(by_key) or '(no groups)'}, got {wanted!r}")
        return by_key[keys[0]], by_key[keys[1]]
    return best_pair(groups, metric)


def cmd_stats(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.compare.stats import (
        StatsError,
        compare_groups,
        format_value,
        group_runs,
        more_seeds_for,
    )
    from neuralforge_desktop.core.store.entities import NotFoundError

    store = open_store(args.store)
    try:
        runs = store.list_runs(args.experiment, status="finished")
    except NotFoundError as exc:
        raise CliError(f"{exc} ({store.path})") from None
    groups = group_runs(runs, args.group_by, args.metric)
    if not groups:
        raise CliError(f"no finished run{' of ' + args.experiment if args.experiment else ''} has {args.metric}")
    pair = _pick_pair(groups, args.groups, args.metric)
    try:
        result = compare_groups(pair[0], pair[1], args.metric, args.test) if pair else None
        more = ({g.key: more_seeds_for(g, args.half_width) if g.n >= 2 else None for g in groups}
                if args.half_width else {})
    except StatsError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        print(json.dumps({"group_by": args.group_by, "metric": args.metric, "groups": [
            {"key": g.key, "n": g.n, "runs": list(g.run_ids), "values": list(g.values), "mean": g.mean,
             "std": finite(g.std), "ci": [finite(g.ci_low), finite(g.ci_high)],
             **({"more_seeds": more[g.key]} if more else {})} for g in groups],
            "test": result.to_json() if result else None}, indent=2))
        return 0
    rows = [[g.key, str(g.n), format_value(args.metric, g.mean), format_value(args.metric, g.std),
             f"{format_value(args.metric, g.ci_low)} – {format_value(args.metric, g.ci_high)}",
             *([_more_text(more[g.key])] if more else [])] for g in groups]
    headers = [args.group_by.upper(), "RUNS", "MEAN", "STD", "95 % CI", *(["MORE SEEDS"] if more else [])]
    print(table(headers, rows, right=[1, 2, 3]))
    if result is None:
        print("\nno test: it needs two groups of at least 2 runs (run more seeds with `neuralforge runs seeds RUN "
              "--more N`)")
    else:
        print(f"\n{result.verdict}\n({'Welch t' if result.test == 'welch' else 'Mann–Whitney U'} = "
              f"{result.statistic:.3g}, p = {result.p_value:.3g}; {result.effect_name} = {result.effect_size:.2f})")
    return 0


def _more_text(more: int | None) -> str:
    return "?" if more is None else str(more)


def cmd_seeds(args: argparse.Namespace) -> int:
    from neuralforge_desktop.cli.train_cmds import check_code, follow_run
    from neuralforge_desktop.core.compare.seeds import prepare_seed_runs
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.training.runner import TrainingProcess

    store = open_store(args.store)
    run = find_run(store, args.run)
    check_code([str(m) for m in run.params.get("metrics", [])], args.trust_code)
    try:
        prepared = prepare_seed_runs(store, run.id, args.more)
    except UserError as exc:
        raise CliError(str(exc)) from None
    if not args.json:
        print(f"run {run.id}: {plural(len(prepared), 'more seed')} ("
              + ", ".join(f"{p.run_id} seed {p.seed}" for p in prepared) + "), trained one after another")
    failed = 0
    for seed_run in prepared:  # one at a time: parallel workers would only share the same cores
        try:
            follow_run(TrainingProcess(seed_run.folder, trust_code=args.trust_code).start(), seed_run.run_id,
                       store, args.json)
        except CliError as exc:
            failed += 1
            print(f"run {seed_run.run_id}: {exc}")
    if failed:
        raise CliError(f"{plural(failed, 'seed run')} of {len(prepared)} did not finish", status=1)
    return 0
