"""The registry of remote hosts the user has added: ``<user data dir>/neuralforge/hosts.json``.

A host is where to connect (address, port, user, key file or the ssh-agent, an optional jump host), what a GPU
hour costs there, and the work dir NeuralForge keeps on it. No secret is ever written here: passphrases live in
the OS keyring when there is one (:mod:`.secrets`), else they are asked for each time."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.atomic import write_text_atomic
from neuralforge_desktop.core.remote.quoting import check_name

DEFAULT_WORKDIR = "~/.neuralforge-remote"  # on the host; "~" is the login user's home there


class UnknownHost(UserError):
    pass


@dataclass(frozen=True)
class Host:
    name: str  # how the user calls it: "a100-box"
    address: str  # the host name or IP address to connect to
    port: int = 22
    user: str = ""  # "" = the local user name
    key_file: str = ""  # "" = the ssh-agent (and nothing else)
    jump: str = ""  # the name of another registered host to reach this one through (ProxyJump)
    cost_per_gpu_hour: float = 0.0  # in the user's currency; 0 = not charged
    workdir: str = DEFAULT_WORKDIR
    python: str = ""  # the NeuralForge Python on the host, set by `hosts bootstrap`; "" = not bootstrapped yet
    probe: dict[str, Any] = field(default_factory=dict)  # the last probe's findings (see probe.py)

    def __post_init__(self) -> None:
        check_name(self.name, "host name")
        if not self.address or any(c.isspace() for c in self.address) or self.address.startswith("-"):
            raise UserError(f"host {self.name!r}: {self.address!r} is not a host address")
        if not 0 < int(self.port) < 65536:
            raise UserError(f"host {self.name!r}: port {self.port} is not between 1 and 65535")
        if self.cost_per_gpu_hour < 0:
            raise UserError(f"host {self.name!r}: a cost per GPU-hour cannot be negative")
        if self.jump == self.name:
            raise UserError(f"host {self.name!r} cannot be its own jump host")

    def login(self) -> str:
        import getpass

        return self.user or getpass.getuser()

    def key_name(self) -> str:
        """How known_hosts files name this endpoint: ``address`` on port 22, else ``[address]:port``."""
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Host:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def default_hosts_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / "hosts.json"


class HostRegistry:
    """Hosts by name, read from and written (atomically) to one JSON file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_hosts_path()

    def _read(self) -> dict[str, Host]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {name: Host.from_json(entry) for name, entry in data.get("hosts", {}).items()}
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(f"the host list {self.path} cannot be read: {exc}") from exc

    def _write(self, hosts: dict[str, Host]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"hosts": {name: host.to_json() for name, host in sorted(hosts.items())}}
        write_text_atomic(self.path, json.dumps(data, indent=2))

    def all(self) -> list[Host]:
        return sorted(self._read().values(), key=lambda h: h.name)

    def get(self, name: str) -> Host:
        hosts = self._read()
        if name not in hosts:
            known = ", ".join(sorted(hosts)) or "none yet: add one with `neuralforge hosts add`"
            raise UnknownHost(f"no host named {name!r} (known hosts: {known})")
        return hosts[name]

    def add(self, host: Host, replace: bool = False) -> Host:
        hosts = self._read()
        if host.name in hosts and not replace:
            raise UserError(f"a host named {host.name!r} exists already (remove it first, or pick another name)")
        if host.jump and host.jump not in hosts:
            raise UnknownHost(f"host {host.name!r}: its jump host {host.jump!r} is not registered")
        from neuralforge_desktop.core.team.quotas import check_new_host

        check_new_host(hosts, host.name)
        hosts[host.name] = host
        self._write(hosts)
        return host

    def update(self, host: Host) -> Host:
        return self.add(host, replace=True)

    def remove(self, name: str) -> Host:
        hosts = self._read()
        host = self.get(name)
        users = [h.name for h in hosts.values() if h.jump == name]
        if users:
            raise UserError(f"host {name!r} is the jump host of {', '.join(users)}: remove those first")
        del hosts[name]
        self._write(hosts)
        return host

    def chain(self, name: str) -> list[Host]:
        """The hosts to go through to reach ``name``, the first hop first, ``name`` last."""
        chain: list[Host] = []
        current: Host | None = self.get(name)
        while current is not None:
            if any(h.name == current.name for h in chain):
                raise UserError(f"host {name!r}: its jump hosts go round in a circle")
            chain.insert(0, current)
            current = self.get(current.jump) if current.jump else None
        return chain
