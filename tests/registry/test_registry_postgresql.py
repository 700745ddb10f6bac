"""The model registry on a team store: a trained personal store moved onto PostgreSQL with `store migrate`,
then registered, gated, promoted and rolled back there, with the audit chain intact."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core import registry
from neuralforge_desktop.core.audit.log import entries
from neuralforge_desktop.core.audit.verify import verify
from neuralforge_desktop.core.cards.cards import generate_card, get_card
from neuralforge_desktop.core.registry import RegistryError, parse_policy
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.store.transfer import copy_store

CHEAP_PASSING = {"checks": {"size": {"max_mb": 50}, "targets": ["tflite"]}}


def test_the_registry_works_on_a_team_store(trained, pg_url):
    with Store(trained["store"]) as personal, Store(pg_url) as team:
        counts = copy_store(personal, team)
        assert counts["runs"] == 2
        first = registry.register(team, trained["run"], "mnist", "digits classifier")
        assert (first.version, first.stage) == (1, "none") and first.onnx_path.is_file()
        assert registry.register(team, trained["run"], "mnist").version == 2
        with pytest.raises(RegistryError, match="no gate has been evaluated for mnist@1"):
            registry.promote(team, "mnist@1", "production")
        policy = parse_policy(CHEAP_PASSING)
        assert registry.promote(team, "mnist@1", "production", policy).stage == "production"
        assert registry.approve(team, "mnist@2", "looks right").approvals[0].comment == "looks right"
        assert registry.promote(team, "mnist@2", "production", policy).stage == "production"
        assert registry.resolve(team, "mnist@1").stage == "archived"
        assert registry.rollback(team, "mnist").version == 1
        assert registry.resolve(team, "mnist@production").version == 1
        assert [m.name for m in registry.list_models(team)] == ["mnist"]
        first_card = generate_card(team, "mnist@1")
        assert "mnist" in first_card.markdown and get_card(team, "mnist@1") is not None
        again = generate_card(team, "mnist@1")  # INSERT OR REPLACE: the same card, rewritten
        assert again.created == first_card.created and again.updated >= first_card.updated
        report = verify(team)
        assert report.first_break is None and report.entries > 5
        kinds = {entry.kind for entry in entries(team, kind="registry.")}
        assert kinds and all(kind.startswith("registry.") for kind in kinds)
