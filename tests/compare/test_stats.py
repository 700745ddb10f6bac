"""Statistics across runs against scipy itself, a published example, and the verdict's words."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sp

from neuralforge_desktop.core.compare.stats import (
    StatsError,
    compare_groups,
    group_runs,
    more_seeds_for,
    seeds_needed,
    summarize,
)
from neuralforge_desktop.core.store.sqlite_store import Store

# Welch's t-test, example 1 of its Wikipedia article: t = -2.46, df = 25.0, p = 0.021.
WIKI_A1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
WIKI_A2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]


def test_mean_std_and_ci_agree_with_scipy():
    values = [0.91, 0.93, 0.92, 0.95, 0.90]
    group = summarize("adam", values)
    assert group.mean == pytest.approx(sp.tmean(values))
    assert group.std == pytest.approx(sp.tstd(values))
    low, high = sp.t.interval(0.95, len(values) - 1, loc=group.mean, scale=sp.sem(values))
    assert (group.ci_low, group.ci_high) == pytest.approx((low, high))
    single = summarize("one", [0.9])
    assert single.mean == 0.9 and math.isnan(single.std) and math.isnan(single.half_width)


def test_welch_on_the_published_example():
    a, b = summarize("A1", WIKI_A1), summarize("A2", WIKI_A2)
    result = compare_groups(a, b, "score", "welch")
    assert result.statistic == pytest.approx(-2.46, abs=0.005)
    assert result.p_value == pytest.approx(0.021, abs=0.0005)
    assert result.p_value == pytest.approx(sp.ttest_ind(WIKI_A1, WIKI_A2, equal_var=False).pvalue)
    pooled = math.sqrt((14 * sp.tvar(WIKI_A1) + 14 * sp.tvar(WIKI_A2)) / 28)
    assert result.effect_size == pytest.approx((a.mean - b.mean) / pooled)
    # equal sizes: d = t·√(2/n) ≈ -0.90, past Cohen's 0.8 for "large"
    assert result.effect_size == pytest.approx(-0.898, abs=0.002)
    assert result.effect_name == "Cohen's d" and result.effect_words == "large"
    assert result.significant
    # "score" is higher-is-better: A2 (the larger mean) wins
    assert result.verdict.startswith("A2 beats A1 on score by")
    assert "p = 0.02" in result.verdict and "unlikely to be chance" in result.verdict


def test_mann_whitney_and_rank_biserial_agree_with_scipy():
    a, b = summarize("adam", [0.91, 0.93, 0.95, 0.94]), summarize("sgd", [0.85, 0.88, 0.86, 0.90])
    result = compare_groups(a, b, "val/acc", "mannwhitney")
    reference = sp.mannwhitneyu(a.values, b.values, alternative="two-sided")
    assert result.statistic == reference.statistic == 16.0
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.effect_size == 1.0 and result.effect_words == "large"  # every adam run beats every sgd run
    assert result.significant and result.verdict.startswith("adam beats sgd on val/acc by 6.0 points (95 % CI")


def test_a_loss_is_better_lower_and_a_small_sample_is_not_distinguishable():
    low, high = summarize("adam", [0.30, 0.31, 0.29, 0.30]), summarize("sgd", [0.40, 0.41, 0.39, 0.42])
    assert compare_groups(high, low, "val/loss").verdict.startswith("adam beats sgd on val/loss by 0.105")
    a, b = summarize("adam", [0.90, 0.95, 0.88]), summarize("sgd", [0.91, 0.86, 0.92])
    result = compare_groups(a, b, "val/acc")
    assert not result.significant
    assert result.verdict.startswith("adam and sgd are not distinguishable on val/acc with these 3 seeds each")
    with pytest.raises(StatsError, match="at least 2 runs per group"):
        compare_groups(summarize("adam", [0.9]), b, "val/acc")
    with pytest.raises(StatsError, match="test must be one of"):
        compare_groups(a, b, "val/acc", "anova")  # type: ignore[arg-type]


def test_identical_groups_are_not_called_different():
    a, b = summarize("x", [0.5, 0.5, 0.5]), summarize("y", [0.5, 0.5, 0.5])
    result = compare_groups(a, b, "val/acc")
    assert result.p_value == 1.0 and not result.significant


def test_seeds_needed_for_a_target_half_width():
    n = seeds_needed(std=0.02, half_width=0.01)
    half = lambda k: sp.t.ppf(0.975, k - 1) * 0.02 / math.sqrt(k)
    assert half(n) <= 0.01 < half(n - 1)
    assert n == 18
    group = summarize("adam", [0.90, 0.92, 0.94])  # std 0.02, 3 runs so far
    assert more_seeds_for(group, 0.01) == n - 3
    assert more_seeds_for(group, 1.0) == 0
    with pytest.raises(StatsError, match="at least 2 runs"):
        seeds_needed(math.nan, 0.01)


def test_runs_grouped_by_a_param_from_the_store(tmp_path):
    store = Store(tmp_path / "store.db")
    try:
        accs = {"adam": [0.91, 0.93, 0.92], "sgd": [0.85, 0.86]}
        for optimizer, values in accs.items():
            for seed, value in enumerate(values):
                run = store.create_run("cmp", params={"optimizer": optimizer, "seed": seed}, environment={})
                store.log_metric(run.id, "val/acc", value, 100)
        other = store.create_run("cmp", params={"seed": 9}, environment={})
        store.log_metric(other.id, "val/acc", 0.5, 100)
        store.log_metric(store.create_run("cmp", params={"optimizer": "adam"}, environment={}).id, "val/acc",
                         math.nan, 100)  # a diverged run: no value to average
        store.flush()
        listed = group_runs(store.list_runs("cmp"), "optimizer", "val/acc")
        assert [g.key for g in listed] == ["adam", "not set", "sgd"]
        groups = {g.key: g for g in listed}
        assert sorted(groups["adam"].values) == sorted(accs["adam"]) and groups["sgd"].n == 2
        assert groups["adam"].mean == pytest.approx(0.92)
    finally:
        store.close()
