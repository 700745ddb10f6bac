"""``hosts bootstrap``: a private NeuralForge environment on a host, the same version as here.

The wheel is built locally from the source tree (or given), sent over SFTP with the pinned ``constraints.txt`` to
``<workdir>/dist/``, and installed into a fresh venv ``<workdir>/env-<version>`` made by the host's Python 3.11,
its requirements from the host's package index. ``packages_from`` names a site-packages folder already on the
host (a shared environment with torch in it): a ``.pth`` file adds it to the new environment's path, so pip finds
the requirements satisfied and downloads nothing, while NeuralForge itself is installed into the environment and
imported from there. A second bootstrap of the same wheel (same sha256) only checks the environment."""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.remote.probe import environment_info, list_pythons
from neuralforge_desktop.core.remote.quoting import shell_command
from neuralforge_desktop.core.remote.ssh import Connection, SshError, sha256_file

Progress = Callable[[str], None]
EXTRAS = "torch,remote"
MARKER = "neuralforge-bootstrap.json"  # in the environment: what it was made from
PTH_NAME = "neuralforge-packages-from.pth"
_WHEEL = re.compile(r"^neuralforge_desktop-([0-9][A-Za-z0-9.+!_-]*?)-py3-none-any\.whl$")
_SITE_CODE = "import sysconfig; print(sysconfig.get_path('purelib'))"
_VERSION_CODE = "import sys; print('%d.%d' % sys.version_info[:2])"
PIP_TIMEOUT_S = 3600.0  # a fresh environment downloads torch (about 1 GB)


class BootstrapError(UserError):
    """Making the environment on the host failed; the message names the step and what the host said."""


@dataclass(frozen=True)
class BootstrapResult:
    host: str
    version: str
    env: str  # the environment's folder on the host
    python: str  # its Python, recorded as Host.python
    wheel_sha256: str
    reused: bool  # True when the environment was there already, made from the same wheel
    installed: list[str]  # what pip installed into it ("name-version"), as pip said
    info: dict[str, Any]  # what the environment's Python said of itself (see probe.environment_info)
    seconds: float


