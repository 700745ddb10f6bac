"""`neuralforge report portfolio`: the HTML carries the spend per project and month summed independently from
spend_rows, the models shipped and the risks; the PDF, rendered by pdftoppm, has the pages it says and is not blank;
an experiment report is still what `report EXPERIMENT` writes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.cards.pdf import pdf_page_count
from neuralforge_desktop.core.reports.portfolio_report import write_portfolio_report
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.budgets import money
from neuralforge_desktop.core.team.demo_data import demo_now
from neuralforge_desktop.core.team.spend import month_of, parse_period, spend_rows, totals_by

pytest.importorskip("matplotlib")
Q4 = parse_period("2026-Q4")


def test_html_report_figures_match_spend_rows(demo_store_path: Path, tmp_path: Path) -> None:
    with Store(demo_store_path) as store:
        path, pages = write_portfolio_report(store, Q4, tmp_path / "q4.html", now=demo_now())
        rows = spend_rows(store, Q4)
    page = path.read_text(encoding="utf-8")
    assert pages == 1 and page.startswith("<!DOCTYPE html>") and "Portfolio report · 2026-Q4" in page
    for total in totals_by(rows, lambda r: r.project):
        assert f"<b>{money(total.cost)}</b>" in page, total.key
        for month in ("2026-10", "2026-11", "2026-12"):
            in_month = sum(r.cost for r in rows if r.project == total.key and month_of(r.when).label == month)
            assert money(in_month) in page
    assert f"<b>{money(sum(r.cost for r in rows))}</b>" in page
    for user in totals_by(rows, lambda r: r.user):
        assert f"<td><b>{user.key}</b></td><td class=\"num\">{user.runs}</td>" in page
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 2  # self-contained: both charts inline
    assert "vision-classifier@1" in page and "query-ranker@1" in page  # shipped in Q4
    for risk in ("gate failed: val/acc 0.847 below 0.880", "input drift PSI 0.41 above 0.25",
                 "fairness flag (fraud-detection)", "passed 100% of its 2026-12 budget"):
        assert risk in page
    assert "http://" not in page and "https://" not in page


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler's pdftoppm")
def test_pdf_report_renders(demo_store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    out = tmp_path / "q4.pdf"
    assert main(["report", "portfolio", "--period", "2026-Q4", "-o", str(out), "--store", str(demo_store_path)]) == 0
    printed = capsys.readouterr().out
    pages = pdf_page_count(out)
    assert f"{pages} pages" in printed and 2 <= pages <= 4
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(out), str(tmp_path / "page")], check=True, timeout=120)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == pages
    first = Image.open(rendered[0]).convert("L")
    dark = sum(first.histogram()[:128])  # pixels darker than mid-grey
    assert dark > 0.02 * first.width * first.height  # a title band, tiles, a table and a chart: far from blank
    assert first.width == pytest.approx(8.27 * 60, abs=2)  # A4


def test_report_command_keeps_experiment_reports(demo_store_path: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exp.html"
    with Store(demo_store_path) as store:
        experiment = store.get_experiment("resnet-baseline", "vision")
    assert main(["report", experiment.id, "-o", str(out), "--store", str(demo_store_path)]) == 0
    assert "Portfolio report" not in out.read_text(encoding="utf-8")
    assert main(["report", experiment.id, "--period", "2026-Q4", "-o", str(out), "--store",
                 str(demo_store_path)]) == 2
    assert "--period is for `neuralforge report portfolio`" in capsys.readouterr().err
    assert main(["report", "portfolio", "--period", "Q4", "-o", str(tmp_path / "x.html"), "--store",
                 str(demo_store_path)]) == 1
    assert "is not one of" in capsys.readouterr().err
