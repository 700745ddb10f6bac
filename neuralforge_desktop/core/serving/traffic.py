"""Traffic split between the versions of one served model: canary, A/B, promote and rollback.

Plain data and arithmetic, no Ray: the router replica holds one :class:`TrafficState` and changes it in place,
so shifting traffic never touches the model replicas (every version stays loaded) and no request is dropped.

Routing is sticky by request key: a key is hashed with SHA-256 (stable across processes and restarts, unlike
Python's ``hash``) to a point in [0, 1) that picks the version whose share of the cumulative weights covers it,
so the same key always gets the same version while the weights stay the same. Without a key the point is
drawn at random, which gives the weighted split.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from neuralforge_desktop.core.errors import UserError

PERCENT = 100.0


class TrafficError(UserError):
    """A traffic change that cannot be made (nothing to roll back to, an unknown version …)."""


@dataclass
class TrafficState:
    """Weights (percent, summing to 100) per version label, the version that is the model's current one
    (``primary``: the stable version of a canary, the one promote replaces), and the primaries before it,
    newest last, for rollback."""

    weights: dict[str, float]
    primary: str
    history: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_weights(self.weights)
        if self.primary not in self.weights:
            raise TrafficError(f"primary version {self.primary!r} has no traffic weight")

    def active_versions(self) -> list[str]:
        """The versions that receive traffic, in a fixed order (the order the weights were given)."""
        return [version for version, weight in self.weights.items() if weight > 0]

    def pick(self, key: str | None, rng: random.Random) -> str:
        """The version for one request: by the key's hash when there is a key, else at random by weight."""
        point = key_point(key) if key is not None else rng.random()
        return version_at(self.weights, point)

    def challengers(self) -> list[str]:
        """Versions other than the primary that receive traffic (the canary, or the other side of an A/B)."""
        return [version for version in self.active_versions() if version != self.primary]

    def promote(self, version: str | None = None) -> str:
        """Send all traffic to ``version`` (default: the single challenger, i.e. the canary) and remember the
        old primary for rollback. Returns the new primary."""
        if version is None:
            challengers = self.challengers()
            if len(challengers) != 1:
                raise TrafficError(
                    "promote needs a version: traffic goes to "
                    + (", ".join(self.active_versions()) if challengers else f"{self.primary} alone")
                    + " (name the version to promote)")
            version = challengers[0]
        if version not in self.weights:
            raise TrafficError(f"version {version!r} is not served here (served: {', '.join(self.weights)})")
        if version != self.primary:
            self.history.append(self.primary)
        self.primary = version
        self.weights = {label: (PERCENT if label == version else 0.0) for label in self.weights}
        return version

    def rollback(self) -> str:
        """Undo the last change: a canary or A/B in progress is stopped (all traffic back to the primary);
        otherwise the primary before the last promote gets all traffic back. Returns the version that then
        takes all traffic."""
        if self.challengers():
            target = self.primary
        elif self.history:
            target = self.history.pop()
        else:
            raise TrafficError(f"nothing to roll back to: version {self.primary} is the only one served so far")
        self.primary = target
        self.weights = {label: (PERCENT if label == target else 0.0) for label in self.weights}
        return target

    def to_json(self) -> dict[str, object]:
        return {"weights": dict(self.weights), "primary": self.primary, "previous": list(self.history)}


def check_weights(weights: dict[str, float]) -> None:
    """Weights are percentages: none negative, at least one positive, summing to 100."""
    if not weights:
        raise TrafficError("no version to send traffic to")
    for version, weight in weights.items():
        if weight < 0:
            raise TrafficError(f"version {version}: traffic weight must not be negative, got {weight:g}")
    total = sum(weights.values())
    if abs(total - PERCENT) > 1e-6:
        shares = ", ".join(f"{v}={w:g}" for v, w in weights.items())
        raise TrafficError(f"traffic weights must add up to 100, got {total:g} ({shares})")


def key_point(key: str) -> float:
    """A point in [0, 1) from a request key, the same in every process."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def version_at(weights: dict[str, float], point: float) -> str:
    """The version whose slice of [0, 100) covers ``point * 100``; slices follow the order of ``weights``."""
    target = point * PERCENT
    cumulative = 0.0
    last = ""
    for version, weight in weights.items():
        if weight <= 0:
            continue
        cumulative += weight
        last = version
        if target < cumulative:
            return version
    return last  # a point at the very top of the range (rounding): the last version with traffic
