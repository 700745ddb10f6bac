"""The SQL functions and triggers a PostgreSQL store needs where an SQLite store uses Python callbacks
(:func:`.run_filter.register_functions`) or SQLite triggers (schema v5).

The functions are created (``CREATE OR REPLACE``) by every migration of a PostgreSQL store, so a store
migrated by this version has the versions below; :func:`installed` tells whether they are current
(``nf_functions_version``), and the store migrates again when they are not.
"""

from __future__ import annotations

from typing import Any

FUNCTIONS_VERSION = 1

_FUNCTIONS = (
    # float() as Python reads a number: NULL where it would raise.
    """CREATE OR REPLACE FUNCTION nf_number(value text) RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $$
    BEGIN
        RETURN replace(value, '_', '')::double precision;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END $$""",
    # str(json.loads(value)): strings without quotes, True/False/None, numbers as stored (params are written as
    # canonical JSON, so a number's text is Python's repr); lists and objects with Python's quotes.
    """CREATE OR REPLACE FUNCTION nf_param_text(value text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE parsed json;
    BEGIN
        BEGIN
            parsed := value::json;
        EXCEPTION WHEN others THEN
            RETURN value;
        END;
        CASE json_typeof(parsed)
            WHEN 'string' THEN RETURN parsed #>> '{}';
            WHEN 'boolean' THEN RETURN CASE WHEN parsed::text = 'true' THEN 'True' ELSE 'False' END;
            WHEN 'null' THEN RETURN 'None';
            WHEN 'number' THEN RETURN btrim(value);
            ELSE RETURN replace(replace(replace(replace(value, '"', ''''), 'true', 'True'), 'false', 'False'),
                                'null', 'None');
        END CASE;
    END $$""",
    # run_filter.compare: numbers compare as numbers (= within a relative 1e-9), else text case-insensitively.
    """CREATE OR REPLACE FUNCTION nf_compare(actual double precision, actual_text text, op text, wanted text)
    RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE w double precision := nf_number(wanted); same boolean;
    BEGIN
        IF actual IS NOT NULL AND w IS NOT NULL THEN
            IF op IN ('=', '!=') THEN
                same := abs(actual - w) <= greatest(1e-9 * greatest(abs(actual), abs(w)), 1e-12);
                RETURN CASE WHEN op = '=' THEN same ELSE NOT same END;
            END IF;
            RETURN CASE op WHEN '>' THEN actual > w WHEN '<' THEN actual < w WHEN '>=' THEN actual >= w
                           WHEN '<=' THEN actual <= w ELSE false END;
        END IF;
        IF op IN ('=', '!=') THEN
            same := lower(actual_text) = lower(wanted);
            RETURN CASE WHEN op = '=' THEN same ELSE NOT same END;
        END IF;
        RETURN false;
    END $$""",
    """CREATE OR REPLACE FUNCTION nf_param_matches(value text, op text, wanted text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE shown text := nf_param_text(value); kind text;
    BEGIN
        BEGIN
            kind := json_typeof(value::json);
        EXCEPTION WHEN others THEN
            kind := 'string';
        END;
        RETURN nf_compare(CASE WHEN kind IN ('string', 'number') THEN nf_number(shown) END, shown, op, wanted);
    END $$""",
    """CREATE OR REPLACE FUNCTION nf_tag_matches(value text, op text, wanted text) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT nf_compare(nf_number(value), value, op, wanted) $$""",
    # usage.rate_from_tag: a finite number above 0, else 0.
    """CREATE OR REPLACE FUNCTION nf_rate(value text) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n > 0 AND n < 'Infinity'::double precision THEN n ELSE 0 END
    FROM (SELECT nf_number(COALESCE(value, '0')) AS n) AS parsed $$""",
    # One stamp per write to a run or its params/tags/latest metrics: the next store-wide revision. Writers
    # hold the store's advisory lock, so MAX + 1 only grows and a snapshot sees all or none of a commit's stamps.
    """CREATE OR REPLACE FUNCTION nf_stamp_run_revision() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE target text;
    BEGIN
        IF TG_TABLE_NAME = 'runs' THEN
            target := NEW.id;
        ELSIF TG_OP = 'DELETE' THEN
            target := OLD.run_id;
        ELSE
            target := NEW.run_id;
        END IF;
        UPDATE runs SET revision = (SELECT COALESCE(MAX(revision), 0) + 1 FROM runs) WHERE id = target;
        RETURN NULL;
    END $$""",
    f"CREATE OR REPLACE FUNCTION nf_functions_version() RETURNS integer LANGUAGE sql IMMUTABLE AS "
    f"$$ SELECT {FUNCTIONS_VERSION:d} $$",
)


def install(conn: Any) -> None:
    # Python's str.lower() lowers every letter; lower() in a C-locale database only ASCII ones, unless told to
    # use ICU's rules (where the server has ICU).
    icu = conn.execute("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'").fetchone() is not None
    collate = ' COLLATE "und-x-icu"' if icu else ""
    conn.execute(f"CREATE OR REPLACE FUNCTION nf_lower(text) RETURNS text LANGUAGE sql IMMUTABLE AS "
                 f"$$ SELECT lower($1{collate}) $$")
    for statement in _FUNCTIONS:
        conn.execute(statement)


def store_blobs_uncompressed(conn: Any) -> None:
    """Metric chunks are written and read whole, often: compressing them (TOAST's pglz) costs more time on every
    flush and read than the disk it saves. Idempotent; run after every migration, so new tables get it too."""
    if conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
                    "AND table_name = 'metric_chunks'").fetchone() is not None:
        conn.execute("ALTER TABLE metric_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def installed(conn: Any) -> bool:
    row = conn.execute("SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                       "WHERE p.proname = 'nf_functions_version' AND n.nspname = current_schema()").fetchone()
    if row is None:
        return False
    return int(conn.execute("SELECT nf_functions_version()").fetchone()[0]) >= FUNCTIONS_VERSION


def revision_triggers(run_fields: str) -> list[str]:
    """Schema v5's triggers, on PostgreSQL (the trigger function comes from :func:`install`)."""
    run = "FOR EACH ROW EXECUTE FUNCTION nf_stamp_run_revision()"
    statements = [f"CREATE TRIGGER runs_revision_insert AFTER INSERT ON runs {run}",
                  f"CREATE TRIGGER runs_revision_update AFTER UPDATE OF {run_fields} ON runs {run}"]
    for table in ("params", "tags", "latest_metrics"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements.append(f"CREATE TRIGGER {table}_revision_{event.lower()} AFTER {event} ON {table} {run}")
    return statements
