"""Bootstrapping the real sshd host (this machine, over SSH) into a fresh work dir. The packages of this test's
own virtualenv (torch …) are reused with --packages-from, so nothing is downloaded; NeuralForge itself is the
wheel built from this source tree, installed into the new environment and imported from there."""

from __future__ import annotations

import json
import subprocess
import sysconfig
from pathlib import Path

import pytest

from neuralforge_desktop import __version__
from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.remote.bootstrap import BootstrapError, bootstrap, build_wheel, pip_failure
from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.remote.ssh import Connection

ROOT = Path(__file__).resolve().parents[2]
# The site-packages of the Python running the tests: it holds torch and every other requirement.
HERE_PACKAGES = sysconfig.get_path("purelib")


@pytest.mark.slow
def test_bootstrap_makes_an_environment_that_imports_its_own_neuralforge(ssh_host, tmp_path):
    lines: list[str] = []
    with Connection.open(ssh_host) as conn:
        first = bootstrap(conn, HostRegistry(), packages_from=HERE_PACKAGES, progress=lines.append)
    env = Path(first.env)
    assert env == Path(ssh_host.workdir) / f"env-{__version__}"
    assert first.python == str(env / "bin" / "python") and not first.reused
    assert HostRegistry().get(ssh_host.name).python == first.python
    assert any(line.startswith("creating the environment") for line in lines)
    assert any("pip: Successfully installed neuralforge-desktop" in line for line in lines)
    # Reused, not downloaded: pip installed NeuralForge alone, and the environment has no torch of its own.
    assert first.installed == [f"neuralforge-desktop-{__version__}"]
    site = next((env / "lib").glob("python3.*/site-packages"))
    assert (site / "neuralforge_desktop").is_dir() and not (site / "torch").exists()
    assert first.info["torch"] and first.info["neuralforge_in_env"] is True
    assert (site / "resources" / "datasets" / "mnist-10k.npz").is_file()  # built-in data the wheel lacks

    # Its Python imports the installed NeuralForge, even run from the source tree with it on PYTHONPATH.
    code = "import neuralforge_desktop, torch; print(neuralforge_desktop.__file__); print(torch.__version__)"
    done = subprocess.run([first.python, "-I", "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True)
    location, torch_version = done.stdout.split()
    assert Path(location).is_relative_to(site) and not Path(location).is_relative_to(ROOT)
    assert torch_version == first.info["torch"]

    # Again, with the same wheel built beforehand (--wheel): only checked, much quicker.
    wheel = build_wheel(tmp_path / "wheel")
    with Connection.open(ssh_host) as conn:
        second = bootstrap(conn, HostRegistry(), wheel=wheel, packages_from=HERE_PACKAGES)
    assert second.reused and second.wheel_sha256 == first.wheel_sha256 and second.installed == []
    assert second.seconds < first.seconds / 2


@pytest.mark.slow
def test_an_install_that_cannot_be_satisfied_names_the_package(ssh_host, tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("paramiko==0.0.1\n")
    with Connection.open(ssh_host) as conn, pytest.raises(BootstrapError) as info:
        bootstrap(conn, HostRegistry(), packages_from=HERE_PACKAGES, constraints=constraints)
    message = str(info.value)
    assert message.startswith(f"host {ssh_host.name!r}: installing the requirements of NeuralForge")
    assert "failed at paramiko" in message and "paramiko==0.0.1" in message and "paramiko==5.1.0" in message
    assert HostRegistry().get(ssh_host.name).python == ""  # nothing recorded
    env = Path(ssh_host.workdir) / f"env-{__version__}"
    assert not (env / "neuralforge-bootstrap.json").exists()  # a later bootstrap starts this one afresh


def test_a_base_python_that_does_not_exist_is_a_clear_error(ssh_host, capsys):
    status = main(["hosts", "bootstrap", ssh_host.name, "--base-python", "/nonexistent/python3.11"])
    err = capsys.readouterr().err
    assert status == 1
    assert f"host {ssh_host.name!r}: the base Python /nonexistent/python3.11 cannot run there" in err
    assert HostRegistry().get(ssh_host.name).python == ""


def test_packages_from_must_be_a_plain_existing_folder(ssh_host, tmp_path):
    wheel = build_wheel(tmp_path / "wheel")
    old = tmp_path / "lib/python3.9/site-packages"
    old.mkdir(parents=True)
    with Connection.open(ssh_host) as conn:
        with pytest.raises(BootstrapError, match="needs an absolute folder path"):
            bootstrap(conn, HostRegistry(), wheel=wheel, packages_from="import os; os.system('touch pwned')")
        with pytest.raises(BootstrapError, match="does not exist there"):
            bootstrap(conn, HostRegistry(), wheel=wheel, packages_from=str(tmp_path / "missing"))
        with pytest.raises(BootstrapError, match="are for Python 3.9"):
            bootstrap(conn, HostRegistry(), wheel=wheel, packages_from=str(old))
    assert not (Path(ssh_host.workdir) / f"env-{__version__}").exists()  # refused before anything was made


def test_a_wheel_that_is_not_neuralforge_is_refused(ssh_host, tmp_path):
    other = tmp_path / "requests-2.0-py3-none-any.whl"
    other.write_bytes(b"PK")
    with Connection.open(ssh_host) as conn, pytest.raises(BootstrapError, match="is not a NeuralForge wheel"):
        bootstrap(conn, HostRegistry(), wheel=other)


def test_pip_failures_are_summed_up():
    missing = ["Processing ./dist/neuralforge_desktop-0.1.0-py3-none-any.whl",
               "ERROR: Could not find a version that satisfies the requirement torch==2.13.0 (from versions: none)",
               "ERROR: No matching distribution found for torch==2.13.0"]
    text = pip_failure("gpu-box", "installing the requirements", missing, 1)
    assert text.startswith("host 'gpu-box': installing the requirements failed at torch==2.13.0 (pip exit 1):")
    assert text.endswith("No matching distribution found for torch==2.13.0")
    assert "failed (pip exit 2)" in pip_failure("b", "x", ["no route to host"], 2)
    assert json.dumps(text)  # plain text, fit for --json reports
