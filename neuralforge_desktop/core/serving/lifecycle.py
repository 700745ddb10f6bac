"""Starting and stopping Ray and Serve around one served model.

Without an address NeuralForge starts a local Ray instance of its own (CPUs limited to this machine's, no
dashboard, its temporary files under the user's cache folder) and stops it afterwards; with an address it
connects to a running cluster, deploys there, and on stop deletes only its own application.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.serving.recording import RecorderFactory
from neuralforge_desktop.core.serving.spec import ServeConfig

# Ray puts Unix sockets under its temp folder; their paths may not exceed 107 bytes, and Ray adds about 70.
MAX_TEMP_DIR_CHARS = 36
CLUSTER_HINT = ("To use a running Ray cluster instead, pass --address (e.g. --address ray://HEAD:10001, or "
                "--address auto on a node of the cluster).")


class ServeStartError(UserError):
    """Ray or Serve could not start, or the application could not be deployed."""


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another program listens on, before Ray starts (Ray would fail later, less clearly)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR as the server's own socket will have: a port in TIME_WAIT is free, a listener is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} on {host} is in use by another program: pick another with --port, "
                                "or stop the program that holds it") from None
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def default_temp_dir() -> Path:
    """Ray's temporary folder: under the user's cache, unless that path is too long for Ray's sockets."""
    import platformdirs

    cached = Path(platformdirs.user_cache_dir("neuralforge")) / "ray"
    if len(str(cached)) <= MAX_TEMP_DIR_CHARS:
        return cached
    return Path("/tmp") / f"neuralforge-ray-{os.getuid()}" if hasattr(os, "getuid") else cached


@dataclass
class RayServe:
    """A connection to Ray with Serve running on it. ``start()``, ``deploy(...)``, then ``stop()``."""

    host: str
    port: int
    address: str | None = None
    num_cpus: int | None = None  # of the local instance; default: this machine's CPUs
    temp_dir: Path | None = None
    started_local: bool = field(default=False, init=False)
    app_names: list[str] = field(default_factory=list, init=False)
    # Ray's driver replaces builtins.print (tqdm_ray's safe_print) for good; a process that goes on after
    # serving (the app, a test run) gets its own print back when Ray stops.
    _print_before: Any = field(default=None, init=False, repr=False)

    def start(self, cpus_needed: int = 1) -> None:
        if self.address is None:
            check_port_free(self.host, self.port)  # first: importing Ray alone takes seconds
        self._print_before = builtins.print
        import ray
        from ray import serve

        if self.address is None:
            cpus = max(self.num_cpus or os.cpu_count() or 1, cpus_needed)
            temp_dir = self.temp_dir or default_temp_dir()
            try:
                temp_dir.mkdir(parents=True, exist_ok=True)
                ray.init(num_cpus=cpus, include_dashboard=False, _temp_dir=str(temp_dir), log_to_driver=False,
                         logging_level=logging.WARNING, configure_logging=False)
            except Exception as exc:  # Ray raises many types (RuntimeError, ConnectionError, OSError …)
                _shutdown_quietly()
                self._restore_print()
                raise ServeStartError(f"Ray could not start a local instance: {_one_line(exc)}. {CLUSTER_HINT}") \
                    from None
            self.started_local = True
        else:
            try:
                ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING,
                         configure_logging=False)
            except Exception as exc:
                _shutdown_quietly()
                self._restore_print()
                raise ServeStartError(f"cannot connect to the Ray cluster at {self.address}: {_one_line(exc)}. "
                                      "Check the address (ray://HEAD:10001 for a remote head, or the address "
                                      "`ray start --head` printed) and that the cluster is running.") from None
        try:
            serve.start(http_options={"host": self.host, "port": self.port},
                        logging_config={"log_level": "WARNING", "enable_access_log": False})
        except Exception as exc:
            self.stop()
            raise ServeStartError(f"Ray Serve could not start on {self.host}:{self.port}: {_one_line(exc)}") \
                from None

    def deploy(self, config: ServeConfig, recorder_factory: RecorderFactory | None = None) -> str:
        """Deploy the model's application; returns the URL of its predict endpoint once every version is up."""
        from ray import serve

        from neuralforge_desktop.core.serving.application import build_application

        app_name = f"neuralforge-{config.model_name}"
        try:
            serve.run(build_application(config, recorder_factory), name=app_name, route_prefix="/",
                      blocking=False)
        except Exception as exc:  # a replica's constructor failed (bad model file, missing package on a node)
            raise ServeStartError(f"deploying {config.model_name} failed: {_one_line(exc)}") from None
        self.app_names.append(app_name)
        return f"{self.base_url()}/v1/models/{config.model_name}:predict"

    def base_url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{shown}:{self.port}"

    def stop(self) -> None:
        """Stop Serve and the local instance we started; on a cluster, delete only our applications."""
        import ray
        from ray import serve

        if not ray.is_initialized():
            return
        try:
            if self.started_local:
                serve.shutdown()
            else:
                for name in self.app_names:
                    serve.delete(name)
        finally:
            self.app_names.clear()
            ray.shutdown()
            self.started_local = False
            self._restore_print()

    def _restore_print(self) -> None:
        if self._print_before is not None:
            builtins.print = self._print_before

    def __enter__(self) -> RayServe:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def cpus_needed(config: ServeConfig) -> int:
    """CPUs the minimum replicas ask Ray for (one each): the local instance never offers fewer, or
    ``serve.run`` would wait forever for replicas that cannot be placed."""
    return config.replicas.minimum * len(config.versions)


def _shutdown_quietly() -> None:
    import ray

    # cleaning up after a failed start: the start's own error is the one to report
    with contextlib.suppress(Exception):
        ray.shutdown()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:400] + " …"
