"""Formulas in matplotlib's mathtext: how a layer writes its maths (``LayerDef.math``), parsed once for every view.

A formula is text in which maths sits between dollar signs, the way matplotlib writes it::

    "$y = x W^{\\top} + b$"
    "$y = \\gamma \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}} + \\beta$\\n$\\mu, \\sigma^2$ over the last dims"

Outside the dollars is prose; ``\\n`` starts a new line; a text with no dollar at all is prose only (so a
plugin's plain-text formula still reads). :func:`parse` reads the subset of mathtext NeuralForge uses into a
small tree and is strict: an unknown command, an unbalanced brace or dollar is a :class:`MathTextError` that
names it and where it is. :func:`to_plain` writes the tree as one line of Unicode for the CLI and tooltips; the
canvas and the inspector lay the same tree out with Qt (``ui/formula.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from neuralforge_desktop.core.errors import UserError

# Atom kinds, after TeX's classes: they decide the spacing between neighbours.
VAR = "var"  # an italic variable letter
NUM = "num"  # digits
ORD = "ord"  # an upright symbol or word (\mathrm{out}, ∞, |)
BIN = "bin"  # a binary operator: medium space each side (unary at the start: no space)
REL = "rel"  # a relation: thick space each side
PUNCT = "punct"  # a comma or semicolon: thin space after
OPEN = "open"
CLOSE = "close"
FUNC = "func"  # an operator name (log, tanh, softmax): upright, thin space before an argument that is not fenced
LARGE = "large"  # ∑ ∏: drawn larger, limits below and above
LIMIT = "limit"  # max, min: an operator name whose subscript goes below


class MathTextError(UserError, ValueError):
    """A formula that is not valid mathtext: names what is wrong and its column in the formula."""

    def __init__(self, source: str, position: int, reason: str) -> None:
        super().__init__(f"formula {source!r}: {reason} (column {position + 1})")
        self.source = source
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class Sym:
    """One symbol or run of letters; ``style`` is ``""`` (by kind), ``"rm"``, ``"it"`` or ``"bf"``."""

    text: str
    kind: str
    style: str = ""


@dataclass(frozen=True)
class Group:
    items: tuple[Atom, ...]


@dataclass(frozen=True)
class Scripts:
    base: Atom
    sub: Group | None
    sup: Group | None


@dataclass(frozen=True)
class Frac:
    num: Group
    den: Group


@dataclass(frozen=True)
class Root:
    body: Group


@dataclass(frozen=True)
class Accent:
    mark: str  # the combining character drawn above (U+0302 hat, U+0304 bar, …); "‾" for \overline
    body: Group


@dataclass(frozen=True)
class Fenced:
    """``\\left( … \\right)``: delimiters as tall as what they enclose ("" for ``\\left.``)."""

    left: str
    body: Group
    right: str


@dataclass(frozen=True)
class Space:
    em: float


@dataclass(frozen=True)
class Words:
    """``\\text{…}``: upright words inside maths, spaces kept."""

    text: str


Atom = Sym | Group | Scripts | Frac | Root | Accent | Fenced | Space | Words


@dataclass(frozen=True)
class Prose:
    text: str


@dataclass(frozen=True)
class Math:
    body: Group


Line = tuple[Prose | Math, ...]


@dataclass(frozen=True)
class Formula:
    source: str
    lines: tuple[Line, ...]


# -- the vocabulary ---------------------------------------------------------------------------------------
_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω",
}
_UPPER_GREEK = {
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
    "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
_SYMBOLS: dict[str, tuple[str, str]] = {
    # binary operators
    "cdot": ("·", BIN), "times": ("×", BIN), "odot": ("⊙", BIN), "otimes": ("⊗", BIN), "oplus": ("⊕", BIN),
    "star": ("⋆", BIN), "ast": ("∗", BIN), "circ": ("∘", BIN), "pm": ("±", BIN), "mp": ("∓", BIN),
    "div": ("÷", BIN), "cup": ("∪", BIN), "cap": ("∩", BIN), "setminus": ("∖", BIN),
    # relations
    "leq": ("≤", REL), "le": ("≤", REL), "geq": ("≥", REL), "ge": ("≥", REL), "neq": ("≠", REL),
    "ne": ("≠", REL), "approx": ("≈", REL), "sim": ("∼", REL), "simeq": ("≃", REL), "equiv": ("≡", REL),
    "propto": ("∝", REL), "in": ("∈", REL), "notin": ("∉", REL), "subset": ("⊂", REL),
    "subseteq": ("⊆", REL), "to": ("→", REL), "rightarrow": ("→", REL), "leftarrow": ("←", REL),
    "mapsto": ("↦", REL), "Rightarrow": ("⇒", REL), "mid": ("∣", REL),
    # delimiters
    "lfloor": ("⌊", OPEN), "rfloor": ("⌋", CLOSE), "lceil": ("⌈", OPEN), "rceil": ("⌉", CLOSE),
    "langle": ("⟨", OPEN), "rangle": ("⟩", CLOSE), "{": ("{", OPEN), "}": ("}", CLOSE),
    "vert": ("|", ORD), "Vert": ("‖", ORD), "|": ("‖", ORD),
    # ordinary symbols
    "ldots": ("…", ORD), "dots": ("…", ORD), "cdots": ("⋯", ORD), "vdots": ("⋮", ORD), "infty": ("∞", ORD),
    "partial": ("∂", ORD), "nabla": ("∇", ORD), "top": ("⊤", ORD), "prime": ("′", ORD), "ell": ("ℓ", ORD),
    "forall": ("∀", ORD), "exists": ("∃", ORD), "emptyset": ("∅", ORD), "_": ("_", ORD), "%": ("%", ORD),
    "$": ("$", ORD), "#": ("#", ORD), "&": ("&", ORD),
}
_LARGE = {"sum": "∑", "prod": "∏", "coprod": "∐"}
_LIMITS = {"max", "min", "sup", "inf", "lim"}
_FUNCTIONS = {"log", "ln", "exp", "tanh", "sinh", "cosh", "sin", "cos", "tan", "det", "dim", "arg", "deg"}
_SPACES = {",": 3 / 18, ":": 4 / 18, ">": 4 / 18, ";": 5 / 18, "!": -3 / 18, " ": 6 / 18, "quad": 1.0,
           "qquad": 2.0}
_FONTS = {"mathrm": "rm", "mathit": "it", "mathbf": "bf"}
_ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7", "dot": "\u0307",
            "overline": "‾"}
_FRACTIONS = {"frac", "dfrac", "tfrac"}
_DELIMITERS = {"(": "(", ")": ")", "[": "[", "]": "]", "|": "|", ".": "", "/": "/"}
_DELIMITER_COMMANDS = {"{": "{", "}": "}", "|": "‖", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈",
                       "rceil": "⌉", "langle": "⟨", "rangle": "⟩", "vert": "|", "Vert": "‖"}

# Characters typed as themselves: their class (anything else is ordinary, letters are variables).
_CHAR_KINDS = {
    "+": BIN, "−": BIN, "·": BIN, "⋅": BIN, "×": BIN, "⊙": BIN, "⋆": BIN, "∗": BIN, "±": BIN, "∘": BIN,
    "⊗": BIN, "⊕": BIN,
    "=": REL, "<": REL, ">": REL, "≤": REL, "≥": REL, "≠": REL, "≈": REL, "∼": REL, "∈": REL, "→": REL,
    "≡": REL, ",": PUNCT, ";": PUNCT, "(": OPEN, "[": OPEN, "⌊": OPEN, "⌈": OPEN, "⟨": OPEN,
    ")": CLOSE, "]": CLOSE, "⌋": CLOSE, "⌉": CLOSE, "⟩": CLOSE, "!": CLOSE,
}
_CHAR_TEXT = {"-": "−", "*": "∗", "'": "′"}
_SPECIAL = set("{}_^$\\&#%~")  # characters that mean something in mathtext (or TeX) and must be escaped


# -- parsing ----------------------------------------------------------------------------------------------
class _Reader:
    """A recursive-descent reader over one ``$…$`` span; positions are columns in the whole formula."""

    def __init__(self, source: str, start: int, end: int) -> None:
        self.source = source
        self.pos = start
        self.end = end

    def fail(self, reason: str, at: int | None = None) -> MathTextError:
        return MathTextError(self.source, self.pos if at is None else at, reason)

    def skip_space(self) -> None:
        while self.pos < self.end and self.source[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.source[self.pos] if self.pos < self.end else ""

    def command(self) -> str:
        """Read ``\\name`` or ``\\c`` (one non-letter) after the backslash at ``pos``."""
        start = self.pos
        self.pos += 1
        if self.pos >= self.end:
            raise self.fail("a backslash ends the formula", start)
        if self.source[self.pos].isalpha():
            name_end = self.pos
            while name_end < self.end and self.source[name_end].isalpha():
                name_end += 1
            name = self.source[self.pos:name_end]
            self.pos = name_end
            return name
        name = self.source[self.pos]
        self.pos += 1
        return name

    # A sequence of atoms up to ``stop`` ("}" inside braces, "" for the whole span, "right" inside \left).
    def items(self, stop: str) -> list[Atom]:
        atoms: list[Atom] = []
        while True:
            char = self.peek()
            if char == "":
                if stop == "}":
                    raise self.fail("a '{' is never closed")
                if stop == "right":
                    raise self.fail("\\left without a matching \\right")
                return atoms
            if char == "}":
                if stop != "}":
                    raise self.fail("a '}' closes nothing")
                self.pos += 1
                return atoms
            if char in "_^":
                self.scripts(atoms, char)
                continue
            if char == "'":
                self.pos += 1
                self.attach(atoms, "^", Group((Sym("′", ORD),)), self.pos - 1)
                continue
            if char == "\\" and stop == "right" and self.source.startswith("\\right", self.pos) and not (
                    self.source[self.pos + 6:self.pos + 7].isalpha()):
                return atoms
            atom = self.atom()
            if atom is not None:
                atoms.append(atom)

    def scripts(self, atoms: list[Atom], mark: str) -> None:
        at = self.pos
        self.pos += 1
        argument = self.argument(f"'{mark}'")
        self.attach(atoms, "_" if mark == "_" else "^", argument, at)

    def attach(self, atoms: list[Atom], mark: str, argument: Group, at: int) -> None:
        base: Atom = atoms.pop() if atoms else Group(())
        sub = base.sub if isinstance(base, Scripts) else None
        sup = base.sup if isinstance(base, Scripts) else None
        core = base.base if isinstance(base, Scripts) else base
        if mark == "_":
            if sub is not None:
                raise self.fail("double subscript: group it in braces, as x_{ab}", at)
            sub = argument
        else:
            if sup is not None:
                raise self.fail("double superscript: group it in braces, as x^{ab}", at)
            sup = argument
        atoms.append(Scripts(core, sub, sup))

    def argument(self, what: str) -> Group:
        """A command's or script's argument: ``{…}`` or one token."""
        char = self.peek()
        if char == "":
            raise self.fail(f"{what} needs an argument")
        if char == "{":
            self.pos += 1
            return Group(tuple(self.items("}")))
        if char in "}_^":
            raise self.fail(f"{what} needs an argument")
        if char.isdigit():  # x^12 is x¹2 in TeX: one digit only
            self.pos += 1
            return Group((Sym(char, NUM),))
        atom = self.atom()
        return Group(() if atom is None else (atom,))

    def raw_argument(self, what: str) -> str:
        """The literal text of a ``{…}`` argument (``\\text``, ``\\operatorname``): no nesting, escapes kept."""
        if self.peek() != "{":
            raise self.fail(f"{what} needs a {{…}} argument")
        start = self.pos + 1
        depth, i = 0, self.pos
        while i < self.end:
            char = self.source[i]
            if char == "\\":
                i += 2
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    self.pos = i + 1
                    return _unescape(self.source[start:i])
            i += 1
        raise self.fail("a '{' is never closed", start - 1)

    def atom(self) -> Atom | None:
        char = self.peek()
        start = self.pos
        if char == "{":
            self.pos += 1
            return Group(tuple(self.items("}")))
        if char == "\\":
            return self.command_atom(self.command(), start)
        if char in _SPECIAL:
            raise self.fail(f"'{char}' must be escaped as \\{char}" if char in "&#%" else f"unexpected '{char}'")
        if char.isdigit() or (char == "." and self.source[self.pos + 1:self.pos + 2].isdigit()):
            end = self.pos
            while end < self.end and (self.source[end].isdigit() or self.source[end] == "."):
                end += 1
            text = self.source[self.pos:end]
            self.pos = end
            return Sym(text, NUM)
        self.pos += 1
        text = _CHAR_TEXT.get(char, char)
        if char == "-":
            return Sym(text, BIN)
        if char.isalpha():
            return Sym(text, VAR)
        return Sym(text, _CHAR_KINDS.get(char, ORD))

    def command_atom(self, name: str, start: int) -> Atom | None:
        if name in _GREEK:
            return Sym(_GREEK[name], VAR)
        if name in _UPPER_GREEK:
            return Sym(_UPPER_GREEK[name], ORD)
        if name in _SYMBOLS:
            text, kind = _SYMBOLS[name]
            return Sym(text, kind)
        if name in _LARGE:
            return Sym(_LARGE[name], LARGE)
        if name in _LIMITS:
            return Sym(name, LIMIT)
        if name in _FUNCTIONS:
            return Sym(name, FUNC)
        if name in _SPACES:
            return Space(_SPACES[name])
        if name in _FONTS:
            return _restyle(self.argument(f"\\{name}"), _FONTS[name])
        if name == "text":
            return Words(self.raw_argument("\\text"))
        if name == "operatorname":
            text = self.raw_argument("\\operatorname")
            if not text or set("{}^$~") & set(text):
                raise self.fail("\\operatorname takes a plain name", start)
            return Sym(text, FUNC)
        if name in _FRACTIONS:
            num = self.argument(f"\\{name}")
            return Frac(num, self.argument(f"\\{name}"))
        if name == "sqrt":
            if self.peek() == "[":
                raise self.fail("\\sqrt[n]{…} is not supported here: write x^{1/n}", start)
            return Root(self.argument("\\sqrt"))
        if name in _ACCENTS:
            return Accent(_ACCENTS[name], self.argument(f"\\{name}"))
        if name == "left":
            left = self.delimiter("\\left", start)
            body = Group(tuple(self.items("right")))
            right_at = self.pos
            if self.command() != "right":
                raise self.fail("\\left without a matching \\right", right_at)
            return Fenced(left, body, self.delimiter("\\right", right_at))
        if name == "right":
            raise self.fail("\\right without a \\left", start)
        raise self.fail(f"unknown command \\{name}", start)

    def delimiter(self, what: str, at: int) -> str:
        char = self.peek()
        if char == "\\":
            name = self.command()
            if name in _DELIMITER_COMMANDS:
                return _DELIMITER_COMMANDS[name]
            raise self.fail(f"{what} needs a delimiter, got \\{name}", at)
        if char in _DELIMITERS:
            self.pos += 1
            return _DELIMITERS[char]
        raise self.fail(f"{what} needs a delimiter such as ( [ | or .", at)


def _restyle(group: Group, style: str) -> Group:
    """``\\mathrm{…}``: letters and digits in ``style``; adjacent letters become one word (``out``, ``batch``)."""
    items: list[Atom] = []
    for atom in group.items:
        if isinstance(atom, Sym) and atom.kind in (VAR, NUM, ORD):
            restyled = Sym(atom.text, ORD if style != "it" else VAR, style)
            previous = items[-1] if items else None
            if isinstance(previous, Sym) and previous.style == style and previous.kind == restyled.kind and (
                    atom.kind != ORD or atom.text.isalnum()):
                items[-1] = Sym(previous.text + atom.text, restyled.kind, style)
            else:
                items.append(restyled)
        elif isinstance(atom, Group):
            items.append(_restyle(atom, style))
        elif isinstance(atom, Scripts):
            base = _restyle(Group((atom.base,)), style)
            items.append(Scripts(base.items[0] if len(base.items) == 1 else base, atom.sub, atom.sup))
        else:
            items.append(atom)
    return Group(tuple(items))


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and not text[i + 1].isalpha():
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _dollars(source: str, start: int, end: int) -> list[int]:
    """Positions of the unescaped ``$`` in ``source[start:end]``."""
    found: list[int] = []
    i = start
    while i < end:
        if source[i] == "\\":
            i += 2
            continue
        if source[i] == "$":
            found.append(i)
        i += 1
    return found


@lru_cache(maxsize=1024)
def parse(source: str) -> Formula:
    """The formula's tree; raises :class:`MathTextError` naming the first problem and its column."""
    lines: list[Line] = []
    offset = 0
    for text in source.split("\n"):
        start, end = offset, offset + len(text)
        offset = end + 1
        marks = _dollars(source, start, end)
        if len(marks) % 2:
            raise MathTextError(source, marks[-1], "a '$' opens maths that is never closed on its line")
        segments: list[Prose | Math] = []
        cursor = start
        for open_at, close_at in zip(marks[::2], marks[1::2], strict=True):
            if open_at > cursor:
                segments.append(Prose(_unescape(source[cursor:open_at])))
            if close_at == open_at + 1:
                raise MathTextError(source, open_at, "empty maths '$$'")
            reader = _Reader(source, open_at + 1, close_at)
            segments.append(Math(Group(tuple(reader.items("")))))
            cursor = close_at + 1
        if cursor < end:
            segments.append(Prose(_unescape(source[cursor:end])))
        lines.append(tuple(segments))
    return Formula(source, tuple(lines))


