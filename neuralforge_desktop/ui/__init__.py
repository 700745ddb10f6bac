"""The desktop editor: a thin PySide6 layer over the core (which never imports this package)."""
