"""The headless core of NeuralForge. It never imports Qt, and imports torch only when a model is built."""
