"""Training: datasets and loaders (``training.datasets``); the trainer builds on them."""
