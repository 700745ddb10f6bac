"""``neuralforge fairness`` on a trained run and on a registry version: the tables, the reading, --json, and the
errors for bad input."""

from __future__ import annotations

import json

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.store.sqlite_store import Store


def test_the_text_output_has_tables_disparities_reading_and_mitigation(biased, capsys) -> None:
    assert main(["fairness", biased["run"], "--data", str(biased["eval_csv"]), "--sensitive", "group,age_band",
                 "--mitigate", "demographic_parity", "--resamples", "100", "--store", str(biased["store"])]) == 0
    out = capsys.readouterr().out
    assert "Sensitive column group" in out and "Sensitive column age_band" in out
    assert "selection rate" in out and "TPR" in out and "FPR" in out and "ECE" in out
    assert "demographic parity difference" in out and "equalized odds difference" in out
    assert "too few examples (n=" in out
    assert "less often than group = A" in out
    assert "Mitigation: fairlearn ThresholdOptimizer" in out and "before" in out and "after" in out
    assert "Flagged: group: demographic_parity_ratio" in out


def test_json_is_the_whole_report(biased, capsys) -> None:
    assert main(["fairness", biased["run"], "--data", str(biased["eval_csv"]), "--sensitive", "group",
                 "--json", "--resamples", "100", "--store", str(biased["store"])]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["run_id"] == biased["run"] and report["label"] == "approved"
    group = report["attributes"][0]
    assert group["column"] == "group" and {g["group"] for g in group["groups"]} == {"A", "B"}
    assert set(group["disparities"]) == {"demographic_parity_difference", "demographic_parity_ratio",
                                         "equalized_odds_difference"}


def test_a_missing_column_is_refused_with_the_columns(biased, capsys) -> None:
    code = main(["fairness", biased["run"], "--data", str(biased["eval_csv"]), "--sensitive", "sex",
                 "--store", str(biased["store"])])
    err = capsys.readouterr().err
    assert code != 0
    assert "'sex' not found" in err and "neighbourhood_score" in err and "age_band" in err


def test_a_registry_version_is_evaluated_through_its_onnx_file(biased, capsys) -> None:
    from neuralforge_desktop.core.registry import register

    with Store(biased["store"]) as store:
        version = register(store, biased["run"], "credit")
    assert main(["fairness", f"credit@{version.version}", "--data", str(biased["eval_csv"]), "--sensitive",
                 "group", "--json", "--resamples", "100", "--store", str(biased["store"])]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "ONNX" in report["model_description"] and report["run_id"] == biased["run"]
    assert "group: demographic_parity_ratio" in report["flagged"]


@pytest.mark.parametrize("argv", [["fairness", "--data", "x.csv"], ["fairness", "abc", "--sensitive", "g"]])
def test_incomplete_arguments_say_what_is_needed(argv, capsys, tmp_path) -> None:
    assert main([*argv, "--store", str(tmp_path / "s.db")]) != 0
    assert "give RUN|NAME@V, --data FILE and --sensitive COL" in capsys.readouterr().err


@pytest.mark.slow
def test_the_bundled_example_trains_evaluates_and_flags_the_planted_disparity(tmp_path, capsys) -> None:
    assert main(["fairness", "--example", str(tmp_path / "example"), "--json", "--resamples", "100",
                 "--store", str(tmp_path / "store.db")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {p.name for p in (tmp_path / "example").iterdir()} >= {"credit-train.csv", "credit-eval.csv",
                                                                   "credit-mlp.nfg"}
    assert [a["column"] for a in report["attributes"]] == ["group", "age_band"]
    assert "group: demographic_parity_ratio" in report["flagged"]
    assert report["mitigation"]["constraint"] == "demographic_parity"
    with Store(tmp_path / "store.db") as store:
        assert store.get_artifact(report["run_id"], "fairness.json").size > 0
