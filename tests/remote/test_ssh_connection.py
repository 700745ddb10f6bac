"""The SSH connection against a real sshd on 127.0.0.1: host keys are checked before anything else, commands
are quoted, files arrive whole, and a detached job outlives the connection."""

from __future__ import annotations

import time

import pytest

from neuralforge_desktop.core.remote.hostkeys import HostKeyChanged, KnownHosts, UnknownHostKey
from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
from neuralforge_desktop.core.remote.ssh import Connection, SshError
from tests.remote.sshd import keygen


def _host(sshd, tmp_path, **extra):
    return HostRegistry().add(Host("box", "127.0.0.1", port=sshd.port, user=sshd.user,
                                   key_file=str(sshd.client_key), **extra))


def test_unknown_host_key_is_refused_and_its_fingerprint_named(sshd, remote_home, tmp_path):
    host = _host(sshd, tmp_path)
    with pytest.raises(UnknownHostKey) as info:
        Connection.open(host)
    assert info.value.fingerprint == sshd.host_fingerprint
    assert sshd.host_fingerprint in str(info.value)
    assert not (remote_home / "known_hosts").exists()  # nothing trusted on the way


def test_a_wrong_confirmed_fingerprint_is_refused(sshd, remote_home, tmp_path):
    with pytest.raises(UnknownHostKey, match="not the fingerprint you confirmed"):
        Connection.open(_host(sshd, tmp_path), trust_fingerprint="SHA256:" + "A" * 43)


def test_confirmed_fingerprint_is_remembered(sshd, remote_home, tmp_path):
    host = _host(sshd, tmp_path)
    with Connection.open(host, trust_fingerprint=sshd.host_fingerprint) as conn:
        assert conn.run(["echo", "hello"]).stdout == "hello\n"
    with Connection.open(host) as conn:  # no confirmation needed the second time
        assert conn.alive


def test_changed_host_key_is_refused_naming_both_fingerprints(sshd, remote_home, tmp_path):
    import paramiko

    other = keygen(tmp_path / "impostor", "impostor")
    impostor = paramiko.Ed25519Key.from_private_key_file(str(other))
    host = _host(sshd, tmp_path)
    KnownHosts().add(host.key_name(), impostor)
    from neuralforge_desktop.core.remote.hostkeys import fingerprint

    with pytest.raises(HostKeyChanged) as info:
        Connection.open(host, trust_fingerprint=sshd.host_fingerprint)  # a confirmation does not override
    message = str(info.value)
    assert fingerprint(impostor) in message and sshd.host_fingerprint in message and "CHANGED" in message


def test_shell_metacharacters_in_arguments_run_nothing(ssh_host, tmp_path):
    planted = tmp_path / "pwned"
    hostile = [f"; touch {planted}", f"$(touch {planted})", f"`touch {planted}`", f"a' ; touch '{planted}",
               f"x\ntouch {planted}", f"&& touch {planted}", f"| touch {planted}"]
    with Connection.open(ssh_host) as conn:
        for word in hostile:
            result = conn.run(["printf", "%s", word], cwd=str(tmp_path))
            assert result.stdout == word
        conn.run(["ls", *hostile])  # fails (no such files), runs nothing
        conn.run(["true"], env={"NAME": f"; touch {planted}"})
    assert not planted.exists()


def test_files_move_whole_and_are_checked(ssh_host, tmp_path):
    source = tmp_path / "data.bin"
    source.write_bytes(bytes(range(256)) * 4000)
    seen: list[int] = []
    with Connection.open(ssh_host) as conn:
        remote = str(tmp_path / "remote dir; x" / "data.bin")
        sha = conn.put(source, remote, progress=lambda done, total: seen.append(done))
        assert conn.sha256(remote) == sha
        back = tmp_path / "back.bin"
        assert conn.get(remote, back) == sha
        assert back.read_bytes() == source.read_bytes()
        assert seen and seen[-1] == source.stat().st_size
        with pytest.raises(SshError, match="damaged"):
            conn.get(remote, tmp_path / "other.bin", expect_sha256="0" * 64)
        assert not (tmp_path / "other.bin").exists()
        assert conn.read_from(remote, 1024, 16) == source.read_bytes()[1024:1040]
        assert conn.read_from(str(tmp_path / "missing"), 0) == b""


def test_a_detached_job_outlives_its_connection(ssh_host, tmp_path):
    marker = tmp_path / "done"
    with Connection.open(ssh_host) as conn:
        pid = conn.start_detached(["sh", "-c", f"sleep 1; echo ok > '{marker}'"], str(tmp_path / "job.log"))
        assert conn.is_running(pid)
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text() == "ok\n"


def test_unreachable_host_is_a_clear_error(remote_home, tmp_path, sshd):
    from tests.remote.sshd import free_port

    host = HostRegistry().add(Host("gone", "127.0.0.1", port=free_port(), key_file=str(sshd.client_key)))
    with pytest.raises(SshError, match="cannot reach host 'gone'"):
        Connection.open(host, timeout=3)


def test_jump_host_reaches_the_target_through_it(sshd, remote_home, tmp_path):
    registry = HostRegistry()
    registry.add(Host("bastion", "127.0.0.1", port=sshd.port, user=sshd.user, key_file=str(sshd.client_key)))
    # The target is addressed as "localhost" so that it is a separate known-hosts entry, reached via the jump.
    target = registry.add(Host("inner", "localhost", port=sshd.port, user=sshd.user,
                               key_file=str(sshd.client_key), jump="bastion"))
    KnownHosts().add(registry.get("bastion").key_name(), _server_key(sshd))
    with Connection.open(target, trust_fingerprint=sshd.host_fingerprint) as conn:
        assert conn.run(["echo", "via"]).stdout == "via\n"


def _server_key(sshd):
    import paramiko

    return paramiko.Ed25519Key.from_private_key_file(str(sshd.host_key))
