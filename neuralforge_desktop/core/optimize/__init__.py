"""Optimising a trained run into a new, linked run: quantisation, pruning and distillation."""
