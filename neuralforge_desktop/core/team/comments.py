"""Threaded comments on runs, graphs, model versions and experiments, kept in the store (schema v14).

A comment either starts a thread (``parent_id`` None) or replies to another comment of the same target, replies
to replies included; every comment remembers its thread's first comment. Resolving a comment resolves it and
every reply below it, so resolving a thread's first comment resolves the whole thread; reopening a comment
reopens it, the replies below it and the comments above it (a thread with an open comment is open).

``@name`` in a body mentions a user: mentions are kept per comment, and :func:`mentions_for` is a user's inbox,
the unresolved comments that mention them.

Targets are named by kind and id: a run's id, a graph's id (:func:`graph_target_id`), ``NAME@VERSION`` of a
registered model version, an experiment's id. A graph comment may be pinned to one of its nodes (``anchor``).

Graph identity: graphs are files, which move, get renamed and are edited, so a graph is named by a random id
kept in the file itself, ``meta["graph_id"]`` (32 hex digits). :func:`graph_target_id` creates it the first
time a graph is commented on; it survives saving, loading, renaming and moving the file. A copy of the file
(Save As) keeps the id, and with it the comments, until one of the two is given a new id with
:func:`new_graph_id`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.errors import UserError

TARGET_KINDS: tuple[str, ...] = ("run", "graph", "model_version", "experiment")
GRAPH_ID_KEY = "graph_id"
MAX_BODY = 20_000  # characters; a comment is a note, not a document
_GRAPH_ID = re.compile(r"[0-9a-f]{32}")
# @name: not inside a word or an e-mail address; a trailing '.' or '-' ends the sentence, not the name.
_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]|[A-Za-z0-9_])")
_COLUMNS = ("id, target_kind, target_id, anchor, parent_id, author, body, created, resolved, resolved_by, "
            "resolved_at")


class CommentError(UserError):
    """A comment that cannot be added or changed as asked (unknown target or comment, empty body …)."""


@dataclass(frozen=True)
class Comment:
    id: int
    target_kind: str  # "run" | "graph" | "model_version" | "experiment"
    target_id: str  # run id; graph id (see graph_target_id); "NAME@VERSION"; experiment id
    anchor: str | None  # for graphs: the node id the comment is pinned to (None: the whole graph)
    parent_id: int | None  # None: starts a thread; else the comment it replies to
    author: str
    body: str
    created: float
    resolved: bool
    resolved_by: str | None
    resolved_at: float | None
    mentions: tuple[str, ...]  # user names mentioned with @name in body

    @property
    def target(self) -> str:
        """The target as the command line writes it (``run:ID``, ``model:NAME@V`` …)."""
        return f"{target_prefix(self.target_kind)}:{self.target_id}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "target_kind": self.target_kind, "target_id": self.target_id, "anchor": self.anchor,
                "parent_id": self.parent_id, "author": self.author, "body": self.body, "created": self.created,
                "resolved": self.resolved, "resolved_by": self.resolved_by, "resolved_at": self.resolved_at,
                "mentions": list(self.mentions)}


def target_prefix(kind: str) -> str:
    return "model" if kind == "model_version" else kind


def parse_mentions(body: str) -> tuple[str, ...]:
    """The user names ``body`` mentions with ``@name``, each once, in order of first mention."""
    return tuple(dict.fromkeys(_MENTION.findall(body)))


def mention_spans(body: str) -> list[tuple[int, int]]:
    """Where each ``@name`` lies in ``body`` (start, end), for highlighting."""
    return [match.span() for match in _MENTION.finditer(body)]


# -- graph identity -----------------------------------------------------------------------------------------

def graph_target_id(graph: Any) -> str:
    """The stable id of ``graph`` (``graph.meta["graph_id"]``), created now when it has none; the caller saves
    the graph so the new id is kept in its file."""
    current = graph.meta.get(GRAPH_ID_KEY)
    if isinstance(current, str) and _GRAPH_ID.fullmatch(current):
        return current
    return new_graph_id(graph)


def existing_graph_id(graph: Any) -> str | None:
    """The graph's id when it has one (None: it was never commented on)."""
    current = graph.meta.get(GRAPH_ID_KEY)
    return current if isinstance(current, str) and _GRAPH_ID.fullmatch(current) else None


