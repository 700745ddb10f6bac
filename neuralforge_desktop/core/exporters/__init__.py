"""Exporters: one module per format (ONNX, TFLite, Core ML) behind one registry (see :mod:`.base`)."""
