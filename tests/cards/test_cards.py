"""Model cards of a real registered version: the generated facts, the human sections kept across regenerations
and inherited by the next version, staleness, and the registry's refusal to promote on an incomplete card."""

from __future__ import annotations

import json
import math

import pytest

from neuralforge_desktop.core import cards, registry
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.serialize import load_graph
from neuralforge_desktop.core.registry import PolicyError, parse_policy
from neuralforge_desktop.core.training.datasets import load_dataset

COMPLETE = {"intended_use": "Reading single handwritten digits in scanned forms.",
            "limitations": "Trained on 230 digits; not checked on other handwriting styles.",
            "ethical_considerations": "Misread digits can misroute a form; a person reviews low-confidence reads."}


def _wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    # The textbook formula, independent of the library the card uses.
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_a_card_holds_the_generated_facts(store, registered):
    version = registry.resolve(store, "mnist@1")
    card = cards.generate_card(store, "mnist@1")
    text = card.markdown
    assert text.startswith("---\n") and "library_name: neuralforge" in text and "model-index:" in text

    params = estimate_cost(load_graph(version.graph_path)).params
    assert f"Parameters: {params:,}" in text and params > 100_000
    bundle = load_dataset("mnist-10k", limit=256, seed=0)
    assert f"`{bundle.fingerprint}`" in text and f"dataset_fingerprint: {bundle.fingerprint}" in text
    assert "Conv2d × 2" in text and "Linear × 2" in text
    assert "mnist-10k.npz" in text and "/resources/" not in text  # file names, not this machine's folders

    acc = version.metrics["val/acc"]
    row = next(r for r in card.facts["metrics"] if r["name"] == "val/acc")
    assert row["n"] == len(bundle.val) == 26 and row["interval"] == "Wilson score 95%"
    low, high = _wilson(round(acc * 26), 26)
    assert row["low"] == pytest.approx(low, abs=1e-9) and row["high"] == pytest.approx(high, abs=1e-9)
    assert f"[{low:.4f}, {high:.4f}]" in text
    assert f"Graph sha256: `{store.get_run(registered['run']).graph_sha256}`" in text
    assert version.file("model.onnx").sha256 in text and "tflite fp32: supported" in text
    assert "No fairness evaluation is attached" in text


def test_human_sections_survive_regeneration_and_carry_to_the_next_version(store, registered):
    cards.generate_card(store, "mnist@1", {"intended_use": "Digits.", "limitations": "Few examples."})
    again = cards.generate_card(store, "mnist@1")
    assert again.fields["intended_use"] == "Digits." and again.fields["limitations"] == "Few examples."
    assert "## Intended use\n\nDigits." in again.markdown
    edited = cards.save_fields(store, "mnist@1", {"limitations": "Only 230 training digits."})
    assert edited.fields == {**again.fields, "limitations": "Only 230 training digits."}

    registry.register(store, registered["run"], "mnist")
    second = cards.generate_card(store, "mnist@2")
    assert second.fields["intended_use"] == "Digits." and second.version == 2
    assert cards.get_card(store, "mnist@1").version == 1  # each version keeps its own card


def test_fairness_and_explanations_show_and_a_later_result_makes_the_card_stale(store, registered):
    cards.generate_card(store, "mnist@1", COMPLETE)
    assert cards.card_status(store, "mnist@1").complete
    fairness = {"summary": "Accuracy differs by 4 points between groups.", "demographic_parity_difference": 0.04}
    store.log_artifact(registered["run"], json.dumps(fairness).encode(), "fairness.json", kind="fairness")
    status = cards.card_status(store, "mnist@1")
    assert not status.complete and "fairness.json was recorded after the card" in status.stale
    card = cards.generate_card(store, "mnist@1")
    assert "Accuracy differs by 4 points between groups." in card.markdown and card.facts["fairness"] == fairness
    assert cards.card_status(store, "mnist@1").complete


def test_a_card_for_a_replaced_version_row_is_stale(store):
    cards.generate_card(store, "mnist@1", COMPLETE)
    with store.database.write() as conn:
        conn.execute("UPDATE model_cards SET written_for = written_for - 60")
    status = cards.card_status(store, "mnist@1")
    assert "written for a version registered at" in status.stale
    assert any("stale" in p for p in status.problems())


def test_promotion_refuses_an_incomplete_card_listing_the_fields(store):
    policy = parse_policy({"checks": {"model_card": {"required": ["intended_use", "limitations",
                                                                  "ethical_considerations"]}}})
    with pytest.raises(registry.RegistryError) as refused:
        registry.promote(store, "mnist@1", "production", policy)
    assert "has no model card" in str(refused.value)

    cards.generate_card(store, "mnist@1", {"intended_use": "Digits."})
    with pytest.raises(registry.RegistryError) as refused:
        registry.promote(store, "mnist@1", "production", policy)
    assert "lacks required field(s): limitations, ethical_considerations" in str(refused.value)

    cards.save_fields(store, "mnist@1", COMPLETE)
    assert registry.promote(store, "mnist@1", "production", policy).stage == "production"


