"""The top-level command table in ``cli/main.py`` against the modules that register the commands: the help
each module gives is the help `neuralforge --help` lists, and no module registers a command the table lacks
(which `neuralforge --help` would not list and a misspelling message would not offer)."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from neuralforge_desktop.cli.main import COMMANDS, build_parser


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


@pytest.mark.parametrize("module", sorted({module for _, module, _ in COMMANDS}))
def test_each_module_registers_its_commands_with_the_tables_help(module):
    names = [name for name, owner, _ in COMMANDS if owner == module]
    sub = _subcommands(build_parser(names[0]))
    real = argparse.ArgumentParser()
    importlib.import_module(f"neuralforge_desktop.cli.{module}").add_parsers(real.add_subparsers())
    registered = _subcommands(real)
    assert sorted(registered.choices) == sorted(names)
    helps = {action.dest: action.help for action in registered._choices_actions}
    listed = {action.dest: action.help for action in sub._choices_actions}
    for name, _, help_text in COMMANDS:
        if name in names:
            assert helps.get(name) == help_text, name
            assert listed.get(name) == help_text, name
            assert sub.choices[name]._actions != [], name  # the real parser, with its arguments


LOADED_AFTER_LAYERS_HELP = """
import sys
from neuralforge_desktop.cli.main import main
try:
    main(["layers", "--help"])
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("neuralforge_desktop.cli.")))
"""


def test_a_command_imports_only_its_own_modules():
    out = subprocess.run([sys.executable, "-c", LOADED_AFTER_LAYERS_HELP], capture_output=True, text=True,
                         check=True).stdout
    loaded = out.strip().splitlines()[-1]
    assert "neuralforge_desktop.cli.layers_cmd" in loaded
    for other in ("runs_cmd", "train_cmds", "components_cmd", "summary_cmd", "sweep_cmd"):
        assert f"neuralforge_desktop.cli.{other}" not in loaded


def test_help_lists_every_listed_command():
    parser = build_parser()
    text = parser.format_help()
    for name, _, help_text in COMMANDS:
        if help_text is not None:
            assert name in text and help_text.split()[0] in text
