"""A bundle that is damaged, tampered with, from a newer NeuralForge or shaped to escape its folder is refused
with a message naming what is wrong, and nothing is written: no run in the store, no graph file."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.team.bundle import export_bundle
from neuralforge_desktop.core.team.bundle_archive import MANIFEST, BundleError, BundleReader
from neuralforge_desktop.core.team.bundle_import import import_bundle
from tests.team.bundle_design import make_design


@pytest.fixture
def junior(tmp_path, monkeypatch) -> dict:
    """A junior's design.nfg and a store with two of its runs."""
    return make_design(tmp_path / "junior", monkeypatch)


@pytest.fixture
def bundle(junior, tmp_path) -> Path:
    path = tmp_path / "design.nfbundle"
    with Store(junior["store"]) as store:
        export_bundle(store, path, graph_path=junior["graph_path"])
    return path


def _rewrite(source: Path, target: Path, *, change=None, manifest=None, extra=()) -> Path:
    """A copy of the bundle with members replaced (``change``: name → bytes), the manifest edited, members added
    (``extra``: ZipInfo, bytes)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == MANIFEST and manifest is not None:
                data = json.dumps(manifest(json.loads(data))).encode()
            elif change and info.filename in change:
                data = change[info.filename]
            new.writestr(info, data)
        for info, data in extra:
            new.writestr(info, data)
    return target


def _refused(path: Path, tmp_path: Path, *expected: str) -> str:
    folder = tmp_path / "target"
    with Store(tmp_path / "target.db") as store:
        with pytest.raises(BundleError) as caught:
            import_bundle(store, path, graph_dir=folder)
        assert store.list_runs() == []
    assert not folder.exists()
    message = str(caught.value)
    for text in expected:
        assert text in message, message
    return message


def test_a_member_changed_after_export_is_refused_by_name(bundle, junior, tmp_path):
    run = junior["runs"][0]
    member = f"runs/{run}/metrics.json"
    with zipfile.ZipFile(bundle) as archive:
        metrics = json.loads(archive.read(member))
    metrics["val/acc"]["values"][-1] = 0.99  # a better result than the run had
    data = json.dumps(metrics, indent=1, sort_keys=True).encode()
    tampered = _rewrite(bundle, tmp_path / "tampered.nfbundle", change={member: data},
                        manifest=lambda m: {**m, "members": {**m["members"], member: {**m["members"][member],
                                                                                    "size": len(data)}}})
    # The manifest's size was made to agree: only the checksum can tell.
    _refused(tampered, tmp_path, member, "checksum")


def test_a_corrupt_member_is_refused_by_name(bundle, tmp_path):
    corrupt = tmp_path / "corrupt.nfbundle"
    data = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("graphs/design.nfg")
    # Flip a byte inside the member's compressed data (after its local header and name).
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    data[start] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    _refused(corrupt, tmp_path, "graphs/design.nfg")


def test_a_bundle_from_a_newer_format_is_refused_saying_so(bundle, tmp_path):
    newer = _rewrite(bundle, tmp_path / "newer.nfbundle", manifest=lambda m: {**m, "version": 2,
                                                                              "neuralforge": "9.0"})
    message = _refused(newer, tmp_path, "version 2", "reads version 1", "update NeuralForge")
    assert "9.0" in message


@pytest.mark.parametrize("name", ["../escaped.nfg", "/etc/escaped", "graphs/../../escaped", "C:evil", "a\\..\\b"])
def test_path_traversal_names_are_refused(bundle, tmp_path, name):
    evil = _rewrite(bundle, tmp_path / "evil.nfbundle", extra=[(zipfile.ZipInfo(name), b"x")],
                    manifest=lambda m: {**m, "members": {**m["members"], name: {"sha256": "0" * 64, "size": 1}}})
    _refused(evil, tmp_path, repr(name), "unsafe name")
    assert not (tmp_path / "escaped.nfg").exists() and not (tmp_path.parent / "escaped.nfg").exists()


def test_a_symbolic_link_member_is_refused(bundle, tmp_path):
    link = zipfile.ZipInfo("graphs/link.nfg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    evil = _rewrite(bundle, tmp_path / "link.nfbundle", extra=[(link, b"/etc/passwd")])
    _refused(evil, tmp_path, "graphs/link.nfg", "symbolic link")


def test_a_zip_bomb_is_refused_before_it_is_inflated(bundle, tmp_path):
    bomb = zipfile.ZipInfo("artifacts/" + "f" * 64)
    bomb.compress_type = zipfile.ZIP_DEFLATED
    evil = _rewrite(bundle, tmp_path / "bomb.nfbundle", extra=[(bomb, bytes(64 * 2**20))])
    assert evil.stat().st_size < 2**20  # 64 MiB of zeros deflate to well under a megabyte
    _refused(evil, tmp_path, "artifacts/fff", "zip bomb")


def test_members_and_manifest_must_agree(bundle, tmp_path):
    unlisted = _rewrite(bundle, tmp_path / "unlisted.nfbundle", extra=[(zipfile.ZipInfo("notes.txt"), b"hi")])
    _refused(unlisted, tmp_path, "'notes.txt'", "not listed in the manifest")
    missing = _rewrite(bundle, tmp_path / "missing.nfbundle",
                       manifest=lambda m: {**m, "members": {**m["members"], "extra.json": {"sha256": "0" * 64,
                                                                                            "size": 2}}})
    _refused(missing, tmp_path, "'extra.json'", "missing from the bundle")


def test_not_a_bundle(tmp_path):
    text = tmp_path / "notes.nfbundle"
    text.write_text("just text")
    _refused(text, tmp_path, "not a NeuralForge bundle")
    other_zip = tmp_path / "other.nfbundle"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    _refused(other_zip, tmp_path, "has no manifest.json")


def test_the_cli_says_why_and_exits_1(bundle, tmp_path, capsys):
    newer = _rewrite(bundle, tmp_path / "newer.nfbundle", manifest=lambda m: {**m, "version": 7})
    assert main(["bundle", "import", str(newer), "--store", str(tmp_path / "t.db"),
                 "--graph-dir", str(tmp_path / "g")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("neuralforge: newer.nfbundle: is bundle format version 7") and len(err.splitlines()) == 1
    assert main(["bundle", "inspect", str(newer)]) == 1


def test_json_members_hold_no_code(bundle):
    """Every member is JSON (or an artifact's bytes): nothing is pickled."""
    with BundleReader(bundle) as reader:
        for name in reader.names():
            if not name.startswith("artifacts/"):
                data = reader.read_bytes(name)
                assert not data.startswith(b"\x80"), name  # a pickle's protocol marker
                json.loads(data) if name.endswith(".json") else data.decode("utf-8")
