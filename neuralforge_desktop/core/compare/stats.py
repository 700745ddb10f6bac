"""Statistics across runs: runs grouped by a param (the optimizer, say) over seeds; per group the mean, the
standard deviation and a 95 % confidence interval (Student's t); between two groups Welch's t-test or the
Mann–Whitney U test (scipy.stats) with an effect size (Cohen's d or the rank-biserial correlation), and a
verdict in plain words; and how many seeds would narrow an interval to a wanted half-width."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from neuralforge_desktop.core.errors import UserError

TestName = Literal["welch", "mannwhitney"]
TESTS: tuple[TestName, ...] = ("welch", "mannwhitney")
CONFIDENCE = 0.95
ALPHA = 0.05
NOT_SET = "not set"
MAX_SEEDS = 10_000
# Cohen's conventional thresholds for |d|, and the matching ones for the rank-biserial correlation.
_D_WORDS = ((0.2, "negligible"), (0.5, "small"), (0.8, "medium"))
_R_WORDS = ((0.1, "negligible"), (0.3, "small"), (0.5, "medium"))


class StatsError(UserError):
    """Statistics that cannot be computed as asked (too few runs, an unknown test)."""


@dataclass(frozen=True)
class GroupStats:
    """The runs whose param had the value ``key``: their metric values, mean, sample std and CI of the mean
    (``ci_low``/``ci_high`` NaN with fewer than two values)."""

    key: str
    run_ids: tuple[str, ...]
    values: tuple[float, ...]
    mean: float
    std: float
    ci_low: float
    ci_high: float

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


@dataclass(frozen=True)
class TestResult:
    """Group ``a`` against group ``b``: the test's statistic and p-value, the effect size, the difference of the
    means (a − b) with its CI (Welch), and the verdict in words."""

    test: TestName
    a: str
    b: str
    metric: str
    statistic: float
    p_value: float
    effect_size: float
    effect_name: str
    effect_words: str
    difference: float
    diff_ci: tuple[float, float]
    significant: bool
    verdict: str

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, "a": self.a, "b": self.b, "metric": self.metric, "statistic": self.statistic,
                "p_value": self.p_value, "effect_size": self.effect_size, "effect_name": self.effect_name,
                "effect": self.effect_words, "difference": self.difference, "difference_ci": list(self.diff_ci),
                "significant": self.significant, "verdict": self.verdict}


def higher_is_better(metric: str) -> bool:
    """Accuracy-like metrics improve upwards; losses, errors, perplexity and times downwards."""
    lowered = metric.lower()
    return not any(word in lowered for word in ("loss", "perplexity", "error", "seconds", "mse", "mae"))


def _is_fraction(metric: str) -> bool:
    return metric.endswith("acc") or "/top" in metric or metric.endswith("/f1")


def format_amount(metric: str, value: float) -> str:
    """A difference in the metric's terms: accuracy-like fractions in percentage points, others as numbers."""
    if _is_fraction(metric):
        return f"{abs(value) * 100:.1f} points"
    return f"{abs(value):.4g}"


def format_value(metric: str, value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value * 100:.2f} %" if _is_fraction(metric) else f"{value:.4g}"


def summarize(key: str, values: Sequence[float], run_ids: Sequence[str] = (),
              confidence: float = CONFIDENCE) -> GroupStats:
    """Mean, sample standard deviation and the t-distribution CI of the mean of ``values``."""
    from scipy import stats

    n = len(values)
    mean = math.fsum(values) / n if n else math.nan
    if n < 2:
        return GroupStats(key, tuple(run_ids), tuple(values), mean, math.nan, math.nan, math.nan)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    return GroupStats(key, tuple(run_ids), tuple(float(v) for v in values), mean, std, mean - half, mean + half)


def param_text(value: Any) -> str:
    return NOT_SET if value is None else str(value)


def group_runs(runs: Iterable[Any], param: str, metric: str) -> list[GroupStats]:
    """Runs (store ``Run``s) grouped by their value of ``param``, over the latest value of ``metric``; runs
    without the metric, or whose value is NaN, are left out. Groups sorted by their value's text."""
    grouped: dict[str, tuple[list[float], list[str]]] = {}
    for run in runs:
        latest = run.metrics.get(metric)
        if latest is None or not math.isfinite(latest.value):
            continue
        values, ids = grouped.setdefault(param_text(run.params.get(param)), ([], []))
        values.append(float(latest.value))
        ids.append(run.id)
    return [summarize(key, values, ids) for key, (values, ids) in sorted(grouped.items())]


def best_pair(groups: Sequence[GroupStats], metric: str) -> tuple[GroupStats, GroupStats] | None:
    """The two groups of at least 2 runs with the best means on ``metric`` (None: fewer than two such)."""
    testable = [g for g in groups if g.n >= 2]
    if len(testable) < 2:
        return None
    ranked = sorted(testable, key=lambda g: g.mean, reverse=higher_is_better(metric))
    return ranked[0], ranked[1]


