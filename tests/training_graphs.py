"""Small graphs the training tests share."""

from neuralforge_desktop.core.ir.compose import Composer


def digits_mlp(dropout: float = 0.1):
    """A small classifier for the 8×8 digits (fast enough to train many times in tests)."""
    c = Composer("digits-mlp")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=32)
    x = c.layer("ReLU", x, "relu")
    x = c.layer("Dropout", x, "drop", p=dropout)
    logits = c.layer("Linear", x, "fc2", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def wide_mlp_without_loss():
    """An MNIST-shaped classifier whose last Linear gives 128 scores, with no loss node."""
    c = Composer("wide")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=64)
    x = c.layer("ReLU", x, "relu")
    c.output(c.layer("Linear", x, "fc2", out_features=128), "logits")
    return c.done()
