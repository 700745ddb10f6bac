"""The ``neuralforge`` command line: every editor action, scriptable on a headless box."""
