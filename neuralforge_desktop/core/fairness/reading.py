"""Plain words for a column's figures, and which disparities are flagged.

Flagged (a rule of thumb, stated in the reading): the selection-rate ratio is under 0.8 (the "four-fifths
rule" of US employment guidance) or the equalised odds difference is over 0.1, *and* the bootstrap interval of
that figure lies wholly on the same side, so that noise alone does not raise a flag.
"""

from __future__ import annotations

from typing import Any

FOUR_FIFTHS = 0.8
ODDS_LIMIT = 0.1


def _pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def _ci(ci: Any, confidence: float, fmt: str = "{:.2f}") -> str:
    if not ci:
        return "interval not defined"
    return f"{_pct(confidence)} CI {fmt.format(ci[0])}–{fmt.format(ci[1])}"


def _rate(row: dict[str, Any], name: str) -> float | None:
    cell = row["metrics"][name]
    return cell.get("value")


def flags(report: dict[str, Any]) -> list[str]:
    found = []
    d = report.get("disparities") or {}
    ratio = d.get("demographic_parity_ratio")
    if ratio and ratio["value"] < FOUR_FIFTHS and ratio["ci"] and ratio["ci"][1] < FOUR_FIFTHS:
        found.append("demographic_parity_ratio")
    odds = d.get("equalized_odds_difference")
    if odds and odds["value"] > ODDS_LIMIT and odds["ci"] and odds["ci"][0] > ODDS_LIMIT:
        found.append("equalized_odds_difference")
    return found


def read_attribute(report: dict[str, Any], confidence: float) -> list[str]:
    column = report["column"]
    lines: list[str] = []
    rows = [r for r in report["groups"] if not r["too_few"] and _rate(r, "selection_rate") is not None]
    for row in report["groups"]:
        if row["too_few"]:
            lines.append(f"{column} = {row['group']}: too few examples (n={row['count']}) for stable figures; "
                         f"left out of the disparities.")
    d = report.get("disparities")
    if not d or len(rows) < 2:
        lines.append(f"{column}: fewer than two groups have enough examples to compare.")
        return lines
    high = max(rows, key=lambda r: _rate(r, "selection_rate") or 0.0)
    low = min(rows, key=lambda r: _rate(r, "selection_rate") or 0.0)
    hs, ls = _rate(high, "selection_rate") or 0.0, _rate(low, "selection_rate") or 0.0
    dp, ratio = d["demographic_parity_difference"], d["demographic_parity_ratio"]
    if ls > 0 and hs / ls >= 1.05:
        lines.append(f"The model selects {column} = {low['group']} {hs / ls:.1f}× less often than "
                     f"{column} = {high['group']} ({_pct(ls)} vs {_pct(hs)}; demographic parity difference "
                     f"{dp['value']:.2f}, {_ci(dp['ci'], confidence)}; ratio {ratio['value']:.2f}, "
                     f"{_ci(ratio['ci'], confidence)}).")
    else:
        lines.append(f"The model selects every group of {column} at about the same rate ({_pct(ls)}–{_pct(hs)}; "
                     f"demographic parity difference {dp['value']:.2f}, {_ci(dp['ci'], confidence)}).")
    odds = d["equalized_odds_difference"]
    lines.append(f"Error rates differ by up to {odds['value']:.2f} across the groups of {column} (equalised odds "
                 f"difference: the larger gap in true- or false-positive rate; {_ci(odds['ci'], confidence)}).")
    worst = max(rows, key=lambda r: r.get("calibration", {}).get("ece", 0.0))
    if "calibration" in worst:
        lines.append(f"Calibration is worst for {column} = {worst['group']} (expected calibration error "
                     f"{worst['calibration']['ece']:.3f}).")
    raised = flags(report)
    if "demographic_parity_ratio" in raised:
        lines.append(f"FLAG: the selection-rate ratio is below {FOUR_FIFTHS} (four-fifths rule) even at the top "
                     "of its interval.")
    if "equalized_odds_difference" in raised:
        lines.append(f"FLAG: the equalised odds difference exceeds {ODDS_LIMIT} even at the bottom of its "
                     "interval.")
    if not raised:
        lines.append(f"No disparity is flagged (rule: ratio under {FOUR_FIFTHS} or equalised odds difference "
                     f"over {ODDS_LIMIT}, with the interval on the same side).")
    return lines
