"""Hyperparameter sweeps and architecture search on Optuna.

A sweep trains variants of one graph: each trial is a normal run in the store, with training settings and
graph settings (``node.field``) drawn from a search space (:mod:`.space`); a variant is the graph with
``SetParam`` edits applied and costed by NeuralForge's own cost model before it trains (:mod:`.variant`).
One process asks Optuna for trials and runs K training workers at once (:mod:`.driver`); the Optuna study
lives in its own journal beside the store, with what the sweep needs to continue (:mod:`.sweep_file`), and
:mod:`.results` turns it into the best trial, parameter importance, parallel coordinates and a Pareto front.

Optuna is imported inside functions only: importing this package costs nothing."""
