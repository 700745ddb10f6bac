"""Capacity planning: GPU-hours per host per ISO week, a forecast of the coming weeks, and how busy each
registered host was.

History is the complete weeks (Monday to Monday, local time) from a host's first week with a run to the week
before the current one; the current week is left out because it is not over. A run's GPU-hours count in the
week it started, as everywhere in :mod:`~neuralforge_desktop.core.team.spend`.

The forecast is Holt's linear method (exponential smoothing with an additive trend) from statsmodels, fitted
both with and without a damped trend; the fit with the lower AICc is kept. Its band is statsmodels' own:
``simulate`` draws future paths from the fitted model with its residuals' spread (additive errors), and the
band is the central :data:`BAND_LEVEL` of those paths each week. Forecasts and bands are clipped at 0. A host
with fewer than :data:`MIN_WEEKS` weeks of history gets no forecast, and a message saying so.

Utilisation of a host = GPU-hours used / (its GPUs × the hours in the span), the GPU count being what the last
``neuralforge hosts probe`` found. statsmodels is optional (the ``data`` extra): without it the history and
utilisation are still reported, with a note on how to get forecasts.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.team.spend import SpendRow, spend_rows

if TYPE_CHECKING:
    from neuralforge_desktop.core.remote.hosts import Host
    from neuralforge_desktop.core.store.sqlite_store import Store

MIN_WEEKS = 4
WEEK_HOURS = 168.0
ALL_HOSTS = "all hosts"
BAND_LEVEL = 0.9
SIMULATIONS = 1000
UTILISATION_WEEKS = 4  # the default span of utilisation: the last complete weeks
STATSMODELS_MISSING = "capacity forecasts need statsmodels: pip install 'neuralforge-desktop[data]'"


class ForecastUnavailable(UserError):
    """No forecast can be made: statsmodels is missing, or the history is too short."""


@dataclass(frozen=True, slots=True)
class WeeklyForecast:
    mean: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    damped: bool
    model: str  # e.g. "Holt, additive damped trend (φ = 0.92)"


@dataclass(frozen=True, slots=True)
class HostWeeks:
    host: str
    week_starts: tuple[float, ...]  # local Mondays 00:00, one per week of history
    gpu_hours: tuple[float, ...]
    forecast_starts: tuple[float, ...]
    forecast: WeeklyForecast | None
    note: str  # why there is no forecast ("" when there is one)
    weekly_capacity: float | None = None  # GPUs × 168 h (every registered host's for ALL_HOSTS); None: unknown

    @property
    def full_from(self) -> float | None:
        """The first forecast week whose GPU-hours reach the weekly capacity (None: none does, or unknown)."""
        if self.forecast is None or not self.weekly_capacity:
            return None
        return next((s for s, m in zip(self.forecast_starts, self.forecast.mean, strict=True)
                     if m >= self.weekly_capacity), None)


@dataclass(frozen=True, slots=True)
class HostUtilisation:
    host: str
    gpus: int | None  # None: not a registered host, or never probed
    gpu_hours: float
    capacity_hours: float | None  # gpus × hours in the span
    note: str

    @property
    def utilisation(self) -> float | None:
        return self.gpu_hours / self.capacity_hours if self.capacity_hours else None


@dataclass(frozen=True, slots=True)
class CapacityReport:
    horizon: int
    hosts: tuple[HostWeeks, ...]
    total: HostWeeks | None  # every host's runs together (ALL_HOSTS), None when there is no complete week yet
    utilisation: tuple[HostUtilisation, ...]
    span_start: float  # the span utilisation is measured over
    span_end: float
    note: str  # for the whole report (statsmodels missing), "" otherwise

    def to_json(self) -> dict[str, Any]:
        def week(start: float) -> str:
            year, number, _ = dt.datetime.fromtimestamp(start).isocalendar()
            return f"{year}-W{number:02d}"

        def weeks(h: HostWeeks) -> dict[str, Any]:
            forecast = h.forecast
            full = h.full_from
            return {"host": h.host, "note": h.note, "weekly_capacity_gpu_hours": h.weekly_capacity,
                    "full_from_week": None if full is None else week(full),
                    "history": [{"week": week(s), "start": s, "gpu_hours": v}
                                for s, v in zip(h.week_starts, h.gpu_hours, strict=True)],
                    "forecast": None if forecast is None else {
                        "model": forecast.model,
                        "weeks": [{"week": week(s), "start": s, "gpu_hours": m, "lower": lo, "upper": up}
                                  for s, m, lo, up in zip(h.forecast_starts, forecast.mean, forecast.lower,
                                                          forecast.upper, strict=True)]}}

        return {
            "horizon_weeks": self.horizon, "band_level": BAND_LEVEL, "note": self.note,
            "hosts": [weeks(h) for h in self.hosts],
            "all_hosts": None if self.total is None else weeks(self.total),
            "utilisation": {"start": self.span_start, "end": self.span_end,
                            "hosts": [{"host": u.host, "gpus": u.gpus, "gpu_hours": u.gpu_hours,
                                       "capacity_gpu_hours": u.capacity_hours, "utilisation": u.utilisation,
                                       "note": u.note} for u in self.utilisation]},
        }


def monday_of(when: float) -> float:
    day = dt.datetime.fromtimestamp(when).date()
    return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time()).timestamp()


def weeks_after(monday: float, count: int) -> list[float]:
    """The ``count`` local Mondays after ``monday`` (calendar days, so a daylight-saving change is no drift);
    a negative ``count``: the one that many weeks before, alone."""
    day = dt.datetime.fromtimestamp(monday).date()
    if count < 0:
        return [dt.datetime.combine(day + dt.timedelta(days=7 * count), dt.time()).timestamp()]
    return [dt.datetime.combine(day + dt.timedelta(days=7 * i), dt.time()).timestamp() for i in range(1, count + 1)]


def weekly_gpu_hours(rows: Sequence[SpendRow], until: float,
                     key: Callable[[SpendRow], str] = lambda r: r.host) -> dict[str, tuple[list[float], list[float]]]:
    """Per host (or per ``key``): the Mondays from its first week with a run to the last week ending by
    ``until``, and the GPU-hours of the runs that started in each (0 for a week without)."""
    per_host: dict[str, dict[float, float]] = {}
    for row in rows:
        if row.when < until:
            weeks = per_host.setdefault(key(row), {})
            monday = monday_of(row.when)
            weeks[monday] = weeks.get(monday, 0.0) + row.gpu_hours
    found = {}
    for host, weeks in sorted(per_host.items()):
        starts: list[float] = []
        monday = min(weeks)
        while (end := weeks_after(monday, 1)[0]) <= until:
            starts.append(monday)
            monday = end
        if starts:
            found[host] = (starts, [weeks.get(s, 0.0) for s in starts])
    return found


def forecast_weekly(values: Sequence[float], horizon: int, *, level: float = BAND_LEVEL,
                    seed: int = 0) -> WeeklyForecast:
    """Holt's method on ``values`` (one per week), ``horizon`` weeks ahead, with a simulated band."""
    if len(values) < MIN_WEEKS:
        raise ForecastUnavailable(f"a forecast needs {MIN_WEEKS} weeks of history, there are {len(values)}")
    try:
        import numpy as np
        from statsmodels.tsa.holtwinters import ExponentialSmoothing
    except ImportError:
        raise ForecastUnavailable(STATSMODELS_MISSING) from None
    series = np.asarray(values, dtype=float)
    if np.ptp(series) == 0:  # a flat history: nothing to smooth, and statsmodels cannot fit it
        flat = (float(series[0]),) * horizon
        return WeeklyForecast(flat, flat, flat, False, "flat history: the same each week")
    try:
        damped, best, mean, paths = _fit(ExponentialSmoothing, series, horizon, seed)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise ForecastUnavailable(f"the forecast could not be fitted to this history ({exc})") from None
    tail = (1.0 - level) / 2
    lower = np.clip(np.quantile(paths, tail, axis=1), 0.0, None)
    upper = np.clip(np.quantile(paths, 1.0 - tail, axis=1), 0.0, None)
    model = (f"Holt, additive damped trend (φ = {best.params['damping_trend']:.2f})" if damped
             else "Holt, additive trend")
    return WeeklyForecast(tuple(map(float, mean)), tuple(map(float, np.minimum(lower, mean))),
                          tuple(map(float, np.maximum(upper, mean))), damped, model)


