"""Typesetting a layer's formula (mathtext, see ``core/catalog/mathtext.py``) with Qt: fractions, roots, sums
with their limits below, sub- and superscripts, tall delimiters, prose between the maths, wrapped to a width.

:func:`layout` turns a formula into a :class:`FormulaLayout`, a list of positioned drawing operations, and
caches it per (formula, size, width); drawing it replays those operations with any painter, so the canvas
stays sharp at every zoom and in SVG/PDF exports (node items cache their own pixels). :func:`formula_pixmap`
renders one to a cached pixmap for widgets (the inspector). A formula that does not parse is laid out as its
plain source text, so a faulty plugin formula still shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPixmap

from neuralforge_desktop.core.catalog import mathtext as mt

# Serif italics read as maths; DejaVu Serif is on every Linux box, the others are nicer where present.
MATH_FAMILIES = ["STIX Two Text", "Cambria", "Times New Roman", "Noto Serif", "DejaVu Serif", "serif"]
PROSE_FAMILIES = ["Inter", "Segoe UI", "SF Pro Text", "Helvetica Neue", "Cantarell", "Noto Sans", "DejaVu Sans"]
SCRIPT = 0.72  # sub/superscript size, of the size they are attached at
FRACTION = 0.86  # numerator and denominator size in a top-level fraction
LARGE = 1.35  # ∑ ∏
MIN_PX = 7.0


@dataclass(frozen=True)
class _Text:
    x: float
    y: float
    text: str
    font: QFont


@dataclass(frozen=True)
class _Rule:
    rect: QRectF


@dataclass(frozen=True)
class _Stroke:
    path: QPainterPath
    width: float


_Op = _Text | _Rule | _Stroke


@dataclass
class _Box:
    """Something laid out: its advance width, height above and depth below the baseline, and what to draw
    (coordinates relative to the box's origin on its baseline; y grows downwards)."""

    width: float = 0.0
    ascent: float = 0.0
    descent: float = 0.0
    ops: list[_Op] = field(default_factory=list)
    kind: str = mt.ORD  # the spacing class of the atom it came from

    def place(self, other: _Box, dx: float, dy: float) -> None:
        """Add ``other``'s drawing at (dx, dy) without changing this box's metrics."""
        for op in other.ops:
            if isinstance(op, _Text):
                self.ops.append(_Text(op.x + dx, op.y + dy, op.text, op.font))
            elif isinstance(op, _Rule):
                self.ops.append(_Rule(op.rect.translated(dx, dy)))
            else:
                self.ops.append(_Stroke(op.path.translated(dx, dy), op.width))


@dataclass(frozen=True)
class FormulaLayout:
    """A laid-out formula: ``width`` × ``height`` pixels from its top-left corner."""

    width: float
    height: float
    ops: tuple[_Op, ...]
    plain: str  # the same formula as one line of text (accessibility, tests, tooltips)
    valid: bool  # False: the source did not parse and is shown as it is

    def draw(self, painter: QPainter, x: float, y: float, color: QColor) -> None:
        painter.save()
        painter.translate(x, y)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(color)
        for op in self.ops:
            if isinstance(op, _Text):
                painter.setFont(op.font)
                painter.drawText(QPointF(op.x, op.y), op.text)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        for op in self.ops:
            if isinstance(op, _Rule):
                painter.drawRect(op.rect)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for op in self.ops:
            if isinstance(op, _Stroke):
                pen = QPen(color, op.width)
                pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
                painter.setPen(pen)
                painter.drawPath(op.path)
        painter.restore()


# -- fonts ------------------------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _font(px: float, italic: bool = False, bold: bool = False, prose: bool = False) -> QFont:
    font = QFont()
    font.setFamilies(PROSE_FAMILIES if prose else MATH_FAMILIES)
    font.setPixelSize(max(int(MIN_PX), round(px)))
    font.setItalic(italic)
    font.setBold(bold)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)  # scales smoothly with the canvas zoom
    return font


@lru_cache(maxsize=256)
def _metrics(font: QFont) -> QFontMetricsF:
    return QFontMetricsF(font)


@lru_cache(maxsize=4096)
def _glyphs(text: str, font: QFont) -> tuple[float, float, float]:
    """Advance, ascent and descent of ``text``: the ink's extent, at least an x-height tall, so limits and
    fraction parts sit close to what they belong to."""
    metrics = _metrics(font)
    _, top, bottom = _ink(text, font)
    return metrics.horizontalAdvance(text), max(-top, metrics.xHeight()), max(bottom, 0.0)


