"""Persona profiles: how the window is arranged for who is using it (no Qt here; the app applies them).

A profile says which dock panels are shown and where (:class:`DockLayout`: per side, groups of docks, each
group one tab stack, stacked top to bottom), whether the Layers palette lists only the common layers
("simple") or every layer ("full"), the start list the empty canvas offers first (menu actions by name, in
order), and the tutorial offered. Choosing one is stored as ``persona`` in the settings file the CLI shares
(:mod:`.choices`); the desktop app keeps it under the QSettings key ``profile/name`` too.

Dock keys are the window's (``ui/docks.py``): palette, inspector, summary, code, problems, history, train,
runs. A dock named nowhere is hidden (View ▸ Panels still shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.team import choices

DOCK_KEYS = ("palette", "inspector", "summary", "code", "problems", "history", "train", "runs")
SIDES = ("left", "right", "bottom")
FIRST_STEPS = "first-steps"


@dataclass(frozen=True, slots=True)
class StartItem:
    """One entry of the start list: the menu action it triggers (``actions.py`` name), its label, the command
    that does the same from a terminal (shown by ``neuralforge persona show``), and the action to use instead
    where this build has no ``action`` (the app leaves out an entry that has neither)."""

    action: str
    label: str
    command: str = ""
    fallback: str = ""


@dataclass(frozen=True, slots=True)
class DockLayout:
    """Per side, groups of docks: each group is one tab stack (its first dock in front unless ``front``
    names another), groups stacked top to bottom. ``bottom_share``: the bottom area's share of the height."""

    left: tuple[tuple[str, ...], ...] = ()
    right: tuple[tuple[str, ...], ...] = ()
    bottom: tuple[tuple[str, ...], ...] = ()
    front: tuple[str, ...] = ()
    bottom_share: float = 0.22

    def side(self, name: str) -> tuple[tuple[str, ...], ...]:
        return {"left": self.left, "right": self.right, "bottom": self.bottom}[name]

    def shown(self) -> list[str]:
        return [dock for side in SIDES for group in self.side(side) for dock in group]

    def hidden(self) -> list[str]:
        shown = set(self.shown())
        return [dock for dock in DOCK_KEYS if dock not in shown]

    def where(self, dock: str) -> str | None:
        return next((side for side in SIDES for group in self.side(side) if dock in group), None)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    title: str
    who: str  # one line: who it is for
    changes: str  # one line: what choosing it changes
    docks: DockLayout
    palette: str  # "simple": the common layers only; "full": every layer
    start: tuple[StartItem, ...]
    tutorial: str | None = None  # FIRST_STEPS, or None: no tutorial offered
    concept_mode: bool = False
    plan_hint: str = "pro"  # the plan this kind of user usually works under (the picker suggests it)


# The start-list entries, by what they open (menu action names from ui/actions.py; team.* ones are the Team menu's).
TUTORIAL = StartItem("help.tutorial", "Take the First Steps tutorial", "neuralforge demo")
TEMPLATES = StartItem("file.new_template", "Start from a template (ML 101 gallery)", "neuralforge zoo list")
IMPORT = StartItem("file.import_code", "Import an existing PyTorch, ONNX or Keras model", "neuralforge import")
CUSTOM_LAYER = StartItem("edit.custom_layer", "Write a custom layer in Python", "neuralforge layers add")
EXPORT_MODEL = StartItem("file.export_model", "Export a model (ONNX, TFLite, Core ML)", "neuralforge export")
EXPORT_DIAGRAM = StartItem("file.export", "Export the diagram (PNG, SVG, PDF)", "neuralforge diagram")
SAVE_COMPONENT = StartItem("edit.save_component", "Save a block as a reusable component", "neuralforge components")
SWEEP = StartItem("train.sweep", "Run a hyperparameter sweep", "neuralforge sweep")
SWEEPS = StartItem("train.sweeps", "Compare a sweep's trials", "neuralforge sweep-list")
RUNS = StartItem("view.dock.runs", "Runs: list and compare experiments", "neuralforge runs compare")
NOTES = StartItem("train.notes", "Experiment notes", "neuralforge notes")
HOSTS = StartItem("train.hosts", "Remote GPU hosts", "neuralforge hosts list")
PIPELINES = StartItem("train.pipelines", "Deployment pipelines (optimise, package, serve)", "neuralforge pipeline")
REGISTRY = StartItem("view.registry", "Model registry: versions, approvals, rollback", "neuralforge registry")
MONITORING = StartItem("view.monitoring", "Monitor served models", "neuralforge monitor")
FAIRNESS = StartItem("view.fairness", "Fairness across groups", "neuralforge fairness")
LINEAGE = StartItem("view.lineage", "Lineage: where a model came from", "neuralforge lineage")
EXPLAIN = StartItem("view.explain", "Explain predictions (SHAP, attributions)", "neuralforge explain")
AUDIT = StartItem("team.audit", "Audit log", "neuralforge audit list")
CARDS = StartItem("team.cards", "Model cards", "neuralforge card", fallback="view.registry")
PORTFOLIO = StartItem("team.portfolio", "Portfolio of all projects", "neuralforge portfolio")
COST = StartItem("team.cost", "Cost and GPU-hours", "neuralforge cost", fallback="view.dock.runs")
PROFILE = StartItem("team.profile", "Change profile", "neuralforge persona set NAME")

