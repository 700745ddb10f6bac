"""The one base class for errors that are the user's to fix.

A graph that does not fit its dataset, a bad setting, a file that is missing or unreadable, an unknown run id:
the message says what is wrong and how to fix it, and a traceback would only bury it. Whoever reports an error
(the CLI's main, the training worker, the app) shows a :class:`UserError` as its message alone and anything
else with its traceback, since anything else is a bug for us to fix. Decide by ``isinstance``, never by name.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix from its message alone. ``status`` is the CLI's exit status for it."""

    status: int = 1
