"""Edits as plain, invertible data, and the document that applies them (no Qt: the UI's undo stack wraps
these; canvas items only observe the document)."""
