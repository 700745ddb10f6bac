"""``neuralforge registry register|list|show|promote|approve|rollback``: the model registry from the terminal.

The same registry shows in the app (View ▸ Model Registry); ``neuralforge gate`` evaluates a policy's gates.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from neuralforge_desktop.cli.fmt import nbytes, table
from neuralforge_desktop.cli.train_cmds import add_store_arg, find_run, open_store

STAGES = ("staging", "production", "archived")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    reg = sub.add_parser("registry", help="registered models: versions, stages, approvals, rollback",
                         description="The model registry: versions of named models (a run, its graph and a verified "
                         "ONNX export) moved through none → staging → production → archived.")
    rsub = reg.add_subparsers(dest="registry_command", metavar="COMMAND", required=True)
    add = rsub.add_parser("register", help="register a run as the next version of a model",
                          description="Export RUN's best checkpoint to ONNX (verified against torch), copy it and "
                          "the graph into the store, and make it the next version of NAME. A run made by "
                          "`neuralforge optimize` registers its optimised ONNX file instead.")
    add.add_argument("run", metavar="RUN")
    add.add_argument("--name", required=True, metavar="NAME")
    add.add_argument("--description", default="", metavar="TEXT")
    _common(add, cmd_register)
    ls = rsub.add_parser("list", help="registered models and their versions' stages",
                         description="List registered models: versions, the one in production, the latest.")
    _common(ls, cmd_list)
    show = rsub.add_parser("show", help="a model, or one version, in full",
                           description="Show a model's versions (NAME) or one version (NAME@V, NAME@production): "
                           "stage, run, metrics, files, approvals, transitions and gate results.")
    show.add_argument("ref", metavar="NAME[@V]")
    _common(show, cmd_show)
    pro = rsub.add_parser("promote", help="move a version to staging, production or archived",
                          description="Move NAME@V to STAGE. Production needs the policy's gates to pass (evaluated "
                          "now with --policy, else the version's latest `neuralforge gate` result) and, when the "
                          "policy requires it, an approval; the version in production before is archived.")
    pro.add_argument("ref", metavar="NAME@V")
    pro.add_argument("--to", required=True, choices=STAGES, dest="stage", metavar="STAGE",
                     help=f"one of {', '.join(STAGES)}")
    pro.add_argument("--policy", metavar="FILE", help="evaluate this policy's gates now (YAML)")
    pro.add_argument("--comment", default="", metavar="TEXT")
    _common(pro, cmd_promote)
    app = rsub.add_parser("approve", help="approve a version (signed with your user name)",
                          description="Record your approval of NAME@V, with a comment.")
    app.add_argument("ref", metavar="NAME@V")
    app.add_argument("--comment", required=True, metavar="TEXT")
    _common(app, cmd_approve)
    doc = rsub.add_parser("attach", help="attach a document (a model card …) to a version",
                          description="Attach FILE to NAME@V as the document DOC (e.g. model_card); a policy's "
                          "`documents` gate looks for it there.")
    doc.add_argument("ref", metavar="NAME@V")
    doc.add_argument("file", metavar="FILE")
    doc.add_argument("--as", required=True, dest="document", metavar="DOC")
    _common(doc, cmd_attach)
    back = rsub.add_parser("rollback", help="put the previous production version back",
                           description="In one step: the version in production before the current one goes back "
                           "to production, the current one to archived.")
    back.add_argument("name", metavar="NAME")
    back.add_argument("--comment", default="", metavar="TEXT")
    _common(back, cmd_rollback)


def _common(parser: argparse.ArgumentParser, func: Any) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(parser)
    parser.set_defaults(func=func)


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def cmd_register(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core import registry

    with open_store(args.store) as store:
        run = find_run(store, args.run)

        def say(fraction: float, text: str) -> None:
            if sys.stderr.isatty() and not args.json:
                print(f"\r{fraction:4.0%} {text[:70]:<70}", end="", file=sys.stderr, flush=True)

        version = registry.register(store, run.id, args.name, args.description, progress=say)
        if sys.stderr.isatty() and not args.json:
            print("\r" + " " * 76 + "\r", end="", file=sys.stderr)
    if args.json:
        _print_json(version.to_json())
    else:
        onnx = version.file("model.onnx")
        method = run.tags.get("optimization") if run.tags.get("optimized_model") else None
        origin = (f"its {method} model, made from run {run.tags.get('parent_run')}" if method else
                  "verified against torch")
        print(f"registered {version.ref} from run {version.run_id} (stage none; ONNX {nbytes(onnx.size if onnx else 0)}"
              f", {origin}; input {tuple(version.input_shape)})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core import registry

    with open_store(args.store) as store:
        models = registry.list_models(store)
    if args.json:
        _print_json([m.to_json() for m in models])
        return 0
    if not models:
        print("no registered models (register a run: neuralforge registry register RUN --name NAME)")
        return 0
    rows = []
    for m in models:
        staging = [str(v.version) for v in m.versions if v.stage == "staging"]
        rows.append([m.name, str(len(m.versions)), f"@{m.production.version}" if m.production else "",
                     ", ".join(f"@{s}" for s in staging), f"@{m.latest.version}" if m.latest else "",
                     m.description])
    print(table(["MODEL", "VERSIONS", "PRODUCTION", "STAGING", "LATEST", "DESCRIPTION"], rows, right=[1]))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core import registry

    with open_store(args.store) as store:
        if "@" in args.ref:
            version = registry.resolve(store, args.ref)
            if args.json:
                _print_json(version.to_json())
            else:
                print(_version_text(version))
            return 0
        model = registry.show(store, args.ref)
    if args.json:
        _print_json(model.to_json())
        return 0
    print(f"{model.name}: {len(model.versions)} version(s), registered {_when(model.created)}"
          + (f"\n  {model.description}" if model.description else ""))
    rows = [[f"@{v.version}", v.stage, v.run_id, _metric(v.metrics, "val/acc"), _metric(v.metrics, "val/loss"),
             str(len(v.approvals)), _when(v.created), v.created_by] for v in model.versions]
    print(table(["VERSION", "STAGE", "RUN", "VAL ACC", "VAL LOSS", "APPROVALS", "CREATED", "BY"], rows))
    return 0


def _metric(metrics: dict[str, float], name: str) -> str:
    value = metrics.get(name)
    if value is None:
        return ""
    return f"{value:.2%}" if name.endswith("acc") else f"{value:.4g}"


def _version_text(version: Any) -> str:
    lines = [f"{version.ref}: {version.stage}, from run {version.run_id}, registered {_when(version.created)} by "
             f"{version.created_by}", f"  input {tuple(version.input_shape)} (without the batch)"]
    if version.description:
        lines.append(f"  {version.description}")
    if version.metrics:
        best = version.metrics.get("best_epoch")
        lines.append(f"  metrics at registration{f' (best epoch {best:.0f})' if best else ''}: " + ", ".join(
            f"{k} {_metric(version.metrics, k) or f'{v:.4g}'}" for k, v in sorted(version.metrics.items())
            if k.startswith(("val/", "final/"))))
    lines.append("  files: " + ", ".join(f"{f.name} ({nbytes(f.size)})" for f in version.files))
    for a in version.approvals:
        lines.append(f"  approved by {a.who} {_when(a.when)}" + (f": {a.comment}" if a.comment else ""))
    for t in version.transitions:
        move = f"{t.from_stage} → {t.to_stage}" if t.from_stage else "registered"
        lines.append(f"  {_when(t.when)} {move} by {t.who}" + (f" ({t.comment})" if t.comment else ""))
    if version.gates:
        last = version.gates[-1]
        failed = [c["check"] for c in last.checks if not c["passed"]]
        lines.append(f"  latest gate {_when(last.when)} by {last.who}: " +
                     ("passed" if last.passed else f"failed ({', '.join(failed)})"))
    return "\n".join(lines)


def cmd_promote(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core import registry

    with open_store(args.store) as store:
        version = registry.promote(store, args.ref, args.stage, args.policy, comment=args.comment)
    if args.json:
        _print_json(version.to_json())
    else:
        print(f"{version.ref} is now in {version.stage}")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core import registry

    with open_store(args.store) as store:
        version = registry.approve(store, args.ref, args.comment)
    if args.json:
        _print_json(version.to_json())
    else:
        a = version.approvals[-1]
        print(f"{version.ref} approved by {a.who} ({len(version.approvals)} approval(s))")
    return 0


def cmd_attach(args: argparse.Namespace) -> int:
    from pathlib import Path

    from neuralforge_desktop.cli.graph_source import CliError
    from neuralforge_desktop.core import registry

    path = Path(args.file).expanduser()
    if not path.is_file():
        raise CliError(f"{path}: no such file", status=1)
    with open_store(args.store) as store:
        version = registry.attach_document(store, args.ref, args.document, path)
    if args.json:
        _print_json(version.to_json())
    else:
        print(f"attached {path.name} to {version.ref} as {args.document}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core import registry

    with open_store(args.store) as store:
        restored = registry.rollback(store, args.name, args.comment)
    if args.json:
        _print_json(restored.to_json())
    else:
        print(f"{restored.ref} is back in production; the version it replaces is archived")
    return 0
