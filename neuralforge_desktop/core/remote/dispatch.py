"""Training on a registered host over SSH, with the same interface as a local worker
(:class:`~neuralforge_desktop.core.training.runner.TrainingProcess`): ``start()``, ``events()``, ``stop()``,
``pause()``, ``resume_training()``, ``kill()``, ``wait()``, ``poll()``, ``pid``, ``stderr_tail()``.

The run folder and the store stay on the user's machine. ``start()`` sends the graph, the config and (unless the
host has it already) the dataset to ``<workdir>/runs/<run id>`` on the host and starts the worker there detached
(``setsid nohup``): it survives the SSH session, so a sleeping laptop or a dropped network does not stop it. The
worker writes ``events.jsonl`` and, instead of a store, ``store.jsonl`` (see :mod:`.record`). A thread here
reads both files by byte offset, replays the store calls into the local store (the points with their offset in
one transaction: exactly once, across reconnects and restarts of this process), fetches each checkpoint and
artifact with its sha256 checked, and hands the events to ``events()``. Stop, pause and resume are
``control.json`` written over SFTP, as a local worker reads it from its folder.

``local run folder/remote.json`` remembers where the run is (host, folder, process), so ``neuralforge resume``
finds it: a run still going on its host is followed again; a stopped or crashed one is resumed there."""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.atomic import write_text_atomic
from neuralforge_desktop.core.remote.follow import Link, RemoteFile
from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
from neuralforge_desktop.core.remote.record import OFFSET_TAG, RECORD_FILE, replay
from neuralforge_desktop.core.remote.ssh import Connection, Unreachable
from neuralforge_desktop.core.remote.upload import upload_dataset
from neuralforge_desktop.core.store.queue_store import HOST_TAG
from neuralforge_desktop.core.training.events import CheckpointEvent, Event, decode_event
from neuralforge_desktop.core.training.launch import worker_argv

REMOTE_INFO = "remote.json"  # in the local run folder: where the run is
EXIT_FILE = "exit.code"  # in the remote run folder, written when the worker process ends
# Runs the worker, then records its exit status (argv comes after the script, every word quoted by the caller).
EXIT_WRAPPER = '"$@"; status=$?; echo $status > exit.code.part && mv exit.code.part exit.code'
Say = Callable[[str], None]
_END = object()


