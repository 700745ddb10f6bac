"""The planted-bug benchmark in small (``benchmarks/coach_bench.py`` runs all of it): one run of every kind the
Coach knows with that fault planted, and healthy runs, each trained here and judged as ``neuralforge coach RUN``
judges it. Variant 1 of each kind and healthy runs 0–3 are from the tuning set; the benchmark reports on another.
"""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.coach import planted
from neuralforge_desktop.core.training.coach.findings import KINDS
from neuralforge_desktop.core.training.coach.planted import judge, retrain_fixed, strongest

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    store = Store(folder / "store.db")
    results = []
    for case in [planted.planted_case(kind, 1) for kind in KINDS] + [planted.healthy_case(v) for v in range(4)]:
        findings, graph, config = judge(case, folder, store)
        outcome = planted.Outcome(case, strongest(findings))
        hit = next((f for f in findings if f.kind == case.planted), None)
        if case.planted in ("lr_too_high", "softmax_before_cross_entropy", "unnormalized_inputs") and hit is not None:
            outcome.fixed = retrain_fixed(case, hit, graph, config, folder, store)
        results.append(outcome)
    return results


def test_the_coach_finds_what_was_planted_and_little_else(outcomes):
    score = planted.score(outcomes)
    missed = [o.case.name for o in outcomes if o.case.planted and o.case.planted not in o.found]
    assert score["recall"] >= 0.8, missed
    assert score["precision"] >= 0.8, {o.case.name: o.found for o in outcomes}


def test_healthy_runs_get_no_warning(outcomes):
    assert planted.score(outcomes)["healthy_with_warning"] == []


def test_a_fix_applied_and_retrained_clears_its_finding(outcomes):
    fixed = {o.case.planted: o.fixed for o in outcomes if o.fixed is not None}
    assert set(fixed) == {"lr_too_high", "softmax_before_cross_entropy", "unnormalized_inputs"}
    assert all(kind not in found for kind, found in fixed.items()), fixed


def test_the_score_counts_tolerated_kinds_neither_way():
    case = planted.planted_case("loss_nan", 0)
    healthy = planted.healthy_case(0)
    score = planted.score([planted.Outcome(case, {"loss_nan": "error", "lr_too_high": "warning", "plateau": "info"}),
                           planted.Outcome(healthy, {"plateau": "info"})])
    row = score["per_kind"]
    assert row["loss_nan"]["tp"] == 1 and row["lr_too_high"]["fp"] == 0 and row["plateau"]["fp"] == 1
    assert score["healthy_with_warning"] == [] and score["precision"] == 0.5 and score["recall"] == 1.0
