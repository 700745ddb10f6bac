"""Every layer writes its formula once, in mathtext (``LayerDef.math``); the parser reads the subset NeuralForge
uses strictly, so a typo in a formula fails here instead of showing raw markup on a Concept Mode card."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.catalog import mathtext as mt
from neuralforge_desktop.core.catalog.registry import catalog


def _math_atoms(formula: mt.Formula) -> list[mt.Atom]:
    found: list[mt.Atom] = []

    def walk(atom: mt.Atom) -> None:
        found.append(atom)
        children: list[mt.Atom | None] = []
        if isinstance(atom, mt.Group):
            children = list(atom.items)
        elif isinstance(atom, mt.Scripts):
            children = [atom.base, atom.sub, atom.sup]
        elif isinstance(atom, mt.Frac):
            children = [atom.num, atom.den]
        elif isinstance(atom, mt.Root | mt.Accent | mt.Fenced):
            children = [atom.body]
        for child in children:
            if child is not None:
                walk(child)

    for line in formula.lines:
        for segment in line:
            if isinstance(segment, mt.Math):
                walk(segment.body)
    return found


@pytest.mark.parametrize("layer", list(catalog()), ids=lambda layer: layer.type)
def test_every_catalog_formula_is_mathtext_that_parses(layer):
    formula = mt.parse(layer.math)  # raises MathTextError naming the command and column at fault
    atoms = _math_atoms(formula)
    assert atoms, f"{layer.type}: the formula has no $…$ maths, so Concept Mode would show it as prose"
    plain = mt.to_plain(layer.math)
    assert plain and "\\" not in plain and "$" not in plain, f"{layer.type}: markup leaks into {plain!r}"


def test_the_parser_reads_structure_not_just_symbols():
    formula = mt.parse(r"$y = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta$" "\n"
                       r"$\mu, \sigma^2$ over the last dims")
    assert len(formula.lines) == 2
    first = formula.lines[0][0]
    assert isinstance(first, mt.Math)
    frac = next(a for a in first.body.items if isinstance(a, mt.Frac))
    assert any(isinstance(a, mt.Root) for a in frac.den.items)
    assert formula.lines[1][-1] == mt.Prose(" over the last dims")
    assert mt.to_plain(formula.source) == "y = γ(x − μ)/√(σ² + ϵ) + β; μ, σ² over the last dims"


@pytest.mark.parametrize(("source", "plain"), [
    (r"$y = x W^{\top} + b$", "y = xWᵀ + b"),
    (r"$c_{\mathrm{out}} = \sum_{k \in S} x_{t-1}$", "c_out = ∑_(k∈S) xₜ₋₁"),
    (r"$\operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}$", "softmax(x)ᵢ = e^xᵢ/(∑ⱼ e^xⱼ)"),
    (r"$-\log \max_{k} x$", "−log maxₖ x"),
    ("no maths at all: y = x·tanh(x)", "no maths at all: y = x·tanh(x)"),
])
def test_plain_text_for_the_cli_and_tooltips(source, plain):
    assert mt.to_plain(source) == plain


@pytest.mark.parametrize(("source", "reason", "column"), [
    (r"$\foo x$", r"unknown command \foo", 2),
    (r"$x_a_b$", "double subscript", 5),
    ("$x{$", "'{' is never closed", 4),
    ("$x}$", "'}' closes nothing", 3),
    ("y = $x", "never closed", 5),
    ("$$", "empty maths", 1),
    (r"$\left( x$", r"\left without a matching \right", 10),
    (r"$\frac{a}$", r"\frac needs an argument", 10),
    ("$50%$", r"'%' must be escaped as \%", 4),
])
def test_a_broken_formula_is_refused_naming_the_problem_and_its_column(source, reason, column):
    with pytest.raises(mt.MathTextError) as caught:
        mt.parse(source)
    assert reason in str(caught.value) and f"(column {column})" in str(caught.value)
    assert not mt.is_valid(source)
    assert mt.to_plain(source) == source  # shown as written rather than not at all
