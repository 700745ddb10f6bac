"""The real sshd on 127.0.0.1 (see sshd.py), one per test process, and a fresh host registry and known-hosts
file per test: tests never read or write the user's."""

from __future__ import annotations

import pytest

from tests.remote.sshd import LocalSshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    server = LocalSshd.create(tmp_path_factory.mktemp("sshd")).start()
    yield server
    server.stop()


@pytest.fixture
def remote_home(tmp_path, monkeypatch):
    """The host registry and NeuralForge's known-hosts file in this test's own folder."""
    from neuralforge_desktop.core.remote import hostkeys, hosts

    monkeypatch.setattr(hosts, "default_hosts_path", lambda: tmp_path / "hosts.json")
    monkeypatch.setattr(hostkeys, "default_known_hosts_path", lambda: tmp_path / "known_hosts")
    return tmp_path


@pytest.fixture
def ssh_host(sshd, remote_home):
    """``local-ssh`` registered and trusted: the sshd above, logged in with its client key."""
    from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
    from neuralforge_desktop.core.remote.ssh import Connection

    host = HostRegistry().add(Host("local-ssh", "127.0.0.1", port=sshd.port, user=sshd.user,
                                   key_file=str(sshd.client_key), workdir=str(remote_home / "remote-work")))
    with Connection.open(host, trust_fingerprint=sshd.host_fingerprint):
        pass
    return host
