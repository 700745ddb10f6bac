"""``neuralforge comments add|list|resolve|inbox`` and ``neuralforge review request|queue|approve|reject``.

Comments are threaded discussions on a run, a graph (optionally pinned to one node), a model version or an
experiment; ``@name`` mentions a teammate, whose ``comments inbox`` lists it until it is resolved. A review
request asks a teammate to approve a model version; approving it records a registry approval.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from neuralforge_desktop.cli.fmt import plural, table
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

TARGET_HELP = "run:ID, graph:PATH.nfg, model:NAME@VERSION or experiment:NAME"
_PREFIXES = {"run": "run", "graph": "graph", "model": "model_version", "experiment": "experiment"}

COMMENT_EXAMPLES = """\
examples:
  neuralforge comments add graph:mnist.nfg "Why 32 filters here? @ana" --node conv1
  neuralforge comments add run:3f2a9c1d0b7e "Loss plateaus after epoch 4"
  neuralforge comments add model:mnist@3 "Agreed, ship it" --reply 12
  neuralforge comments list graph:mnist.nfg --all
  neuralforge comments resolve 12
  neuralforge comments inbox
"""

REVIEW_EXAMPLES = """\
examples:
  neuralforge review request mnist@3 --reviewer ana --note "accuracy 99.1%, card written"
  neuralforge review queue --reviewer ana
  neuralforge review approve 4 --note "checked the confusion matrix"
  neuralforge review reject 5 --note "the fairness report is missing"
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    _add_comments(sub)
    _add_review(sub)


