"""When panels that follow the document refresh after an edit."""

# Long enough for the canvas's repaint of an edit (the next pass of the event loop) to come first; short
# enough to read as immediate.
AFTER_CANVAS_MS = 30
