"""`neuralforge audit verify|list|export` through main(), on real stores."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from neuralforge_desktop.cli.audit_cmd import parse_since
from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.errors import UserError


def test_verify_exits_0_on_an_untouched_store_and_1_naming_an_edited_entry(audited, capsys):
    assert main(["audit", "verify", "--store", str(audited.path)]) == 0
    assert "audit log intact: 5 entries, 5 signed" in capsys.readouterr().out
    with sqlite3.connect(audited.path) as conn:
        conn.execute("UPDATE audit_log SET details = '{\"n\":99}' WHERE seq = 2")
    assert main(["audit", "verify", "--store", str(audited.path)]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at entry #2 (dataset.read mnist-10k): hash mismatch" in err
    assert main(["audit", "verify", "--json", "--store", str(audited.path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["intact"] is False and report["first_break"]["seq"] == 2


def test_list_filters_and_prints_json(audited, capsys):
    assert main(["audit", "list", "--kind", "run.", "--json", "--store", str(audited.path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["seq"], e["kind"], e["details"]) for e in listed] == [(1, "run.created", {"n": 1}),
                                                                    (4, "run.finished", {"n": 4})]
    assert main(["audit", "list", "--since", "1h", "--store", str(audited.path)]) == 0
    out = capsys.readouterr().out
    assert "model.exported" in out and "5 entries" in out
    assert main(["audit", "list", "--who", "nobody-here", "--store", str(audited.path)]) == 0
    assert "no audit entries match" in capsys.readouterr().out


def test_export_writes_every_entry_as_json_lines(audited, tmp_path, capsys):
    out = tmp_path / "audit.jsonl"
    assert main(["audit", "export", "--jsonl", "-o", str(out), "--store", str(audited.path)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5]
    assert all(len(line["hash"]) == 64 and line["signature"] for line in lines)
    assert main(["audit", "export", "--jsonl", "--store", str(audited.path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 5


def test_since_takes_ages_and_iso_times_and_names_a_bad_value():
    now = 1_000_000.0
    assert parse_since("1d", now) == now - 86400
    assert parse_since("30m", now) == now - 1800
    assert parse_since("2026-12-01T09:30") == time.mktime((2026, 12, 1, 9, 30, 0, 0, 0, -1))
    with pytest.raises(UserError, match="--since 'yesterday'"):
        parse_since("yesterday")


def test_a_bad_since_is_a_one_line_error(audited, capsys):
    status = main(["audit", "list", "--since", "yesterday", "--store", str(audited.path)])
    assert status != 0 and "--since 'yesterday'" in capsys.readouterr().err
