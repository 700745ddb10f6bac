"""The filter the Runs dock types into: its syntax, its meaning on one :class:`Run` (:func:`run_matches`, the
reference), and the same meaning as an SQL condition (:func:`filter_sql`) so a store of any size is filtered by
SQLite instead of by Python over every run.

Syntax (terms separated by spaces; a run must match every term, case-insensitively):

- ``status:finished``, ``name:lr-sweep``, ``experiment:mnist``, ``id:89a``, ``tag:graph`` — that field
  contains the text (``tag:`` looks in tag keys and values);
- ``lr=0.001``, ``optimizer=adam``, ``graph=digits-mlp`` — a param or tag with that value; numbers compare
  as numbers, so ``lr=1e-3`` matches too; ``!=`` negates (a run without the key is "not equal" to anything);
- ``val/acc>0.9``, ``epochs>=10``, ``train/loss<0.2`` — a metric's latest value (or a numeric param);
- anything else — free text, found in the id, name, experiment, status, params or tags.

The SQL form calls back into Python (:func:`register_functions`) where SQLite's own functions would differ
from Python's: ``lower()`` of non-ASCII text, a param's text as Python prints it (``True``, not ``true``),
and "is this text a number" as ``float()`` decides. Those callbacks run only on the rows that have the key.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_FIELDS = ("status", "name", "experiment", "id", "tag")
_OPS: dict[str, Callable[[Any, Any], bool]] = {">=": operator.ge, "<=": operator.le, "!=": operator.ne,
                                               ">": operator.gt, "<": operator.lt, "=": operator.eq}
_COMPARE = re.compile(r"^([^<>=!]+?)(>=|<=|!=|>|<|=)(.*)$")
EPOCHS_DONE = "epochs_done"  # a pseudo-key: the number of completed epochs
EPOCH_METRIC = "epoch_seconds"  # one point is logged per completed epoch, so its count is the progress


@dataclass(frozen=True)
class Term:
    kind: str  # "field", "compare" or "text"
    key: str
    op: str
    value: str


def parse_filter(text: str) -> list[Term]:
    terms: list[Term] = []
    for token in text.split():
        head, sep, rest = token.partition(":")
        if sep and head.lower() in _FIELDS and "=" not in head:
            terms.append(Term("field", head.lower(), ":", rest.lower()))
            continue
        match = _COMPARE.match(token)
        if match:
            terms.append(Term("compare", match.group(1), match.group(2), match.group(3)))
        else:
            terms.append(Term("text", "", "", token.lower()))
    return terms


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _metric(run: Any, name: str) -> float | None:
    m = run.metrics.get(name)
    return None if m is None or m.value is None or math.isnan(m.value) else float(m.value)


def epochs_done(run: Any) -> int:
    m = run.metrics.get(EPOCH_METRIC)
    return int(m.count) if m is not None else 0


def _values_for(run: Any, key: str) -> list[Any]:
    found = [run.params[key]] if key in run.params else []
    if key in run.tags:
        found.append(run.tags[key])
    metric = _metric(run, key)
    if metric is not None:
        found.append(metric)
    if key == EPOCHS_DONE:
        found.append(epochs_done(run))
    return found


def compare(actual: Any, op: str, wanted: str) -> bool:
    a, w = _number(actual), _number(wanted)
    if a is not None and w is not None:
        if op in ("=", "!="):  # 0.001 written as 1e-3, or a float32 metric shown rounded
            same = math.isclose(a, w, rel_tol=1e-9, abs_tol=1e-12)
            return same if op == "=" else not same
        return _OPS[op](a, w)
    if op in ("=", "!="):
        same = str(actual).lower() == wanted.lower()
        return same if op == "=" else not same
    return False


def run_matches(run: Any, terms: Sequence[Term]) -> bool:
    """Whether ``run`` matches every term (the reference meaning; :func:`filter_sql` must agree with it)."""
    for term in terms:
        if term.kind == "field":
            if term.key == "tag":
                hay = " ".join(f"{k}={v}" for k, v in run.tags.items()).lower()
            else:
                hay = str(getattr(run, term.key)).lower()
            if term.value not in hay:
                return False
        elif term.kind == "compare":
            values = _values_for(run, term.key)
            if term.op == "!=" and not values:
                continue  # a run without the key is "not equal" to anything
            if not any(compare(v, term.op, term.value) for v in values):
                return False
        else:
            hay = " ".join([run.id, run.name, run.experiment, run.status,
                            *(f"{k}={v}" for k, v in run.params.items()),
                            *(f"{k}={v}" for k, v in run.tags.items())]).lower()
            if term.value not in hay:
                return False
    return True


# -- the same in SQL -----------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _param_text(json_text: str) -> str:
    try:
        return str(json.loads(json_text))
    except ValueError:
        return json_text


def _param_matches(json_text: str, op: str, wanted: str) -> int:
    try:
        value = json.loads(json_text)
    except ValueError:
        value = json_text
    return int(compare(value, op, wanted))


def _tag_matches(text: str, op: str, wanted: str) -> int:
    return int(compare(text, op, wanted))


def register_functions(conn: sqlite3.Connection) -> None:
    """The Python functions :func:`filter_sql` and the runs view's sort keys call (cheap; once per read)."""
    from neuralforge_desktop.core.store.usage import rate_from_tag

    conn.create_function("nf_lower", 1, lambda text: None if text is None else str(text).lower(), deterministic=True)
    conn.create_function("nf_param_text", 1, _param_text, deterministic=True)
    conn.create_function("nf_param_matches", 3, _param_matches, deterministic=True)
    conn.create_function("nf_tag_matches", 3, _tag_matches, deterministic=True)
    conn.create_function("nf_rate", 1, rate_from_tag, deterministic=True)


