"""``neuralforge store migrate --from FILE --to URL``: bring a personal SQLite store into a team store on
PostgreSQL (every table, same run ids, one transaction; artifact files too), printing the rows per table.
See docs/team-store.md and :mod:`neuralforge_desktop.core.store.transfer`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.core.errors import UserError

EXAMPLES = """\
examples:
  neuralforge store migrate --from ~/.local/share/neuralforge/store.db \\
      --to postgresql://alice@db.example.org:5432/neuralforge
  (the password from ~/.pgpass or PGPASSWORD, or in the URL: postgresql://alice:PASSWORD@host/db)
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    store = sub.add_parser("store", help="the experiment store: copy a personal store into a team store",
                           description="Manage where runs are kept: an SQLite file (the default) or a team store "
                           "on PostgreSQL.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ssub = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    migrate = ssub.add_parser("migrate", help="copy every run, model and log of an SQLite store into another store",
                              description="Copy every table of a personal SQLite store into a team store (same "
                              "run ids, one transaction: on failure nothing is written) with its artifact files, "
                              "and print how many rows each table got. A target that already holds these runs "
                              "is refused.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    migrate.add_argument("--from", dest="source", required=True, type=opt.non_empty, metavar="FILE",
                         help="the personal store (an SQLite file)")
    migrate.add_argument("--to", dest="target", required=True, type=opt.non_empty, metavar="URL",
                         help="the team store: postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME (or another file)")
    migrate.set_defaults(func=cmd_migrate)


class StoreCommandError(UserError):
    pass


def cmd_migrate(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.store import location
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.store.transfer import copy_store

    source_path = Path(args.source).expanduser()
    if location.is_url(args.source):
        raise StoreCommandError(f"--from must be an SQLite store file, not {location.redact(args.source)}")
    if not source_path.is_file():
        raise StoreCommandError(f"no store file {source_path}; give the personal store's path "
                                "(default: the user data dir's neuralforge/store.db)")
    with Store(source_path) as source, Store(args.target) as target:
        print(f"copying {source.path} into {target.path} …", flush=True)
        counts = copy_store(source, target)
        rows = [[name, str(count)] for name, count in counts.items()]
        print(table(["table", "rows copied"], rows, right=(1,)))
        total = sum(counts.values())
        print(f"{total} rows in {len(counts)} tables copied; artifact files in {target.artifact_files.root}")
    return 0
