"""A real store with a short audit chain, and the registry's trained store for the wired events."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.audit import append
from neuralforge_desktop.core.store.sqlite_store import Store
from tests.registry.conftest import quantised, quantised_template, trained, trained_template  # noqa: F401
from tests.registry.conftest import store as registry_store  # noqa: F401  (fixtures reused from the registry's tests)
from tests.ui.test_main_window import make_window  # noqa: F401  (the main window fixture, for the app's warning)

EVENTS = [("run.created", "r1"), ("dataset.read", "mnist-10k"), ("graph.saved", "/g.nfg"),
          ("run.finished", "r1"), ("model.exported", "/m.onnx")]


def fill(store: Store, *, sign: bool = True) -> None:
    for number, (kind, subject) in enumerate(EVENTS, start=1):
        append(store, kind, subject, {"n": number}, sign=sign)


@pytest.fixture
def audited(tmp_path):
    """A store holding the five signed entries of EVENTS (seq 1..5)."""
    with Store(tmp_path / "store.db") as store:
        fill(store)
        yield store
