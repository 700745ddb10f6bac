"""A real OpenSSH server on 127.0.0.1 for the remote-host tests: generated host and client keys in a private
folder, a free high port, key login only, SFTP, started with the absolute path of Debian's ``sshd`` and
stopped after. The "remote host" is this machine, seen through that server."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path, comment: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


def fingerprint_of(public_key: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(public_key)], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[1]


@dataclass
class LocalSshd:
    folder: Path
    port: int
    user: str
    client_key: Path
    host_key: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def host_fingerprint(self) -> str:
        return fingerprint_of(self.host_key.with_suffix(".pub"))

    @classmethod
    def create(cls, folder: Path) -> LocalSshd:
        if not Path(SSHD).exists():
            raise RuntimeError(f"{SSHD} is missing: installers/setup.sh installs Debian's openssh-server "
                               "(listed in installers/apt-packages.txt)")
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        host_key = keygen(folder / "host_ed25519", "neuralforge-test-host")
        client_key = keygen(folder / "client_ed25519", "neuralforge-test-client")
        shutil.copy(client_key.with_suffix(".pub"), folder / "authorized_keys")
        os.chmod(folder / "authorized_keys", 0o600)
        return cls(folder, free_port(), getpass.getuser(), client_key, host_key)

    def config_text(self) -> str:
        return "\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"PidFile {self.folder / 'sshd.pid'}", f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
            "PermitRootLogin prohibit-password", "Subsystem sftp internal-sftp", "MaxSessions 50",
            "MaxStartups 50:30:100", "ClientAliveInterval 0", "",
        ])

    def start(self) -> LocalSshd:
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
        config = self.folder / "sshd_config"
        config.write_text(self.config_text())
        log = (self.folder / "sshd.log").open("ab")
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.folder / 'sshd.log').read_text()[-2000:]}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("sshd did not start listening within 15 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def kill_connections(self) -> None:
        """Cut every open SSH connection (the per-connection sshd children), leaving the server listening."""
        assert self.process is not None
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        for pid in out.split():
            subprocess.run(["kill", "-9", pid], check=False)
