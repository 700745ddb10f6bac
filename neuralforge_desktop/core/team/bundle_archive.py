"""The ``.nfbundle`` container: a zip whose ``manifest.json`` names every other member with its sha256 and size.

Reading a bundle from someone else is reading data from a stranger, so :class:`BundleReader` refuses, before
anything is written anywhere: a file that is not a zip, a member name that could land outside a folder
(absolute, ``..``, backslashes, drive letters), a symlink or encrypted member, a member whose declared size or
compression ratio is absurd (a zip bomb), a member missing from the manifest or a manifest entry missing from
the zip, a size or sha256 that differs from the manifest, and a bundle from a newer format version. Members
are JSON or opaque bytes (artifacts); nothing in a bundle is ever executed or unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from neuralforge_desktop.core.errors import UserError

FORMAT_NAME = "neuralforge-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FILE_SUFFIX = ".nfbundle"
_BLOCK = 1 << 20
_EPOCH = (1980, 1, 1, 0, 0, 0)


class BundleError(UserError):
    """A bundle that cannot be read or written; the message names the file and, where one is at fault, the
    member."""


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """The largest bundle accepted. A checkpoint may be gigabytes, so the byte limits are generous; the ratio
    catches the small file that inflates to fill a disk (real artifacts and metrics compress far less)."""

    member_bytes: int = 32 * 2**30
    total_bytes: int = 64 * 2**30
    json_bytes: int = 512 * 2**20  # a JSON member is read into memory
    members: int = 100_000
    ratio: int = 200  # uncompressed / compressed, for members over 1 MiB


DEFAULT_BUNDLE_LIMITS = BundleLimits()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(data: bytes, where: str) -> Any:
    """Standard JSON only (no NaN or Infinity tokens): what any other tool can read back."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{where} is not valid JSON ({exc})") from None


