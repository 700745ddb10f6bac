"""One SSH connection to a registered host (paramiko), with the host key checked by :mod:`.hostkeys`.

Commands are argv lists quoted by :func:`.quoting.shell_command`; a long job is started detached (``setsid
nohup``) so it outlives the connection; files move over SFTP with progress and are checked by sha256; a log
on the host is read from a byte offset, so a follower that lost the connection resumes where it stopped."""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.remote.hostkeys import KnownHosts
from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
from neuralforge_desktop.core.remote.quoting import shell_command

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class SshError(UserError):
    """The host cannot be reached, refused the login, or a command on it failed."""


class Unreachable(SshError):
    """The host could not be reached, or the connection broke: worth trying again later (a key or login
    refused is not)."""


class PassphraseNeeded(SshError):
    """The key file is encrypted and no passphrase was given (the CLI asks, the app shows a prompt)."""


@dataclass(frozen=True)
class CommandResult:
    status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == 0


class _CheckedKeyPolicy:
    """paramiko's missing-host-key hook, with no keys preloaded: every key the server offers is judged by
    :meth:`KnownHosts.check` (an unknown or changed key raises before authentication)."""

    def __init__(self, known: KnownHosts, key_name: str, trust_fingerprint: str | None) -> None:
        self.known, self.key_name, self.trust_fingerprint = known, key_name, trust_fingerprint

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        self.known.check(self.key_name, key, self.trust_fingerprint)


def _secret_for(host: Host) -> str | None:
    from neuralforge_desktop.core.remote.secrets import stored_passphrase

    return stored_passphrase(host) if host.key_file else None


