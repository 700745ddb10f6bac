"""Hostile graph files the fuzz tests found (``tests/data/hostile``): each ends in the clear message a user
sees, through the command line as a user runs it, quickly and without a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_fuzz_graphs import run_cli

HOSTILE = Path(__file__).parent / "data" / "hostile"

# file → (command, exit status, text the output or error must hold)
CASES = {
    "repeat-billion.nfg": ("summary", 2, "nodes[1].params.repeat: repeat is 1,000,000,000, over the limit of "
                                         "10,000 (limit: repeat)"),
    "nesting-too-deep.nfg": ("validate", 2, "block nesting is 33, over the limit of 32 (limit: depth)"),
    "symbol-over-64-bits.nfg": ("validate", 2, "symbols.T: integer out of range (more than 64 bits)"),
    # 10,000³ copies of a Linear(16, 16): counted by multiplying, never iterated
    "nested-repeats.nfg": ("summary", 0, "\"params\": 272000000000000,"),
    "repeat-first-copy-changes-shape.nfg": ("codegen", 1, "Block 'blk' repeats 3× but its body changes the tensor"),
    "tie-unknown-param.nfg": ("validate", 2, "ties[0].param: Linear 'fc' has no parameter tensor 'nope' (it has "
                                             "bias, weight)"),
    "tie-code-in-param.nfg": ("codegen", 2, "ties[0]: tie param: expected an identifier"),
    "tie-lone-surrogate.nfg": ("summary", 2, "ties[0]: tie param: expected an identifier"),
    "dropout-nan.nfg": ("validate", 1, "Dropout 'drop' param 'p': must be a finite number"),
    "dropout-infinity.nfg": ("codegen", 1, "Dropout 'drop' param 'p': must be a finite number"),
    "linear-huge-output.nfg": ("validate", 1, "Linear 'fc': expected at most 1,099,511,627,776 parameters in one "
                                              "layer (limit: layer_params), received about 10^19 parameters"),
    "integer-400-digits.nfg": ("summary", 1, "received about 10^401 parameters"),
    "embedding-huge-table.nfg": ("validate", 1, "(limit: layer_params), received about 10^18 parameters"),
    "input-huge-shape.nfg": ("validate", 1, "(limit: tensor_elements), received output 'y' of about 10^24 "
                                            "elements"),
    "symbol-huge-tensor.nfg": ("summary", 0, "(limit: tensor_elements)"),
    "unbound-symbol.nfg": ("codegen", 1, "cannot write example_input(): dimension symbol 'S' has no value"),
    "name-lone-surrogate.nfg": ("validate", 0, "\\udc80\u202emodel: ok"),
}


def test_every_hostile_file_has_a_case() -> None:
    assert sorted(p.name for p in HOSTILE.glob("*.nfg")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_ends_in_its_message(name: str, tmp_path: Path) -> None:
    command, status, expected = CASES[name]
    argv = [command, str(HOSTILE / name)]
    argv += {"summary": ["--device", "t4", "--json"] if status == 0 else ["--device", "t4"],
             "codegen": ["-o", str(tmp_path / "model.py")]}.get(command, [])
    started = time.perf_counter()
    code, out, err = run_cli(argv)
    assert time.perf_counter() - started < 5
    assert "Traceback" not in err
    assert code == status, out + err
    assert expected in out + err
