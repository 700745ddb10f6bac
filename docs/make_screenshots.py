"""Render the documentation screenshots: docs/screenshots/*.png at 1600×1000, and templates as they first open
at 1280×720 (docs/screenshots/template-*.png).

    python docs/make_screenshots.py [--out DIR] [--only concept-mode,gallery,…]        # offscreen
    QT_QPA_PLATFORM=xcb xvfb-run -s "-screen 0 1920x1200x24" python docs/make_screenshots.py   # real windows

Templates are opened the way a user opens them (File ▸ New from Template), so the pictures show what a user
first sees. Uses throw-away settings and recovery folders, so the user's own preferences are neither read nor
changed. Each PNG is kept under 400 KB (maximum compression, then a 256-colour palette if still too large).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, QSettings, Qt  # noqa: TID251
from PySide6.QtGui import QImage  # noqa: TID251
from PySide6.QtWidgets import QApplication, QWidget  # noqa: TID251

from neuralforge_desktop.ui.app import create_application
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

SIZE = (1600, 1000)
SMALL = (1280, 720)  # a laptop screen: templates must open readable here too
TEMPLATE_SHOTS = ("mnist-cnn", "resnet18", "vgg11", "unet-small", "bert-base", "gpt2-small")
MAX_BYTES = 400 * 1024


def settle(app: QApplication, rounds: int = 30) -> None:
    """Let debounced panels (code view, summary) and layout passes finish before grabbing."""
    import time

    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.01)


def save_png(image: QImage, path: Path) -> int:
    image.save(str(path), "PNG", 0)  # quality 0 = strongest zlib compression; PNG stays lossless
    if path.stat().st_size > MAX_BYTES:
        # Screenshots are flat UI colours: a 256-colour palette is visually identical and much smaller.
        image.convertToFormat(QImage.Format.Format_Indexed8, Qt.ImageConversionFlag.ThresholdDither).save(
            str(path), "PNG", 0)
    return path.stat().st_size


def open_window(app: QApplication, folder: Path, template: str, theme: str = "dark",
                size: tuple[int, int] = SIZE, name: str = "") -> MainWindow:
    """A window on the template, opened as File ▸ New from Template does (an empty graph for ``template=""``)."""
    # One settings file per picture: a choice made for one (Concept Mode, a layout direction) stays in it.
    ini = folder / f"settings-{name or template or 'blank'}-{theme}.ini"
    settings = Settings(QSettings(str(ini), QSettings.Format.IniFormat))
    settings.theme = theme
    window = MainWindow(settings, recovery_dir=folder / "recovery", store_path=folder / "store.db")
    window.files.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]  # never a modal question
    window.resize(*size)
    window.show()
    settle(app)
    if template:
        window.files.new_from_template(template)  # as File ▸ New from Template: laid out for this canvas
        settle(app)
    return window


def select(window: MainWindow, node_id: str) -> None:
    window.selection.set([node_id])


def frame(app: QApplication, window: MainWindow, first: str, last: str, most: float = 1.0) -> None:
    """Zoom so the nodes from ``first`` to ``last`` (graph order) fill the canvas: a whole long model at fit
    zoom is too small to read, and a screenshot should be readable."""
    settle(app, 5)
    view = window.view
    order = list(window.bridge.document.graph.nodes)
    chosen = order[order.index(first): order.index(last) + 1]
    rect = QRectF()
    for node_id in chosen:
        rect = rect.united(view.graph_scene.nodes[node_id].sceneBoundingRect())
    room = view.viewport().rect().adjusted(40, 40, -40, -40)
    zoom = min(room.width() / rect.width(), room.height() / rect.height(), most)
    view.set_zoom(zoom)  # through the view, so zoom-dependent detail (edge shape labels) follows
    view.centerOn(rect.center())
    settle(app, 5)


def shoot(app: QApplication, widget: QWidget, path: Path) -> None:
    settle(app)
    size = save_png(widget.grab().toImage(), path)
    print(f"{path}  {widget.width()}×{widget.height()}  {size / 1024:.0f} KB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    parser.add_argument("--only", default="", help="comma-separated names to render (default: all)")
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}

    def wanted(name: str) -> bool:
        return not only or name in only

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    folder = Path(tempfile.mkdtemp(prefix="nf-shots-"))

    def window_shot(name: str, template: str, prepare: Callable[[MainWindow], None], theme: str = "dark",
                    size: tuple[int, int] = SIZE) -> None:
        if not wanted(name):
            return
        window = open_window(app, folder, template, theme, size, name)
        prepare(window)
        shoot(app, window, out / f"{name}.png")
        print(f"    {template}: zoom {window.view.zoom:.0%}")
        window.close()

    def mnist(window: MainWindow) -> None:
        select(window, "conv1")

    def resnet_collapsed(window: MainWindow) -> None:
        select(window, "layer1")

    def resnet_expanded(window: MainWindow) -> None:
        window.view.toggle_block_collapsed("layer1")
        settle(app)
        frame(app, window, "layer1", "layer3")
        select(window, "layer1")

    def resnet_vertical(window: MainWindow) -> None:
        window.set_layout_direction("vertical")  # View ▸ Layout Direction ▸ Top to Bottom: lays out and fits
        settle(app)

    def concept(window: MainWindow) -> None:
        window.set_concept_mode(True)  # the view makes room for the larger cards: no new layout needed
        settle(app)
        frame(app, window, "image", "relu1")
        select(window, "conv1")

    def as_opened(window: MainWindow) -> None:
        pass

    window_shot("mnist-cnn", "mnist-cnn", mnist)
    window_shot("resnet18-collapsed", "resnet18", resnet_collapsed)
    window_shot("resnet18-layer1-expanded", "resnet18", resnet_expanded)
    window_shot("resnet18-vertical", "resnet18", resnet_vertical)
    window_shot("concept-mode", "mnist-cnn", concept)
    window_shot("light-theme", "mnist-cnn", mnist, theme="light")

    def live_previews(window: MainWindow) -> None:
        """View ▸ Live Previews on the MNIST CNN, the sample a real digit from the Train panel's mnist-10k."""
        window.show_training()
        window.train_panel.dataset.set_dataset("mnist-10k")
        window.set_live_previews(True)
        deadline = time.monotonic() + 60
        while window.previews.applied != window.previews.generation and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        if window.previews.result is None or window.previews.result.error:
            raise SystemExit(f"no previews: {window.previews.result}")
        # The Train panel chose the sample; the picture is about the canvas, so it gets the room of the docks
        # below it and of the palette: the thumbnails are drawn at a zoom where they read.
        docks = window.docks
        for dock in (docks.palette, docks.code, docks.problems, docks.history, docks.train, docks.runs):
            dock.hide()
        settle(app)
        frame(app, window, "image", "logits", most=1.25)
        select(window, "conv1")

    window_shot("live-previews", "mnist-cnn", live_previews)

    def imported(window: MainWindow) -> None:
        """docs/examples/mymodel.py:Net imported: blocks, a folded repeat and custom-code nodes."""
        from neuralforge_desktop.core.importers.import_torch import import_torch, write_import
        from neuralforge_desktop.core.importers.source import parse_input

        example = Path(__file__).resolve().parent / "examples" / "mymodel.py"
        result = import_torch(f"{example}:Net", [parse_input("x=3,32,32")])
        graph_path, _ = write_import(result, folder / "net.nfg")
        window.files.load(graph_path)
        window.view.arrange(window.bridge.document)  # laid out for this canvas, as a template opens
        settle(app)
        select(window, "gate")

    window_shot("imported-model", "", imported)

    def code_apply(window: MainWindow) -> None:
        """The code view in Edit mode: conv2 made narrower in the code, applied to the canvas (one undo step)."""
        docks = window.docks
        docks.code.show()
        docks.code.raise_()
        window.resizeDocks([docks.code], [380], Qt.Orientation.Vertical)
        view = window.code_view
        view.refresh()
        view.set_editing(True)
        source = view.source()
        view.set_code_text(source.replace("nn.Conv2d(32, 64, kernel_size=3", "nn.Conv2d(32, 48, kernel_size=3")
                           .replace("nn.Linear(3136, 128)", "nn.Linear(2352, 128)"))
        done: list[bool] = []
        view.apply_finished.connect(lambda changed, _text: done.append(changed))
        view.apply_code()
        deadline = time.monotonic() + 60
        while not done and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        if not done or not done[0]:
            raise SystemExit(f"apply did not change the graph: {view.note()}")
        settle(app)
        select(window, "conv2")
        view.shutdown()

    window_shot("code-apply", "mnist-cnn", code_apply)

    def components(window: MainWindow) -> None:
        """The Components section, a residual block and a squeeze-and-excitation gate inserted after a conv
        and one saved component in a throw-away library."""
        from neuralforge_desktop.core.components import library
        from neuralforge_desktop.core.components.component import ExposedParam, from_block
        from neuralforge_desktop.core.ir.compose import Composer
        from neuralforge_desktop.core.ir.serialize import save_graph

        library.library_dir = lambda: folder / "components"  # type: ignore[assignment]  # never the user's
        c = Composer("se-resnet-stem")
        x = c.input("image", [3, 32, 32])
        x = c.layer("Conv2d", x, "stem", out_channels=32, kernel_size=3, padding=1)
        c.layer("ReLU", x, "stem_relu")
        save_graph(c.done(), folder / "stem.nfg")
        window.files.load(folder / "stem.nfg")
        settle(app)
        select(window, "stem_relu")
        block = window.insert_component("residual_block")
        gate = window.insert_component("squeeze_excitation")
        saved = window.bridge.document.graph.node(block)
        library.add_to_library(from_block(saved, "conv_pair", [ExposedParam(
            "width", 32, ("conv1.out_channels", "conv2.out_channels"))], title="My conv pair"))
        window.palette_panel.components.reload()
        frame(app, window, "image", gate, most=1.0)
        item = window.palette_panel.components.tree().findItems("Residual block", Qt.MatchFlag.MatchRecursive)[0]
        window.palette_panel.components.tree().setCurrentItem(item)
        select(window, block)

    window_shot("components", "", components)
    for template in TEMPLATE_SHOTS:
        window_shot(f"template-{template}", template, as_opened, size=SMALL)
    window_shot("blank-canvas", "", lambda window: None)

    def first_steps(window: MainWindow) -> None:
        """The tutorial two steps in: an Input and a Flatten, wired; the card says what comes next."""
        from PySide6.QtCore import QPointF  # noqa: TID251

        from neuralforge_desktop.core.edit.edits import Connect

        window.start_tutorial()
        image = window.view.add_layer("Input", QPointF(0.0, 0.0))
        flatten = window.view.add_layer("Flatten", QPointF(240.0, 0.0))
        window.edits.push_edit(Connect(image, "y", flatten, "x"))
        settle(app)
        window.view.set_zoom(1.0)
        window.view.centerOn(QPointF(200.0, 60.0))

    window_shot("first-steps", "", first_steps)

    def gallery_shot() -> None:
        from neuralforge_desktop.ui.dialogs.gallery import GalleryDialog

        dialog = GalleryDialog(theme="dark")
        dialog.resize(1000, 620)
        dialog.show()
        while dialog.pending():  # every preview drawn, as a moment after opening
            app.processEvents()
        dialog.select("resnet18")
        shoot(app, dialog, out / "gallery.png")
        dialog.close()

    if wanted("gallery"):
        gallery_shot()

    def training(window: MainWindow) -> None:
        """The MNIST CNN trained in the app on MNIST-10k: live curves during the run, the result at the end."""
        import time

        from neuralforge_desktop.core.training.config import TrainConfig

        window.show_training()
        panel = window.train_panel
        panel.set_config(TrainConfig(dataset="mnist-10k", epochs=2, batch_size=64, limit=4000, seed=0))
        done: list[str] = []
        panel.run_finished.connect(lambda _run, status: done.append(status))
        if not panel.start():
            raise SystemExit(f"training did not start: {panel.status_text()}")
        deadline = time.monotonic() + 300
        while not done and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        if done != ["finished"]:
            raise SystemExit(f"training ended as {done or 'timeout'}: {panel.status_text()}")

    window_shot("training", "mnist-cnn", training)

    def coach_shot() -> None:
        """The Coach under the Train panel after a real run of the MNIST CNN at SGD lr 5 (the findings as
        ``neuralforge coach RUN`` reports them), showing the learning rate found too high with its evidence."""
        from neuralforge_desktop.core.training.coach.runs import run_report
        from neuralforge_desktop.core.training.config import TrainConfig
        from neuralforge_desktop.core.training.engine import Trainer
        from neuralforge_desktop.core.training.runner import prepare_run

        window = open_window(app, folder, "mnist-cnn", name="coach")
        window.show_training()
        dock = window.docks.train
        dock.setFloating(True)
        dock.resize(980, 900)
        panel, coach = window.train_panel, window.coach_panel
        config = TrainConfig(dataset="mnist-10k", epochs=2, batch_size=64, lr=5.0, optimizer="sgd", seed=0)
        panel.set_config(config)
        graph, store = window.bridge.document.graph, panel.store()
        run_id, run_dir = prepare_run(graph, config, store, "default", "lr-5")
        Trainer(graph, config, run_id, run_dir, lambda event: None, store).run()
        findings = run_report(store, store.get_run(run_id)).findings
        coach.show_findings(run_id, findings)
        coach.findings.setCurrentRow(next(i for i, f in enumerate(findings) if f.kind == "lr_too_high"))
        split = coach.parentWidget()
        split.setSizes([420, 480])  # the Train panel above, the Coach below
        shoot(app, coach, out / "coach-finding.png")
        dock.setFloating(False)
        window.close()

    if wanted("coach-finding"):
        coach_shot()

    def local_sshd() -> Any:
        """A real sshd on 127.0.0.1 (this machine plays the remote host), with a host registry and known-hosts
        file of this script's own."""
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from neuralforge_desktop.core.remote import hostkeys, hosts
        from tests.remote.sshd import LocalSshd

        hosts.default_hosts_path = lambda: folder / "hosts.json"  # type: ignore[assignment]
        hostkeys.default_known_hosts_path = lambda: folder / "known_hosts"  # type: ignore[assignment]
        return LocalSshd.create(Path(tempfile.mkdtemp(prefix="nf-shots-sshd-"))).start()

    if wanted("hosts-manager") or wanted("hosts-trust"):
        # Train ▸ Remote Hosts…: the trust prompt of a new host, then the host added and probed.
        from neuralforge_desktop.core.remote.hosts import Host
        from neuralforge_desktop.ui.dialogs.hosts import HostsDialog

        sshd = local_sshd()
        try:
            lab = Host("lab-server", "127.0.0.1", port=sshd.port, user=sshd.user, key_file=str(sshd.client_key))
            window = open_window(app, folder, "mnist-cnn", "dark", SIZE, "hosts")
            dialog = window.show_hosts()  # as Train ▸ Remote Hosts… opens it: over the window, in its theme
            assert isinstance(dialog, HostsDialog)
            if wanted("hosts-trust"):
                shoot(app, dialog.trust_box(lab, sshd.host_fingerprint), out / "hosts-trust.png")
            dialog.ask_trust = lambda host, fp: fp == sshd.host_fingerprint  # type: ignore[method-assign]
            for step in (lambda: dialog.try_add(lab), dialog.probe_selected):
                step()
                while dialog.job is not None:
                    app.processEvents()
            if wanted("hosts-manager"):
                shoot(app, dialog, out / "hosts-manager.png")
            dialog.close()
            window.close()
        finally:
            sshd.stop()

    def remote_training(window: MainWindow) -> None:
        """The same training on a host over SSH (this machine through a real sshd on 127.0.0.1, registered as
        lab-server in a registry of this script's own), picked in the Train panel's Run on."""
        import sys

        from neuralforge_desktop.core.remote import hosts
        from neuralforge_desktop.core.remote.ssh import Connection

        sshd = local_sshd()
        try:
            host = hosts.HostRegistry().add(hosts.Host(
                "lab-server", "127.0.0.1", port=sshd.port, user=sshd.user, key_file=str(sshd.client_key),
                workdir=str(folder / "lab-server"), python=sys.executable), replace=True)
            Connection.open(host, trust_fingerprint=sshd.host_fingerprint).close()
            window.show_training()
            window.train_panel.run_on.refresh()
            window.train_panel.run_on.set_host("lab-server")
            training(window)
        finally:
            sshd.stop()

    window_shot("train-remote", "mnist-cnn", remote_training)

    if wanted("custom-layer-dialog"):
        # Edit ▸ New Custom Layer… with its nn.Module template; custom layers go to this script's own folder.
        from neuralforge_desktop.core.catalog import user_layers

        user_layers.default_layers_dir = lambda: folder / "layers"  # type: ignore[assignment]
        window = open_window(app, folder, "mnist-cnn", name="custom-layer")
        dialog = window.new_custom_layer()
        dialog.resize(900, 640)
        shoot(app, dialog, out / "custom-layer-dialog.png")
        dialog.close()
        window.close()

    if wanted("export-dialog"):
        # File ▸ Export Model on the MNIST CNN trained above: the run's best checkpoint to ONNX, then the report.
        window = open_window(app, folder, "mnist-cnn", name="export-dialog")
        if not window.files.runs_of_graph():  # the training picture trained it; alone, train it first
            training(window)
        from neuralforge_desktop.core.measure.cpu_busy import wait_until_idle

        wait_until_idle(60)  # the report times the export beside torch: let the training worker's exit settle
        window.files.export_model()
        dialog = window.export_model_dialog
        dialog.output.setText(str(folder / "mnist-cnn.onnx"))
        finished: list[dict] = []
        dialog.runner.finished.connect(finished.append)
        if not dialog.start():
            raise SystemExit(f"the export did not start: {dialog.error}")
        while not finished:
            app.processEvents()
            time.sleep(0.02)
        if dialog.report is None:
            raise SystemExit(f"the export failed: {dialog.error}")
        dialog.resize(760, 600)
        shoot(app, dialog, out / "export-dialog.png")
        dialog.close()
        window.close()

    if wanted("summary-panel"):
        window = open_window(app, folder, "mnist-cnn")
        panel = window.summary
        window.docks.summary.raise_()
        dock = window.docks.summary
        dock.setFloating(True)
        dock.resize(760, 720)
        select(window, "fc1")
        shoot(app, panel, out / "summary-panel.png")
        window.close()
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
