"""``neuralforge lineage`` as a user runs it: a tree of text, or the graph as JSON; a ref it does not know is a
one-line error naming the refs it takes."""

from __future__ import annotations

import json

import pytest

from neuralforge_desktop.cli.main import main


@pytest.fixture
def nf(served, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        status = main([*argv, "--store", str(served["store"])])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_lineage_of_a_prediction_as_text_and_json(nf, served, fingerprint):
    status, out, _ = nf("lineage", served["prediction"])
    assert status == 0
    assert out.startswith(f"prediction {served['prediction'][:12]}")
    assert "served by → version digits@2" in out and f"fingerprint: {fingerprint}" in out
    assert f"quantize-static-int8 of → run {served['run']}" in out
    status, out, _ = nf("lineage", "digits@2", "--json")
    data = json.loads(out)
    assert status == 0 and data["root"] == "version:digits@2"
    assert {"source": f"run:{served['run']}", "target": f"dataset:{fingerprint}",
            "relation": "trained on"} in data["edges"]


def test_lineage_forward_from_a_dataset(nf, served, fingerprint):
    status, out, _ = nf("lineage", "--dataset", fingerprint[:64], "--json")
    data = json.loads(out)
    assert status == 0 and data["direction"] == "forward"
    assert {n["key"] for n in data["nodes"] if n["kind"] == "version"} == {"digits@1", "digits@2"}


def test_an_unknown_ref_is_a_one_line_error(nf):
    status, out, err = nf("lineage", "nothing-here")
    assert status != 0 and out == ""
    assert "prediction" in err and "NAME@V" in err and "run id" in err
    status, _, err = nf("lineage")
    assert status != 0 and "--dataset" in err
