"""`neuralforge hosts …` as a newcomer runs it, against the real sshd on 127.0.0.1, with a fresh home (the host
list and NeuralForge's known-hosts file live in its user data dir): an unknown host key is refused with its
fingerprint printed and nothing registered, the right fingerprint adds the host, and nothing a user types reaches
a shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from tests.remote.sshd import keygen

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home of its own: ~/.ssh/known_hosts and ~/.local/share/neuralforge start empty."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    from neuralforge_desktop.core.remote import hostkeys, hosts

    # The suite-wide fixture moved these to a temp folder; here they are where the app keeps them under HOME.
    monkeypatch.setattr(hosts, "default_hosts_path", lambda: data_dir(home) / "hosts.json")
    monkeypatch.setattr(hostkeys, "default_known_hosts_path", lambda: data_dir(home) / "known_hosts")
    return home


def data_dir(home: Path) -> Path:
    return home / ".local" / "share" / "neuralforge"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def add_argv(sshd, name="local-ssh", *extra: str) -> list[str]:
    return ["hosts", "add", name, "--host", "127.0.0.1", "--port", str(sshd.port), "--user", sshd.user,
            "--key", str(sshd.client_key), *extra]


def test_newcomer_adds_a_host_only_after_confirming_its_fingerprint(sshd, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "neuralforge_desktop.cli.main", *argv], capture_output=True,
                              text=True, env=env, cwd=home, timeout=120)

    first = cli(*add_argv(sshd))
    assert first.returncode == 1, first.stderr
    assert sshd.host_fingerprint in first.stderr
    assert f"--trust-fingerprint {sshd.host_fingerprint}" in first.stderr  # how to trust it
    assert "was not added" in first.stderr
    assert json.loads(cli("hosts", "list", "--json").stdout) == []
    assert not (data_dir(home) / "known_hosts").exists()

    added = cli(*add_argv(sshd), "--trust-fingerprint", sshd.host_fingerprint)
    assert added.returncode == 0, added.stderr
    assert "host local-ssh added" in added.stdout and sshd.host_fingerprint in added.stdout
    listed = json.loads(cli("hosts", "list", "--json").stdout)
    assert [(h["name"], h["address"], h["port"], h["user"]) for h in listed] == [
        ("local-ssh", "127.0.0.1", sshd.port, sshd.user)]
    assert listed[0]["key_file"] == str(sshd.client_key)
    # the key is on record now: the host is reached with no confirmation
    probe = cli("hosts", "probe", "local-ssh", "--json")
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout)["kernel"].startswith("Linux")


def test_a_wrong_fingerprint_is_refused_and_nothing_registered(sshd, home, capsys):
    status, out, err = run(capsys, *add_argv(sshd), "--trust-fingerprint", "SHA256:" + "B" * 43)
    assert status == 1
    assert "not the fingerprint you confirmed" in err and sshd.host_fingerprint in err
    assert run(capsys, "hosts", "list", "--json")[1].strip() == "[]"


def test_list_remove_and_the_table(sshd, home, capsys):
    assert run(capsys, *add_argv(sshd, "box", "--cost-per-gpu-hour", "2.5", "--trust-fingerprint",
                                 sshd.host_fingerprint))[0] == 0
    assert run(capsys, "hosts", "add", "later", "--host", "gpu.example.org", "--no-connect")[0] == 0
    status, out, _ = run(capsys, "hosts", "list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "LOGIN", "KEY", "COST/GPU-H", "GPUS", "NEURALFORGE"]
    box = next(line for line in lines if line.startswith("box "))
    assert f"{sshd.user}@127.0.0.1:{sshd.port}" in box and "2.5" in box and "not probed" in box
    assert "ssh-agent" in next(line for line in lines if line.startswith("later "))

    status, out, _ = run(capsys, "hosts", "remove", "box")
    assert status == 0 and "host box removed" in out and "forgotten" in out
    assert [h["name"] for h in json.loads(run(capsys, "hosts", "list", "--json")[1])] == ["later"]
    status, _, err = run(capsys, "hosts", "remove", "box")
    assert status == 1 and "no host named 'box'" in err
    # its key went with it: adding it again asks for the fingerprint again
    status, _, err = run(capsys, *add_argv(sshd, "box"))
    assert status == 1 and sshd.host_fingerprint in err


def test_trust_and_forget_key(sshd, home, capsys):
    assert run(capsys, *add_argv(sshd, "box", "--no-connect"))[0] == 0
    status, _, err = run(capsys, "hosts", "probe", "box")
    assert status == 1
    assert f"neuralforge hosts trust box --fingerprint {sshd.host_fingerprint}" in err
    status, _, err = run(capsys, "hosts", "trust", "box", "--fingerprint", "SHA256:" + "C" * 43)
    assert status == 1 and "not the fingerprint you confirmed" in err
    status, out, _ = run(capsys, "hosts", "trust", "box", "--fingerprint", sshd.host_fingerprint)
    assert status == 0 and "is trusted now" in out
    bare = sshd.host_fingerprint.removeprefix("SHA256:")  # the prefix may be left out
    status, out, _ = run(capsys, "hosts", "trust", "box", "--fingerprint", bare)
    assert status == 0 and "was trusted already" in out
    assert run(capsys, "hosts", "probe", "box")[0] == 0
    status, out, _ = run(capsys, "hosts", "forget-key", "box")
    assert status == 0 and "1 key for" in out
    assert run(capsys, "hosts", "probe", "box")[0] == 1


def test_a_changed_host_key_is_refused_naming_both_fingerprints(sshd, home, capsys, tmp_path):
    import paramiko

    from neuralforge_desktop.core.remote.hostkeys import KnownHosts, fingerprint

    impostor = paramiko.Ed25519Key.from_private_key_file(str(keygen(tmp_path / "impostor", "impostor")))
    KnownHosts(data_dir(home) / "known_hosts").add(f"[127.0.0.1]:{sshd.port}", impostor)
    status, _, err = run(capsys, *add_argv(sshd), "--trust-fingerprint", sshd.host_fingerprint)
    assert status == 1
    assert "CHANGED" in err and fingerprint(impostor) in err and sshd.host_fingerprint in err
    assert run(capsys, "hosts", "list", "--json")[1].strip() == "[]"


@pytest.mark.parametrize("name", ["a;b", "$(touch pwned)", "a b", "-rf", "x`id`", "../up"])
def test_a_host_name_with_shell_metacharacters_is_refused(sshd, home, capsys, name):
    status, _, err = run(capsys, "hosts", "add", "--host", "127.0.0.1", "--no-connect", "--", name)
    assert status == 1
    assert f"host name {name!r} is not allowed" in err
    assert run(capsys, "hosts", "list", "--json")[1].strip() == "[]"


def test_planted_commands_in_user_and_workdir_never_run(sshd, home, capsys, tmp_path):
    pwned = tmp_path / "pwned"
    status, _, err = run(capsys, "hosts", "add", "evil-user", "--host", "127.0.0.1", "--port", str(sshd.port),
                         "--user", f"; touch {pwned}", "--key", str(sshd.client_key), "--trust-fingerprint",
                         sshd.host_fingerprint)
    assert status == 1 and "refused the login" in err  # the name went to sshd as a user name, nowhere else
    workdir = str(tmp_path / f"w; touch {pwned} $(touch {pwned}) `touch {pwned}`")
    assert run(capsys, *add_argv(sshd, "evil-dir", "--workdir", workdir, "--trust-fingerprint",
                                 sshd.host_fingerprint))[0] == 0
    status, out, err = run(capsys, "hosts", "probe", "evil-dir", "--json")
    assert status == 0, err
    found = json.loads(out)
    assert found["workdir"] == workdir and found["disk"]["path"] == workdir and found["disk"]["free_bytes"] > 0
    assert not pwned.exists()


def test_a_missing_key_file_and_an_unknown_jump_host_are_named(sshd, home, capsys, tmp_path):
    status, _, err = run(capsys, "hosts", "add", "box", "--host", "127.0.0.1", "--key", str(tmp_path / "nokey"))
    assert status == 1 and "the key file" in err and "does not exist" in err
    status, _, err = run(capsys, "hosts", "add", "inner", "--host", "10.1.2.3", "--jump", "bastion")
    assert status == 1 and "no host named 'bastion'" in err


def test_an_encrypted_key_needs_a_terminal_for_its_passphrase(sshd, home, capsys, tmp_path, monkeypatch):
    key = tmp_path / "locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "open sesame", "-f", str(key)], check=True)
    with open(sshd.folder / "authorized_keys", "a") as handle:
        handle.write(key.with_suffix(".pub").read_text())
    argv = ["hosts", "add", "locked", "--host", "127.0.0.1", "--port", str(sshd.port), "--user", sshd.user,
            "--key", str(key), "--trust-fingerprint", sshd.host_fingerprint]
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    status, _, err = run(capsys, *argv)
    assert status == 1 and "needs its passphrase" in err and "terminal" in err
    # No terminal can exist under pytest: stand one in, and type the passphrase into getpass.
    import getpass

    from neuralforge_desktop.core.remote import secrets

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "open sesame")
    monkeypatch.setattr(secrets, "keyring_available", lambda: False)
    status, out, err = run(capsys, *argv)
    assert status == 0, err
    assert "host locked added" in out
    for path in data_dir(home).rglob("*"):
        if path.is_file():
            assert b"open sesame" not in path.read_bytes()  # never written down by us


def test_the_ssh_agent_logs_in_when_no_key_file_is_given(sshd, home, capsys, tmp_path, monkeypatch):
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not socket_path.exists() and agent.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        subprocess.run(["ssh-add", "-q", str(sshd.client_key)], check=True, env={**os.environ})
        status, out, err = run(capsys, "hosts", "add", "agent-box", "--host", "127.0.0.1", "--port", str(sshd.port),
                               "--user", sshd.user, "--trust-fingerprint", sshd.host_fingerprint)
        assert status == 0, err
        assert "logged in with the ssh-agent" in out
    finally:
        agent.terminate()
        agent.wait(10)
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "no-agent.sock"))
    status, _, err = run(capsys, "hosts", "probe", "agent-box")
    assert status == 1 and "nothing to log in with" in err and "ssh-agent" in err


def test_an_unknown_jump_host_key_says_which_host_to_trust(sshd, home, capsys):
    assert run(capsys, *add_argv(sshd, "bastion", "--no-connect"))[0] == 0
    status, _, err = run(capsys, "hosts", "add", "inner", "--host", "localhost", "--port", str(sshd.port),
                         "--user", sshd.user, "--key", str(sshd.client_key), "--jump", "bastion",
                         "--trust-fingerprint", sshd.host_fingerprint)
    assert status == 1
    assert f"`neuralforge hosts trust bastion --fingerprint {sshd.host_fingerprint}`" in err
    assert run(capsys, "hosts", "trust", "bastion", "--fingerprint", sshd.host_fingerprint)[0] == 0
    status, out, err = run(capsys, "hosts", "add", "inner", "--host", "localhost", "--port", str(sshd.port),
                           "--user", sshd.user, "--key", str(sshd.client_key), "--jump", "bastion",
                           "--trust-fingerprint", sshd.host_fingerprint)
    assert status == 0, err
    assert f"{sshd.user}@localhost:{sshd.port} via bastion" in out
