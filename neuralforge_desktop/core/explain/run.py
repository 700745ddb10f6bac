"""The entry point: a method on a run's model, one example or many, images written and the global summary
stored with the run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.explain import aggregate, local
from neuralforge_desktop.core.explain.image import last_conv
from neuralforge_desktop.core.explain.local import Explanation
from neuralforge_desktop.core.explain.methods import check_method
from neuralforge_desktop.core.explain.subject import IMAGE, Subject, load_subject

ARTIFACT = "explanations.json"
PERMUTATION_DEFAULT = 500  # permutation importance is global only: this many examples when none are asked for


def explain_subject(subject: Subject, method: str, *, sample: int = 0, global_count: int | None = None,
                    output: Path) -> Explanation:
    """``method`` on ``subject``: example ``sample``, or the first ``global_count`` examples aggregated."""
    check_method(method, subject.kind, has_conv=subject.kind != IMAGE or last_conv(subject.model) is not None)
    output.mkdir(parents=True, exist_ok=True)
    if method == "permutation":
        return aggregate.global_permutation(subject, global_count or PERMUTATION_DEFAULT, output)
    if global_count is not None:
        if method == "shap":
            return aggregate.global_shap(subject, global_count, output)
        if method == "attention":
            return aggregate.global_attention(subject, global_count, output)
        return aggregate.global_image(subject, method, global_count, output)
    if method == "shap":
        return local.explain_shap(subject, sample, output)
    if method == "attention":
        return local.explain_attention(subject, sample, output)
    return local.explain_image(subject, method, sample, output)


def explain(store: Any, run_id: str, method: str, *, sample: int = 0, global_count: int | None = None,
            output: Path, subject: Subject | None = None) -> Explanation:
    """Explain run ``run_id``'s model; a global result is merged into the run's ``explanations.json``."""
    subject = subject if subject is not None else load_subject(store, run_id)
    found = explain_subject(subject, method, sample=sample, global_count=global_count, output=output)
    if found.sample is None:
        _store_summary(store, subject.run_id, found, subject.description)
    _audit(store, "explanation.created", subject.run_id,
           {"method": method, "sample": found.sample, "examples": found.examples})
    return found


def stored_summary(store: Any, run_id: str) -> dict[str, Any]:
    """The run's ``explanations.json`` ({} when it has none)."""
    from neuralforge_desktop.core.store.entities import NotFoundError

    try:
        text = store.artifact_path(run_id, ARTIFACT).read_text(encoding="utf-8")
    except (NotFoundError, OSError):
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _store_summary(store: Any, run_id: str, found: Explanation, description: str) -> None:
    summary = stored_summary(store, run_id)
    kept = summary.get("methods")
    methods: dict[str, Any] = dict(kept) if isinstance(kept, dict) else {}
    methods[found.method] = {"examples": found.examples, "data": description, "created": time.time(),
                             "figures": found.figures}
    summary = {"run_id": run_id, "kind": found.kind, "methods": methods}
    store.log_artifact(run_id, json.dumps(summary, indent=2, sort_keys=True).encode("utf-8"), name=ARTIFACT,
                       kind="explanation")


def _audit(store: Any, kind: str, subject: str, details: dict[str, Any]) -> None:
    from neuralforge_desktop.core.audit import record_event

    record_event(store, kind, subject, details)
