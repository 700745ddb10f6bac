"""Team ▸ Users and Roles…: who may do what in each project of the store."""

from neuralforge_desktop.ui.team_access.view import UsersView, open_users_view

__all__ = ["UsersView", "open_users_view"]