def test_promotion_refuses_a_stale_card(store, registered):
    policy = parse_policy({"checks": {"model_card": {}}})
    cards.generate_card(store, "mnist@1", COMPLETE)
    store.log_artifact(registered["run"], b'{"summary": "ig"}', "explanations.json", kind="explanations")
    with pytest.raises(registry.RegistryError, match="stale: the run's explanations.json was recorded after"):
        registry.promote(store, "mnist@1", "production", policy)
    cards.generate_card(store, "mnist@1")
    assert registry.promote(store, "mnist@1", "production", policy).stage == "production"


def test_a_recorded_gate_is_rechecked_against_the_card_as_it_is_now(store):
    policy = parse_policy({"checks": {"documents": ["model_card"], "model_card": {"required": ["intended_use"]}}})
    cards.generate_card(store, "mnist@1")
    report = registry.evaluate_gates(store, "mnist@1", policy)
    assert [c.check for c in report.failed] == ["model_card"]  # one card, one failure
    assert report.checks[0].check == "documents.model_card" and report.checks[0].passed
    with pytest.raises(registry.RegistryError, match="lacks required field"):
        registry.promote(store, "mnist@1", "production")
    cards.save_fields(store, "mnist@1", {"intended_use": "Digits."})
    assert registry.promote(store, "mnist@1", "production").stage == "production"


def test_documents_model_card_is_satisfied_by_a_complete_card(store):
    policy = parse_policy({"checks": {"documents": ["model_card"]}})
    (missing,) = registry.evaluate_gates(store, "mnist@1", policy, record=False).checks
    assert not missing.passed and "neuralforge card mnist@1 --edit" in missing.detail
    cards.generate_card(store, "mnist@1", COMPLETE)
    (found,) = registry.evaluate_gates(store, "mnist@1", policy, record=False).checks
    assert found.check == "documents.model_card" and found.passed


def test_a_policy_naming_an_unknown_card_field_is_refused_by_name():
    with pytest.raises(PolicyError, match="unknown model card field 'intended_uses'"):
        parse_policy({"checks": {"model_card": {"required": ["intended_uses"]}}})
    with pytest.raises(PolicyError, match="unknown key 'require'"):
        parse_policy({"checks": {"model_card": {"require": ["intended_use"]}}})
    assert parse_policy({"checks": {"model_card": None}}).checks["model_card"]["required"] == list(
        cards.DEFAULT_REQUIRED)


def test_human_sections_round_trip_through_markdown_and_bad_headings_are_named():
    text = cards.fields_to_markdown({"intended_use": "Digits.\n\nTwo paragraphs.", "limitations": "Few."})
    assert "<!-- Who should use the model" in text
    back = cards.markdown_to_fields(text)
    assert back["intended_use"] == "Digits.\n\nTwo paragraphs." and back["limitations"] == "Few."
    assert back["ethical_considerations"] == ""
    with pytest.raises(UserError, match="line 3: heading 'Limitatons' names no model card section"):
        cards.markdown_to_fields("## Intended use\nx\n## Limitatons\ny\n")
    with pytest.raises(UserError, match="line 1: text before the first section heading"):
        cards.markdown_to_fields("stray\n## Intended use\nx\n")
    with pytest.raises(UserError, match="unknown model card field 'usage'"):
        cards.parse_assignment("usage=x")


def test_the_fingerprint_the_run_recorded_wins_and_a_changed_dataset_is_flagged(store, registered):
    run = store.get_run(registered["run"])
    recorded = "0" * 64  # what the run would have recorded had its data differed from today's
    store.update_run(run.id, environment={**run.environment, "dataset": {"name": "mnist-10k", "fingerprint": recorded}})
    card = cards.generate_card(store, "mnist@1")
    assert card.facts["dataset"]["fingerprint"] == recorded
    assert card.facts["dataset"]["fingerprint_source"] == "recorded by the run"
    assert f"`{recorded}` (recorded by the run)" in card.markdown
    assert "the dataset changed since" in card.markdown


def test_facts_gathered_before_a_result_arrived_save_a_stale_card(store, registered):
    import time

    from neuralforge_desktop.core.cards.facts import gather_facts

    gathered = (gather_facts(store, registry.resolve(store, "mnist@1")), time.time())
    store.log_artifact(registered["run"], b'{"summary": "later"}', "fairness.json", kind="fairness")
    card = cards.save_fields(store, "mnist@1", COMPLETE, gathered)
    assert card.generated == gathered[1] and card.facts["fairness"] is None
    assert "fairness.json was recorded after" in cards.card_status(store, "mnist@1").stale
    with pytest.raises(UserError, match="the facts given are 'mnist@1''s, not mnist@2's"):
        registry.register(store, registered["run"], "mnist")
        cards.save_fields(store, "mnist@2", COMPLETE, gathered)
