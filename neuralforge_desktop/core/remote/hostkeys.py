"""Which host keys the user trusts: ``~/.ssh/known_hosts`` (read, never written) and NeuralForge's own
``<user data dir>/neuralforge/known_hosts`` (OpenSSH format; where keys the user confirmed in NeuralForge go).

An unknown key is refused unless the user confirmed its SHA256 fingerprint (the one shown to them); a key that
differs from the one on record is always refused, and the error names both fingerprints."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError


class HostKeyError(UserError):
    """The host's key is not one the user trusts. ``fingerprint`` is the key the host offered."""

    def __init__(self, message: str, fingerprint: str, key_name: str) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint
        self.key_name = key_name


class UnknownHostKey(HostKeyError):
    pass


class HostKeyChanged(HostKeyError):
    def __init__(self, message: str, fingerprint: str, key_name: str, known: str) -> None:
        super().__init__(message, fingerprint, key_name)
        self.known_fingerprint = known


def fingerprint(key: Any) -> str:
    """OpenSSH's ``SHA256:…`` fingerprint of a paramiko key (what ``ssh-keygen -lf`` prints)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def default_known_hosts_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / "known_hosts"


def normalise_fingerprint(value: str) -> str:
    value = value.strip()
    return value if value.startswith("SHA256:") else "SHA256:" + value


class KnownHosts:
    """The keys on record for each ``[address]:port``, from the user's OpenSSH file and NeuralForge's."""

    def __init__(self, app_file: str | Path | None = None, user_file: str | Path | None = None) -> None:
        self.app_file = Path(app_file) if app_file is not None else default_known_hosts_path()
        self.user_file = Path(user_file) if user_file is not None else Path.home() / ".ssh" / "known_hosts"

    def _load(self) -> Any:
        import paramiko

        keys = paramiko.HostKeys()
        for path in (self.user_file, self.app_file):
            if path.exists():
                try:
                    keys.load(str(path))
                except (OSError, ValueError) as exc:
                    raise UserError(f"the known-hosts file {path} cannot be read: {exc}") from exc
        return keys

    def known(self, key_name: str) -> dict[str, Any]:
        """The keys on record for ``key_name``, by key type."""
        return dict(self._load().lookup(key_name) or {})

    def check(self, key_name: str, key: Any, trust_fingerprint: str | None = None) -> None:
        """Accept ``key`` for ``key_name`` or raise: a changed key always, an unknown one unless
        ``trust_fingerprint`` is its fingerprint (then it is recorded in the app's file)."""
        offered = fingerprint(key)
        on_record = self.known(key_name)
        if on_record:
            if any(k.asbytes() == key.asbytes() for k in on_record.values()):
                return
            same_type = on_record.get(key.get_name())
            known = fingerprint(same_type if same_type is not None else next(iter(on_record.values())))
            raise HostKeyChanged(
                f"WARNING: the host key of {key_name} has CHANGED. On record: {known}; offered now: {offered}. "
                "Someone may be intercepting the connection, or the host was reinstalled. NeuralForge refuses "
                f"to connect; if the change is expected, remove the old key (`neuralforge hosts forget-key`) and "
                "trust the new one after checking its fingerprint with the host's administrator.",
                offered, key_name, known)
        if trust_fingerprint is not None and normalise_fingerprint(trust_fingerprint) == offered:
            self.add(key_name, key)
            return
        if trust_fingerprint is not None:
            raise UnknownHostKey(
                f"the host key of {key_name} is {offered}, not the fingerprint you confirmed "
                f"({normalise_fingerprint(trust_fingerprint)}): not connecting", offered, key_name)
        raise UnknownHostKey(
            f"the host key of {key_name} is not known. Its fingerprint is {offered}. If that is the host's key "
            f"(ask its administrator, or run `ssh-keygen -lf` on its public host key), trust it with "
            f"--trust-fingerprint {offered}", offered, key_name)

    def add(self, key_name: str, key: Any) -> None:
        """Record ``key`` for ``key_name`` in the app's file (written atomically)."""
        import paramiko

        from neuralforge_desktop.core.ir.atomic import write_text_atomic

        keys = paramiko.HostKeys()
        if self.app_file.exists():
            keys.load(str(self.app_file))
        keys.add(key_name, key.get_name(), key)
        lines = []
        for entry in keys._entries:
            line = entry.to_line()
            if line:
                lines.append(line)
        self.app_file.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.app_file, "".join(lines))

    def forget(self, key_name: str) -> int:
        """Remove the app's keys for ``key_name`` (``~/.ssh/known_hosts`` is the user's to edit); how many."""
        import paramiko

        from neuralforge_desktop.core.ir.atomic import write_text_atomic

        if not self.app_file.exists():
            return 0
        keys = paramiko.HostKeys()
        keys.load(str(self.app_file))
        kept = [e for e in keys._entries if key_name not in e.hostnames]
        removed = len(keys._entries) - len(kept)
        write_text_atomic(self.app_file, "".join(e.to_line() or "" for e in kept))
        return removed
