"""Comparing runs: architecture diffs of their graphs, curves aligned for overlay, and statistics across seeds.

No Qt and no torch here; scipy is imported inside the functions that need it."""
