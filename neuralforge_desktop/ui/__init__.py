"""The desktop editor: a thin PySide6 layer over the core (which never imports this package)."""

from neuralforge_desktop.ui._refcount import make_singletons_immortal

make_singletons_immortal()  # before any Qt call: see the module's note (PySide6 6.12 on CPython 3.11)
