"""A graph file from a stranger ends in a result or a clear error, never a traceback or a hang.

Mutations of every zoo template (see ``graph_fuzz``) go through load, validate, summary and codegen, and a
subset through the command line itself. The quick profile runs in the default suite; the long one
(``pytest -m fuzz``, 10,000 files by default, ``NEURALFORGE_FUZZ_EXAMPLES`` to change) runs before a release
and prints what it saw.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

import pytest
from graph_fuzz import STEP_SECONDS, UnparsableSource, exercise, mutated_documents, seed_texts, time_limit
from hypothesis import HealthCheck, given, settings

from neuralforge_desktop.cli.main import main

QUICK = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LONG_EXAMPLES = int(os.environ.get("NEURALFORGE_FUZZ_EXAMPLES", "10000"))
LONG = settings(max_examples=LONG_EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_every_seed_file_loads_validates_and_generates_code() -> None:
    """The unmutated files pass every step: the fuzz starts from good files, not from broken ones."""
    assert len(seed_texts()) >= 10
    for name, text in seed_texts():
        outcome = exercise(text)
        assert outcome.user_errors == [], name
        assert "codegen" in outcome.steps, name


@QUICK
@given(text=mutated_documents())
def test_mutated_graph_files_end_in_a_result_or_a_user_error(text: str) -> None:
    exercise(text)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` with standard output and error as a terminal has them: UTF-8, strict."""
    out, err = io.BytesIO(), io.BytesIO()
    out_text = io.TextIOWrapper(out, encoding="utf-8", errors="strict")
    err_text = io.TextIOWrapper(err, encoding="utf-8", errors="strict")
    with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err_text):
        with time_limit(STEP_SECONDS * 4, " ".join(argv[:1])):
            status = main(argv)
        out_text.flush()
        err_text.flush()
    return status, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")


def check_cli(text: str, tmp_path: Path) -> None:
    path = tmp_path / "hostile.nfg"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # a lone surrogate makes the file invalid UTF-8
    for argv in (["validate", str(path)], ["summary", str(path), "--device", "t4"],
                 ["codegen", str(path), "-o", str(tmp_path / "model.py")]):
        status, _, err = run_cli(argv)
        assert "Traceback" not in err, argv
        assert status in (0, 1, 2), argv  # 2: a file that does not load, like any unusable argument
        if status == 2:
            assert err.startswith("neuralforge: hostile.nfg"), err


@settings(QUICK, max_examples=25)
@given(text=mutated_documents())
def test_the_command_line_answers_hostile_files_with_an_exit_status_and_one_line(text: str,
                                                                                 tmp_path_factory) -> None:
    check_cli(text, tmp_path_factory.mktemp("cli"))


@pytest.mark.fuzz
def test_long_fuzz_run(tmp_path_factory) -> None:
    """≥ 10,000 mutated files: counts, time and the slowest step are printed (run with ``-s`` to see them)."""
    seen = {"files": 0, "loaded": 0, "codegen": 0, "cli": 0}
    slowest = (0.0, "")
    unparsable: dict[str, int] = {}  # offending line → count: kept going to see them all
    started = time.perf_counter()

    @LONG
    @given(text=mutated_documents())
    def fuzz(text: str) -> None:
        nonlocal slowest
        seen["files"] += 1
        try:
            outcome = exercise(text)
        except UnparsableSource as exc:
            unparsable[str(exc)] = unparsable.get(str(exc), 0) + 1
            return
        seen["loaded"] += "validate" in outcome.steps
        seen["codegen"] += "codegen" in outcome.steps and not any(e.startswith("codegen")
                                                                   for e in outcome.user_errors)
        slowest = max(slowest, outcome.slowest)
        if seen["files"] % 20 == 0:  # the command line on every 20th file
            check_cli(text, tmp_path_factory.mktemp("cli"))
            seen["cli"] += 1

    fuzz()
    took = time.perf_counter() - started
    print(f"\nfuzz: {seen['files']} files in {took:.0f} s; {seen['loaded']} loaded, {seen['codegen']} generated "
          f"code, {seen['cli']} run through the CLI; {sum(unparsable.values())} generated sources do not parse; "
          f"slowest step {slowest[1]} {slowest[0]:.2f} s")
    for line, count in sorted(unparsable.items(), key=lambda item: -item[1]):
        print(f"  unparsable generated code ({count}×): {line}")
    assert seen["files"] >= LONG_EXAMPLES
    assert not unparsable, f"{sum(unparsable.values())} generated sources do not parse"