def new_graph_id(graph: Any) -> str:
    """Give ``graph`` a fresh id (a copy that should no longer share its original's comments)."""
    graph.meta[GRAPH_ID_KEY] = uuid.uuid4().hex
    return str(graph.meta[GRAPH_ID_KEY])


def graph_node_ids(graph: Any) -> set[str]:
    """Every node id a comment may be pinned to: the top level and, as ``block/inner``, inside blocks."""
    return {path for path, _ in graph.walk()}


# -- writing ------------------------------------------------------------------------------------------------

def add_comment(store: Any, target_kind: str, target_id: str, body: str, *, anchor: str | None = None,
                parent_id: int | None = None, author: str | None = None, created: float | None = None,
                graph: Any = None) -> Comment:
    """Add a comment (``parent_id``: a reply) and return it. ``graph``: the graph a ``graph`` target's id
    belongs to, so the anchor is checked against its nodes."""
    from neuralforge_desktop.core.team.identity import current_user

    text = body.strip()
    if not text:
        raise CommentError("the comment is empty: write what you want to say")
    if len(text) > MAX_BODY:
        raise CommentError(f"the comment is {len(text):,} characters long; keep it under {MAX_BODY:,}")
    target_id = check_target(store, target_kind, target_id, graph=graph)
    if anchor is not None:
        anchor = anchor.strip() or None
    if anchor is not None and graph is not None and anchor not in graph_node_ids(graph):
        raise CommentError(f"the graph has no node {anchor!r} to pin the comment to")
    who = (author or current_user()).strip()
    if not who:
        raise CommentError("the comment needs an author")
    when = time.time() if created is None else float(created)
    mentions = parse_mentions(text)
    with store.database.write() as conn:
        thread_id = None
        if parent_id is not None:
            parent = conn.execute("SELECT target_kind, target_id, anchor, thread_id FROM comments WHERE id = ?",
                                  (int(parent_id),)).fetchone()
            if parent is None:
                raise CommentError(f"no comment {parent_id} to reply to")
            if (parent[0], parent[1]) != (target_kind, target_id):
                raise CommentError(f"comment {parent_id} is on {target_prefix(parent[0])}:{parent[1]}, not on "
                                   f"{target_prefix(target_kind)}:{target_id}; reply on its own target")
            if anchor is not None and parent[2] is not None and anchor != parent[2]:
                raise CommentError(f"comment {parent_id} is pinned to node {parent[2]!r}; a reply stays on it")
            anchor, thread_id = parent[2], int(parent[3])
        cursor = conn.execute(
            "INSERT INTO comments (target_kind, target_id, anchor, parent_id, thread_id, author, body, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (target_kind, target_id, anchor, parent_id, thread_id, who, text, when))
        comment_id = int(cursor.lastrowid or 0)
        if thread_id is None:
            conn.execute("UPDATE comments SET thread_id = ? WHERE id = ?", (comment_id, comment_id))
        for name in mentions:
            conn.execute("INSERT OR IGNORE INTO comment_mentions (comment_id, user_name) VALUES (?, ?)",
                         (comment_id, name))
        added = _read(conn, [comment_id])[0]
    _audit(store, "comment.added", added, {"author": who, "anchor": anchor, "reply_to": parent_id,
                                           "mentions": list(mentions)})
    return added


def resolve_comment(store: Any, comment_id: int, *, resolved: bool = True, who: str | None = None,
                    at: float | None = None) -> Comment:
    """Resolve a comment and every reply below it (``resolved=False``: reopen it, the replies below it and
    the comments above it). Returns the comment as it now is."""
    from neuralforge_desktop.core.team.identity import current_user

    actor = who or current_user()
    when = time.time() if at is None else float(at)
    with store.database.write() as conn:
        row = conn.execute("SELECT thread_id FROM comments WHERE id = ?", (int(comment_id),)).fetchone()
        if row is None:
            raise CommentError(f"no comment {comment_id} (see `neuralforge comments list TARGET`)")
        links = dict(conn.execute("SELECT id, parent_id FROM comments WHERE thread_id = ?", (row[0],)).fetchall())
        ids = _below(links, int(comment_id))
        if resolved:
            conn.executemany("UPDATE comments SET resolved = 1, resolved_by = ?, resolved_at = ? WHERE id = ? AND "
                             "resolved = 0", [(actor, when, i) for i in ids])
        else:
            ids |= _above(links, int(comment_id))
            conn.executemany("UPDATE comments SET resolved = 0, resolved_by = NULL, resolved_at = NULL WHERE id = ?",
                             [(i,) for i in ids])
        changed = _read(conn, [int(comment_id)])[0]
    _audit(store, "comment.resolved" if resolved else "comment.reopened", changed,
           {"by": actor, "comments": sorted(ids)})
    return changed


def move_anchors(store: Any, target_kind: str, target_id: str, moves: dict[str, str]) -> int:
    """Re-pin the comments of a graph's nodes that were renamed: ``moves`` maps each old node id to its new one
    (a swap of two names included: every comment is read first, then moved once). Returns how many moved."""
    moves = {old: new for old, new in moves.items() if old != new}
    if not moves:
        return 0
    with store.database.write() as conn:
        marks = ",".join("?" * len(moves))
        rows = conn.execute(f"SELECT id, anchor FROM comments WHERE target_kind = ? AND target_id = ? AND anchor IN "
                            f"({marks})", (target_kind, target_id, *moves)).fetchall()
        conn.executemany("UPDATE comments SET anchor = ? WHERE id = ?", [(moves[a], int(i)) for i, a in rows])
    if rows:
        from neuralforge_desktop.core.audit import record_event

        record_event(store, "comment.moved", f"{target_prefix(target_kind)}:{target_id}",
                     {"moves": dict(sorted(moves.items())), "comments": sorted(int(i) for i, _a in rows)})
    return len(rows)


def _below(links: dict[int, int | None], start: int) -> set[int]:
    found, frontier = {start}, [start]
    while frontier:
        current = frontier.pop()
        for child, parent in links.items():
            if parent == current and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _above(links: dict[int, int | None], start: int) -> set[int]:
    found: set[int] = set()
    parent = links.get(start)
    while parent is not None and parent not in found:
        found.add(parent)
        parent = links.get(parent)
    return found


# -- reading ------------------------------------------------------------------------------------------------

def list_comments(store: Any, target_kind: str | None = None, target_id: str | None = None, *,
                  include_resolved: bool = True) -> list[Comment]:
    """The comments on a target (or on every target of a kind, or all), oldest first."""
    if target_kind is not None and target_kind not in TARGET_KINDS:
        raise CommentError(f"unknown comment target kind {target_kind!r}; use one of {', '.join(TARGET_KINDS)}")
    where, values = [], []
    if target_kind is not None:
        where.append("target_kind = ?")
        values.append(target_kind)
    if target_id is not None:
        where.append("target_id = ?")
        values.append(target_id)
    if not include_resolved:
        where.append("resolved = 0")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    with store.database.read() as conn:
        ids = [int(i) for (i,) in conn.execute(f"SELECT id FROM comments{clause} ORDER BY created, id", values)]
        return _read(conn, ids)


def get_comment(store: Any, comment_id: int) -> Comment:
    with store.database.read() as conn:
        found = _read(conn, [int(comment_id)])
    if not found:
        raise CommentError(f"no comment {comment_id}")
    return found[0]


def mentions_for(store: Any, user: str) -> list[Comment]:
    """A user's inbox: the unresolved comments that mention them, oldest first."""
    with store.database.read() as conn:
        ids = [int(i) for (i,) in conn.execute(
            "SELECT c.id FROM comments c JOIN comment_mentions m ON m.comment_id = c.id "
            "WHERE m.user_name = ? AND c.resolved = 0 ORDER BY c.created, c.id", (user,))]
        return _read(conn, ids)


def comment_counts(store: Any, target_kind: str, target_id: str, *, include_resolved: bool = False) -> dict[str, int]:
    """How many comments each anchor of a target has (a graph's nodes); unresolved ones unless asked."""
    resolved = "" if include_resolved else " AND resolved = 0"
    with store.database.read() as conn:
        rows = conn.execute(f"SELECT anchor, COUNT(*) FROM comments WHERE target_kind = ? AND target_id = ? "
                            f"AND anchor IS NOT NULL{resolved} GROUP BY anchor", (target_kind, target_id)).fetchall()
    return {str(anchor): int(count) for anchor, count in rows}


def threads(comments: Iterable[Comment]) -> list[tuple[Comment, int]]:
    """``comments`` in reading order, each with its depth: every thread's start, then its replies below it
    (each reply after the comment it answers), threads oldest first."""
    items = list(comments)
    known = {c.id for c in items}
    children: dict[int | None, list[Comment]] = {}
    for c in items:
        parent = c.parent_id if c.parent_id in known else None  # a reply whose parent is filtered out: top level
        children.setdefault(parent, []).append(c)
    def by_time(found: list[Comment]) -> list[Comment]:
        return sorted(found, key=lambda c: (c.created, c.id))

    ordered: list[tuple[Comment, int]] = []
    stack = [(c, 0) for c in reversed(by_time(children.get(None, [])))]  # a loop, not recursion: any depth
    while stack:
        comment, depth = stack.pop()
        ordered.append((comment, depth))
        stack += [(c, depth + 1) for c in reversed(by_time(children.get(comment.id, [])))]
    return ordered


def _read(conn: Any, ids: list[int]) -> list[Comment]:
    if not ids:
        return []
    found: dict[int, Comment] = {}
    mentions: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):  # stay under any database's bound-parameter limit
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for cid, name in conn.execute(f"SELECT comment_id, user_name FROM comment_mentions WHERE comment_id IN "
                                      f"({marks})", chunk):
            mentions.setdefault(int(cid), []).append(str(name))
        for row in conn.execute(f"SELECT {_COLUMNS} FROM comments WHERE id IN ({marks})", chunk):
            cid, kind, target, anchor, parent, author, body, created, resolved, by, at = row
            named = mentions.get(int(cid), [])
            ordered = tuple(n for n in parse_mentions(body) if n in named) or tuple(sorted(named))
            found[int(cid)] = Comment(int(cid), kind, target, anchor, None if parent is None else int(parent),
                                      author, body, float(created), int(resolved) == 1, by,
                                      None if at is None else float(at), ordered)
    return [found[i] for i in ids if i in found]


