"""Key passphrases: in the OS keyring when the ``keyring`` package and a keyring service are present, else
nowhere (the CLI and the app ask each time). Never in a file of ours."""

from __future__ import annotations

import contextlib
from typing import Any

from neuralforge_desktop.core.remote.hosts import Host

SERVICE = "neuralforge-ssh"


def _keyring() -> Any | None:
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    with contextlib.suppress(Exception):
        if not isinstance(keyring.get_keyring(), fail.Keyring):
            return keyring
    return None


def keyring_available() -> bool:
    return _keyring() is not None


def stored_passphrase(host: Host) -> str | None:
    ring = _keyring()
    if ring is None:
        return None
    with contextlib.suppress(Exception):
        value = ring.get_password(SERVICE, f"{host.name}:{host.key_file}")
        return str(value) if value is not None else None
    return None


def store_passphrase(host: Host, passphrase: str) -> bool:
    """Keep ``passphrase`` in the OS keyring; False when there is none (then nothing is kept)."""
    ring = _keyring()
    if ring is None:
        return False
    try:
        ring.set_password(SERVICE, f"{host.name}:{host.key_file}", passphrase)
        return True
    except Exception:
        return False
