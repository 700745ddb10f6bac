"""Optimising a trained run for deployment: quantisation, pruning and distillation. Each method makes a new run
linked to its parent (tags ``parent_run`` and ``optimization``) and reports the model before and after, measured
the same way (:mod:`.measure`). :mod:`.methods` maps a method's name to the function that performs it."""
