"""The installation's ed25519 key that signs audit entries.

Why signing is on by default: the hash chain alone shows that rows were changed only to someone who did not
recompute the hashes after the change; anyone who can write the store file can rewrite the whole chain. A
signature needs the private key, which lives outside the store (the user's config folder, readable only by
the user), so a rewritten chain no longer verifies. It costs ~0.1 ms per entry and nothing to set up, so
there is no reason to leave it off. When the key cannot be created (a read-only home), entries are written
unsigned rather than lost, and a warning is logged.

The private key is created on first use with mode 0600 (``O_EXCL``: two processes starting at once cannot
both create one; the loser reads the winner's). Its public key is stored in the ``audit_keys`` table, so
``audit verify`` checks signatures on any machine that has the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

KEY_FILE = "audit-signing-key.pem"
_CACHE: dict[Path, Signer] = {}


def default_key_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("neuralforge")) / KEY_FILE


@dataclass(frozen=True)
class Signer:
    key_id: str
    public_key_hex: str
    _private: object  # cryptography's Ed25519PrivateKey (typed loosely: the import stays lazy)

    def sign(self, entry_hash: str) -> str:
        return self._private.sign(entry_hash.encode("ascii")).hex()  # type: ignore[attr-defined]


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def _load(path: Path) -> Signer:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an ed25519 private key")
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return Signer(key_id_of(public_raw), public_raw.hex(), private)


def _create(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a private temporary name and linked into place: a reader never sees a half-written key, and
    # of two processes racing only one link succeeds.
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def installation_signer(path: Path | None = None) -> Signer:
    """The key at ``path`` (default: the user's config folder), created there on first use; cached per process."""
    path = path or default_key_path()
    cached = _CACHE.get(path)
    if cached is not None:
        return cached
    if not path.exists():
        _create(path)
    signer = _load(path)
    _CACHE[path] = signer
    return signer


def signature_is_valid(public_key_hex: str, entry_hash: str, signature_hex: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(
            bytes.fromhex(signature_hex), entry_hash.encode("ascii"))
    except (InvalidSignature, ValueError):
        return False
    return True
