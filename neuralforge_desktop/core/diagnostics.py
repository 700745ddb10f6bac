"""Problems found in a graph: errors make it unusable, warnings are legal but suspicious, hints are advice."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from neuralforge_desktop.core.errors import UserError


class Severity(enum.Enum):
    error = "error"
    warning = "warning"
    hint = "hint"  # a best-practice suggestion shown next to a node; never reported by lint


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, pinned to a node (a ``/``-separated path for nodes inside blocks) and port or field."""

    severity: Severity
    node: str
    message: str
    port: str | None = None
    field: str | None = None
    expected: str | None = None
    received: str | None = None
    code: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.error

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.message}"

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"severity": self.severity.value, "node": self.node, "message": self.message}
        for key in ("port", "field", "expected", "received", "code"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data


class ShapeError(UserError):
    """Raised by a shape rule; the engine adds the layer type and node id."""

    def __init__(self, port: str | None, expected: str, received: str, field: str | None = None) -> None:
        super().__init__(f"expected {expected}, received {received}")
        self.port = port
        self.expected = expected
        self.received = received
        self.field = field


class ParamError(UserError):
    """Raised when a parameter value is invalid; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
