"""Datasets for a remote run. A built-in dataset (``mnist-10k``, ``digits`` …) comes with NeuralForge on the host
too, so only its name travels. A dataset given as a path (a file or a folder) is sent once per content: it lands
in ``<workdir>/datasets/<sha256>/<name>`` on the host, and a later run with the same bytes finds it there (its
fingerprint is checked) and sends nothing."""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.remote.ssh import Connection, sha256_file

Say = Callable[[str], None]
MANIFEST = "manifest.json"  # in the dataset's cache folder: what was sent, written last (its presence = complete)


@dataclass(frozen=True)
class RemoteDataset:
    spec: str  # what the remote worker's config names: the built-in name, or the path on the host
    fingerprint: str | None  # sha256 over the content; None for a built-in
    sent_bytes: int  # 0 when the host had it already


def is_builtin(spec: str) -> bool:
    from neuralforge_desktop.core.training.datasets import list_datasets

    return spec in {d.name for d in list_datasets()}


def dataset_files(path: Path) -> list[tuple[Path, str]]:
    """The files of a dataset (one file, or every file under a folder), with their paths relative to it."""
    if path.is_file():
        return [(path, path.name)]
    if not path.is_dir():
        raise UserError(f"dataset {path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    if not files:
        raise UserError(f"dataset {path}: the folder has no files")
    return [(p, f"{path.name}/{p.relative_to(path).as_posix()}") for p in files]


def fingerprint(files: list[tuple[Path, str]]) -> tuple[str, dict[str, str]]:
    digests = {relative: sha256_file(local) for local, relative in files}
    whole = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()
    return whole, digests


def upload_dataset(conn: Connection, workdir: str, spec: str, say: Say | None = None) -> RemoteDataset:
    """Where the remote worker finds the dataset ``spec``; sends it when the host does not have these bytes."""
    if is_builtin(spec):
        return RemoteDataset(spec, None, 0)
    local = Path(spec).expanduser()
    files = dataset_files(local)
    whole, digests = fingerprint(files)
    folder = posixpath.join(workdir, "datasets", whole)
    target = posixpath.join(folder, local.name)
    manifest = posixpath.join(folder, MANIFEST)
    if conn.exists(manifest):
        try:
            if json.loads(conn.read_text(manifest)).get("files") == digests:
                if say:
                    say(f"dataset {local.name}: already on host {conn.host.name} (sha256 {whole[:12]}…)")
                return RemoteDataset(target, whole, 0)
        except ValueError:
            pass  # a damaged manifest: send again
    total = sum(p.stat().st_size for p, _ in files)
    sent = 0
    for path, relative in files:
        size = path.stat().st_size

        def progress(done: int, _: int, base: int = sent) -> None:
            if say and total >= (1 << 20):
                say(f"dataset {local.name}: {(base + done) / total:.0%} of {total / (1 << 20):.1f} MiB sent")

        got = conn.put(path, posixpath.join(folder, relative), progress=progress)
        if got != digests[relative]:
            raise UserError(f"dataset file {path} changed while it was being sent; try again")
        sent += size
    remote = {relative: conn.sha256(posixpath.join(folder, relative)) for relative in digests}
    if remote != digests:
        bad = sorted(r for r in digests if remote.get(r) != digests[r])
        raise UserError(f"dataset {local.name}: {', '.join(bad[:3])} arrived damaged on host {conn.host.name}")
    conn.write_text(manifest, json.dumps({"files": digests, "sha256": whole}))
    if say:
        say(f"dataset {local.name}: sent {sent / (1 << 20):.1f} MiB to host {conn.host.name}")
    return RemoteDataset(target, whole, sent)
