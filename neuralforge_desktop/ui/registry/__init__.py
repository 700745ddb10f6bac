"""The Registry view: registered models, their versions and stages, approvals, gates and rollback."""

from neuralforge_desktop.ui.registry.view import RegistryView, open_registry_view

__all__ = ["RegistryView", "open_registry_view"]
