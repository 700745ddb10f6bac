"""Review requests on a registered version: the queue, approval landing in the registry so that a policy
requiring one lets the version go to production, self-approval refused, a decision final."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core import registry
from neuralforge_desktop.core.audit import entries
from neuralforge_desktop.core.registry import RegistryError, parse_policy
from neuralforge_desktop.core.team.reviews import ReviewError, decide, list_reviews, request_review, review_queue

NEEDS_APPROVAL = {"checks": {"size": {"max_mb": 50}, "targets": ["tflite"]}, "require_approval": True}


def test_an_approved_request_is_a_registry_approval_and_the_gated_promotion_passes(registered, monkeypatch):
    policy = parse_policy(NEEDS_APPROVAL)
    with pytest.raises(RegistryError, match="requires an approval of mnist@1"):
        registry.promote(registered, "mnist@1", "production", policy)
    request = request_review(registered, "mnist@1", "ben", "accuracy 98%, card written")
    assert (request.ref, request.requested_by, request.reviewer, request.status) == ("mnist@1", "ana", "ben",
                                                                                     "pending")
    assert [r.id for r in review_queue(registered)] == [request.id]
    assert [r.id for r in review_queue(registered, "ben")] == [request.id]
    assert review_queue(registered, "carla") == []
    monkeypatch.setenv("NEURALFORGE_USER", "ben")
    decided = decide(registered, request.id, True, "checked the confusion matrix")
    assert (decided.status, decided.decided_by, decided.decision_note) == ("approved", "ben",
                                                                           "checked the confusion matrix")
    approvals = registry.resolve(registered, "mnist@1").approvals
    assert [(a.who, a.comment) for a in approvals] == [("ben", f"review {request.id}: checked the confusion matrix")]
    assert review_queue(registered) == []
    assert registry.promote(registered, "mnist@1", "production", policy).stage == "production"
    kinds = [e.kind for e in entries(registered) if e.kind.startswith(("review.", "registry.approved"))]
    assert kinds == ["review.requested", "registry.approved", "review.approved"]


def test_a_requester_cannot_approve_their_own_request_and_a_decision_is_final(registered, monkeypatch):
    request = request_review(registered, "mnist@1", "ben")
    with pytest.raises(ReviewError, match=f"ana asked for review request {request.id} and cannot approve it"):
        decide(registered, request.id, True)
    assert registry.resolve(registered, "mnist@1").approvals == ()
    with pytest.raises(ReviewError, match="cannot review their own request"):
        request_review(registered, "mnist@1", "ana")
    monkeypatch.setenv("NEURALFORGE_USER", "ben")
    with pytest.raises(ReviewError, match="say why"):
        decide(registered, request.id, False)
    rejected = decide(registered, request.id, False, "the fairness report is missing")
    assert rejected.status == "rejected"
    with pytest.raises(ReviewError, match=f"review request {request.id} \\(mnist@1\\) was already rejected by ben"):
        decide(registered, request.id, True)
    assert registry.resolve(registered, "mnist@1").approvals == ()
    assert [r.status for r in list_reviews(registered, "mnist@1")] == ["rejected"]


def test_requests_are_refused_for_unknown_versions_and_ids(registered):
    with pytest.raises(ReviewError, match="no model version 'mnist@9' to review"):
        request_review(registered, "mnist@9", "ben")
    with pytest.raises(ReviewError, match="name the reviewer"):
        request_review(registered, "mnist@1", " ")
    with pytest.raises(ReviewError, match="no review request 42"):
        decide(registered, 42, True)
    staged = request_review(registered, "mnist@none", "ben")
    assert staged.ref == "mnist@1"  # a stage names the version it is in
