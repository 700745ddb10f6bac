"""Python syntax colouring for the code view and the custom-layer editor."""

from __future__ import annotations

import keyword

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from neuralforge_desktop.ui.theme import DEFAULT_THEME, Roles, roles

KEYWORDS = tuple(keyword.kwlist)  # includes None, True and False
BUILTINS = ("int", "float", "str", "bool", "list", "tuple", "dict", "set", "len", "range", "super", "print",
            "isinstance", "getattr", "setattr", "enumerate", "zip", "min", "max", "sum", "abs")
_TRIPLE = QRegularExpression(r'"""|' + r"'''")


def _fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.DemiBold)
    fmt.setFontItalic(italic)
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, ``self.``, decorators, numbers, strings (triple-quoted too) and comments."""

    def __init__(self, document: QTextDocument, theme: str = DEFAULT_THEME) -> None:
        super().__init__(document)
        self.set_theme(theme)

    def set_theme(self, name: str) -> None:
        c: Roles = roles(name)
        words = "|".join(KEYWORDS)
        builtins = "|".join(BUILTINS)
        # Order matters: later rules paint over earlier ones (strings and comments win).
        self._rules: list[tuple[QRegularExpression, QTextCharFormat, int]] = [
            (QRegularExpression(rf"\b({words})\b"), _fmt(c.code_keyword, bold=True), 0),
            (QRegularExpression(rf"\b({builtins})\b(?=\s*\()"), _fmt(c.code_builtin), 0),
            (QRegularExpression(r"\b(?:def|class)\s+([A-Za-z_]\w*)"), _fmt(c.code_definition, bold=True), 1),
            (QRegularExpression(r"\bself\b\.?"), _fmt(c.code_self, italic=True), 0),
            (QRegularExpression(r"^\s*@[\w.]+"), _fmt(c.code_decorator), 0),
            (QRegularExpression(r"\b(?:0[xX][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?)\b"),
             _fmt(c.code_number), 0),
            (QRegularExpression(r"[rbfRBF]?\"[^\"\\]*(?:\\.[^\"\\]*)*\"|[rbfRBF]?'[^'\\]*(?:\\.[^'\\]*)*'"),
             _fmt(c.code_string), 0),
            (QRegularExpression(r"#[^\n]*"), _fmt(c.code_comment, italic=True), 0),
        ]
        self._string = _fmt(c.code_string)
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # Qt names this method
        for pattern, fmt, group in self._rules:
            matches = pattern.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(group), match.capturedLength(group), fmt)
        self._triple_quotes(text)

    def _triple_quotes(self, text: str) -> None:
        """Docstrings span lines: block state 1 means "inside a triple-quoted string"."""
        self.setCurrentBlockState(0)
        start = 0
        inside = self.previousBlockState() == 1
        if not inside:
            match = _TRIPLE.match(text)
            if not match.hasMatch():
                return
            start = match.capturedStart()
            search_from = match.capturedEnd()
        else:
            search_from = 0
        while start >= 0:
            end_match = _TRIPLE.match(text, search_from)
            if end_match.hasMatch():
                end = end_match.capturedEnd()
                self.setFormat(start, end - start, self._string)
                next_open = _TRIPLE.match(text, end)
                if not next_open.hasMatch():
                    return
                start = next_open.capturedStart()
                search_from = next_open.capturedEnd()
            else:
                self.setCurrentBlockState(1)
                self.setFormat(start, len(text) - start, self._string)
                return
