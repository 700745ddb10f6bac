"""``neuralforge train … --host NAME`` and ``neuralforge resume RUN`` for a run on a registered host: the same
progress and results as a local run (see :mod:`neuralforge_desktop.core.remote.dispatch`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli.graph_source import CliError


def add_train_args(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--host", metavar="NAME",
                       help="train on a registered host over SSH (`neuralforge hosts add`); 'local' = here")
    where.add_argument("--hosts", metavar="A,B,…", type=_names,
                       help="one data-parallel job over several registered hosts (--procs or --gpus per host); "
                       "they meet at the first, which must be reachable from the others at its address")


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("give two or more different host names, separated by commas")
    return names


def wanted_host(args: argparse.Namespace) -> Any | None:
    """The registered host ``--host`` names (checked before a run is created), or None for this machine."""
    names = getattr(args, "hosts", None) or [getattr(args, "host", None)]
    if not names[0] or names[0] == "local":
        return None
    from neuralforge_desktop.core.remote.hosts import HostRegistry

    registry = HostRegistry()
    hosts = [registry.get(name) for name in names]
    for host in hosts:
        if not host.python:
            raise CliError(f"host {host.name!r} has no NeuralForge environment yet: run `neuralforge hosts "
                           f"bootstrap {host.name}` first", status=1)
    return hosts[0]


def extra_hosts(args: argparse.Namespace) -> list[str]:
    """The hosts after the first of ``--hosts``."""
    return list((getattr(args, "hosts", None) or [])[1:])


def _say(as_json: bool) -> Any:
    return (lambda text: None) if as_json else (lambda text: print(text, file=sys.stderr, flush=True))


def start(folder: Path, host: Any, store: Any, *, trust_code: bool, as_json: bool, extra: list[str]) -> Any:
    from neuralforge_desktop.core.remote.dispatch import RemoteTrainingProcess

    return RemoteTrainingProcess(folder, host, trust_code=trust_code, store=store, say=_say(as_json),
                                 extra_hosts=extra).start()


def resume(run: Any, folder: Path, store: Any, *, trust_code: bool, as_json: bool) -> Any | None:
    """A process following ``run`` on its host: attached when it still runs there, else resumed there from its
    last checkpoint; None when the run was not remote."""
    from neuralforge_desktop.core.remote.dispatch import RemoteTrainingProcess, remembered

    where = remembered(folder)
    if where is None:
        return None
    say = _say(as_json)
    if run.status in ("running", "paused"):
        process = RemoteTrainingProcess.attach(folder, store=store, say=say)
        alive = process.still_running()
        if alive or run.status == "running":
            say(f"run {run.id}: following it on host {where['host']}")
            return process
        process.close()
    if not (folder / "checkpoints" / "latest.json").exists():
        raise CliError(f"run {run.id} has no checkpoint to resume from ({folder / 'checkpoints'})")
    say(f"run {run.id}: resuming from its last checkpoint on host {where['host']}")
    return RemoteTrainingProcess(folder, where["host"], resume=True, trust_code=trust_code, store=store,
                                 say=say, extra_hosts=[n["host"] for n in where.get("nodes") or []]).start()