@lru_cache(maxsize=4096)
def _ink(text: str, font: QFont) -> tuple[float, float, float]:
    """Width, top and bottom of the ink of ``text`` (exact, from the outlines: the font metrics' "tight"
    rectangle is rounded to whole pixels and spans the full em for accents)."""
    path = QPainterPath()
    path.addText(QPointF(0.0, 0.0), font, text)
    ink = path.boundingRect()
    return ink.width(), ink.top(), ink.bottom()


def _text_box(text: str, font: QFont, kind: str) -> _Box:
    width, ascent, descent = _glyphs(text, font)
    if font.italic():
        width += font.pixelSize() * 0.06  # italic correction: a slanted letter leans into what follows
    return _Box(width, ascent, descent, [_Text(0.0, 0.0, text, font)], kind)


# -- layout -----------------------------------------------------------------------------------------------
class _Typesetter:
    def __init__(self, px: float) -> None:
        self.px = px

    def group(self, group: mt.Group, size: float, top: bool) -> _Box:
        boxes = self.row(group.items, size, top)
        return _hpack(boxes)

    def row(self, items: Sequence[mt.Atom], size: float, top: bool) -> list[tuple[float, _Box]]:
        """Each atom's box with the space before it (TeX's spacing by class, none inside scripts)."""
        result: list[tuple[float, _Box]] = []
        previous = ""
        em = size
        for atom in items:
            box = self.atom(atom, size, top)
            kind = box.kind
            if kind == mt.BIN and previous in ("", mt.BIN, mt.REL, mt.OPEN, mt.PUNCT, "operator"):
                kind = box.kind = mt.ORD  # a unary minus: no space around it
            space = 0.0
            if previous:
                space = _space(previous, kind, em, top)
            result.append((space, box))
            previous = kind
        return result

    def atom(self, atom: mt.Atom, size: float, top: bool) -> _Box:
        if isinstance(atom, mt.Sym):
            return self.symbol(atom, size)
        if isinstance(atom, mt.Group):
            box = self.group(atom, size, top)
            box.kind = mt.ORD
            return box
        if isinstance(atom, mt.Words):
            return _text_box(atom.text, _font(size), mt.ORD)
        if isinstance(atom, mt.Space):
            return _Box(width=atom.em * size, kind="space")
        if isinstance(atom, mt.Scripts):
            return self.scripts(atom, size, top)
        if isinstance(atom, mt.Frac):
            return self.fraction(atom, size, top)
        if isinstance(atom, mt.Root):
            return self.root(atom, size, top)
        if isinstance(atom, mt.Accent):
            return self.accent(atom, size, top)
        return self.fenced(atom, size, top)

    def symbol(self, sym: mt.Sym, size: float) -> _Box:
        if sym.kind == mt.LARGE:
            font = _font(size * LARGE)
            box = _text_box(sym.text, font, "operator")
            # Centre the big operator on the maths axis, where fraction bars and minus signs sit.
            shift = _axis(size) - (box.ascent - box.descent) / 2.0
            return _shifted(box, -shift)
        italic = sym.style == "it" or (sym.kind == mt.VAR and sym.style == "")
        font = _font(size, italic=italic, bold=sym.style == "bf")
        kind = "operator" if sym.kind in (mt.FUNC, mt.LIMIT) else sym.kind
        return _text_box(sym.text, font, kind)

    def scripts(self, atom: mt.Scripts, size: float, top: bool) -> _Box:
        base = self.atom(atom.base, size, top)
        small = max(MIN_PX, size * SCRIPT)
        sub = self.group(atom.sub, small, False) if atom.sub is not None else None
        sup = self.group(atom.sup, small, False) if atom.sup is not None else None
        limits = isinstance(atom.base, mt.Sym) and atom.base.kind in (mt.LARGE, mt.LIMIT) and top
        box = _Box(kind=base.kind)
        if limits:  # ∑ and max with their range below (and above), centred
            width = max(base.width, sub.width if sub else 0.0, sup.width if sup else 0.0)
            box.width, box.ascent, box.descent = width, base.ascent, base.descent
            box.place(base, (width - base.width) / 2.0, 0.0)
            gap = size * 0.12
            if sub is not None:
                dy = base.descent + gap + sub.ascent
                box.place(sub, (width - sub.width) / 2.0, dy)
                box.descent = dy + sub.descent
            if sup is not None:
                dy = base.ascent + gap + sup.descent
                box.place(sup, (width - sup.width) / 2.0, -dy)
                box.ascent = dy + sup.ascent
            return box
        box.width, box.ascent, box.descent = base.width, base.ascent, base.descent
        box.place(base, 0.0, 0.0)
        x = base.width
        up = max(size * 0.36, base.ascent - size * 0.3)
        down = max(size * 0.16, base.descent + size * 0.08)
        if sub is not None and sup is not None:
            down = max(down, size * 0.24)
            gap = (up - sup.descent) - (sub.ascent - down)  # keep the two apart
            if gap < size * 0.12:
                down += size * 0.12 - gap
        width = 0.0
        if sup is not None:
            box.place(sup, x, -up)
            box.ascent = max(box.ascent, up + sup.ascent)
            width = sup.width
        if sub is not None:
            # A subscript tucks in under an italic letter's overhang.
            tuck = size * 0.05 if base.ops and isinstance(base.ops[-1], _Text) and base.ops[-1].font.italic() else 0.0
            box.place(sub, x - tuck, down)
            box.descent = max(box.descent, down + sub.descent)
            width = max(width, sub.width - tuck)
        box.width = x + width + size * 0.04
        return box

    def fraction(self, atom: mt.Frac, size: float, top: bool) -> _Box:
        part = max(MIN_PX, size * (FRACTION if top else SCRIPT))
        num, den = self.group(atom.num, part, top), self.group(atom.den, part, top)
        thickness = max(1.0, size * 0.055)
        pad, gap = size * 0.12, size * 0.14
        width = max(num.width, den.width) + 2 * pad
        axis = _axis(size)
        box = _Box(width + size * 0.1, kind=mt.ORD)
        x0 = size * 0.05
        box.ops.append(_Rule(QRectF(x0, -axis - thickness / 2.0, width, thickness)))
        num_y = -axis - thickness / 2.0 - gap - num.descent
        den_y = -axis + thickness / 2.0 + gap + den.ascent
        box.place(num, x0 + (width - num.width) / 2.0, num_y)
        box.place(den, x0 + (width - den.width) / 2.0, den_y)
        box.ascent = -num_y + num.ascent
        box.descent = den_y + den.descent
        return box

    def root(self, atom: mt.Root, size: float, top: bool) -> _Box:
        body = self.group(atom.body, size, top)
        stroke = max(1.0, size * 0.06)
        gap = size * 0.12
        top_y = -(body.ascent + gap)
        bottom_y = body.descent + size * 0.04
        sign = size * 0.55
        path = QPainterPath(QPointF(0.0, -_axis(size) * 0.9))
        path.lineTo(QPointF(sign * 0.22, -_axis(size) * 1.1))
        path.lineTo(QPointF(sign * 0.5, bottom_y))
        path.lineTo(QPointF(sign, top_y))
        path.lineTo(QPointF(sign + body.width + size * 0.1, top_y))
        box = _Box(sign + body.width + size * 0.18, body.ascent + gap + stroke, bottom_y + stroke, kind=mt.ORD)
        box.ops.append(_Stroke(path, stroke))
        box.place(body, sign + size * 0.06, 0.0)
        return box

    def accent(self, atom: mt.Accent, size: float, top: bool) -> _Box:
        body = self.group(atom.body, size, top)
        box = _Box(body.width, body.ascent, body.descent, kind=mt.ORD)
        box.place(body, 0.0, 0.0)
        gap = size * 0.08
        if atom.mark == "‾":
            thickness = max(1.0, size * 0.055)
            box.ops.append(_Rule(QRectF(0.0, -body.ascent - gap - thickness, body.width, thickness)))
            box.ascent += gap + thickness
            return box
        spacing = {"\u0302": "ˆ", "\u0304": "¯", "\u0303": "˜", "\u20d7": "→", "\u0307": "˙"}.get(atom.mark, "ˆ")
        mark = _text_box(spacing, _font(size * (0.7 if spacing == "→" else 1.0)), mt.ORD)
        # The mark's ink sits high in its em box; place the ink just above the body.
        _, ink_top, ink_bottom = _ink(spacing, mark.ops[0].font)  # type: ignore[union-attr]
        dy = -body.ascent - gap - ink_bottom
        slant = size * 0.08 if any(isinstance(op, _Text) and op.font.italic() for op in body.ops) else 0.0
        box.place(mark, (body.width - mark.width) / 2.0 + slant, dy)
        box.ascent = body.ascent + gap + (ink_bottom - ink_top)
        return box

    def fenced(self, atom: mt.Fenced, size: float, top: bool) -> _Box:
        body = self.group(atom.body, size, top)
        axis = _axis(size)
        half = max(body.ascent - axis, body.descent + axis) + size * 0.08
        normal = size * 0.62
        box = _Box(kind=mt.ORD)
        x = 0.0
        left = _delimiter(atom.left, axis, max(half, normal), size)
        box.place(left, x, 0.0)
        x += left.width
        box.place(body, x, 0.0)
        x += body.width
        right = _delimiter(atom.right, axis, max(half, normal), size)
        box.place(right, x, 0.0)
        box.width = x + right.width
        box.ascent = max(body.ascent, left.ascent, right.ascent)
        box.descent = max(body.descent, left.descent, right.descent)
        return box


