"""``neuralforge users add|list|grant|revoke|share``: who may do what in each project of a shared store.

A project without members is open to everyone who can open the store (a personal store needs nothing); once
its owner grants a role, only members act on it: viewer < contributor < approver < admin (see
:mod:`neuralforge_desktop.core.team.access`). A refused action says which role it needs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store
from neuralforge_desktop.core.errors import UserError

EXAMPLES = """\
examples:
  neuralforge users add alice --display "Alice Martin"
  neuralforge users grant alice vision contributor
  neuralforge users share vision bob carol        (read-only: viewer)
  neuralforge users list --project vision
  neuralforge users revoke bob vision
roles: viewer (read) < contributor (create runs, log, delete own runs) < approver (approve, promote) < admin
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="accounts of a shared store and their roles in projects",
                           description="Accounts of a shared store and their roles in its projects. A project "
                           "with no members is open to all; once it has one, roles are enforced.",
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    usub = users.add_subparsers(dest="users_command", metavar="COMMAND", required=True)
    add = usub.add_parser("add", help="add a named account", description="Add a named account to the store.")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--display", default="", metavar="TEXT", help="the person's full name")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the account's database password from standard input (PostgreSQL stores)")
    add_store_arg(add)
    add.set_defaults(func=cmd_add)
    ls = usub.add_parser("list", help="accounts and their roles", description="List accounts and their roles.")
    ls.add_argument("--project", metavar="P", help="only the members of this project")
    ls.add_argument("--json", action="store_true", help="one JSON array of accounts")
    add_store_arg(ls)
    ls.set_defaults(func=cmd_list)
    grant = usub.add_parser("grant", help="give a user a role in a project",
                            description="Give NAME the role ROLE in PROJECT (replacing their previous role). Needs "
                            "admin; the first grant in a project is its owner's.")
    grant.add_argument("name", metavar="NAME")
    grant.add_argument("project", metavar="PROJECT")
    grant.add_argument("role", metavar="ROLE", help="viewer, contributor, approver or admin")
    add_store_arg(grant)
    grant.set_defaults(func=cmd_grant)
    share = usub.add_parser("share", help="let users read a project (viewer)",
                            description="Grant viewer in PROJECT to each NAME: read-only sharing.")
    share.add_argument("project", metavar="PROJECT")
    share.add_argument("names", metavar="NAME", nargs="+")
    add_store_arg(share)
    share.set_defaults(func=cmd_share)
    revoke = usub.add_parser("revoke", help="take away a user's role in a project",
                             description="Remove NAME from PROJECT's members (not its owner).")
    revoke.add_argument("name", metavar="NAME")
    revoke.add_argument("project", metavar="PROJECT")
    add_store_arg(revoke)
    revoke.set_defaults(func=cmd_revoke)


def cmd_add(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.users import add_user, check_name, list_users

    check_name(args.name)
    with open_store(args.store) as store:
        if args.password_stdin:
            if store.database.dialect != "postgresql":
                raise UserError("--password-stdin sets a PostgreSQL login; this store is an SQLite file, where the "
                                "operating-system account is the login: leave the option out")
            if any(u.name == args.name for u in list_users(store)):
                raise UserError(f"user {args.name!r} already exists; `neuralforge users list` shows the accounts")
            _create_login(store, args.name, _read_password(args.name))
        user = add_user(store, args.name, args.display)
    print(f"added {user.name}" + (f" ({user.display_name})" if user.display_name else "")
          + (" with a database login" if args.password_stdin else "")
          + f"; give them a role: neuralforge users grant {user.name} PROJECT ROLE")
    return 0


def _read_password(name: str) -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UserError(f"no password for {name} on standard input: `printf '%s\\n' \"$PASSWORD\" | neuralforge "
                        f"users add {name} --password-stdin --store URL`")
    return password


def _create_login(store: object, name: str, password: str) -> None:
    import psycopg

    from neuralforge_desktop.core.team.pg_security import create_login

    try:
        create_login(store.database.connection(), name, password)  # type: ignore[attr-defined]
    except psycopg.errors.InsufficientPrivilege:
        raise UserError(f"creating the database login {name} needs a PostgreSQL role with CREATEROLE: run this "
                        "as the team store's administrator") from None


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.users import list_users

    with open_store(args.store) as store:
        users = list_users(store, args.project)
    if args.json:
        print(json.dumps([u.to_json() for u in users], indent=2))
        return 0
    if not users:
        print("no accounts yet: every project is open to whoever opens the store" if args.project is None
              else f"project {args.project!r} has no members: it is open to whoever opens the store")
        return 0
    rows = []
    for u in users:
        roles = {args.project: u.roles[args.project]} if args.project else u.roles
        rows.append([u.name, u.display_name, u.kind + (" (disabled)" if u.disabled else ""),
                     ", ".join(f"{p}: {r}" for p, r in sorted(roles.items())) or "-",
                     dt.datetime.fromtimestamp(u.created).strftime("%Y-%m-%d")])
    print(table(["NAME", "DISPLAY NAME", "KIND", "ROLES", "ADDED"], rows))
    return 0


def cmd_grant(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.users import grant

    with open_store(args.store) as store:
        grant(store, args.name, args.project, args.role)
    print(f"{args.name} is now {args.role} of project {args.project!r}")
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.users import grant

    with open_store(args.store) as store:
        for name in args.names:
            grant(store, name, args.project, "viewer")
    print(f"project {args.project!r} shared read-only with {', '.join(args.names)}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.users import revoke

    with open_store(args.store) as store:
        had = revoke(store, args.name, args.project)
    print(f"{args.name} is no longer {had} of project {args.project!r}", file=sys.stdout)
    return 0
