"""Reading the registry and moving versions between stages: promote, approve, rollback.

Promotion to production needs the policy's gates to pass: evaluated now when a policy is given, else the
version's latest recorded gate result (from ``neuralforge gate`` in CI, say) is what counts, with the policy
it was evaluated under. When that policy says ``require_approval: true`` the version also needs an approval.
At most one version per model is in production: promoting another archives the previous one, in the same
transaction, and every change of stage is recorded with who made it and when.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.registry.entities import (
    PROMOTION_TARGETS,
    ModelVersion,
    RegisteredModel,
    RegistryError,
    parse_ref,
)
from neuralforge_desktop.core.registry.policy import Policy, load_policy, parse_policy
from neuralforge_desktop.core.registry.tables import (
    add_transition,
    all_models,
    read_model,
    read_version,
    require_model,
    version_id,
    who,
)

Progress = Callable[[float, str], None]


def resolve(store: Any, ref: str) -> ModelVersion:
    """The version ``ref`` names: ``name`` (its latest), ``name@3``, or ``name@production`` (any stage)."""
    with store.database.read() as conn:
        return read_version(conn, store.artifact_files, version_id(conn, parse_ref(ref)))


def list_models(store: Any) -> list[RegisteredModel]:
    with store.database.read() as conn:
        return all_models(conn, store.artifact_files)


def show(store: Any, name: str) -> RegisteredModel:
    with store.database.read() as conn:
        return read_model(conn, store.artifact_files, require_model(conn, parse_ref(name).name))


def approve(store: Any, ref: str, comment: str = "") -> ModelVersion:
    """Record the OS user's approval of the version, with a comment (approver of the run's project)."""
    _require(store, resolve(store, ref), "approve")
    with store.database.write() as conn:
        vid = version_id(conn, parse_ref(ref))
        conn.execute("INSERT INTO model_approvals (version_id, who, created, comment) VALUES (?, ?, ?, ?)",
                     (vid, who(), time.time(), comment))
        approved = read_version(conn, store.artifact_files, vid)
    _audit(store, "registry.approved", approved.ref, {"comment": comment})
    return approved


def _policy(policy: Policy | str | Path | None) -> Policy | None:
    if policy is None or isinstance(policy, Policy):
        return policy
    return load_policy(policy)


def production_refusals(store: Any, version: ModelVersion, policy: Policy | None,
                        progress: Progress | None = None) -> list[str]:
    """Why ``version`` may not go to production yet (empty: it may): every failed gate check and a missing
    approval. With a policy its gates are evaluated (and recorded) now."""
    from neuralforge_desktop.core.registry.gates import evaluate_gates

    if policy is not None:
        report = evaluate_gates(store, version.ref, policy, progress=progress)
        failed = [f"{c.check}: {c.detail}" for c in report.failed]
        needs_approval = policy.require_approval
    elif not version.gates:
        return [f"no gate has been evaluated for {version.ref}: run `neuralforge gate {version.ref} --policy FILE` "
                "or promote with --policy FILE"]
    else:
        from neuralforge_desktop.core.registry.gates import CARD_CHECKS, card_check, documents_checks

        latest = version.gates[-1]
        recorded = parse_policy({k: v for k, v in latest.policy.items() if k != "source"},
                                latest.policy.get("source") or "recorded policy")
        # The card may have been edited, or gone stale, since the gates ran: its checks are taken again now.
        failed = [f"{c['check']}: {c['detail']}" for c in latest.checks
                  if not c["passed"] and c["check"] not in CARD_CHECKS]
        live = [c for c in documents_checks(store, version, recorded.checks) if c.check in CARD_CHECKS]
        if "model_card" in recorded.checks:
            live.append(card_check(store, version, recorded.checks))
        failed += [f"{c.check}: {c.detail}" for c in live if not c.passed]
        needs_approval = recorded.require_approval
    if needs_approval and not version.approvals:
        failed.append(f"approval: the policy requires an approval of {version.ref} "
                      f"(`neuralforge registry approve {version.ref} --comment …`)")
    return failed


def promote(store: Any, ref: str, to_stage: str, policy: Policy | str | Path | None = None, *, comment: str = "",
            progress: Progress | None = None) -> ModelVersion:
    """Move the version to ``to_stage`` (staging, production or archived); to production only when
    :func:`production_refusals` finds nothing, archiving the version that was in production."""
    if to_stage not in PROMOTION_TARGETS:
        raise RegistryError(f"unknown stage {to_stage!r}; promote to one of {', '.join(PROMOTION_TARGETS)}")
    version = resolve(store, ref)
    _require(store, version, "promote")
    if version.stage == to_stage:
        raise RegistryError(f"{version.ref} is already in {to_stage}")
    if to_stage == "production":
        refusals = production_refusals(store, version, _policy(policy), progress)
        if refusals:
            listed = "\n".join(f"  - {r}" for r in refusals)
            raise RegistryError(f"{version.ref} cannot go to production; {len(refusals)} failed:\n{listed}")
    now, actor = time.time(), who()
    replaced: list[str] = []
    with store.database.write() as conn:
        vid = version_id(conn, parse_ref(version.ref))
        (stage,) = conn.execute("SELECT stage FROM model_versions WHERE id = ?", (vid,)).fetchone()
        if to_stage == "production":
            model_id = require_model(conn, version.name)[0]
            for old_id, old_number in conn.execute("SELECT id, version FROM model_versions WHERE model_id = ? AND "
                                                   "stage = 'production'", (model_id,)).fetchall():
                add_transition(conn, old_id, "production", "archived", actor, now,
                               f"replaced by {version.ref}")
                replaced.append(f"{version.name}@{old_number}")
        add_transition(conn, vid, stage, to_stage, actor, now, comment)
        promoted = read_version(conn, store.artifact_files, vid)
    for old_ref in replaced:
        _audit(store, "registry.transition", old_ref, {"from": "production", "to": "archived",
                                                       "comment": f"replaced by {version.ref}"})
    _audit(store, "registry.transition", promoted.ref, {"from": stage, "to": to_stage, "comment": comment})
    return promoted


def rollback(store: Any, name: str, comment: str = "") -> ModelVersion:
    """Put back in production the version that was there before the current one, archiving the current one;
    returns the restored version. Gates are not re-run: that version has served production already."""
    actor, now = who(), time.time()
    with store.database.read() as conn:
        production = conn.execute("SELECT v.run_id FROM model_versions v JOIN registered_models m ON m.id = "
                                  "v.model_id WHERE m.name = ? AND v.stage = 'production'",
                                  (parse_ref(name).name,)).fetchone()
    if production is not None:
        from neuralforge_desktop.core.team.access import cache_of

        cache_of(store).check_run(production[0], "promote")
    with store.database.write() as conn:
        model_id, model_name = require_model(conn, parse_ref(name).name)[:2]
        current = conn.execute("SELECT id, version FROM model_versions WHERE model_id = ? AND stage = 'production'",
                               (model_id,)).fetchone()
        if current is None:
            raise RegistryError(f"model {model_name!r} has no version in production, so there is nothing to roll "
                                "back")
        previous = conn.execute(
            "SELECT v.id, v.version FROM model_transitions t JOIN model_versions v ON v.id = t.version_id "
            "WHERE v.model_id = ? AND t.from_stage = 'production' AND v.id != ? AND v.stage != 'production' "
            "ORDER BY t.id DESC LIMIT 1", (model_id, current[0])).fetchone()
        if previous is None:
            raise RegistryError(f"model {model_name!r} has no previous production version to roll back to: "
                                f"{model_name}@{current[1]} is the first in production")
        add_transition(conn, current[0], "production", "archived", actor, now,
                       comment or f"rolled back to {model_name}@{previous[1]}")
        previous_stage = conn.execute("SELECT stage FROM model_versions WHERE id = ?", (previous[0],)).fetchone()[0]
        add_transition(conn, previous[0], previous_stage, "production", actor, now,
                       comment or f"rollback from {model_name}@{current[1]}")
        restored = read_version(conn, store.artifact_files, previous[0])
    _audit(store, "registry.rollback", model_name, {"archived": f"{model_name}@{current[1]}",
                                                    "restored": restored.ref, "from": previous_stage,
                                                    "comment": comment})
    return restored


def _require(store: Any, version: ModelVersion, action: str) -> None:
    """Approving and promoting need the approver role in the project of the version's run."""
    from neuralforge_desktop.core.team.access import cache_of

    cache_of(store).check_run(version.run_id, action)


def _audit(store: Any, kind: str, subject: str, details: dict[str, Any]) -> None:
    from neuralforge_desktop.core.audit import record_event

    record_event(store, kind, subject, details)