# -- targets ------------------------------------------------------------------------------------------------

def check_target(store: Any, kind: str, target_id: str, *, graph: Any = None) -> str:
    """The target's id in its stored form (a version's ``NAME@V``, an experiment's id), or a
    :class:`CommentError` naming what does not exist."""
    from neuralforge_desktop.core.store.entities import NotFoundError

    target_id = (target_id or "").strip()
    if kind not in TARGET_KINDS:
        raise CommentError(f"unknown comment target kind {kind!r}; use one of {', '.join(TARGET_KINDS)}")
    if not target_id:
        raise CommentError(f"name the {kind.replace('_', ' ')} to comment on")
    if kind == "run":
        try:
            return str(store.get_run(target_id).id)
        except NotFoundError:
            raise CommentError(f"no run {target_id!r} to comment on (see `neuralforge runs list`)") from None
    if kind == "experiment":
        try:
            return str(store.get_experiment(target_id).id)
        except NotFoundError:
            raise CommentError(f"no experiment {target_id!r} to comment on (see `neuralforge runs list`)") from None
    if kind == "model_version":
        return model_version_id(store, target_id)
    if graph is not None:
        own = existing_graph_id(graph)
        if own is not None and own != target_id:
            raise CommentError(f"graph id {target_id!r} is not the given graph's ({own})")
    if not _GRAPH_ID.fullmatch(target_id):
        raise CommentError(f"{target_id!r} is not a graph id (32 hex digits, kept in the graph file's meta); "
                           "comment on a graph by its file: graph:PATH.nfg")
    return target_id


def model_version_id(store: Any, ref: str) -> str:
    """``NAME@VERSION`` of the registered version ``ref`` names (``NAME@3``, ``NAME@production`` …)."""
    from neuralforge_desktop.core.registry import RegistryError, resolve

    if "@" not in ref:
        raise CommentError(f"model version {ref!r}: give NAME@VERSION (for example {ref}@1)")
    try:
        return resolve(store, ref).ref
    except RegistryError as exc:
        raise CommentError(f"no model version {ref!r} to comment on: {exc}") from None


def _audit(store: Any, kind: str, comment: Comment, details: dict[str, Any]) -> None:
    from neuralforge_desktop.core.audit import record_event

    record_event(store, kind, comment.target, {"comment": comment.id, **details})


def relative_time(when: float, now: float | None = None) -> str:
    """``when`` as people say it: "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", a date."""
    seconds = (time.time() if now is None else now) - when
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, int(seconds // 60))} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    if days == 1:
        return "yesterday"
    if days < 30:
        return f"{days} days ago"
    return time.strftime("%Y-%m-%d", time.localtime(when))
