"""A model card of a version registered from a bundled run travels with it and lands as an artifact of the
imported run."""

from __future__ import annotations

from neuralforge_desktop.core.cards.cards import generate_card
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.team.bundle import export_bundle
from neuralforge_desktop.core.team.bundle_import import import_bundle
from tests.cards.conftest import registered, registered_template  # noqa: F401  (fixtures, found by name)
from tests.registry.conftest import trained_template  # noqa: F401


def test_the_model_card_of_a_registered_run_travels(registered, tmp_path):  # noqa: F811
    bundle = tmp_path / "mnist.nfbundle"
    with Store(registered["store"]) as store:
        card = generate_card(store, "mnist@1", {"intended_use": "Reading postcodes on parcels"})
        result = export_bundle(store, bundle, run_ids=[registered["run"], registered["untrained"]])
    assert result.cards == ["mnist@1"]
    with Store(tmp_path / "other.db") as other:
        imported = import_bundle(other, bundle, graph_dir=tmp_path / "graphs")
        new_run = imported.created[registered["run"]]
        artifact = other.get_artifact(new_run, "model_cards/mnist-v1.md")
        assert artifact.kind == "model_card"
        assert artifact.path.read_text(encoding="utf-8") == card.markdown
        assert "Reading postcodes on parcels" in card.markdown
        assert [a.name for a in other.list_artifacts(imported.created[registered["untrained"]])
                if a.kind == "model_card"] == []
    assert imported.cards == ["mnist@1"]