class RemoteTrainingProcess:
    poll_interval = 0.2  # seconds between reads of the host's files while nothing new arrives
    alive_interval = 5.0  # seconds between checks that the worker process still exists (a command on the host)

    def __init__(self, run_dir: Path, host: Host | str, resume: bool = False, trust_code: bool = False, *,
                 store: Any | None = None, registry: HostRegistry | None = None, first_timeout: float = 60.0,
                 retry_for: float = 6 * 3600.0, say: Say | None = None,
                 extra_hosts: Sequence[Host | str] = ()) -> None:
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.trust_code = trust_code
        info = json.loads((self.run_dir / "run.json").read_text(encoding="utf-8"))
        self.run_id: str = info["run_id"]
        self._store_path = info.get("store")
        registry = registry or HostRegistry()
        self.host = registry.get(host) if isinstance(host, str) else host
        # More hosts for one data-parallel job (node 1, 2 …; this one is node 0, whose rank 0 speaks for it).
        self.extra_hosts = [registry.get(h) if isinstance(h, str) else h for h in extra_hosts]
        self.extra_nodes: list[dict[str, Any]] = []
        self._registry = registry
        self._store = store
        self._say = say or (lambda text: None)
        self.link = Link(self.host, opener=lambda h: Connection.open(h, registry=registry),
                         first_timeout=first_timeout, retry_for=retry_for, on_retry=self._say)
        self._lock = threading.Lock()  # one SSH conversation at a time (the follower, stop/pause from others)
        self.remote_dir = ""
        self.remote_pid: int | None = None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._exit: int | None = None
        self._events_from = 0
        self._alive_checked = 0.0
        self.procs = 1
        self.error: BaseException | None = None

    # -- starting ----------------------------------------------------------------------------------------
    def start(self) -> RemoteTrainingProcess:
        for host in (self.host, *self.extra_hosts):
            if not host.python:
                raise UserError(f"host {host.name!r} has no NeuralForge environment yet: run "
                                f"`neuralforge hosts bootstrap {host.name}` first")
        with self._lock:
            conn = self.link.connection()
            self.remote_dir = self._prepare_node(conn)
            self._events_from = conn.size(self._remote("events.jsonl"))
            nodes = [(conn, self.host, self.remote_dir)]
            others = [Connection.open(host, registry=self._registry) for host in self.extra_hosts]
            try:
                nodes += [(other, host, self._prepare_node(other)) for other, host in zip(others, self.extra_hosts,
                                                                                          strict=True)]
                # Several hosts meet at the first (static rendezvous: its rank 0 is the one followed from here).
                endpoint = f"{self.host.address}:{rendezvous_port(self.run_id)}" if len(nodes) > 1 else None
                self.extra_nodes = []
                for rank, (node, host, folder) in reversed(list(enumerate(nodes))):
                    # The host's NeuralForge Python with -P (nothing from the working directory importable), the
                    # worker module; torchrun for a data-parallel run.
                    argv = worker_argv(host.python, folder, resume=self.resume, trust_code=self.trust_code,
                                       procs=self.procs, nnodes=len(nodes), node_rank=rank, rdzv_endpoint=endpoint,
                                       run_id=self.run_id)
                    pid = node.start_detached(["sh", "-c", EXIT_WRAPPER, "sh", *argv],
                                              posixpath.join(folder, "worker.log"), cwd=folder,
                                              env={"PYTHONSAFEPATH": "1", "PYTHONUNBUFFERED": "1"})
                    if rank == 0:
                        self.remote_pid = pid
                    else:
                        self.extra_nodes.insert(0, {"host": host.name, "remote_dir": folder, "pid": pid})
            finally:
                for other in others:
                    other.close()
        self._remember()
        store = self._local_store()
        store.set_tags(self.run_id, {HOST_TAG: self.host.name})
        store.set_owner(self.run_id, f"ssh:{self.host.name}", self.remote_pid)
        self._follow()
        return self

    @classmethod
    def attach(cls, run_dir: Path, store: Any | None = None, registry: HostRegistry | None = None,
               **options: Any) -> RemoteTrainingProcess:
        """Follow again a run that is still going on its host (after this machine slept or the app restarted):
        the store continues from the bytes it already holds."""
        where = remembered(run_dir)
        if where is None:
            raise UserError(f"{run_dir} is not a run on a remote host")
        process = cls(run_dir, where["host"], store=store, registry=registry, **options)
        process.remote_dir = where["remote_dir"]
        process.remote_pid = where.get("pid")
        process.extra_nodes = list(where.get("nodes") or [])
        process._follow()
        return process

    def _remote(self, name: str) -> str:
        return posixpath.join(self.remote_dir, name)

    def _prepare_node(self, conn: Connection) -> str:
        """The run's folder on ``conn``'s host, with its inputs (and, to resume, checkpoints); its path."""
        workdir = conn.expand(conn.host.workdir)
        folder = posixpath.join(workdir, "runs", self.run_id)
        conn.makedirs(posixpath.join(folder, "checkpoints"))
        self._send_inputs(conn, workdir, folder)
        if self.resume:
            self._send_checkpoints(conn, folder)
        conn.write_text(posixpath.join(folder, "control.json"), json.dumps({"command": "run"}))
        conn.run(["rm", "-f", "--", posixpath.join(folder, EXIT_FILE)], timeout=30)
        return folder

    def _send_inputs(self, conn: Connection, workdir: str, folder: str) -> None:
        config = json.loads((self.run_dir / "config.json").read_text(encoding="utf-8"))
        self.procs = int(config.get("procs") or 1)
        dataset = upload_dataset(conn, workdir, str(config["dataset"]), self._say)
        config["dataset"] = dataset.spec
        conn.put(self.run_dir / "graph.nfg", posixpath.join(folder, "graph.nfg"))
        if config.get("init"):  # the weights `train --init` starts from travel with the run
            conn.put(self.run_dir / str(config["init"]), posixpath.join(folder, str(config["init"])))
        conn.write_text(posixpath.join(folder, "config.json"), json.dumps(config, indent=2))
        # No store path: the worker records its store calls in store.jsonl for this machine to replay.
        conn.write_text(posixpath.join(folder, "run.json"), json.dumps({"run_id": self.run_id, "record": True}))

    def _send_checkpoints(self, conn: Connection, folder: str) -> None:
        """A resume on a host that lacks the run's checkpoints (a new work dir, another host, the second host of
        a job: rank 0 wrote them on the first) gets this machine's."""
        local = self.run_dir / "checkpoints"
        if conn.exists(posixpath.join(folder, "checkpoints/latest.json")) or not (local / "latest.json").exists():
            return
        self._say(f"sending the checkpoints of run {self.run_id} to host {conn.host.name}")
        for path in sorted(local.iterdir()):
            if path.is_file() and path.name != "latest.json":
                conn.put(path, posixpath.join(folder, "checkpoints", path.name))
        conn.put(local / "latest.json", posixpath.join(folder, "checkpoints/latest.json"))  # last: names a set

    def _remember(self) -> None:
        write_text_atomic(self.run_dir / REMOTE_INFO, json.dumps(
            {"host": self.host.name, "remote_dir": self.remote_dir, "pid": self.remote_pid,
             "nodes": self.extra_nodes}, indent=2))

    def _local_store(self) -> Any:
        if self._store is None:
            from neuralforge_desktop.core.store.sqlite_store import Store

            if not self._store_path:
                raise UserError(f"run {self.run_id} names no store in {self.run_dir / 'run.json'}")
            self._store = Store(self._store_path)
        return self._store

    # -- following ----------------------------------------------------------------------------------------
    def _follow(self) -> None:
        self._thread = threading.Thread(target=self._follow_loop, name=f"remote-run-{self.run_id}", daemon=True)
        self._thread.start()

    def _call(self, action: Callable[[Connection], Any]) -> Any:
        with self._lock:
            return self.link.call(action)

    def _follow_loop(self) -> None:
        store = self._local_store()
        events = RemoteFile(self._remote("events.jsonl"), self._events_from)
        records = RemoteFile(self._remote(RECORD_FILE), int(store.get_run(self.run_id).tags.get(OFFSET_TAG) or 0))
        ended_at: float | None = None
        try:
            while True:
                fresh = self._call(events.read_lines)  # events first: their store calls were written before them
                logged = self._call(records.peek)
                records.offset = replay(store, self.run_id, logged, records.offset, self._fetch,
                                        on_status=self._owned)
                for line in fresh.splitlines():
                    if line.strip():
                        event = decode_event(line)
                        if isinstance(event, CheckpointEvent):
                            self._fetch_checkpoint(event)
                        self._queue.put(event)
                        if event.TERMINAL and ended_at is None:
                            ended_at = time.monotonic()
                if fresh or logged:
                    continue
                code = self._call(self._exit_code)
                if code is not None:
                    self._exit = code
                    return
                if ended_at is not None and time.monotonic() - ended_at > 60:
                    self._exit = 0  # the worker said its last word but its exit was never recorded
                    return
                time.sleep(self.poll_interval)
        except BaseException as exc:  # (reported as the worker's failure: events() ends, wait() returns 1)
            self.error = exc
            self._exit = 1
        finally:
            self._queue.put(_END)

    def _exit_code(self, conn: Connection) -> int | None:
        """The worker's exit status once it has ended, else None. (Checks that fail because the connection
        broke under them must not read as "ended": they raise, and the link retries.)"""
        code: int | None = None
        if conn.exists(self._remote(EXIT_FILE)):  # (an SFTP stat: cheap; a command on the host is not)
            text = conn.read_text(self._remote(EXIT_FILE)).strip()
            code = int(text) if text.lstrip("-").isdigit() else 1
        elif self.remote_pid is not None and time.monotonic() - self._alive_checked > self.alive_interval:
            self._alive_checked = time.monotonic()
            if not conn.is_running(self.remote_pid):
                code = -9  # gone without an exit file: killed (with the host's processes, or by the OOM killer)
        if not conn.alive:
            raise Unreachable(f"host {self.host.name!r}: the connection broke while checking run {self.run_id}")
        return code

    def still_running(self) -> bool:
        """Whether the worker on the host has not ended yet (asks the host)."""
        return bool(self._call(lambda conn: self._exit_code(conn) is None))

    def _owned(self, status: str) -> None:
        if status == "running":  # the replayed status made this process the owner: the worker on the host is
            self._local_store().set_owner(self.run_id, f"ssh:{self.host.name}", self.remote_pid)

    def _fetch(self, relative: str) -> Path:
        """The host's ``relative`` file of the run, copied into the local run folder with its sha256 checked."""
        parts = Path(relative).parts
        if Path(relative).is_absolute() or ".." in parts:
            raise UserError(f"run {self.run_id}: the host named a file outside the run folder: {relative!r}")
        local = self.run_dir.joinpath(*parts)
        self._call(lambda conn: conn.get(self._remote(relative), local))
        return local

    def _fetch_checkpoint(self, event: CheckpointEvent) -> None:
        """The checkpoint's files (written once, never changed), then a local ``latest.json`` naming it: the
        host's own may already name a newer one whose files are not here yet."""
        tag = event.tag

        def fetch_set(conn: Connection) -> None:
            for name in (f"{tag}.safetensors", f"{tag}.state.safetensors", f"{tag}.state.json"):
                conn.get(self._remote(f"checkpoints/{name}"), self.run_dir / "checkpoints" / name)

        self._call(fetch_set)
        write_text_atomic(self.run_dir / "checkpoints" / "latest.json",
                          json.dumps({"tag": tag, "epoch": event.epoch, "step": event.step}))

    # -- the TrainingProcess interface ---------------------------------------------------------------------
    def events(self) -> Iterator[Event]:
        while (item := self._queue.get()) is not _END:
            yield item
        self._queue.put(_END)  # a second events() (after Ctrl+C) ends at once too

    def _control(self, command: str) -> None:
        self._call(lambda conn: conn.write_text(self._remote("control.json"), json.dumps({"command": command})))

    def stop(self) -> None:
        self._control("stop")

    def pause(self) -> None:
        self._control("pause")

    def resume_training(self) -> None:
        self._control("run")

    def kill(self) -> None:
        if self.remote_pid is not None:
            self._call(lambda conn: conn.run(["kill", "-KILL", "--", f"-{int(self.remote_pid or 0)}"], timeout=30))
        for node in self.extra_nodes:
            with contextlib.suppress(UserError), Connection.open(node["host"], registry=self._registry) as conn:
                conn.run(["kill", "-KILL", "--", f"-{int(node['pid'])}"], timeout=30)

    def poll(self) -> int | None:
        return None if self._thread is not None and self._thread.is_alive() else self._exit

    def wait(self, timeout: float | None = None) -> int:
        assert self._thread is not None, "start() first"
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"run {self.run_id} is still going on host {self.host.name}")
        return self._exit if self._exit is not None else 1

    @property
    def pid(self) -> int | None:
        return self.remote_pid

    def stderr_tail(self, lines: int = 20) -> str:
        text = ""
        with contextlib.suppress(Exception):
            text = self._call(lambda conn: conn.read_text(self._remote("worker.log")))
        if self.error is not None:
            text += f"\n{self.error}"
        return "\n".join(text.strip().splitlines()[-lines:])

    def close(self) -> None:
        self.link.close()


def rendezvous_port(run_id: str) -> int:
    """The port a job on several hosts meets at on the first, from its run id (29500–33499)."""
    return 29500 + int(hashlib.sha256(run_id.encode()).hexdigest()[:8], 16) % 4000


def remembered(run_dir: Path) -> dict[str, Any] | None:
    """Where a run runs, if on a remote host: ``{"host", "remote_dir", "pid"}``."""
    try:
        data = json.loads((Path(run_dir) / REMOTE_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("host"), str) else None
