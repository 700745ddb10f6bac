"""Runs to and from other tools: a file-based MLflow tracking directory, TensorBoard event files."""
