"""``neuralforge pipeline run|check|status|list``: deployment pipelines (train → validate → optimise → export →
package → register → serve) from a YAML file, each stage recorded in the store; a failed run continues from
the failed stage."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

EPILOG = """\
examples:
  neuralforge pipeline check docs/examples/pipeline.yaml
  neuralforge pipeline run docs/examples/pipeline.yaml
  neuralforge pipeline run docs/examples/pipeline.yaml --resume     (after fixing the stage that failed)
  neuralforge pipeline status
  neuralforge pipeline list"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pipeline", help="run deployment pipelines (train → validate → … → serve) from a YAML file",
                       description="Deployment pipelines: a YAML file of stages, each with inputs (values or "
                       "${stage.output} references), options and pass conditions. See docs/pipeline.md.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    psub = p.add_subparsers(dest="pipeline_command", metavar="COMMAND", required=True)
    run = psub.add_parser("run", help="run a pipeline file's stages in order",
                          description="Run FILE's stages in order, recording each stage's status, outputs and "
                          "artifacts in the store. It stops at the first stage that fails (exit status 1). Run "
                          "again, unchanged, and it continues from the failed stage, reusing the stages before it; "
                          "after editing the file, --resume does the same for every stage the edit left unchanged.")
    run.add_argument("file", metavar="FILE", type=opt.non_empty)
    again = run.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the last failed run of FILE, even though FILE changed since")
    again.add_argument("--fresh", action="store_true", help="run every stage again, reusing nothing")
    run.add_argument("--json", action="store_true",
                     help="progress on standard error; the finished run as one JSON object on standard output")
    add_store_arg(run)
    run.set_defaults(func=cmd_run)
    check = psub.add_parser("check", help="check a pipeline file without running it",
                            description="Read FILE and check every stage (kind, keys, references, conditions).")
    check.add_argument("file", metavar="FILE", type=opt.non_empty)
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_check)
    status = psub.add_parser("status", help="a pipeline run's stages (the latest run without ID)",
                             description="Show a pipeline run's stages: status, duration, outputs and failures.")
    status.add_argument("id", nargs="?", metavar="ID", help="a pipeline run id (or its start); default: the latest")
    status.add_argument("--json", action="store_true")
    add_store_arg(status)
    status.set_defaults(func=cmd_status)
    ls = psub.add_parser("list", help="pipeline runs, newest first", description="List pipeline runs, newest first.")
    ls.add_argument("--limit", type=opt.positive_int, default=50, metavar="N")
    ls.add_argument("--json", action="store_true")
    add_store_arg(ls)
    ls.set_defaults(func=cmd_list)


def cmd_check(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.pipeline.spec import load_pipeline

    spec = load_pipeline(args.file)
    if args.json:
        print(json.dumps({"name": spec.name, "file": str(spec.file), "stages": [
            {"name": s.name, "kind": s.kind, "inputs": s.inputs, "options": s.options,
             "pass": [c.text for c in s.conditions], "skip": s.skip} for s in spec.stages]}))
        return 0
    print(f"{spec.file}: pipeline {spec.name}, {len(spec.stages)} stage(s), OK")
    for stage in spec.stages:
        conditions = f"  pass if {' and '.join(c.text for c in stage.conditions)}" if stage.conditions else ""
        print(f"  {stage.name} ({stage.kind}){' skipped' if stage.skip else ''}{conditions}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.pipeline.runner import run_pipeline
    from neuralforge_desktop.core.pipeline.spec import load_pipeline

    spec = load_pipeline(args.file)
    store = open_store(args.store)
    progress = sys.stderr if args.json else sys.stdout

    def say(text: str) -> None:
        print(text, file=progress, flush=True)

    _stop_on_terminate()
    record = run_pipeline(spec, store, resume="always" if args.resume else "never" if args.fresh else "auto",
                          say=say)
    if args.json:
        print(json.dumps(record.to_json()), flush=True)
    else:
        print_record(record)
    return 0 if record.status == "passed" else 1


def cmd_status(args: argparse.Namespace) -> int:
    from neuralforge_desktop.cli.graph_source import CliError

    store = open_store(args.store)
    store.mark_dead_pipeline_runs()
    if args.id:
        from neuralforge_desktop.core.store.entities import NotFoundError

        try:
            record = store.get_pipeline_run(args.id)
        except NotFoundError as exc:
            raise CliError(str(exc), status=1) from None
    else:
        runs = store.list_pipeline_runs(limit=1)
        if not runs:
            raise CliError(f"no pipeline runs in {store.path} yet (see `neuralforge pipeline run --help`)", status=1)
        record = runs[0]
    if args.json:
        print(json.dumps(record.to_json()))
    else:
        print_record(record)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    store.mark_dead_pipeline_runs()
    runs = store.list_pipeline_runs(limit=args.limit)
    if args.json:
        print(json.dumps([_list_row(r) for r in runs]))
        return 0
    if not runs:
        print(f"no pipeline runs in {store.path} yet")
        return 0
    rows = [[r.id, r.name, r.status, _when(r.created), _stages_text(r), r.file] for r in runs]
    print(table(["id", "pipeline", "status", "started", "stages", "file"], rows))
    return 0


def _list_row(record: Any) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "file": record.file, "status": record.status,
            "created": record.created, "ended": record.ended, "message": record.message,
            "resumed_from": record.resumed_from, "stages": {s.name: s.status for s in record.stages}}


def _stages_text(record: Any) -> str:
    passed = sum(s.status in ("passed", "skipped") for s in record.stages)
    failed = next((s.name for s in record.stages if s.status == "failed"), None)
    return f"{passed}/{len(record.stages)} passed" + (f", '{failed}' failed" if failed else "")


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else ""


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def print_record(record: Any) -> None:
    from neuralforge_desktop.core.pipeline.runner import condition_text

    print(f"pipeline {record.name}, run {record.id}: {record.status.upper()}"
          + (f" (continues run {record.resumed_from})" if record.resumed_from else ""))
    print(f"  file {record.file}; work folder {record.work_dir}")
    rows = []
    for stage in record.stages:
        seconds = stage.seconds
        rows.append([stage.name, stage.kind, stage.status + (" (reused)" if stage.reused_from else ""),
                     f"{seconds:.1f} s" if seconds is not None else ""])
    print(table(["stage", "kind", "status", "time"], rows, right=[3]))
    for stage in record.stages:
        if not stage.outputs and not stage.message:
            continue
        print(f"\n{stage.name}:")
        for key, value in stage.outputs.items():
            print(f"  {key}: {_value_text(value)}")
        for check in stage.checks:
            print(f"  {condition_text(check)}")
        if stage.message and stage.status == "failed" and all(c["passed"] for c in stage.checks):
            print(f"  failed: {stage.message}")


def _stop_on_terminate() -> None:
    """SIGTERM (the app's Stop, a closing terminal) stops the pipeline as Ctrl+C does: the running stage is
    recorded as interrupted and its worker ended."""
    import signal
    import threading

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
