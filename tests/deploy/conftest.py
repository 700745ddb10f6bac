"""The deploy flow reuses the registry tests' trained MNIST CNN (one short epoch, trained once per session)."""

from tests.registry.conftest import trained_template  # noqa: F401  (a fixture, registered by being here)