def _axis(size: float) -> float:
    """Height of the maths axis above the baseline (where a minus sign and a fraction bar sit)."""
    return _metrics(_font(size)).xHeight() * 0.55


def _shifted(box: _Box, dy: float) -> _Box:
    moved = _Box(box.width, box.ascent - dy, box.descent + dy, kind=box.kind)
    moved.place(box, 0.0, dy)
    return moved


def _delimiter(char: str, axis: float, half: float, size: float) -> _Box:
    """A delimiter ``2 × half`` tall centred on the axis, drawn as strokes so it can be any height."""
    if not char:
        return _Box(size * 0.05)
    stroke = max(1.0, size * 0.06)
    top, bottom = -axis - half, -axis + half
    width = size * (0.42 if char in "()" else 0.36)
    path = QPainterPath()
    inner, outer = width * 0.75, width * 0.25
    if char == "(":
        path.moveTo(inner, top)
        path.quadTo(outer - width * 0.3, -axis, inner, bottom)
    elif char == ")":
        path.moveTo(outer, top)
        path.quadTo(inner + width * 0.3, -axis, outer, bottom)
    elif char in "[⌊⌈":
        path.moveTo(inner, top if char != "⌊" else bottom)
        if char != "⌊":
            path.lineTo(outer, top)
        else:
            path.moveTo(outer, top)
        path.lineTo(outer, bottom)
        if char != "⌈":
            path.lineTo(inner, bottom)
    elif char in "]⌋⌉":
        if char != "⌋":
            path.moveTo(outer, top)
            path.lineTo(inner, top)
        else:
            path.moveTo(inner, top)
        path.lineTo(inner, bottom)
        if char != "⌉":
            path.lineTo(outer, bottom)
    elif char in "|‖":
        for x in ((width / 2.0,) if char == "|" else (width * 0.3, width * 0.7)):
            path.moveTo(x, top)
            path.lineTo(x, bottom)
    else:  # braces, angles, slashes: the glyph, as it is
        box = _text_box(char, _font(size), mt.ORD)
        return box
    box = _Box(width, axis + half + stroke, max(0.0, half - axis) + stroke, kind=mt.ORD)
    box.ops.append(_Stroke(path, stroke))
    return box


