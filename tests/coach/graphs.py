"""Small graphs for the Coach's tests."""

from __future__ import annotations

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph

FLOAT_TARGETS = ("MSELoss", "L1Loss", "BCEWithLogitsLoss")  # losses whose target is a float like the scores


def classifier(activation: str | None = None, loss: str | None = "CrossEntropyLoss", norm: bool = False,
               shape: tuple[int, ...] = (1, 8, 8), classes: int = 10) -> Graph:
    """``shape`` inputs (8×8 images by default) → (Conv2d → BatchNorm2d →) Flatten → Linear(classes) →
    (activation) → Output, and a loss node reading the scores and a label Input."""
    c = Composer("small")
    x = c.input("image", list(shape))
    if norm:
        x = c.layer("Conv2d", x, "conv", out_channels=4, kernel_size=3, padding=1)
        x = c.layer("BatchNorm2d", x, "bn")
    x = c.layer("Flatten", x, "flatten")
    x = c.layer("Linear", x, "fc", out_features=classes)
    if activation:
        x = c.layer(activation, x, "act")
    c.output(x, "scores")
    if loss:
        label = c.input("label", [classes] if loss in FLOAT_TARGETS else [],
                        dtype="float32" if loss in FLOAT_TARGETS else "int64", role="target")
        c.layer(loss, {"input": x, "target": label}, "loss")
    return c.done(layout=False)
