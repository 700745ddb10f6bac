"""``neuralforge hosts add|list|probe|bootstrap|remove|trust|forget-key``: remote GPU hosts reached over SSH.

A host is added only after a login to it worked and its host key was checked: a key nobody confirmed is refused
(its SHA256 fingerprint is printed, to be checked with the host's administrator and confirmed with
--trust-fingerprint), a key that differs from the one on record always is."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import nbytes, plural, table
from neuralforge_desktop.core.errors import UserError

EPILOG = """\
examples:
  neuralforge hosts add gpu-box --host 10.0.0.5 --user me --key ~/.ssh/id_ed25519 --cost-per-gpu-hour 2.5
  neuralforge hosts add gpu-box --host 10.0.0.5 --user me --trust-fingerprint SHA256:…   (after checking it)
  neuralforge hosts add inner --host 192.168.1.9 --jump gpu-box
  neuralforge hosts probe gpu-box
  neuralforge hosts bootstrap gpu-box
  neuralforge hosts list --json"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    hosts = sub.add_parser("hosts", help="remote GPU hosts over SSH: add, probe, bootstrap",
                           description="Remote hosts reached over SSH (a key file or the ssh-agent; optionally "
                           "through a jump host). Host keys are checked against ~/.ssh/known_hosts and "
                           "NeuralForge's own known-hosts file; an unknown key needs its fingerprint confirmed, "
                           "a changed key is always refused.", epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    hsub = hosts.add_subparsers(dest="hosts_command", metavar="COMMAND", required=True)
    add = hsub.add_parser("add", help="add a host (after logging in to it)",
                          description="Log in to the host (checking its key), then add it to the host list.")
    add.add_argument("name", metavar="NAME", help="what to call it: letters, digits, '.', '_', '-'")
    add.add_argument("--host", required=True, type=opt.non_empty, metavar="ADDRESS", help="host name or IP")
    add.add_argument("--port", type=int, default=22, metavar="PORT")
    add.add_argument("--user", default="", metavar="USER", help="login name (default: yours here)")
    add.add_argument("--key", default="", metavar="FILE", help="private key file (default: the ssh-agent)")
    add.add_argument("--jump", default="", metavar="HOST", help="a registered host to go through (ProxyJump)")
    add.add_argument("--cost-per-gpu-hour", type=opt.non_negative_float, default=0.0, metavar="X")
    add.add_argument("--workdir", type=opt.non_empty, metavar="DIR",
                     help="NeuralForge's folder on the host (default: ~/.neuralforge-remote)")
    add.add_argument("--trust-fingerprint", metavar="SHA256:…",
                     help="trust the host's key if it has this fingerprint (check it with the host's administrator)")
    add.add_argument("--no-connect", action="store_true", help="add without logging in (nothing is checked)")
    add.set_defaults(func=cmd_add)
    ls = hsub.add_parser("list", help="the hosts added", description="List the hosts added.")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    probe = hsub.add_parser("probe", help="what a host offers: OS, Pythons, GPUs, disk, its NeuralForge",
                            description="Log in and look: OS, CPUs, Pythons, NVIDIA GPUs (nvidia-smi), free disk "
                            "of the work dir, and the bootstrapped NeuralForge environment (torch, CUDA).")
    probe.add_argument("name", metavar="NAME")
    probe.add_argument("--json", action="store_true")
    probe.set_defaults(func=cmd_probe)
    boot = hsub.add_parser("bootstrap", help="install this NeuralForge version on a host",
                           description="Make a private environment <workdir>/env-<version> on the host with this "
                           "NeuralForge version (a wheel built here, sent over SFTP) and its pinned requirements "
                           "from the host's package index.")
    boot.add_argument("name", metavar="NAME")
    boot.add_argument("--packages-from", metavar="DIR", type=opt.non_empty,
                      help="a site-packages folder on the host whose packages (torch …) to reuse: nothing downloaded")
    boot.add_argument("--base-python", metavar="PATH", type=opt.non_empty,
                      help="the Python on the host that makes the environment (default: its python3.11)")
    boot.add_argument("--wheel", metavar="FILE", type=opt.non_empty,
                      help="NeuralForge's wheel (default: built from this source tree)")
    boot.add_argument("--constraints", metavar="FILE", type=opt.non_empty,
                      help="the pins for pip (default: the source tree's constraints.txt)")
    boot.add_argument("--json", action="store_true")
    boot.set_defaults(func=cmd_bootstrap)
    rm = hsub.add_parser("remove", help="remove a host", description="Remove a host from the list, and its key "
                         "from NeuralForge's known-hosts file (unless another host uses the same address).")
    rm.add_argument("name", metavar="NAME")
    rm.set_defaults(func=cmd_remove)
    trust = hsub.add_parser("trust", help="trust a host's key by its fingerprint",
                            description="Connect, and record the host's key if its fingerprint is FP.")
    trust.add_argument("name", metavar="NAME")
    trust.add_argument("--fingerprint", required=True, metavar="SHA256:…")
    trust.set_defaults(func=cmd_trust)
    forget = hsub.add_parser("forget-key", help="forget a host's recorded key",
                             description="Remove the host's key from NeuralForge's known-hosts file "
                             "(~/.ssh/known_hosts is yours to edit).")
    forget.add_argument("name", metavar="NAME")
    forget.set_defaults(func=cmd_forget_key)


