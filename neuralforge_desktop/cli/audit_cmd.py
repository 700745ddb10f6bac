"""``neuralforge audit verify|list|export``: the tamper-evident audit log from the terminal.

Every run created or finished, dataset read, graph saved, export, registry change, gate evaluation, served
deployment and traffic change is an entry in the store's hash chain; ``verify`` walks it and names the first
entry that breaks it (exit status 1), ``list`` filters it, ``export --jsonl`` writes it out for an auditor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
from typing import Any

from neuralforge_desktop.cli.fmt import plural, table
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store
from neuralforge_desktop.core.errors import UserError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")

EXAMPLES = """\
examples:
  neuralforge audit verify                      (exit 0: intact; 1: names the first bad entry)
  neuralforge audit list --since 1d --kind registry.
  neuralforge audit export --jsonl -o audit.jsonl
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="verify, list and export the tamper-evident audit log",
                           description="The audit log: who did what and when, hash-chained (and signed with "
                           "this installation's key) so that edits, deletions, insertions and reordering show.",
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    asub = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    check = asub.add_parser("verify", help="check the hash chain and signatures",
                            description="Walk the chain; exit 0 when intact, 1 naming the first entry that "
                            "breaks it (hash mismatch, previous-hash mismatch, gap in sequence, bad signature).")
    check.add_argument("--json", action="store_true", help="the report as one JSON object")
    add_store_arg(check)
    check.set_defaults(func=cmd_verify)
    ls = asub.add_parser("list", help="list entries, oldest first", description="List audit entries, filtered.")
    ls.add_argument("--since", metavar="WHEN", help="entries from this time on: an age (30m, 12h, 1d, 2w) or an "
                    "ISO date/time (2026-12-01, 2026-12-01T09:30)")
    ls.add_argument("--kind", metavar="K", help="one kind (run.created), or a family ending in '.' (registry.)")
    ls.add_argument("--who", metavar="U", help="entries by this user")
    ls.add_argument("--json", action="store_true", help="one JSON array of entries")
    add_store_arg(ls)
    ls.set_defaults(func=cmd_list)
    out = asub.add_parser("export", help="write every entry as JSON lines",
                          description="Write the whole log, one JSON object per line (hashes and signatures "
                          "included, so the copy can be checked elsewhere).")
    out.add_argument("--jsonl", action="store_true", required=True, help="JSON lines (the one format)")
    out.add_argument("-o", "--output", metavar="FILE", help="file to write (default: standard output)")
    add_store_arg(out)
    out.set_defaults(func=cmd_export)


def parse_since(text: str, now: float | None = None) -> float:
    """Epoch seconds from an age such as ``1d`` or an ISO date/time (local time unless it names a zone)."""
    now = time.time() if now is None else now
    match = _AGO.match(text.strip())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--since {text!r}: give an age (30m, 12h, 1d, 2w) or an ISO date/time "
                        "(2026-12-01 or 2026-12-01T09:30)") from None
    return when.timestamp()  # a naive time is taken as local time, as a user types it


def cmd_verify(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.audit import verify

    with open_store(args.store) as store:
        report = verify(store)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif report.intact:
        print(report.summary())
    else:
        print(f"neuralforge: {report.summary()}", file=sys.stderr)
    return 0 if report.intact else 1


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.audit import entries

    since = parse_since(args.since) if args.since else None
    with open_store(args.store) as store:
        found = entries(store, since=since, kind=args.kind, actor=args.who)
    if args.json:
        print(json.dumps([e.to_json() for e in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("no audit entries" + (" match" if since or args.kind or args.who else ""))
        return 0
    rows = [[str(e.seq), _local(e.time), e.who, e.kind, e.subject, _brief(e.details_value())] for e in found]
    print(table(["#", "time", "who", "kind", "subject", "details"], rows, right=[0]))
    print(plural(len(found), "entry", "entries"))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.audit import entries

    with open_store(args.store) as store:
        found = entries(store)
    text = "".join(json.dumps(e.to_json(), ensure_ascii=False, sort_keys=True) + "\n" for e in found)
    if args.output:
        from neuralforge_desktop.core.ir.atomic import write_text_atomic

        write_text_atomic(args.output, text)
        print(f"wrote {plural(len(found), 'entry', 'entries')} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _local(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).isoformat(sep=" ", timespec="seconds")


def _brief(details: Any, width: int = 60) -> str:
    text = json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= width else text[:width - 1] + "…"
