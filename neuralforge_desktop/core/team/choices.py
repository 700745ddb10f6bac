"""The user's chosen persona and plan: one small JSON file that the CLI writes and the desktop app reads.

``<user config dir>/neuralforge/settings.json`` (platformdirs: ``~/.config/neuralforge`` on Linux,
``~/Library/Application Support/neuralforge`` on macOS, ``%LOCALAPPDATA%\\neuralforge`` on Windows), e.g.
``{"persona": "manager", "plan": "team"}``. A key that is absent means "not chosen". The file is read on every
look-up (it is tiny and read only where a choice matters: opening the app, creating a project, starting a run),
so a choice made with ``neuralforge persona set`` or ``neuralforge plan set`` holds at once everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.atomic import write_text_atomic

FILE_NAME = "settings.json"
PERSONA_KEY = "persona"
PLAN_KEY = "plan"


class ChoicesFileError(UserError):
    """The settings file exists but is not a JSON object."""


def default_choices_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("neuralforge")) / FILE_NAME


def read_choices(path: Path | None = None) -> dict[str, Any]:
    """The settings as saved (``{}`` when there is no file yet)."""
    path = path or default_choices_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ChoicesFileError(f"the settings file {path} cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ChoicesFileError(f"the settings file {path} is not valid JSON ({exc}); fix it or delete it "
                               "to choose again") from exc
    if not isinstance(data, dict):
        raise ChoicesFileError(f"the settings file {path} should hold a JSON object; fix it or delete it")
    return data


def choice(key: str, path: Path | None = None) -> str | None:
    value = read_choices(path).get(key)
    return value if isinstance(value, str) and value else None


def save_choice(key: str, value: str | None, path: Path | None = None) -> None:
    """Set ``key`` to ``value`` (None removes it), keeping every other key of the file."""
    path = path or default_choices_path()
    data = read_choices(path)
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