_CLASSIC = DockLayout(left=(("palette",),), right=(("inspector",), ("summary",)),
                      bottom=(("code", "problems", "history", "train", "runs"),))

PROFILES: tuple[Profile, ...] = (
    Profile("student", "Student", "Learning deep learning: class projects, MNIST to CIFAR-10.",
            "Common layers only, Concept Mode on, the First Steps tutorial and the ML 101 gallery first.",
            DockLayout(left=(("palette",),), right=(("inspector",), ("summary",)),
                       bottom=(("problems", "train", "runs"),)),
            "simple", (TUTORIAL, TEMPLATES, RUNS, EXPORT_MODEL), FIRST_STEPS, concept_mode=True, plan_hint="free"),
    Profile("junior", "Junior engineer", "Building production models with guidance (0-3 years).",
            "Every layer, the Train panel and its Coach a tab away, sweeps and comparisons first.",
            DockLayout(left=(("palette",),), right=(("inspector",), ("summary",)),
                       bottom=(("problems", "train", "runs", "code", "history"),)),
            "full", (TUTORIAL, TEMPLATES, SWEEP, RUNS, EXPORT_MODEL), FIRST_STEPS, plan_hint="pro"),
    Profile("senior", "Senior engineer", "Expert: custom layers, code beside the canvas, remote GPUs.",
            "Every layer, the generated code beside the canvas, no tutorial; import, custom layers, hosts first.",
            DockLayout(left=(("palette",),), right=(("code",), ("inspector", "summary")),
                       bottom=(("problems", "runs", "train", "history"),)),
            "full", (IMPORT, CUSTOM_LAYER, HOSTS, SWEEP, PIPELINES), None, plan_hint="enterprise"),
    Profile("designer", "Designer", "Shapes architectures from templates; publishes diagrams.",
            "Every layer, the Summary's parameters and latency in view, training panels tucked away.",
            DockLayout(left=(("palette",),), right=(("summary",), ("inspector",)),
                       bottom=(("code", "problems", "history"),)),
            "full", (TEMPLATES, SAVE_COMPONENT, EXPORT_DIAGRAM, EXPORT_MODEL), None, plan_hint="pro"),
    Profile("analyst", "Analyst", "Runs experiments and sweeps; compares and documents results.",
            "A tall Runs panel in front, sweeps, comparisons and notes first.",
            DockLayout(left=(("palette",),), right=(("summary",),),
                       bottom=(("runs", "train", "problems", "code"),), bottom_share=0.45),
            "full", (RUNS, SWEEP, SWEEPS, NOTES, EXPLAIN), None, plan_hint="pro"),
    Profile("manufacturing", "Manufacturing", "Takes trained models to devices: optimise, export, deploy.",
            "Common layers, export, pipelines, registry and monitoring first; Summary and Runs in view.",
            DockLayout(left=(("palette",),), right=(("summary",),), bottom=(("runs", "problems", "code"),)),
            "simple", (EXPORT_MODEL, PIPELINES, REGISTRY, MONITORING, HOSTS), None, plan_hint="enterprise"),
    Profile("compliance", "Compliance", "Reviews models for regulators: audit trail, model cards, fairness.",
            "Audit log, model cards, fairness, lineage and explanations first; editing panels hidden.",
            DockLayout(right=(("summary",),), bottom=(("runs", "problems"),), bottom_share=0.34),
            "simple", (AUDIT, CARDS, FAIRNESS, LINEAGE, EXPLAIN), None, plan_hint="enterprise"),
    Profile("manager", "Manager", "Oversees projects, budgets and approvals across teams.",
            "Portfolio, cost and approvals first; the Runs panel with GPU-hours and cost, editing panels hidden.",
            DockLayout(bottom=(("runs",),), bottom_share=0.58),
            "simple", (PORTFOLIO, COST, REGISTRY, MONITORING, LINEAGE), None, plan_hint="team"),
)
_BY_NAME = {profile.name: profile for profile in PROFILES}


class UnknownProfile(UserError):
    pass


def profile_named(name: str) -> Profile:
    profile = _BY_NAME.get(name.strip().lower())
    if profile is None:
        raise UnknownProfile(f"no profile named {name!r}; choose one of {', '.join(_BY_NAME)}")
    return profile


def chosen_profile(path: Path | None = None) -> Profile | None:
    """The profile chosen with ``neuralforge persona set`` or the app's picker (None: none chosen yet)."""
    name = choices.choice(choices.PERSONA_KEY, path)
    return _BY_NAME.get(name) if name else None


def choose_profile(name: str, path: Path | None = None) -> Profile:
    profile = profile_named(name)
    choices.save_choice(choices.PERSONA_KEY, profile.name, path)
    return profile
