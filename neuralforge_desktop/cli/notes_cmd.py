"""``neuralforge notes add|list|edit|rm``: the experiment notebook from the terminal.

A note is timestamped Markdown on an experiment or on a run: a hypothesis, an observation or a plain note.
The same notes show in the app (Runs ▸ Notes…) and in ``neuralforge report``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

KINDS = ("hypothesis", "observation", "note")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    notes = sub.add_parser("notes", help="hypotheses and observations on experiments and runs",
                           description="The experiment notebook: timestamped Markdown notes on an experiment or a "
                           "run, kept in the store and included in reports.")
    nsub = notes.add_subparsers(dest="notes_command", metavar="COMMAND", required=True)
    add = nsub.add_parser("add", help="add a note", description="Add a note on EXPERIMENT_OR_RUN (a run id, or an "
                          "experiment's name or id). TEXT is Markdown; '-' reads it from standard input.")
    add.add_argument("target", metavar="EXPERIMENT_OR_RUN")
    add.add_argument("text", metavar="TEXT")
    add.add_argument("--kind", choices=KINDS, default="note")
    add_store_arg(add)
    add.set_defaults(func=cmd_add)
    ls = nsub.add_parser("list", help="list notes, oldest first",
                         description="List the notes on an experiment (and its runs) or a run; all notes without one.")
    ls.add_argument("target", nargs="?", metavar="EXPERIMENT_OR_RUN")
    ls.add_argument("--json", action="store_true", help="one JSON array of notes")
    add_store_arg(ls)
    ls.set_defaults(func=cmd_list)
    edit = nsub.add_parser("edit", help="change a note's text or kind", description="Replace a note's text "
                           "(Markdown; '-' reads it from standard input) and/or change its kind.")
    edit.add_argument("id", type=int, metavar="ID")
    edit.add_argument("text", nargs="?", metavar="TEXT")
    edit.add_argument("--kind", choices=KINDS)
    add_store_arg(edit)
    edit.set_defaults(func=cmd_edit)
    rm = nsub.add_parser("rm", help="delete a note", description="Delete a note by its id.")
    rm.add_argument("id", type=int, metavar="ID")
    add_store_arg(rm)
    rm.set_defaults(func=cmd_rm)


def _text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def resolve_target(store: Any, target: str) -> dict[str, str]:
    """``{"run_id": …}`` when ``target`` is a run's id, else ``{"experiment": id}`` of the experiment so named."""
    from neuralforge_desktop.core.store.entities import NotFoundError

    try:
        return {"run_id": store.get_run(target).id}
    except NotFoundError:
        pass
    for experiment in store.list_experiments():
        if target in (experiment.id, experiment.name):
            return {"experiment": experiment.id}
    raise CliError(f"no run or experiment {target!r} in the store (see `neuralforge runs list`)")


def _store_call(function: Any, *args: Any, **kwargs: Any) -> Any:
    from neuralforge_desktop.core.store.entities import StoreError
    from neuralforge_desktop.core.team.access import AccessDenied

    try:
        return function(*args, **kwargs)
    except AccessDenied:
        raise  # exit status 1, as every refusal by role
    except StoreError as exc:
        raise CliError(str(exc)) from exc


def cmd_add(args: argparse.Namespace) -> int:
    with open_store(args.store) as store:
        note = _store_call(store.add_note, _text(args.text), kind=args.kind, **resolve_target(store, args.target))
    print(f"added note {note.id} ({note.kind})")
    return 0


def note_json(note: Any) -> dict[str, Any]:
    return {"id": note.id, "experiment_id": note.experiment_id, "run_id": note.run_id, "kind": note.kind,
            "text": note.text, "created": note.created, "updated": note.updated}


def cmd_list(args: argparse.Namespace) -> int:
    with open_store(args.store) as store:
        where = resolve_target(store, args.target) if args.target else {}
        if "experiment" in where:
            where["include_runs"] = True  # type: ignore[assignment]
        notes = store.list_notes(**where)
        experiments = {e.id: e.name for e in store.list_experiments()}
    if args.json:
        print(json.dumps([note_json(n) for n in notes], indent=2))
        return 0
    if not notes:
        print("no notes")
        return 0
    rows = [[str(n.id), time.strftime("%Y-%m-%d %H:%M", time.localtime(n.created)), n.kind,
             f"run {n.run_id}" if n.run_id else f"experiment {experiments.get(n.experiment_id, n.experiment_id)}",
             " ".join(n.text.split())[:60]] for n in notes]
    print(table(["ID", "CREATED", "KIND", "ON", "TEXT"], rows))
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    if args.text is None and args.kind is None:
        raise CliError("give the new TEXT, a new --kind, or both")
    text = None if args.text is None else _text(args.text)
    with open_store(args.store) as store:
        note = _store_call(store.edit_note, args.id, text=text, kind=args.kind)
    print(f"edited note {note.id} ({note.kind})")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    with open_store(args.store) as store:
        _store_call(store.delete_note, args.id)
    print(f"deleted note {args.id}")
    return 0