def is_valid(source: str) -> bool:
    try:
        parse(source)
    except MathTextError:
        return False
    return True


# -- plain Unicode ----------------------------------------------------------------------------------------
_SUPERSCRIPT = dict(zip("0123456789+−=()niTxaebcdfghjklmoprstuvwyz⊤′", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀˣᵃᵉᵇᶜᵈᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷʸᶻᵀ′",
                        strict=True))
_SUBSCRIPT = dict(zip("0123456789+−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
_SPACED = {BIN: " {} ", REL: " {} ", PUNCT: "{} "}


def to_plain(source: str) -> str:
    """The formula as one line of Unicode text (lines joined by "; "): ``y = x·Wᵀ + b``.

    Falls back to the source itself when it does not parse, so a faulty plugin formula still shows."""
    try:
        formula = parse(source)
    except MathTextError:
        return source
    lines = ["".join(seg.text if isinstance(seg, Prose) else _plain_group(seg.body)
                     for seg in line).strip().rstrip(",;") for line in formula.lines]
    return "; ".join(line for line in lines if line)


def _plain_group(group: Group, top: bool = True) -> str:
    """``top``: spaced like the formula's main line; scripts are written tight (``x_{t−1}`` → ``xₜ₋₁``)."""
    parts: list[str] = []
    previous = ""
    for atom in group.items:
        text = _plain_atom(atom)
        kind = atom.kind if isinstance(atom, Sym) else ""
        operator = kind in (FUNC, LIMIT, LARGE) or (isinstance(atom, Scripts) and _is_large(atom.base))
        opens = kind == OPEN or isinstance(atom, Fenced)
        if (previous == "operator" and not opens) or (
                parts and ("_" in parts[-1] or "^" in parts[-1]) and text[:1].isalnum()):
            parts.append(" ")  # "log x", "max_k x", "W_in x", but "softmax(x)"
        if kind == BIN and previous in ("", BIN, REL, OPEN, PUNCT, "operator"):
            parts.append(text)  # a unary minus
        elif top and kind in _SPACED:
            parts.append(_SPACED[kind].format(text))
        elif operator and previous in (VAR, NUM, CLOSE, ORD):
            parts.append(" " + text)
        else:
            parts.append(text)
        previous = "operator" if operator else (kind or ORD)
    return "".join(parts).replace("  ", " ")


def _is_large(atom: Atom) -> bool:
    return isinstance(atom, Sym) and atom.kind in (LARGE, LIMIT)


def _plain_atom(atom: Atom) -> str:
    if isinstance(atom, Sym):
        return atom.text
    if isinstance(atom, Group):
        return _plain_group(atom)
    if isinstance(atom, Words):
        return atom.text
    if isinstance(atom, Space):
        return " " if atom.em >= 0.15 else ""
    if isinstance(atom, Scripts):
        text = _plain_atom(atom.base)
        if atom.sub is not None:
            text += _script(_plain_group(atom.sub, top=False), _SUBSCRIPT, "_")
        if atom.sup is not None:
            text += _script(_plain_group(atom.sup, top=False), _SUPERSCRIPT, "^")
        return text
    if isinstance(atom, Frac):
        return f"{_wrapped(atom.num)}/{_wrapped(atom.den)}"
    if isinstance(atom, Root):
        return f"√{_wrapped(atom.body)}"
    if isinstance(atom, Accent):
        body = _plain_group(atom.body)
        return body + atom.mark if atom.mark != "‾" else f"mean({body})"
    if isinstance(atom, Fenced):
        return f"{atom.left}{_plain_group(atom.body)}{atom.right}"
    raise TypeError(atom)


def _wrapped(group: Group) -> str:
    text = _plain_group(group)
    simple = len(group.items) == 1 and not isinstance(group.items[0], Frac | Group)
    fenced = text[:1] + text[-1:] in ("()", "||") and " " not in text
    return text if simple or fenced else f"({text})"


def _script(text: str, table: dict[str, str], mark: str) -> str:
    # Unicode sub/superscripts read well for indices (ᵢ, ₜ₋₁, ², ᵀ), not for words (c_out, μ_batch).
    if text and all(char in table for char in text) and (len(text) == 1 or not text.isalpha()):
        return "".join(table[char] for char in text)
    if text.isalnum() or len(text) == 1:
        return mark + text
    return f"{mark}({text})"