_FIELD_SQL = {"status": "r.status", "name": "r.name", "experiment": "e.name", "id": "r.id"}
_TAGS_TEXT = "COALESCE((SELECT group_concat(t.key || '=' || t.value, ' ') FROM tags t WHERE t.run_id = r.id), '')"
# A param as Python prints it: SQLite's own JSON functions agree for strings and numbers (most params), the
# Python callback is needed only for true/false/null, lists and objects.
_PARAM_AS_TEXT = ("CASE WHEN NOT json_valid(p.value) THEN nf_param_text(p.value) WHEN json_type(p.value) = 'text' "
                  "THEN json_extract(p.value, '$') WHEN json_type(p.value) IN ('integer', 'real') THEN p.value "
                  "ELSE nf_param_text(p.value) END")
# PostgreSQL: nf_param_text (a PL/pgSQL function, see .pg_functions) does the whole job.
_PARAM_AS_TEXT_PG = "nf_param_text(p.value)"


def _text_hay(dialect: str) -> str:
    as_text = _PARAM_AS_TEXT_PG if dialect == "postgresql" else _PARAM_AS_TEXT
    params = (f"COALESCE((SELECT ' ' || group_concat(p.key || '=' || {as_text}, ' ') FROM params p "
              "WHERE p.run_id = r.id), '')")
    return (f"r.id || ' ' || r.name || ' ' || e.name || ' ' || r.status || {params} || "
            f"COALESCE((SELECT ' ' || group_concat(t.key || '=' || t.value, ' ') FROM tags t "
            f"WHERE t.run_id = r.id), '')")


EPOCHS_SQL = (f"COALESCE((SELECT em.count FROM latest_metrics em WHERE em.run_id = r.id AND "
              f"em.name = '{EPOCH_METRIC}'), 0)")


def _number_sql(expression: str, op: str, wanted: str) -> tuple[str, list[Any]]:
    """``compare(value of expression, op, wanted)`` for a numeric column (NULL: no value)."""
    w = _number(wanted)
    if w is None:  # a number is never the same text as a non-number
        return ("1 = 1" if op == "!=" else "1 = 0"), []
    if op in ("=", "!="):
        same = f"(abs({expression} - ?) <= max(1e-9 * max(abs({expression}), abs(?)), 1e-12))"
        return (same if op == "=" else f"NOT {same}"), [w, w]
    return f"{expression} {op} ?", [w]


def _compare_sql(term: Term) -> tuple[str, list[Any]]:
    key, op, wanted = term.key, term.op, term.value
    metric_cond, metric_args = _number_sql("m.value", op, wanted)
    clauses = ["EXISTS (SELECT 1 FROM params p WHERE p.run_id = r.id AND p.key = ? AND "
               "nf_param_matches(p.value, ?, ?))",
               "EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = ? AND nf_tag_matches(t.value, ?, ?))",
               "EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_id = r.id AND m.name = ? AND m.value IS NOT NULL "
               f"AND {metric_cond})"]
    args: list[Any] = [key, op, wanted, key, op, wanted, key, *metric_args]
    if key == EPOCHS_DONE:
        epochs_cond, epochs_args = _number_sql(EPOCHS_SQL, op, wanted)
        clauses.append(epochs_cond)
        args += epochs_args
    matches = "(" + " OR ".join(clauses) + ")"
    if op != "!=":
        return matches, args
    if key == EPOCHS_DONE:  # every run has a number of epochs done
        return matches, args
    has_key = ("(EXISTS (SELECT 1 FROM params p WHERE p.run_id = r.id AND p.key = ?) OR EXISTS (SELECT 1 FROM tags t "
               "WHERE t.run_id = r.id AND t.key = ?) OR EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_id = r.id "
               "AND m.name = ? AND m.value IS NOT NULL))")
    return f"(NOT {has_key} OR {matches})", [key, key, key, *args]


def filter_sql(terms: Sequence[Term], dialect: str = "sqlite") -> tuple[str, list[Any]]:
    """An SQL condition on ``runs r JOIN experiments e`` true exactly for the runs :func:`run_matches` accepts
    (``"1 = 1"`` for no terms) in the store's ``dialect``; needs :func:`register_functions` on the connection."""
    clauses: list[str] = []
    args: list[Any] = []
    for term in terms:
        if term.kind == "field":
            hay = _TAGS_TEXT if term.key == "tag" else _FIELD_SQL[term.key]
            clauses.append(f"instr(nf_lower({hay}), ?) > 0")
            args.append(term.value)
        elif term.kind == "compare":
            clause, more = _compare_sql(term)
            clauses.append(clause)
            args += more
        else:
            clauses.append(f"instr(nf_lower({_text_hay(dialect)}), ?) > 0")
            args.append(term.value)
    return (" AND ".join(clauses) if clauses else "1 = 1"), args
