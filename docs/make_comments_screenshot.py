"""Render docs/screenshots/comment_thread.png: the MNIST CNN on the canvas with a comment thread on its first
convolution (two people, replies, a mention) open in the Comments dock beside it.

    python docs/make_comments_screenshot.py [--out DIR]        # offscreen; a few seconds

The comments are written into a throw-away store with times in the past, as two teammates would have left
them; the window acts as one of them (NEURALFORGE_USER).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["NEURALFORGE_USER"] = "maria"

from PySide6.QtCore import QSettings  # noqa: TID251
from PySide6.QtWidgets import QApplication  # noqa: TID251

from neuralforge_desktop.ui.app import create_application

SIZE = (1280, 800)
THREAD = (  # (author, minutes ago, reply to the comment at this index or None, body)
    ("maria", 190, None, "Should conv1 go to 64 filters? Val acc stalls at 98.6% after epoch 3. "
                         "@jonas what did last week's sweep say?"),
    ("jonas", 150, 0, "It topped out at 32: 64 filters gave +0.1% val acc for 4× the MACs of this layer. "
                      "Not worth it on the edge target."),
    ("maria", 95, 1, "Fair. Then let's keep 32 and add BatchNorm after it before we register v2."),
    ("jonas", 20, 2, "Done in run-7: 99.1% val acc, same latency. @maria can you sign off?"),
)


def settle(app: QApplication, rounds: int = 30) -> None:
    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.comments import add_comment
    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="nf-comments-"))
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    settings.theme = "dark"
    window = MainWindow(settings, recovery_dir=folder / "recovery", store_path=folder / "store.db")
    window.files.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    window.resize(*SIZE)
    window.show()
    settle(app)
    window.files.new_from_template("mnist-cnn")
    settle(app)
    comments = window.canvas_comments
    graph = window.bridge.document.graph
    graph_id = comments.ensure_graph_id()
    now = time.time()
    with Store(folder / "store.db") as store:
        ids: list[int] = []
        for author, minutes, parent, body in THREAD:
            added = add_comment(store, "graph", graph_id, body, anchor="conv1", graph=graph, author=author,
                                parent_id=ids[parent] if parent is not None else None, created=now - minutes * 60)
            ids.append(added.id)
        dropout = next(node.id for node in graph if node.type == "Dropout")
        add_comment(store, "graph", graph_id, "p = 0.5 came from the Keras example; worth a sweep?",
                    anchor=dropout, graph=graph, author="jonas", created=now - 300 * 60)
    comments.reload()
    window.selection.set(["conv1"])
    comments.open_thread("conv1")
    settle(app)
    window.view.fit_all()
    settle(app)
    path = out / "comment_thread.png"
    window.grab().save(str(path))
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
