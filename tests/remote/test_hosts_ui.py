"""Train ▸ Remote Hosts… offscreen against the real sshd: a host is added only after its key is confirmed, a
changed key is refused naming both fingerprints, a probe's findings are shown; all network work off the UI
thread. The questions the dialog asks a person are answered by the test (each is one method)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from neuralforge_desktop.core.remote.hostkeys import KnownHosts, fingerprint
from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
from neuralforge_desktop.ui.dialogs.host_form import HostForm
from neuralforge_desktop.ui.dialogs.hosts import HostsDialog
from tests.remote.sshd import keygen

SHOTS = Path(tempfile.gettempdir())


def _host(sshd, name: str = "lab-server") -> Host:
    return Host(name, "127.0.0.1", port=sshd.port, user=sshd.user, key_file=str(sshd.client_key))


def _dialog(qtbot: Any) -> HostsDialog:
    dialog = HostsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _add(qtbot: Any, dialog: HostsDialog, host: Host) -> None:
    with qtbot.waitSignal(dialog.idle, timeout=30_000):
        dialog.try_add(host)
    qtbot.waitUntil(lambda: dialog.job is None, timeout=30_000)  # a confirmed key logs in once more


def test_an_unknown_key_is_trusted_only_when_confirmed(qtbot: Any, sshd, remote_home) -> None:
    dialog = _dialog(qtbot)
    asked: list[str] = []
    dialog.ask_trust = lambda host, fp: asked.append(fp) or False  # type: ignore[method-assign]
    _add(qtbot, dialog, _host(sshd))
    assert asked == [sshd.host_fingerprint]
    assert HostRegistry().all() == [] and "not trusted" in dialog.status.text()

    box = dialog.trust_box(_host(sshd), sshd.host_fingerprint)
    assert sshd.host_fingerprint in box.text()
    box.grab().save(str(SHOTS / "nf_hosts_trust.png"))

    dialog.ask_trust = lambda host, fp: True  # type: ignore[method-assign]
    with qtbot.waitSignal(dialog.changed, timeout=30_000):
        dialog.try_add(_host(sshd))
    assert [h.name for h in HostRegistry().all()] == ["lab-server"]
    assert dialog.table.item(0, 0).text() == "lab-server" and dialog.table.item(0, 2).text() == "not probed"
    assert sshd.host_fingerprint in dialog.status.text()

    # Probe: what the host has, shown under the list; the window kept answering while it ran.
    dialog.select("lab-server")
    with qtbot.waitSignal(dialog.idle, timeout=60_000):
        dialog.probe_button.click()
        assert not dialog.probe_button.isEnabled()  # busy, not frozen
    text = dialog.details.toPlainText()
    assert "system" in text and "python" in text and "gpus" in text
    assert dialog.table.item(0, 2).text() == "none"  # probed: no NVIDIA GPU here
    dialog.grab().save(str(SHOTS / "nf_hosts_manager.png"))


def test_a_changed_key_is_refused_with_both_fingerprints(qtbot: Any, sshd, remote_home, tmp_path) -> None:
    import paramiko

    impostor = paramiko.Ed25519Key.from_private_key_file(str(keygen(tmp_path / "impostor", "impostor")))
    KnownHosts().add(_host(sshd).key_name(), impostor)
    dialog = _dialog(qtbot)
    dialog.ask_trust = lambda host, fp: pytest.fail("a changed key must not be offered for trust")  # type: ignore
    warned: list[tuple[str, str]] = []
    dialog.warn_changed = lambda host, exc: warned.append((exc.known_fingerprint, exc.fingerprint))  # type: ignore
    _add(qtbot, dialog, _host(sshd))
    assert warned == [(fingerprint(impostor), sshd.host_fingerprint)]
    assert HostRegistry().all() == [] and "changed" in dialog.status.text()


def test_the_form_names_the_field_at_fault(qtbot: Any, tmp_path) -> None:
    form = HostForm([])
    qtbot.addWidget(form)
    form.name.setText("box; rm -rf ~")
    form.address.setText("10.0.0.1")
    form._accept()
    assert form.result_host is None and "host name" in form.error.text()
    form.name.setText("box")
    form.key.setText(str(tmp_path / "missing_key"))
    form._accept()
    assert "Key file" in form.error.text()
    form.key.setText("")
    form._accept()
    assert form.result_host == Host("box", "10.0.0.1")


def test_closing_the_dialog_while_a_probe_runs_loses_nothing(qtbot: Any, ssh_host) -> None:
    from PySide6.QtCore import Qt

    from neuralforge_desktop.ui import remote

    dialog = HostsDialog()
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.select("local-ssh")
    dialog.probe_button.click()
    dialog.close()  # deleted while its job still logs in and probes
    qtbot.waitUntil(lambda: not remote._LIVE, timeout=60_000)
    qtbot.wait(100)  # the job's queued signals arrive after the dialog is gone
    assert HostRegistry().get("local-ssh").probe.get("probed_at")  # the probe finished and was kept
