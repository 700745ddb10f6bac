"""The main window's dialogs: template gallery, keyboard shortcuts, crash-recovery offer."""