def _words(size: float, thresholds: tuple[tuple[float, str], ...]) -> str:
    for limit, word in thresholds:
        if abs(size) < limit:
            return word
    return "large"


def compare_groups(a: GroupStats, b: GroupStats, metric: str, test: TestName = "welch",
                   alpha: float = ALPHA) -> TestResult:
    """Is ``a`` different from ``b`` on ``metric``? Two-sided test; the verdict names the better group."""
    from scipy import stats

    if test not in TESTS:
        raise StatsError(f"test must be one of {', '.join(TESTS)}, got {test!r}")
    if a.n < 2 or b.n < 2:
        raise StatsError(f"comparing needs at least 2 runs per group: {a.key} has {a.n}, {b.key} has {b.n}")
    difference = a.mean - b.mean
    # The CI of the difference under Welch's unequal variances (Welch–Satterthwaite degrees of freedom).
    va, vb = a.std ** 2 / a.n, b.std ** 2 / b.n
    se = math.sqrt(va + vb)
    if se > 0:
        df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1))
        half = float(stats.t.ppf((1 + CONFIDENCE) / 2, df)) * se
    else:
        half = 0.0
    diff_ci = (difference - half, difference + half)
    if test == "welch":
        if se > 0:
            result = stats.ttest_ind(a.values, b.values, equal_var=False)
            statistic, p_value = float(result.statistic), float(result.pvalue)
        else:  # both groups constant: the same value is no evidence of a difference, two values are certain
            statistic = math.copysign(math.inf, difference) if difference else 0.0
            p_value = 0.0 if difference else 1.0
        pooled = math.sqrt(((a.n - 1) * a.std ** 2 + (b.n - 1) * b.std ** 2) / (a.n + b.n - 2))
        effect = difference / pooled if pooled > 0 else (math.copysign(math.inf, difference) if difference else 0.0)
        effect_name, effect_words = "Cohen's d", _words(effect, _D_WORDS)
    else:
        result = stats.mannwhitneyu(a.values, b.values, alternative="two-sided")
        statistic, p_value = float(result.statistic), float(result.pvalue)
        effect = 2 * statistic / (a.n * b.n) - 1  # rank-biserial: +1 when every a beats every b
        effect_name, effect_words = "rank-biserial r", _words(effect, _R_WORDS)
    significant = p_value < alpha
    verdict = _verdict(a, b, metric, difference, diff_ci, p_value, effect_words, significant)
    return TestResult(test, a.key, b.key, metric, statistic, p_value, effect, effect_name, effect_words,
                      difference, diff_ci, significant, verdict)


def _p_text(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}" if p_value < 0.01 else f"p = {p_value:.2f}"


def _verdict(a: GroupStats, b: GroupStats, metric: str, difference: float, diff_ci: tuple[float, float],
             p_value: float, effect_words: str, significant: bool) -> str:
    article = "an" if effect_words[0] in "aeiou" else "a"
    if not significant:
        seeds = f"{a.n} seeds each" if a.n == b.n else f"{a.n} and {b.n} seeds"
        return (f"{a.key} and {b.key} are not distinguishable on {metric} with these {seeds} "
                f"({_p_text(p_value)}, {article} {effect_words} effect): the difference may be chance; "
                "more seeds would tell")
    a_better = (difference > 0) == higher_is_better(metric)
    winner, loser = (a.key, b.key) if a_better else (b.key, a.key)
    # The CI of (winner − loser), signed: it may cross 0 when Mann–Whitney and Welch disagree.
    low, high = diff_ci if a_better else (-diff_ci[1], -diff_ci[0])
    if _is_fraction(metric):
        ci = f"95 % CI {low * 100:.1f} to {high * 100:.1f} points"
    else:
        ci = f"95 % CI {low:.3g} to {high:.3g}"
    return (f"{winner} beats {loser} on {metric} by {format_amount(metric, difference)} ({ci}); "
            f"{_p_text(p_value)}, {article} {effect_words} effect: unlikely to be chance")


def seeds_needed(std: float, half_width: float, confidence: float = CONFIDENCE) -> int:
    """The fewest runs whose t-interval of the mean has at most ``half_width`` when their spread is ``std``."""
    from scipy import stats

    if half_width <= 0:
        raise StatsError(f"the wanted half-width must be positive, got {half_width}")
    if not math.isfinite(std):
        raise StatsError("the spread is unknown: a group needs at least 2 runs to estimate it")
    n = 2
    while n < MAX_SEEDS:
        if float(stats.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n) <= half_width:
            return n
        n += 1
    return MAX_SEEDS


def more_seeds_for(group: GroupStats, half_width: float) -> int:
    """How many runs to add to ``group`` for a CI of at most ``half_width`` (0: it is narrow enough)."""
    return max(0, seeds_needed(group.std, half_width) - group.n)
