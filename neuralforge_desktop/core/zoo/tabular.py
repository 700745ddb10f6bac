"""Small starting points for tabular data and time series."""

from __future__ import annotations

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.zoo.entry import ZooEntry, classification_loss

TABULAR_FEATURES = 16
SERIES_LEN = 48
SERIES_CHANNELS = 4


def tabular_mlp() -> Graph:
    c = Composer("tabular-mlp")
    x = c.input("features", [TABULAR_FEATURES])
    for i in (1, 2):
        x = c.layer("Linear", x, f"fc{i}", out_features=64)
        x = c.layer("BatchNorm1d", x, f"bn{i}")
        x = c.layer("ReLU", x, f"relu{i}")
        x = c.layer("Dropout", x, f"dropout{i}", p=0.2)
    logits = c.layer("Linear", x, "fc3", out_features=2)
    c.output(logits, "logits")
    classification_loss(c, logits)
    return c.done()


def gru_forecast() -> Graph:
    c = Composer("gru-forecast")
    c.graph.set_symbol("T", SERIES_LEN)
    x = c.input("series", ["T", SERIES_CHANNELS])
    x = c.layer("GRU", x, "gru", hidden_size=64, num_layers=2, dropout=0.1)
    x = c.layer("Select", x, "last", dim=1, index=-1, notes="the GRU's output at the last time step")
    forecast = c.layer("Linear", x, "head", out_features=1)
    c.output(forecast, "forecast")
    target = c.input("target", [1], role="target")
    c.layer("MSELoss", {"input": forecast, "target": target}, "loss")
    return c.done()


ENTRIES: list[ZooEntry] = [
    ZooEntry(
        "tabular-mlp", "Tabular MLP", "tabular",
        f"{TABULAR_FEATURES} numeric features → two 64-unit layers with BatchNorm, ReLU and dropout 0.2 → "
        "a 2-way classifier trained with cross-entropy. Change the input width to match your table.",
        tabular_mlp, 5_634, "torch.nn: Linear(16,64), BatchNorm1d(64), Linear(64,64), BatchNorm1d(64), Linear(64,2)",
    ),
    ZooEntry(
        "gru-forecast", "GRU forecaster", "sequence",
        f"A window of T = {SERIES_LEN} steps of {SERIES_CHANNELS} measurements → a 2-layer, 64-unit GRU → the "
        "last step's output → the next value, trained with mean squared error.",
        gru_forecast, 38_465, "torch.nn: GRU(4, 64, num_layers=2), Linear(64,1)",
    ),
]