def _fit(smoothing: Any, series: Any, horizon: int, seed: int) -> tuple[bool, Any, Any, Any]:
    """Holt with and without a damped trend, the lower AICc kept: (damped, fit, mean forecast, simulated paths
    with one row per week ahead)."""
    import numpy as np

    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short series; the AICc comparison judges fits
        for damped in (False, True):
            fitted = smoothing(series, trend="add", damped_trend=damped, initialization_method="estimated").fit()
            if math.isfinite(fitted.aicc):
                fits.append((fitted.aicc, damped, fitted))
        if not fits:
            fits.append((0.0, False, smoothing(series, trend="add", initialization_method="estimated").fit()))
        _, damped, best = min(fits, key=lambda f: f[0])
        mean = np.clip(np.asarray(best.forecast(horizon), dtype=float), 0.0, None)
        if not np.all(np.isfinite(mean)):
            raise ArithmeticError("the fit did not converge")
        # statsmodels 0.15 renamed random_state to rng; either way the draws are repeatable
        seeded = ({"rng": np.random.default_rng(seed)} if "rng" in inspect.signature(best.simulate).parameters
                  else {"random_state": np.random.RandomState(seed)})
        paths = np.asarray(best.simulate(horizon, repetitions=SIMULATIONS, error="add", anchor="end", **seeded),
                           dtype=float).reshape(horizon, -1)
    return damped, best, mean, paths