# -- connecting ----------------------------------------------------------------------------------------------
def connect(host: Any, registry: Any, trust: str | None = None) -> Any:
    """An open connection to ``host``; an encrypted key's passphrase is asked for on a terminal (and kept in the
    OS keyring when the user wants and there is one), never read from anywhere else."""
    from neuralforge_desktop.core.remote import secrets
    from neuralforge_desktop.core.remote.hostkeys import UnknownHostKey
    from neuralforge_desktop.core.remote.ssh import Connection, PassphraseNeeded

    try:
        return Connection.open(host, registry, trust_fingerprint=trust)
    except UnknownHostKey as exc:
        if exc.key_name == host.key_name():
            raise
        jump = next((h.name for h in registry.chain(host.jump) if h.key_name() == exc.key_name), host.jump)
        raise UserError(f"the key of the jump host {jump!r} ({exc.key_name}) is not known; its fingerprint is "
                        f"{exc.fingerprint}. If that is its key, trust it first: `neuralforge hosts trust {jump} "
                        f"--fingerprint {exc.fingerprint}`") from None
    except PassphraseNeeded as exc:
        if not sys.stdin.isatty():
            raise UserError(f"{exc}: run this command in a terminal to type it, or load the key into your "
                            "ssh-agent and add the host without --key") from None
        passphrase = getpass.getpass(f"passphrase for {host.key_file}: ")
        conn = Connection.open(host, registry, trust_fingerprint=trust, passphrase=passphrase)
        if secrets.keyring_available():
            answer = input("keep this passphrase in the OS keyring? [y/N] ").strip().lower()
            if answer in ("y", "yes") and secrets.store_passphrase(host, passphrase):
                print("kept in the OS keyring", file=sys.stderr)
        return conn


def _open_registered(name: str) -> tuple[Any, Any]:
    from neuralforge_desktop.core.remote.hostkeys import UnknownHostKey
    from neuralforge_desktop.core.remote.hosts import HostRegistry

    registry = HostRegistry()
    host = registry.get(name)
    try:
        return registry, connect(host, registry)
    except UnknownHostKey as exc:
        raise UserError(f"{exc}\nfor the registered host {name!r}, that is: `neuralforge hosts trust {name} "
                        f"--fingerprint {exc.fingerprint}`") from None


def _server_fingerprint(conn: Any) -> str:
    from neuralforge_desktop.core.remote.hostkeys import fingerprint

    return fingerprint(conn.client.get_transport().get_remote_server_key())


def _where(host: Any) -> str:
    via = f" via {host.jump}" if host.jump else ""
    return f"{host.login()}@{host.address}:{host.port}{via}"


