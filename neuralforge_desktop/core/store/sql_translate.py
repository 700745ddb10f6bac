"""SQLite-dialect SQL, as the store's modules write it, spelled for PostgreSQL.

The store's queries and migrations are written once, in the portable subset of SQLite's dialect (see the
rules in :mod:`.schema`); this module rewrites each distinct statement once (the result is cached) so the same
code runs on a PostgreSQL store:

* ``?`` → ``%s`` and a literal ``%`` → ``%%`` (psycopg's placeholders); string literals are left alone
  except for that doubling.
* ``INSERT OR IGNORE`` → ``ON CONFLICT DO NOTHING``; ``INSERT OR REPLACE`` → ``ON CONFLICT (primary key)
  DO UPDATE SET column = EXCLUDED.column`` (primary keys are read from the database and from the
  ``CREATE TABLE`` statements translated here); an INSERT into a table with an identity ``id`` gets
  ``RETURNING id`` so the cursor's ``lastrowid`` works.
* functions: ``group_concat`` → ``string_agg``, ``json_each(?)`` → ``json_array_elements_text``,
  ``json_quote``/``json_group_object``/``json_extract(x, '$')``, scalar ``max(a, b)``/``min(a, b)`` →
  ``GREATEST``/``LEAST``, ``instr`` → ``strpos``.
* DDL: ``INTEGER`` → ``BIGINT``, ``REAL`` → ``DOUBLE PRECISION``, ``BLOB`` → ``BYTEA``, ``INTEGER PRIMARY
  KEY AUTOINCREMENT`` → an identity column, ``WITHOUT ROWID`` dropped. A table SQLite would give a rowid
  (no ``WITHOUT ROWID``, no ``INTEGER PRIMARY KEY``) gets a ``rowid`` identity column, so queries that order
  by ``rowid`` (creation order) mean the same on both.
* ``PRAGMA`` statements are skipped (translated to None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Translated:
    sql: str
    returns_id: bool  # RETURNING id was appended: the first row is the new row's id


class Translator:
    """Translates statements for one database: ``primary_keys`` and ``identity_tables`` describe its tables."""

    def __init__(self, primary_keys: dict[str, tuple[str, ...]] | None = None,
                 identity_tables: set[str] | None = None,
                 unique_keys: dict[str, list[tuple[str, ...]]] | None = None) -> None:
        self.primary_keys: dict[str, tuple[str, ...]] = dict(primary_keys or {})
        self.unique_keys: dict[str, list[tuple[str, ...]]] = {t: list(k) for t, k in (unique_keys or {}).items()}
        self.identity_tables: set[str] = set(identity_tables or ())
        self._cache: dict[str, Translated | None] = {}

    def __call__(self, sql: str) -> Translated | None:
        try:
            return self._cache[sql]
        except KeyError:
            pass
        result = self._translate(sql)
        if len(self._cache) < 20_000:  # queries built with inline values must not grow it without bound
            self._cache[sql] = result
        return result

    def _translate(self, sql: str) -> Translated | None:
        stripped = sql.strip()
        head = stripped[:16].upper()
        if head.startswith("PRAGMA"):
            return None
        if head.startswith("CREATE TABLE"):
            return Translated(self._create_table(stripped), False)
        if head.startswith("ALTER TABLE"):
            return Translated(_escape(_map_code(stripped, _ddl_types)), False)
        if head.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX")):
            return Translated(_escape(stripped), False)
        code = _calls(stripped)
        returns_id = False
        match = re.match(r"INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO\s+(\w+)", code, re.IGNORECASE)
        if match:
            table = match.group(2)
            code = "INSERT INTO " + code[match.end() - len(table):]
            if match.group(1).upper() == "IGNORE":
                code += " ON CONFLICT DO NOTHING"
            else:
                code += self._upsert(table, code)
        insert = re.match(r"INSERT\s+INTO\s+(\w+)", code, re.IGNORECASE)
        if insert and insert.group(1).lower() in self.identity_tables and "RETURNING" not in code.upper():
            code += " RETURNING id"
            returns_id = True
        return Translated(_escape(code), returns_id)

    def _upsert(self, table: str, code: str) -> str:
        columns_match = re.match(r"INSERT\s+INTO\s+\w+\s*\(([^)]*)\)", code, re.IGNORECASE)
        if columns_match is None:
            raise ValueError(f"INSERT OR REPLACE into {table} must name its columns")
        columns = [c.strip() for c in columns_match.group(1).split(",")]
        # The conflict target: the primary key if the row gives all of it, else a unique key it gives whole
        # (a table numbered by an identity id, replaced by its UNIQUE name).
        given = {c.lower() for c in columns}
        candidates = [self.primary_keys[table.lower()]] if table.lower() in self.primary_keys else []
        candidates += sorted(self.unique_keys.get(table.lower(), []), key=len)
        keys = next((k for k in candidates if k and set(k) <= given), None)
        if keys is None:
            raise ValueError(f"INSERT OR REPLACE into {table} gives no whole primary or unique key")
        updates = [c for c in columns if c.lower() not in keys]
        # With nothing else to set, a no-op update still hands the row back to RETURNING (lastrowid).
        action = "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in (updates or [keys[0]]))
        return f" ON CONFLICT ({', '.join(keys)}) {action}"

    def _create_table(self, sql: str) -> str:
        match = re.match(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\(", sql, re.IGNORECASE)
        if match is None:
            return _escape(sql)
        table = match.group(1).lower()
        body_end = _closing(sql, match.end() - 1)
        body, tail = sql[match.end():body_end], sql[body_end + 1:]
        without_rowid = bool(re.search(r"WITHOUT\s+ROWID", tail, re.IGNORECASE))
        integer_key = re.search(r"(\w+)\s+INTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?", body, re.IGNORECASE)
        keys = _primary_key(body)
        if keys:
            self.primary_keys[table] = keys
        self.unique_keys[table] = _unique_keys(body)
        if integer_key and integer_key.group(2):
            body = (body[:integer_key.start()] + f"{integer_key.group(1)} BIGINT GENERATED BY DEFAULT AS IDENTITY "
                    "PRIMARY KEY" + body[integer_key.end():])
            if integer_key.group(1).lower() == "id":
                self.identity_tables.add(table)
        elif not without_rowid and not integer_key:
            body += ",\n        rowid BIGINT GENERATED BY DEFAULT AS IDENTITY"
        body = _map_code(body, _ddl_types)
        return _escape(f"CREATE TABLE {match.group(1)} ({body})")


def _primary_key(body: str) -> tuple[str, ...]:
    table_key = re.search(r"PRIMARY\s+KEY\s*\(([^)]*)\)", body, re.IGNORECASE)
    if table_key:
        return tuple(c.strip().lower() for c in table_key.group(1).split(","))
    column_key = re.search(r"(?:^|[(,])\s*(\w+)\s+\w+[^,]*?PRIMARY\s+KEY", body, re.IGNORECASE)
    return (column_key.group(1).lower(),) if column_key else ()


def _unique_keys(body: str) -> list[tuple[str, ...]]:
    """UNIQUE (a, b) constraints and columns declared UNIQUE in a CREATE TABLE body."""
    keys = [tuple(c.strip().lower() for c in m.group(1).split(","))
            for m in re.finditer(r"\bUNIQUE\s*\(([^)]*)\)", body, re.IGNORECASE)]
    keys += [(m.group(1).lower(),) for m in re.finditer(r"(?:^|[(,])\s*(\w+)\s+\w+[^,(]*?\bUNIQUE\b(?!\s*\()",
                                                        body, re.IGNORECASE)]
    return keys


def _closing(text: str, open_index: int) -> int:
    """The index of the parenthesis closing the one at ``open_index`` (string literals skipped)."""
    depth, i = 0, open_index
    while i < len(text):
        char = text[i]
        if char == "'":
            i = text.index("'", i + 1)
            while i + 1 < len(text) and text[i + 1] == "'":
                i = text.index("'", i + 2)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced parentheses in SQL")


def _split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments of a function call's inside."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char == "'":
            i = _closing_quote(text, i)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _closing_quote(text: str, i: int) -> int:
    j = text.index("'", i + 1)
    while j + 1 < len(text) and text[j + 1] == "'":
        j = text.index("'", j + 2)
    return j


def _map_code(sql: str, rewrite: object) -> str:
    """Apply ``rewrite`` (text → text) to the SQL outside string literals; literals pass unchanged."""
    assert callable(rewrite)
    out: list[str] = []
    code_start, i = 0, 0
    while i < len(sql):
        if sql[i] == "'":
            out.append(rewrite(sql[code_start:i]))
            end = _closing_quote(sql, i)
            out.append(sql[i:end + 1])
            i = code_start = end + 1
        else:
            i += 1
    out.append(rewrite(sql[code_start:]))
    return "".join(out)


def _escape(sql: str) -> str:
    """``%`` → ``%%`` everywhere, then ``?`` → ``%s`` outside string literals."""
    doubled = sql.replace("%", "%%")
    return _map_code(doubled, lambda code: code.replace("?", "%s"))


_DDL_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA"}


def _ddl_types(code: str) -> str:
    code = re.sub(r"\bWITHOUT\s+ROWID\b", "", code, flags=re.IGNORECASE)
    # A type follows its column's name: a column named "blob" keeps its name.
    return re.sub(r"(\b\w+\s+)(INTEGER|REAL|BLOB)\b", lambda m: m.group(1) + _DDL_TYPES[m.group(2).upper()], code,
                  flags=re.IGNORECASE)


_FUNCTIONS = ("group_concat", "json_each", "json_quote", "json_group_object", "json_extract", "max", "min", "instr")
_CALL = re.compile(r"\b(" + "|".join(_FUNCTIONS) + r")\s*\(", re.IGNORECASE)


def _calls(sql: str) -> str:
    """Rewrite the SQLite functions PostgreSQL spells differently, innermost arguments first."""
    out: list[str] = []
    i = 0
    while True:
        match = _next_call(sql, i)
        if match is None:
            out.append(sql[i:])
            return "".join(out)
        name, start, open_index = match
        close = _closing(sql, open_index)
        args = [_calls(a) for a in _split_args(sql[open_index + 1:close])]
        out.append(sql[i:start])
        out.append(_function(name.lower(), args, sql[start:close + 1]))
        i = close + 1


def _next_call(sql: str, start: int) -> tuple[str, int, int] | None:
    i = start
    while True:
        match = _CALL.search(sql, i)
        if match is None:
            return None
        quote_at = sql.find("'", i, match.start())
        if quote_at >= 0:  # a literal comes first: skip it
            i = _closing_quote(sql, quote_at) + 1
            continue
        return match.group(1), match.start(), match.end() - 1


def _function(name: str, args: list[str], original: str) -> str:
    if name == "group_concat":
        separator = args[1] if len(args) > 1 else "','"
        return f"string_agg(({args[0]})::text, {separator})"
    if name == "json_each":
        return f"json_array_elements_text(({args[0]})::json)"
    if name == "json_quote":
        return f"to_json(({args[0]})::text)::text"
    if name == "json_group_object":
        return f"COALESCE(json_object_agg({args[0]}, {args[1]})::text, '{{}}')"
    if name == "json_extract" and len(args) == 2 and args[1] == "'$'":
        return f"(({args[0]})::json #>> '{{}}')"
    if name in ("max", "min") and len(args) > 1:
        return f"{'GREATEST' if name == 'max' else 'LEAST'}({', '.join(args)})"
    if name == "instr":
        return f"strpos({args[0]}, {args[1]})"
    if name in ("max", "min"):
        return f"{name}({args[0]})"
    raise ValueError(f"no PostgreSQL spelling for {original}")
