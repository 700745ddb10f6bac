"""Typed access to the persisted editor preferences (QSettings), so keys and types are written once.

The application sets its organisation and name before the first :class:`Settings` is made, which is what
QSettings uses to find the per-user store; tests pass a :class:`QSettings` on a file of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from neuralforge_desktop.core.ir.layout import ORIENTATIONS
from neuralforge_desktop.ui.theme import DEFAULT_THEME, THEMES

ORGANIZATION = "NeuralForge"
APPLICATION = "NeuralForge"
MAX_RECENT = 10
DEFAULT_LAYOUT = "wrapped"
EXPORT_KEYS = ("layout", "background", "scale", "shapes", "theme", "folder")


def valid_device(name: str) -> bool:
    """auto, cpu, or cuda:N (a GPU by its index)."""
    if name in ("auto", "cpu"):
        return True
    prefix, _, index = name.partition(":")
    return prefix == "cuda" and index.isdigit()


def _bool(value: object, default: bool) -> bool:
    # QSettings' INI backend hands booleans back as the strings "true"/"false".
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() in {"true", "1", "yes"}
    return bool(value)


class Settings:
    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings(ORGANIZATION, APPLICATION)

    # -- experiment store ----------------------------------------------------------------------------
    @property
    def store_url(self) -> str:
        """The experiment store the app opens: a team store's ``postgresql://`` URL or an SQLite file's path;
        empty for the default file in the user data dir (docs/team-store.md). Never with a password: that is
        kept in the app's password file (``core/store/passwords.py``), not in this settings file, which
        others on the computer can often read; one found here (saved by an older version) is moved there."""
        url = str(self.store.value("store/url", "") or "").strip()
        bare = _keep_password_apart(url)
        if bare != url:
            self.store.setValue("store/url", bare)
        return bare

    @store_url.setter
    def store_url(self, value: str) -> None:
        self.store.setValue("store/url", _keep_password_apart(value.strip()))

    # -- appearance ----------------------------------------------------------------------------------
    @property
    def theme(self) -> str:
        value = str(self.store.value("appearance/theme", DEFAULT_THEME))
        return value if value in THEMES else DEFAULT_THEME

    @theme.setter
    def theme(self, name: str) -> None:
        self.store.setValue("appearance/theme", name)

    @property
    def concept_mode(self) -> bool:
        return _bool(self.store.value("canvas/concept_mode"), False)

    @concept_mode.setter
    def concept_mode(self, on: bool) -> None:
        self.store.setValue("canvas/concept_mode", bool(on))

    @property
    def snap_to_grid(self) -> bool:
        return _bool(self.store.value("canvas/snap_to_grid"), False)

    @snap_to_grid.setter
    def snap_to_grid(self, on: bool) -> None:
        self.store.setValue("canvas/snap_to_grid", bool(on))

    @property
    def minimap(self) -> bool | None:
        """The user's View ▸ Minimap choice; None until they make one (then the canvas's size decides)."""
        value = self.store.value("canvas/minimap")
        return None if value is None or value == "auto" else _bool(value, True)

    @minimap.setter
    def minimap(self, on: bool | None) -> None:
        self.store.setValue("canvas/minimap", "auto" if on is None else bool(on))

    @property
    def layout_direction(self) -> str:
        """How Auto Layout and new templates arrange a graph: "wrapped" (rows that fit the canvas),
        "horizontal" or "vertical"."""
        value = str(self.store.value("canvas/layout_direction", DEFAULT_LAYOUT))
        return value if value in ORIENTATIONS else DEFAULT_LAYOUT

    @layout_direction.setter
    def layout_direction(self, name: str) -> None:
        self.store.setValue("canvas/layout_direction", name)

    @property
    def show_all_layers(self) -> bool:
        return _bool(self.store.value("palette/show_all"), False)

    @show_all_layers.setter
    def show_all_layers(self, on: bool) -> None:
        self.store.setValue("palette/show_all", bool(on))

    @property
    def reduce_motion(self) -> bool:
        """Skip decorative animations (the tutorial's shapes flowing along the wires); things still show."""
        return _bool(self.store.value("appearance/reduce_motion"), False)

    @reduce_motion.setter
    def reduce_motion(self, on: bool) -> None:
        self.store.setValue("appearance/reduce_motion", bool(on))

    # -- first run -----------------------------------------------------------------------------------
    @property
    def tutorial_offered(self) -> bool:
        """Whether the first-steps tutorial was already offered (it is, once, on the first start)."""
        return _bool(self.store.value("onboarding/tutorial_offered"), False)

    @tutorial_offered.setter
    def tutorial_offered(self, on: bool) -> None:
        self.store.setValue("onboarding/tutorial_offered", bool(on))

    # -- training defaults (Edit ▸ Preferences ▸ GPU) ------------------------------------------------
    @property
    def default_device(self) -> str:
        """"auto", "cpu" or "cuda:N": what the Train panel's Device starts at."""
        value = str(self.store.value("training/device", "auto"))
        return value if valid_device(value) else "auto"

    @default_device.setter
    def default_device(self, name: str) -> None:
        self.store.setValue("training/device", name if valid_device(name) else "auto")

    @property
    def mixed_precision(self) -> bool:
        """Train with automatic mixed precision (AMP) on a GPU."""
        return _bool(self.store.value("training/amp"), True)

    @mixed_precision.setter
    def mixed_precision(self, on: bool) -> None:
        self.store.setValue("training/amp", bool(on))

    @property
    def default_host(self) -> str:
        """The registered remote host the Train panel's Run on starts at; "" = this computer."""
        return str(self.store.value("training/host", "") or "")

    @default_host.setter
    def default_host(self, name: str) -> None:
        self.store.setValue("training/host", name)

    # -- tracking integrations -----------------------------------------------------------------------
    @property
    def mlflow_folder(self) -> str:
        """Where each finished run is also written as an MLflow tracking directory; "" = off."""
        return str(self.store.value("tracking/mlflow_folder", "") or "")

    @mlflow_folder.setter
    def mlflow_folder(self, path: str) -> None:
        self.store.setValue("tracking/mlflow_folder", path)

    @property
    def tensorboard_folder(self) -> str:
        """Where each finished run is also written as TensorBoard event files; "" = off."""
        return str(self.store.value("tracking/tensorboard_folder", "") or "")

    @tensorboard_folder.setter
    def tensorboard_folder(self, path: str) -> None:
        self.store.setValue("tracking/tensorboard_folder", path)

    # -- diagram export ------------------------------------------------------------------------------
    def export_choices(self) -> dict[str, str]:
        """The options the last diagram was exported with, as saved (the dialog checks and converts them)."""
        found: dict[str, str] = {}
        for key in EXPORT_KEYS:
            value = self.store.value(f"export/{key}")
            if value is not None:
                found[key] = str(value)
        return found

    def save_export_choices(self, choices: dict[str, str]) -> None:
        for key in EXPORT_KEYS:
            if key in choices:
                self.store.setValue(f"export/{key}", str(choices[key]))

    # -- window layout -------------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        value = self.store.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def layout_screen(self) -> tuple[int, int] | None:
        """The size of the screen (its free area) the layout was saved on; None for layouts saved before
        this was recorded."""
        value = self.store.value("window/screen")
        if isinstance(value, str):  # the INI backend hands a one-element list back as a plain string
            value = [value]
        try:
            width, height = (int(v) for v in value)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            return None
        return (width, height) if width > 0 and height > 0 else None

    def save_layout(self, geometry: QByteArray, state: QByteArray, screen: tuple[int, int] | None = None) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)
        if screen is not None:
            self.store.setValue("window/screen", [int(screen[0]), int(screen[1])])

    # -- recent files --------------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.store.value("files/recent", [])
        if isinstance(value, str):  # a one-element list comes back as a plain string
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str | os.PathLike[str]) -> list[str]:
        """Put ``path`` first (absolute, without duplicates, at most :data:`MAX_RECENT`)."""
        entry = str(Path(path).resolve())
        files = [entry] + [f for f in self.recent_files() if f != entry]
        self.store.setValue("files/recent", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def remove_recent(self, path: str | os.PathLike[str]) -> list[str]:
        entry = str(Path(path).resolve())
        files = [f for f in self.recent_files() if f != entry]
        self.store.setValue("files/recent", files)
        return files

    def clear_recent(self) -> None:
        self.store.setValue("files/recent", [])

    def sync(self) -> None:
        self.store.sync()


def _keep_password_apart(url: str) -> str:
    """``url`` without its password, which is saved in the app's password file; other values as they are."""
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.store.location import is_url, parse
    from neuralforge_desktop.core.store.passwords import save_password
    from neuralforge_desktop.ui.onboarding.store_url import split_password

    if not is_url(url):
        return url
    try:
        bare, password = split_password(url)
        if password:
            save_password(parse(bare), password)
    except (ValueError, UserError):  # an address no store can be opened at: the dialog says why
        return url
    return bare
