"""``neuralforge persona list|show|set NAME``: the persona profile the desktop app arranges itself for.

The choice is kept in the settings file shared with the app (``settings.json`` in the user config folder, key
``persona``); the app applies it when it next starts, or at once from Team ▸ Profile…. (``neuralforge profile``
is the latency profiler.)
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from neuralforge_desktop.cli.fmt import table

EPILOG = """\
examples:
  neuralforge persona list
  neuralforge persona show manager
  neuralforge persona set analyst
  neuralforge persona show --json"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    persona = sub.add_parser("persona", help="persona profiles: how the app arranges itself for who uses it",
                             description="Persona profiles (Student, Junior, Senior, Designer, Analyst, "
                             "Manufacturing, Compliance, Manager): which panels show where, the palette's "
                             "layers, the start list and the tutorial. The desktop app reads the choice.",
                             epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    psub = persona.add_subparsers(dest="persona_command", metavar="COMMAND", required=True)
    ls = psub.add_parser("list", help="every profile, the chosen one marked", description="List the profiles.")
    ls.add_argument("--json", action="store_true", help="one JSON array")
    ls.set_defaults(func=cmd_list)
    show = psub.add_parser("show", help="one profile in full (default: the chosen one)",
                           description="What a profile arranges: panels, palette, start list, tutorial.")
    show.add_argument("name", nargs="?", help="a profile's name (default: the chosen one)")
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(func=cmd_show)
    choose = psub.add_parser("set", help="choose a profile", description="Choose the profile the app uses.")
    choose.add_argument("name", help="student, junior, senior, designer, analyst, manufacturing, compliance "
                        "or manager")
    choose.set_defaults(func=cmd_set)


def profile_json(profile: Any) -> dict[str, Any]:
    docks = profile.docks
    return {"name": profile.name, "title": profile.title, "who": profile.who, "changes": profile.changes,
            "palette": profile.palette, "tutorial": profile.tutorial, "concept_mode": profile.concept_mode,
            "plan_hint": profile.plan_hint,
            "docks": {"left": [list(g) for g in docks.left], "right": [list(g) for g in docks.right],
                      "bottom": [list(g) for g in docks.bottom], "hidden": docks.hidden()},
            "start": [{"action": item.action, "label": item.label, "command": item.command}
                      for item in profile.start]}


def has_command(line: str) -> bool:
    """Whether ``neuralforge WORD …`` names a command this version has (a start entry may name a later one)."""
    from neuralforge_desktop.cli.main import COMMANDS

    words = line.split()
    return len(words) > 1 and any(name == words[1] for name, _module, _help in COMMANDS)


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.profiles import PROFILES, chosen_profile

    chosen = chosen_profile()
    if args.json:
        print(json.dumps([{**profile_json(p), "chosen": chosen is p} for p in PROFILES], indent=2))
        return 0
    rows = [["*" if chosen is p else "", p.name, p.title, p.who] for p in PROFILES]
    print(table(["", "name", "profile", "who it is for"], rows))
    if chosen is None:
        print("\nno profile chosen yet: `neuralforge persona set NAME`")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.team.profiles import chosen_profile, profile_named

    profile = profile_named(args.name) if args.name else chosen_profile()
    if profile is None:
        raise UserError("no profile chosen yet: name one (`neuralforge persona show manager`) or choose one with "
                        "`neuralforge persona set NAME`")
    if args.json:
        print(json.dumps(profile_json(profile), indent=2))
        return 0
    docks = profile.docks

    def groups(side: str) -> str:
        return " | ".join(" + ".join(group) for group in docks.side(side)) or "—"

    print(f"{profile.title} ({profile.name}): {profile.who}")
    print(f"  changes:  {profile.changes}")
    print(f"  palette:  {'common layers only' if profile.palette == 'simple' else 'every layer'}"
          f"{'; Concept Mode on' if profile.concept_mode else ''}")
    print(f"  tutorial: {'First Steps' if profile.tutorial else 'none'}")
    print(f"  panels:   left {groups('left')}; right {groups('right')}; bottom {groups('bottom')}"
          f"; hidden {', '.join(docks.hidden()) or '—'}")
    print("  start here:")
    for number, item in enumerate(profile.start, 1):
        command = item.command if has_command(item.command) else ""
        print(f"    {number}. {item.label}" + (f"   ({command})" if command else ""))
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.choices import default_choices_path
    from neuralforge_desktop.core.team.profiles import choose_profile

    profile = choose_profile(args.name)
    print(f"profile: {profile.title} (saved in {default_choices_path()}; the app applies it when it next starts, "
          "or choose it there from Team ▸ Profile…)")
    return 0