def gpu_count(host: Host) -> int | None:
    gpus = host.probe.get("gpus") if isinstance(host.probe, dict) else None
    return len(gpus) if isinstance(gpus, list) and gpus else None


def utilisation(rows: Sequence[SpendRow], hosts: Sequence[Host], start: float, end: float) -> list[HostUtilisation]:
    """Each registered host's (and each other host runs name's) GPU-hours in [start, end) against what its
    GPUs could have given, the busiest first."""
    used: dict[str, float] = {}
    for row in rows:
        if start <= row.when < end:
            used[row.host] = used.get(row.host, 0.0) + row.gpu_hours
    hours = (end - start) / 3600.0
    registered = {h.name: h for h in hosts}
    found = []
    for name in sorted(set(used) | set(registered)):
        host = registered.get(name)
        gpus = gpu_count(host) if host is not None else None
        if host is None:
            note = "not a registered host: its GPU count is unknown"
        elif gpus is None:
            note = f"no GPUs known: probe it (`neuralforge hosts probe {name}`)"
        else:
            note = ""
        found.append(HostUtilisation(name, gpus, used.get(name, 0.0), gpus * hours if gpus else None, note))
    found.sort(key=lambda u: (-(u.utilisation or -1.0), -u.gpu_hours, u.host))
    return found


def capacity_report(store: Store, hosts: Sequence[Host], *, weeks: int = 8, now: float | None = None,
                    span: tuple[float, float] | None = None) -> CapacityReport:
    """History and a ``weeks``-week forecast per host, and utilisation over ``span`` (default: the last
    :data:`UTILISATION_WEEKS` complete weeks)."""
    if not 1 <= weeks <= 104:
        raise ForecastUnavailable(f"--weeks {weeks}: forecast between 1 and 104 weeks ahead")
    now = time.time() if now is None else now
    this_monday = monday_of(now)
    rows = spend_rows(store)
    missing = ""

    gpus = {h.name: gpu_count(h) for h in hosts}
    known = [g for g in gpus.values() if g]
    capacities = {name: g * WEEK_HOURS for name, g in gpus.items() if g}
    capacities[ALL_HOSTS] = sum(known) * WEEK_HOURS if known else 0.0

    def forecast(host: str, starts: list[float], values: list[float]) -> HostWeeks:
        nonlocal missing
        ahead = tuple(weeks_after(starts[-1], weeks))
        result, note = None, ""
        if not missing:
            try:
                result = forecast_weekly(values, weeks)
            except ForecastUnavailable as exc:
                if str(exc) == STATSMODELS_MISSING:
                    missing = str(exc)
                else:
                    note = str(exc)
        return HostWeeks(host, tuple(starts), tuple(values), ahead, result, note, capacities.get(host) or None)

    per_host = [forecast(host, *history) for host, history in weekly_gpu_hours(rows, this_monday).items()]
    together = weekly_gpu_hours(rows, this_monday, key=lambda _row: ALL_HOSTS).get(ALL_HOSTS)
    total = forecast(ALL_HOSTS, *together) if together else None
    if span is None:
        span = (weeks_after(this_monday, -UTILISATION_WEEKS)[0], this_monday)
    return CapacityReport(weeks, tuple(per_host), total, tuple(utilisation(rows, hosts, *span)), span[0], span[1],
                          missing)
