"""Train ▸ Remote Hosts…: the hosts a run can train on (what ``neuralforge hosts`` manages), with Add, Probe,
Bootstrap, Remove and Forget Key. Everything that touches the network runs in a :class:`~..remote.HostJob`.

Security, as on the command line: a host is added only after a login worked and its key was checked. An
unknown key is shown with its SHA256 fingerprint and trusted only when the user confirms it; a changed key is
refused with both fingerprints and cannot be accepted here (the user removes the old key on purpose, with
Forget Key, after checking why it changed). A key's passphrase is asked for and kept only in the OS keyring,
if the user wants and there is one."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.remote.hostkeys import HostKeyChanged, KnownHosts, UnknownHostKey
from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
from neuralforge_desktop.core.remote.ssh import Connection, PassphraseNeeded
from neuralforge_desktop.ui.dialogs.host_form import HostForm
from neuralforge_desktop.ui.remote import HostJob

COLUMNS = ("Name", "Login", "GPUs", "Cost / GPU-h", "NeuralForge")


class HostsDialog(QDialog):
    idle = Signal()  # a job ended (its outcome is on screen)
    changed = Signal()  # the registry changed (a host added, probed, bootstrapped or removed)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remote Hosts")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a host to see what its last probe found.")
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.add_button = QPushButton("Add…", self)
        self.probe_button = QPushButton("Probe", self)
        self.bootstrap_button = QPushButton("Bootstrap", self)
        self.remove_button = QPushButton("Remove", self)
        self.forget_button = QPushButton("Forget Key", self)
        close = QPushButton("Close", self)
        self.add_button.clicked.connect(self.add_host)
        self.probe_button.clicked.connect(self.probe_selected)
        self.bootstrap_button.clicked.connect(self.bootstrap_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.forget_button.clicked.connect(self.forget_selected)
        close.clicked.connect(self.accept)
        self.probe_button.setToolTip("Log in and look: OS, Pythons, torch and CUDA, GPUs, free disk")
        self.bootstrap_button.setToolTip("Make NeuralForge's own environment on the host (same version as here)")
        self.forget_button.setToolTip("Drop the host's key from NeuralForge's known hosts (after a key change "
                                      "you have checked)")
        buttons = QHBoxLayout()
        for button in (self.add_button, self.probe_button, self.bootstrap_button, self.remove_button,
                       self.forget_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.details, 2)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(820, 560)
        self.job: HostJob | None = None
        self.refresh()

    # -- the list ------------------------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        select = select or self.selected_name()
        hosts = HostRegistry().all()
        self.table.setRowCount(len(hosts))
        for row, host in enumerate(hosts):
            gpus = host.probe.get("gpus") or []
            gpu_text = ", ".join(sorted({g.get("name", "GPU") for g in gpus})) if gpus else (
                "none" if host.probe else "not probed")
            if len(gpus) > 1:
                gpu_text = f"{len(gpus)} × {gpu_text}"
            env = (host.probe.get("neuralforge_env") or {}).get("neuralforge") or "yes"
            cells = (host.name, f"{host.login()}@{host.address}:{host.port}" + (f" via {host.jump}" if host.jump
                                                                               else ""),
                     gpu_text, f"{host.cost_per_gpu_hour:g}" if host.cost_per_gpu_hour else "",
                     env if host.python else "not bootstrapped")
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
            if host.name == select:
                self.table.selectRow(row)
        self.table.resizeColumnsToContents()
        self._update_buttons()

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        item = self.table.item(rows[0].row(), 0) if rows else None
        return item.text() if item is not None else None

    def select(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.text() == name:
                self.table.selectRow(row)

    def _show_selected(self) -> None:
        name = self.selected_name()
        self._update_buttons()
        if name is None:
            self.details.clear()
            return
        host = HostRegistry().get(name)
        if not host.probe:
            self.details.setPlainText(f"{name}: not probed yet. Probe logs in and looks at what it has.")
            return
        from neuralforge_desktop.cli.hosts_cmd import describe_probe

        self.details.setPlainText("\n".join([f"{name}, probed {host.probe.get('probed_at', '')}",
                                             *describe_probe(host.probe, name)]))

    def _update_buttons(self) -> None:
        busy = self.job is not None
        chosen = self.selected_name() is not None
        self.add_button.setEnabled(not busy)
        for button in (self.probe_button, self.bootstrap_button, self.remove_button, self.forget_button):
            button.setEnabled(chosen and not busy)

    # -- jobs ------------------------------------------------------------------------------------------------
    def _run(self, what: str, work: Any, on_done: Any, on_failed: Any = None) -> None:
        self.status.setText(what + " …")
        self.setCursor(Qt.CursorShape.BusyCursor)
        job = HostJob(work)
        self.job = job
        self._update_buttons()
        job.progress.connect(self.details.appendPlainText)

        def finish() -> None:
            job.wait()  # run() emits just before it returns: no QThread is dropped while its thread runs
            self.job = None
            self.unsetCursor()
            self._update_buttons()

        def done(result: Any) -> None:
            if not shiboken6.isValid(self):  # the dialog was closed (and deleted) while the job ran
                return
            finish()
            on_done(result)
            self.idle.emit()

        def failed(exc: Exception) -> None:
            if not shiboken6.isValid(self):
                return
            finish()
            if on_failed is None or not on_failed(exc):
                self.status.setText(f"{what} failed: {exc}")
            self.idle.emit()

        job.done.connect(done)
        job.failed.connect(failed)
        job.begin()

    # -- add: log in, check the key, then register ---------------------------------------------------------
    def add_host(self) -> None:
        names = [h.name for h in HostRegistry().all()]
        form = HostForm(names, self)
        if form.exec() != QDialog.DialogCode.Accepted or form.result_host is None:
            return
        self.try_add(form.result_host)

    def try_add(self, host: Host, trust: str | None = None, passphrase: str | None = None) -> None:
        registry = HostRegistry()
        if any(h.name == host.name for h in registry.all()):
            self.status.setText(f"A host named {host.name!r} exists already: remove it first or pick another name.")
            return

        def login(say: Any) -> str:
            from neuralforge_desktop.core.remote.hostkeys import fingerprint

            with Connection.open(host, registry, trust_fingerprint=trust, passphrase=passphrase) as conn:
                return fingerprint(conn.client.get_transport().get_remote_server_key())

        def added(key: str) -> None:
            HostRegistry().add(host)
            if passphrase is not None:
                self._offer_keyring(host, passphrase)
            self.refresh(select=host.name)
            self.status.setText(f"Host {host.name} added (host key {key}). Next: Probe, then Bootstrap.")
            self.changed.emit()

        def refused(exc: Exception) -> bool:
            if isinstance(exc, UnknownHostKey) and exc.key_name == host.key_name() and trust is None:
                if self.ask_trust(host, exc.fingerprint):
                    self.try_add(host, trust=exc.fingerprint, passphrase=passphrase)
                else:
                    self.status.setText(f"Host {host.name} was not added: its key was not trusted.")
                return True
            if isinstance(exc, HostKeyChanged):
                self.warn_changed(host, exc)
                self.status.setText(f"Host {host.name} was not added: its key has changed.")
                return True
            if isinstance(exc, PassphraseNeeded) and passphrase is None:
                given = self.ask_passphrase(host)
                if given is not None:
                    self.try_add(host, trust=trust, passphrase=given)
                    return True
            self.status.setText(f"Host {host.name} was not added: {exc}")
            return True

        self._run(f"Logging in to {host.name}", login, added, refused)

    # The three questions, one method each so that they can be answered without a person in tests.
    def ask_trust(self, host: Host, fingerprint: str) -> bool:
        box = self.trust_box(host, fingerprint)
        box.exec()
        return box.clickedButton() is box.property("trust_button")

    def trust_box(self, host: Host, fingerprint: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Question, "Unknown host key",
                          f"The host key of {host.name} ({host.address}:{host.port}) is not known.\n\n"
                          f"Its fingerprint is\n{fingerprint}", parent=self)
        box.setInformativeText("Trust it only if it is the fingerprint you were given\n"
                               "(on the host: ssh-keygen -lf on its public host key).")
        trust = box.addButton("Trust This Key", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setProperty("trust_button", trust)
        return box

    def warn_changed(self, host: Host, exc: HostKeyChanged) -> None:
        QMessageBox.critical(self, "Host key changed",
                             f"The host key of {host.address}:{host.port} has CHANGED.\n\n"
                             f"Known key: {exc.known_fingerprint}\nKey offered now: {exc.fingerprint}\n\n"
                             "Someone may be intercepting the connection, or the host was reinstalled. Nothing "
                             "was sent. If you have checked why it changed, select the host and Forget Key.")

    def ask_passphrase(self, host: Host) -> str | None:
        text, ok = QInputDialog.getText(self, "Key passphrase", f"Passphrase for {host.key_file}:",
                                        QLineEdit.EchoMode.Password)
        return text if ok else None

    def _offer_keyring(self, host: Host, passphrase: str) -> None:
        from neuralforge_desktop.core.remote import secrets

        if not secrets.keyring_available():
            return
        answer = QMessageBox.question(self, "Keep the passphrase?",
                                      "Keep this passphrase in the OS keyring, so it is not asked again?")
        if answer == QMessageBox.StandardButton.Yes:
            secrets.store_passphrase(host, passphrase)

    # -- probe, bootstrap, remove, forget ---------------------------------------------------------------------
    def probe_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return

        def probe(say: Any) -> dict[str, Any]:
            from neuralforge_desktop.core.remote.probe import probe_and_save

            registry = HostRegistry()
            with Connection.open(name, registry) as conn:
                return probe_and_save(conn, registry)

        def probed(found: dict[str, Any]) -> None:
            self.refresh(select=name)
            self._show_selected()
            self.status.setText(f"Probed {name} in {found.get('seconds', 0):.1f} s.")
            self.changed.emit()

        self._run(f"Probing {name}", probe, probed)

    def bootstrap_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        self.details.clear()

        def make(say: Any) -> Any:
            from neuralforge_desktop.core.remote.bootstrap import bootstrap

            registry = HostRegistry()
            with Connection.open(name, registry) as conn:
                return bootstrap(conn, registry, progress=say)

        def made(result: Any) -> None:
            self.refresh(select=name)
            state = "checked (already there)" if result.reused else "made"
            self.status.setText(f"{name}: NeuralForge {result.version} environment {state} in "
                                f"{result.seconds:.0f} s ({result.python}).")
            self.changed.emit()

        self._run(f"Bootstrapping {name} (building and sending NeuralForge; minutes on a fresh host)", make, made)

    def remove_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        answer = QMessageBox.question(self, "Remove host", f"Remove {name} from NeuralForge's hosts? Its runs "
                                      "stay in the store; nothing on the host is deleted.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        HostRegistry().remove(name)
        self.refresh()
        self.details.clear()
        self.status.setText(f"Host {name} removed.")
        self.changed.emit()

    def forget_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        host = HostRegistry().get(name)
        dropped = KnownHosts().forget(host.key_name())
        self.status.setText(f"Forgot {dropped} key(s) of {host.key_name()}; the next login asks to trust the key "
                            "it is offered." if dropped else f"NeuralForge kept no key of {host.key_name()}.")