_THICK, _MEDIUM, _THIN = 5 / 18, 4 / 18, 3 / 18


def _space(before: str, after: str, em: float, top: bool) -> float:
    """TeX's inter-atom spacing (in em), simplified: operators and relations breathe only at full size."""
    if before == "space" or after == "space":
        return 0.0
    if mt.REL in (before, after) and before != after:
        return em * (_THICK if top else 1 / 18)
    if mt.BIN in (before, after):
        return em * _MEDIUM if top else 0.0
    if before == mt.PUNCT:
        return em * _THIN if top else 0.0
    if before == "operator" and after not in (mt.OPEN, mt.PUNCT, mt.CLOSE):
        return em * _THIN
    if after == "operator" and before in (mt.VAR, mt.NUM, mt.CLOSE, mt.ORD):
        return em * _THIN
    return 0.0


def _hpack(boxes: Sequence[tuple[float, _Box]]) -> _Box:
    row = _Box()
    x = 0.0
    for space, box in boxes:
        x += space
        row.place(box, x, 0.0)
        x += box.width
        row.ascent = max(row.ascent, box.ascent)
        row.descent = max(row.descent, box.descent)
    row.width = x
    return row


# -- lines, wrapping --------------------------------------------------------------------------------------
@dataclass
class _Piece:
    box: _Box
    glue: float  # space before it, dropped at the start of a line
    breakable: bool  # a line may end after it


