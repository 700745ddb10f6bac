"""Generated source is checked for syntax errors, large sources by a child interpreter, with the same answer."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.codegen.plan import GeneratedCodeError
from neuralforge_desktop.core.codegen.pytorch import check_source
from neuralforge_desktop.core.codegen.syntax_check import IN_PROCESS_MAX_CHARS, syntax_problem


def big_source(broken_line: int | None = None) -> str:
    lines = [f"x{i} = {i} + 1" for i in range(IN_PROCESS_MAX_CHARS // 10)]
    if broken_line is not None:
        lines[broken_line - 1] = "x = (1 +"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("source", [big_source(), "x = 1\n"])
def test_a_source_that_parses_has_no_problem(source: str) -> None:
    assert syntax_problem(source, "<test>") is None
    check_source(source, "Test")


@pytest.mark.parametrize("source", [big_source(broken_line=1234), "x = 1\n" * 1233 + "x = (1 +\n"])
def test_a_syntax_error_is_reported_with_its_line(source: str) -> None:
    assert len(source) > IN_PROCESS_MAX_CHARS or len(source) < 10_000
    problem = syntax_problem(source, "<test>")
    assert problem is not None and problem[0] == 1234
    with pytest.raises(GeneratedCodeError, match=r"does not parse \(line 1234\)"):
        check_source(source, "Test")
