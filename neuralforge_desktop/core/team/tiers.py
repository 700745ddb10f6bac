"""Plans (Free, Pro, Team, Enterprise) as local limits: no payment, only what each plan allows on this machine.

Each plan limits the projects in a store, the runs training at once, the GPU-hours used in a calendar month,
the registered remote hosts, and whether a shared PostgreSQL store may be opened. The limits are checked where
the action happens (see :mod:`.quotas`) and a limit reached raises :class:`QuotaExceeded`.

No plan chosen means :data:`LOCAL`: the unrestricted default of a personal installation. NeuralForge ran
without limits before plans existed, so an installation (a test suite, a CI machine, a script) that never chose
a plan keeps working as it did; choosing one (the first-run picker, ``neuralforge plan set NAME``) is what
turns its limits on, and ``neuralforge plan set local`` turns them off again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.team import choices


@dataclass(frozen=True, slots=True)
class Plan:
    """One plan's limits; None: no limit."""

    name: str
    title: str
    summary: str
    projects: int | None
    concurrent_runs: int | None
    gpu_hours_per_month: float | None
    remote_hosts: int | None
    shared_store: bool  # may open a postgresql:// store

    @property
    def limited(self) -> bool:
        return any(limit is not None for limit in (self.projects, self.concurrent_runs, self.gpu_hours_per_month,
                                                   self.remote_hosts)) or not self.shared_store


FREE = Plan("free", "Free", "learning and class projects", 5, 1, 10.0, 0, False)
PRO = Plan("pro", "Pro", "one engineer's production work", 25, 4, 50.0, 2, False)
TEAM = Plan("team", "Team", "a team sharing one PostgreSQL store", 100, 16, 500.0, 10, True)
ENTERPRISE = Plan("enterprise", "Enterprise", "no limits; shared stores, any number of hosts", None, None, None,
                  None, True)
LOCAL = Plan("local", "Local (no plan chosen)", "the unrestricted default until a plan is chosen", None, None,
             None, None, True)

# In upgrade order: the message of a limit reached names the first plan after the current one that lifts it.
PLANS: tuple[Plan, ...] = (FREE, PRO, TEAM, ENTERPRISE)
_BY_NAME = {plan.name: plan for plan in (*PLANS, LOCAL)}


class UnknownPlan(UserError):
    pass


class QuotaExceeded(UserError):
    """A plan's limit reached: the message names the limit, the figure now, the plan that lifts it."""


def plan_named(name: str) -> Plan:
    plan = _BY_NAME.get(name.strip().lower())
    if plan is None:
        raise UnknownPlan(f"no plan named {name!r}; choose one of {', '.join(sorted(_BY_NAME))}")
    return plan


def current_plan(path: Path | None = None) -> Plan:
    """The chosen plan, or :data:`LOCAL` when none was chosen (or the saved name is no plan's)."""
    name = choices.choice(choices.PLAN_KEY, path)
    return _BY_NAME.get(name, LOCAL) if name else LOCAL


def set_plan(name: str, path: Path | None = None) -> Plan:
    """Choose the plan; ``local`` removes the choice (no limits)."""
    plan = plan_named(name)
    choices.save_choice(choices.PLAN_KEY, None if plan is LOCAL else plan.name, path)
    return plan


def upgrade_for(current: Plan, fits: Callable[[Plan], bool]) -> Plan | None:
    """The first plan after ``current`` (in :data:`PLANS` order) for which ``fits(plan)`` is true."""
    later = PLANS[PLANS.index(current) + 1:] if current in PLANS else PLANS
    return next((plan for plan in later if fits(plan)), None)