# -- the wheel, here ---------------------------------------------------------------------------------------
def project_root() -> Path | None:
    """The source tree this NeuralForge runs from (a folder with its pyproject.toml), or None (an installed
    package, a desktop bundle)."""
    import neuralforge_desktop

    root = Path(neuralforge_desktop.__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if getattr(sys, "frozen", False) or not pyproject.is_file():
        return None
    return root if 'name = "neuralforge-desktop"' in pyproject.read_text(encoding="utf-8") else None


def build_wheel(out_dir: Path, root: Path | None = None) -> Path:
    """Build NeuralForge's wheel from ``root`` (the source tree) into ``out_dir``. The tree is copied first (the
    package and its build files only), so stale build folders never leak into the wheel and nothing is written
    into the tree; file dates are fixed, so the same sources always give the same wheel (same sha256)."""
    root = root or project_root()
    if root is None:
        raise BootstrapError("there is no NeuralForge source tree here to build a wheel from: give one with "
                             "--wheel FILE (neuralforge_desktop-VERSION-py3-none-any.whl)")
    with tempfile.TemporaryDirectory(prefix="nf-wheel-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(root / "neuralforge_desktop", src / "neuralforge_desktop",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for item in root.iterdir():
            if item.is_file() and (item.name in ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in")
                                   or item.name.startswith(("README", "LICENSE"))):
                shutil.copy2(item, src / item.name)
        out_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}  # 1980-01-01, the earliest date a zip can hold
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                               "--disable-pip-version-check", "-w", str(out_dir), str(src)],
                              capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise BootstrapError(f"building the NeuralForge wheel from {root} failed: "
                                 f"{(done.stderr or done.stdout).strip()[-1500:]}")
    wheels = sorted(out_dir.glob("neuralforge_desktop-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise BootstrapError(f"building the NeuralForge wheel from {root} left no wheel in {out_dir}")
    return wheels[-1]


def wheel_version(wheel: Path) -> str:
    match = _WHEEL.match(wheel.name)
    if match is None:
        raise BootstrapError(f"{wheel} is not a NeuralForge wheel (expected neuralforge_desktop-VERSION-py3-none-"
                             "any.whl)")
    return match.group(1)


# -- the environment, there --------------------------------------------------------------------------------
def bootstrap(conn: Connection, registry: HostRegistry, *, wheel: Path | None = None,
              constraints: Path | None = None, base_python: str | None = None, packages_from: str | None = None,
              progress: Progress | None = None) -> BootstrapResult:
    """Make (or check) ``<workdir>/env-<version>`` on ``conn``'s host and record its Python as ``Host.python``.
    ``wheel``: NeuralForge's wheel (built from the source tree when None); ``constraints``: the pins pip obeys
    (the source tree's constraints.txt when None and there is one)."""
    say = progress or (lambda line: None)
    started = time.monotonic()
    host = conn.host
    # A .pth line starting with "import" is run as code: only a plain absolute path is written into one.
    if packages_from is not None and (not packages_from.startswith("/") or "\n" in packages_from
                                      or "\r" in packages_from):
        raise BootstrapError(f"host {host.name!r}: --packages-from needs an absolute folder path, got "
                             f"{packages_from!r}")
    with tempfile.TemporaryDirectory(prefix="nf-bootstrap-") as tmp:
        if wheel is None:
            say(f"building the NeuralForge wheel from {project_root() or 'the source tree'}")
            wheel = build_wheel(Path(tmp))
        elif not wheel.is_file():
            raise BootstrapError(f"the wheel {wheel} does not exist")
        version = wheel_version(wheel)
        root = project_root()
        if constraints is None and root is not None and (root / "constraints.txt").is_file():
            constraints = root / "constraints.txt"
        if constraints is not None and not constraints.is_file():
            raise BootstrapError(f"the constraints file {constraints} does not exist")
        wheel_sha = sha256_file(wheel)
        made_from = {"wheel_sha256": wheel_sha, "packages_from": packages_from or "",
                     "constraints_sha256": sha256_file(constraints) if constraints else ""}

        workdir = conn.expand(host.workdir)
        env = posixpath.join(workdir, f"env-{version}")
        env_python = posixpath.join(env, "bin", "python")
        installed: list[str] = []
        if _made_from(conn, env) == made_from and conn.exists(env_python):
            say(f"{env} is there already, made from the same wheel (sha256 {wheel_sha[:12]}): checking it")
            reused = True
        else:
            reused = False
            base = _base_python(conn, base_python)
            if packages_from:
                _check_packages_from(conn, packages_from, base[1])
            remote_wheel = _send(conn, wheel, posixpath.join(workdir, "dist"), wheel_sha, say)
            remote_constraints = (_send(conn, constraints, posixpath.join(workdir, "dist"), None, say)
                                  if constraints else None)
            if constraints is None:
                say("no constraints.txt here: pip picks versions within the package's own pins")
            say(f"creating the environment {env} with {base[0]} (Python {base[1]})")
            conn.run(["rm", "-f", "--", posixpath.join(env, MARKER)], timeout=60)
            conn.check([base[0], "-m", "venv", "--clear", env], f"creating the environment {env}", timeout=600)
            say(f"installing NeuralForge {version} into it")
            # First NeuralForge alone, so that a NeuralForge of the same version among the reused packages cannot
            # pass for it ("already installed"), then its requirements.
            installed += _pip(conn, [env_python, "-m", "pip", "install", "--no-deps", "--force-reinstall",
                                     remote_wheel], f"installing {wheel.name}", say)
            if packages_from:
                site = conn.check([env_python, "-I", "-c", _SITE_CODE], "finding the site-packages", timeout=60)
                say(f"reusing the packages in {packages_from}")
                # The venv's own setuptools (from ensurepip) would shadow a newer one there and be replaced by a
                # download; without it, the reused folder's counts.
                _pip(conn, [env_python, "-m", "pip", "uninstall", "-y", "setuptools"], "removing setuptools", say)
                conn.write_text(posixpath.join(site.strip(), PTH_NAME), packages_from + "\n")
            pins = ["-c", remote_constraints] if remote_constraints else []
            say(f"installing its requirements ({EXTRAS}){' from the package index' if not packages_from else ''}")
            installed += _pip(conn, [env_python, "-m", "pip", "install", *pins, f"{remote_wheel}[{EXTRAS}]"],
                              f"installing the requirements of NeuralForge {version}", say)
        _send_dataset_files(conn, env_python, say)
        say("checking that the environment imports NeuralForge and torch")
        info = _verify(conn, env_python, version)
        if not reused:
            conn.write_text(posixpath.join(env, MARKER), json.dumps(made_from, indent=2))
    current = registry.get(host.name)
    registry.update(dataclasses.replace(current, python=env_python, probe=dict(current.probe, neuralforge_env=info)))
    return BootstrapResult(host.name, version, env, env_python, wheel_sha, reused, installed, info,
                           round(time.monotonic() - started, 2))


def _send_dataset_files(conn: Connection, env_python: str, say: Progress) -> None:
    """The files built-in datasets read (``resources/datasets``: MNIST-10k), put beside the installed package
    where the host's NeuralForge looks for them (see ``datasets/builtins.py``): the wheel does not carry them."""
    from neuralforge_desktop.core.training.datasets.builtins import RESOURCES

    local = RESOURCES / "datasets"
    files = sorted(p for p in local.glob("*") if p.is_file() and p.suffix in (".npz", ".txt")) if local.is_dir() else []
    if not files:
        say(f"no built-in dataset files in {local} to send: mnist-10k will be unavailable on the host")
        return
    site = conn.check([env_python, "-I", "-c", _SITE_CODE], "finding the site-packages", timeout=60).strip()
    for path in files:
        _send(conn, path, posixpath.join(site, "resources", "datasets"), None, say)


def _made_from(conn: Connection, env: str) -> dict[str, Any] | None:
    try:
        data = json.loads(conn.read_text(posixpath.join(env, MARKER)))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _send(conn: Connection, local: Path, folder: str, sha: str | None, say: Progress) -> str:
    """Put ``local`` into ``folder`` on the host unless the same file (by sha256) is there; its remote path."""
    remote = posixpath.join(folder, local.name)
    sha = sha or sha256_file(local)
    if conn.exists(remote) and conn.sha256(remote) == sha:
        say(f"{local.name} is on the host already (sha256 {sha[:12]})")
        return remote
    say(f"sending {local.name} ({local.stat().st_size / 1024:.0f} KiB) to {folder}")
    if conn.put(local, remote) != sha or conn.sha256(remote) != sha:
        raise BootstrapError(f"host {conn.host.name!r}: {remote} arrived damaged; try again")
    return remote


def _base_python(conn: Connection, given: str | None) -> tuple[str, str]:
    """The Python that makes the environment, and its version: ``given``, else the host's python3.11 (else the
    newest 3.11+ found)."""
    name = conn.host.name
    if given:
        result = conn.run([given, "-I", "-c", _VERSION_CODE], timeout=60)
        if not result.ok:
            raise BootstrapError(f"host {name!r}: the base Python {given} cannot run there (exit {result.status}: "
                                 f"{(result.stderr.strip() or result.stdout.strip())[-300:]})")
        version = result.stdout.strip()
        if tuple(int(p) for p in version.split(".")) < (3, 11):
            raise BootstrapError(f"host {name!r}: the base Python {given} is {version}; NeuralForge needs 3.11+")
        return given, version
    found = list_pythons(conn)
    usable = [p for p in found if tuple(int(x) for x in p["version"].split(".")[:2]) >= (3, 11)]
    usable.sort(key=lambda p: (p["command"] != "python3.11", p["version"]))
    if not usable:
        seen = ", ".join(f"{p['command']} {p['version']}" for p in found) or "none"
        raise BootstrapError(f"host {name!r} has no Python 3.11 or newer on its PATH (found: {seen}); install "
                             "Python 3.11 there, or name one with --base-python PATH")
    return usable[0]["executable"], ".".join(usable[0]["version"].split(".")[:2])


def _check_packages_from(conn: Connection, folder: str, python_version: str) -> None:
    name = conn.host.name
    if not conn.run(["test", "-d", folder], timeout=30).ok:
        raise BootstrapError(f"host {name!r}: the folder {folder} (--packages-from) does not exist there")
    match = re.search(r"/python(\d+\.\d+)/", folder + "/")
    if match and match.group(1) != python_version:
        raise BootstrapError(f"host {name!r}: the packages in {folder} are for Python {match.group(1)}, the base "
                             f"Python is {python_version}; name a matching one with --base-python")


def _pip(conn: Connection, argv: list[str], what: str, say: Progress) -> list[str]:
    """Run pip on the host, its notable lines passed to ``say`` as they come; what it installed. A failure
    names the package."""
    lines: list[str] = []

    def seen(line: str) -> None:
        lines.append(line)
        if line.lstrip().startswith(("Collecting ", "Downloading ", "Installing collected", "Successfully ")):
            say("  pip: " + line.strip()[:160])

    argv = [*argv[:4], "--disable-pip-version-check", "--no-input", *argv[4:]]
    status = _stream(conn, argv, seen, PIP_TIMEOUT_S)
    if status != 0:
        raise BootstrapError(pip_failure(conn.host.name, what, lines, status))
    done = [ln for ln in lines if ln.startswith("Successfully installed ")]
    return done[-1].split()[2:] if done else []


def pip_failure(host: str, what: str, lines: list[str], status: int) -> str:
    """A failed pip run in a few lines: the package at fault (when pip names one) and pip's own explanation (the
    conflicting requirements, else its errors, else its last lines)."""
    conflict: list[str] = []
    inside = False
    for line in lines:
        text = line.strip()
        if text.startswith("The conflict is caused by"):
            inside = True
        elif inside and text:
            conflict.append(text)
        elif inside:
            inside = False
    package = None
    patterns = [(conflict, r"depends on ([A-Za-z0-9._-]+)"), (lines, r"No matching distribution found for (\S+)"),
                (lines, r"satisfies the requirement (\S+)"), (lines, r"Could not satisfy constraints for '?([^':\s]+)"),
                (lines, r"Failed building wheel for (\S+)"), (lines, r"Failed to build (\S+)"),
                (lines, r"Cannot install (\S+)")]
    for where, pattern in patterns:
        match = re.search(pattern, "\n".join(where))
        if match:
            package = match.group(1).rstrip(",")
            break
    errors = [ln.strip() for ln in lines if ln.startswith("ERROR")]
    detail = conflict or errors[-8:] or [ln.strip() for ln in lines[-12:]]
    at = f" at {package}" if package else ""
    return f"host {host!r}: {what} failed{at} (pip exit {status}):\n" + "\n".join("  " + ln for ln in detail)


def _stream(conn: Connection, argv: list[str], on_line: Callable[[str], None], timeout: float) -> int:
    """Run ``argv`` on the host (every word quoted), stdout and stderr merged and handed over line by line as
    they come; its exit status."""
    try:
        channel = conn.client.get_transport().open_session()
        channel.set_combine_stderr(True)
        channel.settimeout(timeout)
        channel.exec_command(shell_command(argv))
        channel.shutdown_write()
        pending = b""
        deadline = time.monotonic() + timeout
        while True:
            chunk = channel.recv(65536)
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                on_line(raw.decode(errors="replace").rstrip("\r"))
            if time.monotonic() > deadline:
                channel.close()
                raise SshError(f"host {conn.host.name!r}: {argv[0]} ran past {timeout:.0f} s")
        if pending:
            on_line(pending.decode(errors="replace"))
        return int(channel.recv_exit_status())
    except (TimeoutError, OSError, EOFError) as exc:
        raise SshError(f"host {conn.host.name!r}: the connection failed while running {argv[0]}: {exc}") from exc


def _verify(conn: Connection, env_python: str, version: str) -> dict[str, Any]:
    name = conn.host.name
    info = environment_info(conn, env_python)
    if "error" in info:
        raise BootstrapError(f"host {name!r}: the new environment's Python does not run: {info['error']}")
    if "neuralforge_error" in info:
        raise BootstrapError(f"host {name!r}: the new environment cannot import NeuralForge: "
                             f"{info['neuralforge_error']}")
    if not info.get("neuralforge_in_env"):
        raise BootstrapError(f"host {name!r}: the new environment imports NeuralForge from "
                             f"{info.get('neuralforge_location')}, not from its own site-packages")
    if info.get("neuralforge") != version:
        raise BootstrapError(f"host {name!r}: the new environment has NeuralForge {info.get('neuralforge')}, "
                             f"not {version}")
    if "torch_error" in info:
        raise BootstrapError(f"host {name!r}: the new environment cannot import torch: {info['torch_error']}")
    return info
