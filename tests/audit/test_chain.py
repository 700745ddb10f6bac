"""verify() names the first entry that breaks the chain when rows are changed directly in SQLite."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from neuralforge_desktop.core.audit import append, entries, failure_count, record_event, verify
from neuralforge_desktop.core.audit.entry import entry_hash
from neuralforge_desktop.core.audit.signing import default_key_path
from neuralforge_desktop.core.audit.verify import BAD_SIGNATURE, HASH_MISMATCH, PREVIOUS_HASH_MISMATCH, SEQUENCE_GAP
from neuralforge_desktop.core.store.sqlite_store import Store
from tests.audit.conftest import fill


def tamper(store: Store, *statements: tuple[str, tuple]) -> None:
    """Change the file behind the store's back, as someone with a SQLite shell would."""
    with sqlite3.connect(store.path) as conn:
        for sql, args in statements:
            conn.execute(sql, args)


def row(store: Store, seq: int) -> tuple:
    with sqlite3.connect(store.path) as conn:
        return conn.execute("SELECT seq, time, who, kind, subject, details, prev_hash, hash FROM audit_log "
                            "WHERE seq = ?", (seq,)).fetchone()


def test_an_untouched_chain_is_intact_and_signed(audited):
    report = verify(audited)
    assert report.intact and report.entries == 5 and report.signed == 5 and len(report.keys) == 1
    assert [e.seq for e in entries(audited)] == [1, 2, 3, 4, 5]
    assert entries(audited)[0].prev_hash == "0" * 64


def test_an_edited_row_is_named(audited):
    tamper(audited, ("UPDATE audit_log SET subject = 'r2' WHERE seq = 4", ()))
    broken = verify(audited).first_break
    assert broken is not None
    assert (broken.seq, broken.kind, broken.subject, broken.problem) == (4, "run.finished", "r2", HASH_MISMATCH)
    assert "entry #4 (run.finished r2): hash mismatch" in verify(audited).summary()


def test_a_deleted_row_leaves_a_gap_at_the_next_entry(audited):
    tamper(audited, ("DELETE FROM audit_log WHERE seq = 3", ()))
    broken = verify(audited).first_break
    assert broken is not None and (broken.seq, broken.kind, broken.problem) == (4, "run.finished", SEQUENCE_GAP)
    assert "#3" in broken.detail


def test_an_inserted_row_breaks_the_chain_at_the_entry_after_it(tmp_path):
    with Store(tmp_path / "store.db") as store:
        fill(store, sign=False)  # the chain alone, no signatures to lean on
        before = row(store, 2)
        # A forged entry #3, correctly hashed and chained to #2; the old #3..#5 moved up one place.
        forged = (3, before[1] + 1, "mallory", "registry.approved", "m@1", "{}", before[7])
        tamper(store, ("UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3", ()),
               ("UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100", ()),
               ("INSERT INTO audit_log (seq, time, who, kind, subject, details, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*forged, entry_hash(*forged))))
        report = verify(store)
    assert report.entries == 6 and report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind, report.first_break.problem) == (
        4, "graph.saved", PREVIOUS_HASH_MISMATCH)  # the entry after the forgery still chains to #2


def test_an_appended_forgery_without_the_key_is_caught_by_its_signature(audited):
    last = row(audited, 5)
    forged = (6, last[1] + 1, "mallory", "registry.approved", "m@1", "{}", last[7])
    tamper(audited, ("INSERT INTO audit_log (seq, time, who, kind, subject, details, prev_hash, hash) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*forged, entry_hash(*forged))))
    broken = verify(audited).first_break
    assert broken is not None and (broken.seq, broken.kind, broken.problem) == (6, "registry.approved", BAD_SIGNATURE)


def test_swapped_rows_are_named_at_the_first_of_them(audited):
    tamper(audited, ("UPDATE audit_log SET seq = -2 WHERE seq = 2", ()),
           ("UPDATE audit_log SET seq = 2 WHERE seq = 4", ()),
           ("UPDATE audit_log SET seq = 4 WHERE seq = -2", ()))
    broken = verify(audited).first_break
    assert broken is not None
    assert (broken.seq, broken.kind, broken.problem) == (2, "run.finished", PREVIOUS_HASH_MISMATCH)


def test_a_rehashed_edit_is_caught_by_its_signature(audited):
    seq, when, actor, kind, _subject, details, prev_hash, _hash = row(audited, 3)
    rehashed = entry_hash(seq, when, actor, kind, "/other.nfg", details, prev_hash)
    tamper(audited, ("UPDATE audit_log SET subject = '/other.nfg', hash = ? WHERE seq = 3", (rehashed,)))
    broken = verify(audited).first_break
    assert broken is not None and (broken.seq, broken.subject, broken.problem) == (3, "/other.nfg", BAD_SIGNATURE)


def test_a_damaged_signature_is_named(audited):
    tamper(audited, ("UPDATE audit_log SET signature = ? WHERE seq = 2", ("00" * 64,)))
    broken = verify(audited).first_break
    assert broken is not None and (broken.seq, broken.problem) == (2, BAD_SIGNATURE)


def test_a_stripped_signature_is_named(audited):
    tamper(audited, ("UPDATE audit_log SET signature = NULL, key_id = NULL WHERE seq = 5", ()))
    broken = verify(audited).first_break
    assert broken is not None and (broken.seq, broken.problem) == (5, BAD_SIGNATURE)


def test_the_key_is_private_to_the_user_and_reused(audited):
    key = default_key_path()
    assert key.is_file() and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert str(key).startswith(os.environ["XDG_CONFIG_HOME"])
    assert len({e.key_id for e in entries(audited)}) == 1


def test_entries_filter_by_kind_family_who_and_time(audited):
    assert [e.kind for e in entries(audited, kind="run.")] == ["run.created", "run.finished"]
    assert [e.subject for e in entries(audited, kind="graph.saved")] == ["/g.nfg"]
    assert entries(audited, actor="nobody-here") == []
    assert len(entries(audited, since=entries(audited)[2].time)) == 3


def test_record_event_never_raises_into_the_caller(tmp_path):
    with Store(tmp_path / "store.db") as store:
        tamper(store, ("DROP TABLE audit_log", ()))
        before = failure_count()
        record_event(store, "run.created", "r1", {"x": 1})
        assert failure_count() == before + 1
        record_event(store, "run.created", "r1", {"not json": object()})  # details that cannot be encoded
        assert failure_count() == before + 2


def test_details_are_stored_as_canonical_json(audited):
    entry = append(audited, "policy.evaluated", "m@1", {"b": 1, "a": [1.5, "é"]})
    assert entry.details == '{"a":[1.5,"é"],"b":1}'
    assert verify(audited).intact


def _append_many(path: str, worker: int, count: int) -> None:
    with Store(Path(path)) as store:
        for i in range(count):
            append(store, "test.concurrent", f"w{worker}", {"i": i})


def test_eight_processes_appending_at_once_keep_one_chain(tmp_path):
    import multiprocessing

    path = tmp_path / "store.db"
    Store(path).close()  # created and migrated once, so the workers only append
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), w, 20)) for w in range(8)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    assert [p.exitcode for p in workers] == [0] * 8
    with Store(path) as store:
        report = verify(store)
        found = entries(store)
    assert report.intact, report.summary()
    assert [e.seq for e in found] == list(range(1, 161))
    assert {e.subject for e in found} == {f"w{w}" for w in range(8)}