class Connection:
    """An open SSH connection (and its SFTP session, opened on first use). Use as a context manager."""

    def __init__(self, host: Host, client: Any, hops: Sequence[Any] = ()) -> None:
        self.host = host
        self.client = client
        self._hops = list(hops)  # jump-host clients, closed with this one
        self._sftp: Any = None

    # -- opening ---------------------------------------------------------------------------------------
    @classmethod
    def open(cls, host: Host | str, registry: HostRegistry | None = None, known: KnownHosts | None = None,
             trust_fingerprint: str | None = None, passphrase: str | None = None,
             timeout: float = 15.0) -> Connection:
        """Connect to ``host`` (through its jump hosts). ``trust_fingerprint`` confirms an unknown key of the
        host itself (never of a jump host); ``passphrase`` unlocks its key file (else the keyring's)."""
        registry = registry or HostRegistry()
        known = known or KnownHosts()
        target = registry.get(host) if isinstance(host, str) else host
        chain = registry.chain(target.jump)[:] + [target] if target.jump else [target]
        hops: list[Any] = []
        sock: Any = None
        try:
            for hop in chain:
                last = hop is chain[-1]
                client = cls._connect(hop, known, trust_fingerprint if last else None,
                                      passphrase if last else None, sock, timeout)
                if last:
                    return cls(target, client, hops)
                hops.append(client)
                transport = client.get_transport()
                nxt = chain[chain.index(hop) + 1]
                sock = transport.open_channel("direct-tcpip", (nxt.address, nxt.port), ("127.0.0.1", 0),
                                              timeout=timeout)
        except BaseException:
            for client in hops:
                client.close()
            raise
        raise AssertionError("unreachable")

    @staticmethod
    def _connect(host: Host, known: KnownHosts, trust: str | None, passphrase: str | None, sock: Any,
                 timeout: float) -> Any:
        import paramiko

        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_CheckedKeyPolicy(known, host.key_name(), trust))
        key_file = str(Path(host.key_file).expanduser()) if host.key_file else None
        if key_file and not Path(key_file).exists():
            raise SshError(f"host {host.name!r}: the key file {key_file} does not exist")
        if key_file and passphrase is None:
            passphrase = _secret_for(host)
        try:
            client.connect(host.address, port=host.port, username=host.login(), key_filename=key_file,
                           passphrase=passphrase, allow_agent=key_file is None, look_for_keys=False,
                           timeout=timeout, banner_timeout=timeout, auth_timeout=timeout, sock=sock)
        except UserError:
            client.close()
            raise
        except paramiko.PasswordRequiredException as exc:
            client.close()
            raise PassphraseNeeded(f"host {host.name!r}: the key file {key_file} needs its passphrase") from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            how = f"the key {key_file}" if key_file else "the keys in your ssh-agent"
            raise SshError(f"host {host.name!r} refused the login of {host.login()!r} with {how}: {exc}") from exc
        except paramiko.SSHException as exc:
            client.close()
            if "No authentication methods available" in str(exc):  # no key file, and no key in an ssh-agent
                raise SshError(f"host {host.name!r}: nothing to log in with: no key file was given and no "
                               "ssh-agent offers a key (is SSH_AUTH_SOCK set, and the key added with ssh-add?)"
                               ) from exc
            raise Unreachable(f"cannot reach host {host.name!r} at {host.address}:{host.port}: "
                              f"{exc or type(exc).__name__}") from exc
        except (TimeoutError, OSError, EOFError) as exc:
            client.close()
            raise Unreachable(f"cannot reach host {host.name!r} at {host.address}:{host.port}: "
                           f"{exc or type(exc).__name__}") from exc
        return client

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._sftp is not None:
                self._sftp.close()
        self.client.close()
        for hop in reversed(self._hops):
            hop.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        transport = self.client.get_transport()
        return bool(transport is not None and transport.is_active())

    # -- commands --------------------------------------------------------------------------------------
    def run(self, argv: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None,
            timeout: float | None = 120.0, stdin: bytes | None = None) -> CommandResult:
        """Run ``argv`` on the host through its login shell, every word quoted; wait for it."""
        return self.run_line(shell_command(argv, env, cwd), timeout, stdin)

    def run_line(self, line: str, timeout: float | None = 120.0, stdin: bytes | None = None) -> CommandResult:
        """Run a shell line built by :func:`.quoting.shell_command` (or from constants only)."""
        try:
            chan_in, chan_out, chan_err = self.client.exec_command(line, timeout=timeout)
            if stdin is not None:
                chan_in.write(stdin)
            chan_in.channel.shutdown_write()
            out = chan_out.read()
            err = chan_err.read()
            status = chan_out.channel.recv_exit_status()
        except (TimeoutError, OSError, EOFError) as exc:
            raise Unreachable(f"host {self.host.name!r}: the connection failed during a command: {exc}") from exc
        return CommandResult(status, out.decode(errors="replace"), err.decode(errors="replace"))

    def check(self, argv: Sequence[str], what: str, **kwargs: Any) -> str:
        """:meth:`run`, raising :class:`SshError` with the command's own error when it fails; its stdout."""
        result = self.run(argv, **kwargs)
        if not result.ok:
            tail = (result.stderr.strip() or result.stdout.strip())[-1500:]
            raise SshError(f"host {self.host.name!r}: {what} failed (exit {result.status}): {tail}")
        return result.stdout

    def start_detached(self, argv: Sequence[str], log: str, env: dict[str, str] | None = None,
                       cwd: str | None = None) -> int:
        """Start ``argv`` in its own session (it survives this connection closing), stdout and stderr added to
        the end of ``log``; its process id (also its process group id)."""
        inner = shell_command(argv, env, cwd)
        line = (f"setsid nohup sh -c {shlex.quote(inner)} >> {shlex.quote(log)} 2>&1 < /dev/null & "
                "echo $!")
        result = self.run_line(line, timeout=30)
        try:
            return int(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise SshError(f"host {self.host.name!r}: could not start {argv[0]}: {result.stderr.strip()}") from exc

    def is_running(self, pid: int) -> bool:
        return self.run(["kill", "-0", str(int(pid))], timeout=30).ok

    def home(self) -> str:
        return self.check(["sh", "-c", 'printf %s "$HOME"'], "reading the home directory", timeout=30)

    def expand(self, path: str) -> str:
        """``~`` at the start of ``path`` as the login user's home on the host."""
        if path == "~" or path.startswith("~/"):
            return self.home() + path[1:]
        return path

    # -- files -----------------------------------------------------------------------------------------
    @property
    def sftp(self) -> Any:
        if self._sftp is None:
            try:
                self._sftp = self.client.open_sftp()
            except Exception as exc:
                raise SshError(f"host {self.host.name!r} offers no SFTP: {exc}") from exc
        return self._sftp

    def makedirs(self, path: str) -> None:
        self.check(["mkdir", "-p", "--", path], f"creating {path}", timeout=30)

    def put(self, local: str | Path, remote: str, progress: Progress | None = None) -> str:
        """Upload ``local`` to ``remote`` (through a temporary name, renamed when whole); its sha256."""
        self.makedirs(posixpath.dirname(remote) or ".")
        partial = remote + ".part"
        self.sftp.put(str(local), partial, callback=progress)
        self.sftp.posix_rename(partial, remote)
        return sha256_file(Path(local))

    def get(self, remote: str, local: str | Path, progress: Progress | None = None,
            expect_sha256: str | None = None) -> str:
        """Download ``remote`` to ``local`` (atomically), checked against ``expect_sha256`` when given (else
        against the host's own ``sha256sum``); its sha256."""
        local = Path(local)
        local.parent.mkdir(parents=True, exist_ok=True)
        partial = local.with_name(local.name + ".part")
        self.sftp.get(remote, str(partial), callback=progress)
        got = sha256_file(partial)
        expected = expect_sha256 or self.sha256(remote)
        if got != expected:
            partial.unlink(missing_ok=True)
            raise SshError(f"host {self.host.name!r}: {remote} arrived damaged (sha256 {got[:12]}…, the host has "
                           f"{expected[:12]}…)")
        partial.replace(local)
        return got

    def sha256(self, remote: str) -> str:
        out = self.check(["sha256sum", "--", remote], f"checksumming {remote}", timeout=300)
        return out.split()[0]

    def exists(self, remote: str) -> bool:
        try:
            self.sftp.stat(remote)
            return True
        except OSError:
            return False

    def size(self, remote: str) -> int:
        try:
            return int(self.sftp.stat(remote).st_size)
        except OSError:
            return 0

    def read_from(self, remote: str, offset: int, limit: int = 4 << 20) -> bytes:
        """Up to ``limit`` bytes of ``remote`` from byte ``offset`` (b"" when it has no more, or no file)."""
        try:
            with self.sftp.open(remote, "rb") as handle:
                handle.seek(offset)
                return bytes(handle.read(limit))
        except FileNotFoundError:
            return b""
        except OSError as exc:
            if getattr(exc, "errno", None) == 2:
                return b""
            raise

    def read_text(self, remote: str) -> str:
        with self.sftp.open(remote, "rb") as handle:
            return bytes(handle.read()).decode("utf-8", errors="replace")

    def write_text(self, remote: str, text: str) -> None:
        """Write ``remote`` atomically: a reader sees the old text or the new, never half of it."""
        partial = remote + ".part"
        with self.sftp.open(partial, "wb") as handle:
            handle.write(text.encode("utf-8"))
        self.sftp.posix_rename(partial, remote)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
