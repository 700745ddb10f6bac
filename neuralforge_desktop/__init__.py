"""NeuralForge: design, train, track and export neural networks."""

__version__ = "0.1.0"
