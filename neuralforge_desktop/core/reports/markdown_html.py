"""Notes' Markdown as safe HTML: raw HTML in a note is shown as text, never passed through.

markdown-it-py in CommonMark mode with ``html`` off escapes every tag written in a note, and its link check
refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` (except images) URLs. Without markdown-it-py
the note is shown escaped, as preformatted text: readable, and just as inert.
"""

from __future__ import annotations

import html
from typing import Any

_renderer: Any = None


def _markdown_it() -> Any:
    global _renderer
    if _renderer is None:
        from markdown_it import MarkdownIt

        _renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    return _renderer


def markdown_to_html(text: str) -> str:
    try:
        renderer = _markdown_it()
    except ImportError:
        return f'<pre class="note-text">{html.escape(text)}</pre>'
    return str(renderer.render(text))