def _pieces(line: mt.Line, px: float, setter: _Typesetter) -> list[_Piece]:
    pieces: list[_Piece] = []
    prose_font = _font(px * 0.92, prose=True)
    space = _metrics(prose_font).horizontalAdvance(" ")
    pending_glue = 0.0
    for segment in line:
        if isinstance(segment, mt.Prose):
            words = segment.text.split(" ")
            for i, word in enumerate(words):
                if i > 0:
                    pending_glue += space
                if word:
                    pieces.append(_Piece(_text_box(word, prose_font, "prose"), pending_glue, True))
                    pending_glue = 0.0
            continue
        row = setter.row(segment.body.items, px, True)
        depth = 0
        for i, (gap, box) in enumerate(row):
            depth += (box.kind == mt.OPEN) - (box.kind == mt.CLOSE)
            # TeX breaks a line after a relation, a binary operator or a comma, never inside brackets.
            nxt = row[i + 1][1].kind if i + 1 < len(row) else ""
            breakable = (depth <= 0 and box.kind in (mt.REL, mt.BIN, mt.PUNCT)) or i + 1 == len(row) or (
                nxt == "space" and depth <= 0)
            pieces.append(_Piece(box, pending_glue + (gap if i else 0.0), breakable))
            pending_glue = 0.0
        if pieces:
            pieces[-1].breakable = True
    return pieces


def _wrap(pieces: list[_Piece], max_width: float, indent: float) -> list[list[_Piece]]:
    lines: list[list[_Piece]] = [[]]
    width = 0.0
    for piece in pieces:
        line = lines[-1]
        start = indent if len(lines) > 1 else 0.0
        needed = (piece.glue if line else 0.0) + piece.box.width
        if line and start + width + needed > max_width:
            cut = max((i for i, p in enumerate(line) if p.breakable), default=-1)
            if cut >= 0:
                rest = line[cut + 1:]
                del line[cut + 1:]
                lines.append(rest)
                line = rest
                width = sum(p.box.width + (p.glue if i else 0.0) for i, p in enumerate(rest))
                needed = (piece.glue if line else 0.0) + piece.box.width
        line.append(piece)
        width += needed
    return [line for line in lines if line]


@lru_cache(maxsize=2048)
def layout(source: str, px: float, max_width: float = 1e9) -> FormulaLayout:
    """Lay out ``source`` at ``px`` pixels, wrapping lines wider than ``max_width`` at a relation, an
    operator, a comma or a space (continuation lines are indented)."""
    try:
        formula = mt.parse(source)
        valid = True
    except mt.MathTextError:
        formula = mt.Formula(source, tuple((mt.Prose(text),) for text in source.split("\n")))
        valid = False
    setter = _Typesetter(px)
    leading = px * 0.3
    ops: list[_Op] = []
    y = 0.0
    width = 0.0
    for line in formula.lines:
        for k, pieces in enumerate(_wrap(_pieces(line, px, setter), max_width, px)):
            row = _hpack([(p.glue if i else 0.0, p.box) for i, p in enumerate(pieces)])
            x = px if k else 0.0
            ascent = max(row.ascent, px * 0.72)
            baseline = y + ascent
            holder = _Box()
            holder.place(row, x, baseline)
            ops.extend(holder.ops)
            width = max(width, x + row.width)
            y = baseline + max(row.descent, px * 0.22) + leading
    height = max(0.0, y - leading)
    return FormulaLayout(width, height, tuple(ops), mt.to_plain(source), valid)


@lru_cache(maxsize=256)
def _pixmap(source: str, px: float, max_width: float, rgba: int, ratio: float) -> QPixmap:
    shape = layout(source, px, max_width)
    pixmap = QPixmap(max(1, round((shape.width + 2) * ratio)), max(1, round((shape.height + 2) * ratio)))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    shape.draw(painter, 1.0, 1.0, QColor.fromRgba(rgba))
    painter.end()
    return pixmap


def formula_pixmap(source: str, px: float, color: QColor, max_width: float = 1e9,
                   device_pixel_ratio: float = 1.0) -> QPixmap:
    """The formula rendered on a transparent pixmap (cached: the same formula, size and colour render once)."""
    return _pixmap(source, float(px), float(max_width), color.rgba(), float(device_pixel_ratio))