def _add_comments(sub: argparse._SubParsersAction) -> None:
    comments = sub.add_parser("comments", help="threaded comments on runs, graphs, model versions and experiments",
                              description="Threaded comments, kept in the store: on a run, a graph (or one of its "
                              "nodes), a model version or an experiment. @name mentions a teammate.",
                              epilog=COMMENT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    csub = comments.add_subparsers(dest="comments_command", metavar="COMMAND", required=True)
    add = csub.add_parser("add", help="add a comment or a reply",
                          description=f"Comment on TARGET ({TARGET_HELP}). BODY '-' reads it from standard input. "
                          "A graph without an id yet is given one, saved in its file's meta.")
    add.add_argument("target", metavar="TARGET")
    add.add_argument("body", metavar="BODY")
    add.add_argument("--node", metavar="NODE_ID", help="pin the comment to this node of the graph")
    add.add_argument("--reply", type=int, metavar="ID", help="reply to comment ID")
    add.add_argument("--json", action="store_true", help="the comment as one JSON object")
    add_store_arg(add)
    add.set_defaults(func=cmd_add)
    ls = csub.add_parser("list", help="list a target's comments as threads",
                         description="The comments on TARGET, thread by thread, oldest first (open ones only "
                         "unless --all).")
    ls.add_argument("target", metavar="TARGET")
    ls.add_argument("--all", action="store_true", help="resolved comments too")
    ls.add_argument("--json", action="store_true", help="one JSON array of comments, oldest first")
    add_store_arg(ls)
    ls.set_defaults(func=cmd_list)
    resolve = csub.add_parser("resolve", help="resolve a comment and its replies (a thread's first: the thread)",
                              description="Resolve comment ID and every reply below it; --reopen opens it again.")
    resolve.add_argument("id", type=int, metavar="ID")
    resolve.add_argument("--reopen", action="store_true", help="reopen instead of resolving")
    add_store_arg(resolve)
    resolve.set_defaults(func=cmd_resolve)
    inbox = csub.add_parser("inbox", help="open comments that mention you",
                            description="The unresolved comments that mention a user (default: you).")
    inbox.add_argument("--user", metavar="U", help="whose inbox (default: NEURALFORGE_USER, else your login)")
    inbox.add_argument("--json", action="store_true", help="one JSON array of comments")
    add_store_arg(inbox)
    inbox.set_defaults(func=cmd_inbox)


def _add_review(sub: argparse._SubParsersAction) -> None:
    review = sub.add_parser("review", help="ask for, list and decide approvals of model versions",
                            description="Review requests on registered model versions. Approving one records a "
                            "registry approval, which a policy's require_approval needs before production.",
                            epilog=REVIEW_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    rsub = review.add_subparsers(dest="review_command", metavar="COMMAND", required=True)
    request = rsub.add_parser("request", help="ask a teammate to review a version",
                              description="Ask REVIEWER to review the registered version NAME@VERSION.")
    request.add_argument("ref", metavar="NAME@VERSION")
    request.add_argument("--reviewer", required=True, metavar="USER")
    request.add_argument("--note", default="", metavar="TEXT", help="what to look at")
    add_store_arg(request)
    request.set_defaults(func=cmd_request)
    queue = rsub.add_parser("queue", help="pending review requests, oldest first",
                            description="The review requests not yet decided (for one reviewer, when given).")
    queue.add_argument("--reviewer", metavar="U", help="only the requests for this reviewer")
    queue.add_argument("--json", action="store_true", help="one JSON array of requests")
    add_store_arg(queue)
    queue.set_defaults(func=cmd_queue)
    approve = rsub.add_parser("approve", help="approve a request (records a registry approval)",
                              description="Approve review request ID; the version gets a registry approval.")
    approve.add_argument("id", type=int, metavar="ID")
    approve.add_argument("--note", default="", metavar="TEXT")
    add_store_arg(approve)
    approve.set_defaults(func=cmd_decide, approve=True)
    reject = rsub.add_parser("reject", help="reject a request, saying why",
                             description="Reject review request ID; --note says why.")
    reject.add_argument("id", type=int, metavar="ID")
    reject.add_argument("--note", required=True, metavar="TEXT")
    add_store_arg(reject)
    reject.set_defaults(func=cmd_decide, approve=False)


# -- targets ------------------------------------------------------------------------------------------------

def parse_target(store: Any, text: str, *, create_graph_id: bool) -> tuple[str, str | None, Any]:
    """``(kind, target id, graph)`` for ``run:ID`` … (graph: the loaded graph of ``graph:PATH``, else None).
    A graph's id is None when it has none and ``create_graph_id`` is false."""
    prefix, colon, rest = text.partition(":")
    kind = _PREFIXES.get(prefix)
    if not colon or kind is None or not rest.strip():
        raise CliError(f"target {text!r}: write {TARGET_HELP}")
    rest = rest.strip()
    if kind != "graph":
        from neuralforge_desktop.core.team.comments import check_target

        return kind, check_target(store, kind, rest), None
    from neuralforge_desktop.core.ir.serialize import load_graph, save_graph
    from neuralforge_desktop.core.team.comments import existing_graph_id, graph_target_id

    graph = load_graph(rest)
    graph_id = existing_graph_id(graph)
    if graph_id is None and create_graph_id:
        graph_id = graph_target_id(graph)
        save_graph(graph, rest)
        print(f"gave {rest} the comment id {graph_id} (kept in the file's meta)", file=sys.stderr)
    return kind, graph_id, graph


# -- comments -----------------------------------------------------------------------------------------------

def cmd_add(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.comments import add_comment

    body = sys.stdin.read() if args.body == "-" else args.body
    with open_store(args.store) as store:
        kind, target_id, graph = parse_target(store, args.target, create_graph_id=True)
        if args.node and kind != "graph":
            raise CliError("--node pins a comment to a graph's node; the target is not a graph")
        assert target_id is not None
        added = add_comment(store, kind, target_id, body, anchor=args.node, parent_id=args.reply, graph=graph)
    if args.json:
        print(json.dumps(added.to_json(), indent=2, ensure_ascii=False))
    else:
        where = f" on node {added.anchor}" if added.anchor else ""
        what = f"reply {added.id} to comment {added.parent_id}" if added.parent_id else f"comment {added.id}"
        print(f"added {what}{where} ({args.target}) by {added.author}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.comments import list_comments

    with open_store(args.store) as store:
        kind, target_id, _ = parse_target(store, args.target, create_graph_id=False)
        found = [] if target_id is None else list_comments(store, kind, target_id, include_resolved=args.all)
    if args.json:
        print(json.dumps([c.to_json() for c in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print(f"no {'' if args.all else 'open '}comments on {args.target}")
        return 0
    print(render_threads(found))
    print(plural(len(found), "comment"))
    return 0


def render_threads(found: list[Any]) -> str:
    from neuralforge_desktop.core.team.comments import relative_time, threads

    lines: list[str] = []
    for comment, depth in threads(found):
        indent = "    " * depth
        if depth == 0 and lines:
            lines.append("")
        flags = [f"on {comment.anchor}"] if comment.anchor and depth == 0 else []
        if comment.resolved:
            flags.append(f"resolved by {comment.resolved_by}")
        extra = f"  [{', '.join(flags)}]" if flags else ""
        lines.append(f"{indent}#{comment.id} {comment.author} · {relative_time(comment.created)}{extra}")
        lines += [f"{indent}  {line}" for line in comment.body.splitlines()]
    return "\n".join(lines)


def cmd_resolve(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.comments import resolve_comment

    with open_store(args.store) as store:
        changed = resolve_comment(store, args.id, resolved=not args.reopen)
    print(f"{'reopened' if args.reopen else 'resolved'} comment {changed.id} on {changed.target}")
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.comments import mentions_for, relative_time
    from neuralforge_desktop.core.team.identity import current_user

    user = args.user or current_user()
    with open_store(args.store) as store:
        found = mentions_for(store, user)
    if args.json:
        print(json.dumps([c.to_json() for c in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print(f"no open comments mention {user}")
        return 0
    rows = [[str(c.id), c.target + (f" ({c.anchor})" if c.anchor else ""), c.author, relative_time(c.created),
             c.body.splitlines()[0][:60]] for c in found]
    print(table(["#", "on", "by", "when", "comment"], rows, right=[0]))
    print(plural(len(found), "open mention"))
    return 0


# -- reviews ------------------------------------------------------------------------------------------------

def cmd_request(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.reviews import request_review

    with open_store(args.store) as store:
        made = request_review(store, args.ref, args.reviewer, args.note)
    print(f"review request {made.id}: {made.reviewer} to review {made.ref}")
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.comments import relative_time
    from neuralforge_desktop.core.team.reviews import review_queue

    with open_store(args.store) as store:
        found = review_queue(store, args.reviewer)
    if args.json:
        print(json.dumps([r.to_json() for r in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("no pending review requests" + (f" for {args.reviewer}" if args.reviewer else ""))
        return 0
    rows = [[str(r.id), r.ref, r.requested_by, r.reviewer, relative_time(r.created), r.note[:50]] for r in found]
    print(table(["#", "version", "asked by", "reviewer", "asked", "note"], rows, right=[0]))
    print(plural(len(found), "pending request"))
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.reviews import decide

    with open_store(args.store) as store:
        decided = decide(store, args.id, args.approve, args.note)
    extra = "; the registry records the approval" if args.approve else ""
    print(f"{decided.status} review request {decided.id} ({decided.ref}){extra}")
    return 0