# -- commands ------------------------------------------------------------------------------------------------
def cmd_add(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.hosts import DEFAULT_WORKDIR, Host, HostRegistry, UnknownHost

    registry = HostRegistry()
    key = str(Path(args.key).expanduser().absolute()) if args.key else ""
    if key and not Path(key).is_file():
        raise UserError(f"host {args.name!r}: the key file {key} does not exist")
    host = Host(args.name, args.host, port=args.port, user=args.user, key_file=key, jump=args.jump,
                cost_per_gpu_hour=args.cost_per_gpu_hour, workdir=args.workdir or DEFAULT_WORKDIR)
    try:
        registry.get(host.name)
        raise UserError(f"a host named {host.name!r} exists already (remove it first, or pick another name)")
    except UnknownHost:
        pass
    if host.jump:
        registry.get(host.jump)
    if args.no_connect:
        if args.trust_fingerprint:
            raise UserError("--trust-fingerprint needs a connection to check the key: drop --no-connect")
        registry.add(host)
        print(f"host {host.name} added ({_where(host)}); not connected, so nothing was checked yet: "
              f"`neuralforge hosts probe {host.name}` logs in")
        return 0
    try:
        with connect(host, registry, args.trust_fingerprint) as conn:
            fp = _server_fingerprint(conn)
    except UserError as exc:  # an unknown or changed host key, a refused login, an unreachable host
        raise UserError(f"{exc}\nhost {host.name!r} was not added") from None
    registry.add(host)
    how = f"key {key}" if key else "the ssh-agent"
    print(f"host {host.name} added: {_where(host)}, logged in with {how}; host key {fp}")
    print(f"next: `neuralforge hosts probe {host.name}`, then `neuralforge hosts bootstrap {host.name}`")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.hosts import HostRegistry

    registry = HostRegistry()
    hosts = registry.all()
    if args.json:
        print(json.dumps([h.to_json() for h in hosts], indent=2))
        return 0
    if not hosts:
        print(f"no hosts in {registry.path}; add one with `neuralforge hosts add NAME --host ADDRESS`")
        return 0
    rows = [[h.name, _where(h), h.key_file or "ssh-agent", f"{h.cost_per_gpu_hour:g}" if h.cost_per_gpu_hour
             else "", _gpu_column(h.probe), (h.probe.get("neuralforge_env") or {}).get("neuralforge", "yes")
             if h.python else "not bootstrapped"] for h in hosts]
    print(table(["NAME", "LOGIN", "KEY", "COST/GPU-H", "GPUS", "NEURALFORGE"], rows, right=[3]))
    return 0


def _gpu_column(probe: dict[str, Any]) -> str:
    if "gpus" not in probe:
        return "not probed"
    gpus = probe.get("gpus") or []
    if not gpus:
        return "none"
    names = sorted({g["name"] for g in gpus})
    return f"{len(gpus)}× {names[0]}" if len(names) == 1 else ", ".join(g["name"] for g in gpus)


def cmd_probe(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.probe import probe_and_save

    registry, conn = _open_registered(args.name)
    with conn:
        found = probe_and_save(conn, registry)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    host = registry.get(args.name)
    print(f"host {host.name} ({_where(host)})")
    for line in describe_probe(found, host.name):
        print("  " + line)
    return 0


def describe_probe(p: dict[str, Any], name: str = "NAME") -> list[str]:
    """A probe's findings as lines for a terminal."""
    system = [p.get("os") or "unknown OS", p.get("kernel") or ""]
    if p.get("cpus"):
        system.append(plural(p["cpus"], "CPU"))
    if p.get("memory_bytes"):
        system.append(f"{nbytes(p['memory_bytes'])} memory")
    lines = ["system   " + ", ".join(s for s in system if s)]
    pythons = p.get("pythons") or []
    lines += [f"python   {py['command']} {py['version']} ({py['executable']})" for py in pythons] or \
        ["python   none found on the PATH"]
    gpus = p.get("gpus") or []
    lines += [f"gpu {g['index']}    {g['name']}, {_mib(g['memory_total_mib'])} ({_mib(g['memory_used_mib'])} used), "
              f"{'?' if g['utilization_pct'] is None else g['utilization_pct']}% busy" for g in gpus] or \
        [f"gpus     {p.get('gpu_note') or 'no NVIDIA GPU'}"]
    disk = p.get("disk") or {}
    if "free_bytes" in disk:
        lines.append(f"disk     {nbytes(disk['free_bytes'])} free of {nbytes(disk['total_bytes'])} "
                     f"({disk.get('mount', '?')}) for {disk['path']}")
    else:
        lines.append(f"disk     unknown for {disk.get('path', '?')}: {disk.get('error', '')}")
    env = p.get("neuralforge_env")
    if not env:
        lines.append(f"env      not bootstrapped: `neuralforge hosts bootstrap {name}`")
    elif "error" in env:
        lines.append(f"env      {env['error']}")
    else:
        cuda = (f"CUDA {env.get('cuda')}, {plural(env.get('cuda_devices') or 0, 'GPU')} seen by torch"
                if env.get("cuda_available") else f"no GPU seen by torch (CUDA build: {env.get('cuda') or 'none'})")
        lines.append(f"env      NeuralForge {env.get('neuralforge', '?')}, torch {env.get('torch', '?')}, {cuda} "
                     f"({env.get('python_path')})")
    lines.append(f"probed in {p.get('seconds', 0):.1f} s")
    return lines


def _mib(value: int | None) -> str:
    return "? MiB" if value is None else nbytes(value * 2**20)


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.bootstrap import bootstrap

    registry, conn = _open_registered(args.name)
    with conn:
        result = bootstrap(conn, registry, wheel=Path(args.wheel).expanduser() if args.wheel else None,
                           constraints=Path(args.constraints).expanduser() if args.constraints else None,
                           base_python=args.base_python, packages_from=args.packages_from,
                           progress=lambda line: print(line, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(dataclasses.asdict(result), indent=2))
        return 0
    info = result.info
    state = "checked (already there)" if result.reused else "made"
    print(f"host {result.host}: NeuralForge {result.version} environment {state} in {result.seconds:.1f} s")
    print(f"  python  {result.python}")
    print(f"  torch   {info.get('torch')}" + (f", CUDA {info.get('cuda')}" if info.get("cuda") else ", CPU build")
          + (", GPU available" if info.get("cuda_available") else ", no GPU seen"))
    if result.installed:
        print(f"  pip installed {', '.join(result.installed)}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.hostkeys import KnownHosts
    from neuralforge_desktop.core.remote.hosts import HostRegistry

    registry = HostRegistry()
    host = registry.remove(args.name)
    others = [h.name for h in registry.all() if h.key_name() == host.key_name()]
    forgotten = 0 if others else KnownHosts().forget(host.key_name())
    kept = f"; its host key stays trusted (also used by {', '.join(others)})" if others else \
        (f"; its host key was forgotten ({plural(forgotten, 'key')})" if forgotten else "")
    print(f"host {host.name} removed{kept}")
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.hostkeys import KnownHosts, normalise_fingerprint
    from neuralforge_desktop.core.remote.hosts import HostRegistry

    registry = HostRegistry()
    host = registry.get(args.name)
    wanted = normalise_fingerprint(args.fingerprint)
    known_before = bool(KnownHosts().known(host.key_name()))
    with connect(host, registry, wanted) as conn:
        offered = _server_fingerprint(conn)
    if offered != wanted:  # the key on record was accepted, and it is another one
        raise UserError(f"host {host.name!r} offers the key {offered} (already trusted), not {wanted}")
    what = "was trusted already" if known_before else "is trusted now"
    print(f"host {host.name}: the key {offered} of {host.key_name()} {what}")
    return 0


def cmd_forget_key(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.hostkeys import KnownHosts
    from neuralforge_desktop.core.remote.hosts import HostRegistry

    host = HostRegistry().get(args.name)
    known = KnownHosts()
    removed = known.forget(host.key_name())
    print(f"host {host.name}: {plural(removed, 'key')} for {host.key_name()} removed from {known.app_file}")
    if known.known(host.key_name()):
        print(f"note: {known.user_file} still holds a key for {host.key_name()} (that file is yours to edit)")
    return 0