def dump_json(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")


def safe_member_name(name: str) -> bool:
    """A relative POSIX path of plain parts: it cannot point outside the folder it is read into."""
    if not name or name.startswith("/") or "\\" in name or ":" in name or "\0" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


class BundleWriter:
    """Writes members and, on :meth:`close`, the manifest listing each one's sha256 and size. The zip is written
    to a temporary file beside ``path`` and renamed into place, so a failed export leaves no half bundle."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = dict(manifest)
        self.members: dict[str, dict[str, Any]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._zip = zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True)

    def _info(self, name: str, manifest: bool = False) -> zipfile.ZipInfo:
        if not safe_member_name(name) or (name == MANIFEST) != manifest or name in self.members:
            raise BundleError(f"{self.path.name}: cannot add member {name!r} (unsafe or repeated name)")
        info = zipfile.ZipInfo(name, _EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        return info

    def add_bytes(self, name: str, data: bytes) -> None:
        self._zip.writestr(self._info(name), data)
        self.members[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def add_json(self, name: str, value: Any) -> None:
        self.add_bytes(name, dump_json(value))

    def add_file(self, name: str, source: Path) -> str:
        """Copy a file in, hashing what is written; returns its sha256."""
        digest, size = hashlib.sha256(), 0
        with open(source, "rb") as src, self._zip.open(self._info(name), "w", force_zip64=True) as dst:
            while block := src.read(_BLOCK):
                digest.update(block)
                dst.write(block)
                size += len(block)
        self.members[name] = {"sha256": digest.hexdigest(), "size": size}
        return digest.hexdigest()

    def close(self) -> None:
        manifest = {**self.manifest, "members": dict(sorted(self.members.items()))}
        self._zip.writestr(self._info(MANIFEST, manifest=True), dump_json(manifest))
        self._zip.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._zip.close()
        self._tmp.unlink(missing_ok=True)


class BundleReader:
    """An opened bundle whose structure and manifest were checked (see the module docs); call :meth:`verify`
    to check every member's sha256 before using any of them."""

    def __init__(self, path: str | os.PathLike[str], limits: BundleLimits = DEFAULT_BUNDLE_LIMITS) -> None:
        self.path = Path(path)
        self.limits = limits
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise BundleError(f"{self.path}: no such file") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise BundleError(f"{self.path.name}: not a NeuralForge bundle (not a readable zip: {exc})") from None
        try:
            self._infos = self._check_structure()
            self.manifest = self._read_manifest()
            self.members: dict[str, dict[str, Any]] = self._check_members()
        except BaseException:
            self._zip.close()
            raise

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, message: str) -> BundleError:
        return BundleError(f"{self.path.name}: {message}")

    def _check_structure(self) -> dict[str, zipfile.ZipInfo]:
        infos: dict[str, zipfile.ZipInfo] = {}
        limits, total = self.limits, 0
        entries = self._zip.infolist()
        if len(entries) > limits.members:
            raise self._fail(f"holds {len(entries):,} members, over the limit of {limits.members:,}; refused")
        for info in entries:
            name = info.filename
            if not safe_member_name(name) or info.is_dir():
                raise self._fail(f"member {name!r} has an unsafe name (absolute, '..', or a folder); refused")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise self._fail(f"member {name!r} is a symbolic link; refused")
            if info.flag_bits & 0x1:
                raise self._fail(f"member {name!r} is encrypted; refused")
            if name in infos:
                raise self._fail(f"member {name!r} appears twice; refused")
            if info.file_size > limits.member_bytes:
                raise self._fail(f"member {name!r} declares {info.file_size:,} bytes, over the limit of "
                                 f"{limits.member_bytes:,}; refused")
            if info.file_size > _BLOCK and info.file_size > limits.ratio * max(info.compress_size, 1):
                raise self._fail(f"member {name!r} inflates {info.file_size // max(info.compress_size, 1):,} "
                                 f"times (a zip bomb?); refused")
            total += info.file_size
            infos[name] = info
        if total > limits.total_bytes:
            raise self._fail(f"declares {total:,} bytes in all, over the limit of {limits.total_bytes:,}; refused")
        return infos

    def _read_manifest(self) -> dict[str, Any]:
        if MANIFEST not in self._infos:
            raise self._fail(f"has no {MANIFEST}; not a NeuralForge bundle")
        manifest = strict_json(self._read_capped(MANIFEST, self.limits.json_bytes), f"{self.path.name}: {MANIFEST}")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
            raise self._fail(f"{MANIFEST} does not say format {FORMAT_NAME!r}; not a NeuralForge bundle")
        version = manifest.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self._fail(f"{MANIFEST} has no valid format version ({version!r})")
        if version > FORMAT_VERSION:
            made_by = manifest.get("neuralforge", "a newer NeuralForge")
            raise self._fail(f"is bundle format version {version} (made by NeuralForge {made_by}); this "
                             f"NeuralForge reads version {FORMAT_VERSION} and older: update NeuralForge to import it")
        return manifest

    def _check_members(self) -> dict[str, dict[str, Any]]:
        listed = self.manifest.get("members")
        if not isinstance(listed, dict):
            raise self._fail(f"{MANIFEST} has no members table")
        for name, entry in listed.items():
            if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                    and isinstance(entry.get("size"), int)):
                raise self._fail(f"{MANIFEST}: the entry of member {name!r} lacks its sha256 or size")
            if name not in self._infos:
                raise self._fail(f"member {name!r} is listed in the manifest but missing from the bundle")
            if self._infos[name].file_size != entry["size"]:
                raise self._fail(f"member {name!r} is {self._infos[name].file_size:,} bytes, the manifest says "
                                 f"{entry['size']:,}; the bundle was altered or damaged")
        for name in self._infos:
            if name != MANIFEST and name not in listed:
                raise self._fail(f"member {name!r} is not listed in the manifest; refused")
        return dict(listed)

    @contextmanager
    def _open(self, name: str) -> Iterator[IO[bytes]]:
        try:
            with self._zip.open(self._infos[name]) as stream:
                yield stream
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:  # a bad CRC, a damaged deflate stream
            raise self._fail(f"member {name!r} is damaged ({exc})") from None

    def _read_capped(self, name: str, cap: int) -> bytes:
        with self._open(name) as stream:
            data = stream.read(cap + 1)
        if len(data) > cap:
            raise self._fail(f"member {name!r} is over {cap:,} bytes; refused")
        return data

    def _blocks(self, name: str) -> Iterator[bytes]:
        """The member's bytes, never more than the manifest's size (a lying header cannot inflate past it)."""
        left = self.members[name]["size"]
        with self._open(name) as stream:
            while block := stream.read(min(_BLOCK, left + 1)):
                left -= len(block)
                if left < 0:
                    raise self._fail(f"member {name!r} is longer than the manifest says; refused")
                yield block

    def verify(self) -> None:
        """Check every member's sha256 against the manifest; the first mismatch is raised, naming the member."""
        for name, entry in self.members.items():
            digest = hashlib.sha256()
            for block in self._blocks(name):
                digest.update(block)
            if digest.hexdigest() != entry["sha256"]:
                raise self._fail(f"member {name!r} does not match its checksum in the manifest (sha256 "
                                 f"{digest.hexdigest()[:12]}…, expected {entry['sha256'][:12]}…); the bundle was "
                                 "altered or damaged: nothing was imported")

    def names(self) -> list[str]:
        return sorted(self.members)

    def read_bytes(self, name: str) -> bytes:
        if name not in self.members:
            raise self._fail(f"has no member {name!r}")
        if self.members[name]["size"] > self.limits.json_bytes:
            raise self._fail(f"member {name!r} is over {self.limits.json_bytes:,} bytes; refused")
        return b"".join(self._blocks(name))

    def read_json(self, name: str) -> Any:
        return strict_json(self.read_bytes(name), f"{self.path.name}: member {name!r}")

    def extract(self, name: str, target: Path) -> str:
        """Copy a member to ``target`` (a new file) and return its sha256."""
        digest = hashlib.sha256()
        with open(target, "xb") as out:
            for block in self._blocks(name):
                digest.update(block)
                out.write(block)
        return digest.hexdigest()


def new_manifest(who: str, **fields: Any) -> dict[str, Any]:
    from neuralforge_desktop import __version__

    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "neuralforge": __version__, "created": time.time(),
            "who": who, **fields}
