"""The HTML report: self-contained, inert whatever the store holds, and Chromium really draws its plots."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.reports.html_report import write_html_report
from neuralforge_desktop.core.reports.plots import RUN_COLOURS
from neuralforge_desktop.core.store.sqlite_store import Store
from tests.reports.experiment import EXPERIMENT, HOSTILE_NAME, build_experiment

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


class _Elements(HTMLParser):
    """Every start tag with its attributes, as the browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    build_experiment(folder / "store.db")
    with Store(folder / "store.db") as store:
        return write_html_report(store, EXPERIMENT, folder / "report.html")


def _chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               "--disable-extensions", "--disable-dev-shm-usage", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)


def test_the_report_is_one_file_with_plots_runs_notes_and_graphs(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    parsed = _Elements()
    parsed.feed(text)
    images = [attrs for tag, attrs in parsed.tags if tag == "img"]
    assert len(images) == 2 and all(str(a["src"]).startswith("data:image/png;base64,") for a in images)
    assert {a["alt"] for a in images} == {"train/loss by step", "val/acc by step"}
    # Nothing is fetched: no external URL anywhere, no stylesheet link, no script.
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    assert not [tag for tag, _ in parsed.tags if tag in ("script", "link", "iframe", "object", "embed")]
    assert "baseline" in text and "wide" in text and "<th>lr</th>" in text and "<th>val/acc</th>" in text
    assert text.count('<svg xmlns="http://www.w3.org/2000/svg" class="graph-diagram"') == 2  # two distinct graphs
    assert "<strong>higher</strong>" in text and "<strong>Hypothesis</strong>" in text  # Markdown rendered
    assert "<code>wide</code>" in text


def test_names_and_notes_from_the_store_cannot_inject_markup(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    parsed = _Elements()
    parsed.feed(text)
    assert HOSTILE_NAME not in text and "&lt;script&gt;" in text
    assert not [tag for tag, _ in parsed.tags if tag == "script"]
    assert not [(tag, k) for tag, attrs in parsed.tags for k in attrs if k.startswith("on")]
    assert not [attrs for tag, attrs in parsed.tags if tag == "a" and "javascript" in str(attrs.get("href"))]
    assert "default-src 'none'" in text  # and the page forbids scripts even if one slipped through


@needs_chromium
def test_chromium_runs_nothing_from_the_data(report: Path) -> None:
    dom = _chromium("--virtual-time-budget=2000", "--dump-dom", report.as_uri()).stdout
    assert "<title>Experiment digits-width</title>" in dom
    assert "pwned</title>" not in dom


def _colour_pixels(image: np.ndarray, colour: str, tolerance: int = 40) -> int:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image[..., :3].astype(int) - rgb).sum(axis=-1) < tolerance).sum())


@needs_chromium
def test_chromium_screenshot_shows_the_plotted_curves(report: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri())
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape[:2] == (2000, 1280)
    plots = image[:800]  # the curves come first on the page
    # Each run's curve is drawn in its own colour; a page without the embedded plots has none of them.
    for colour in RUN_COLOURS[:3]:
        assert _colour_pixels(plots, colour) > 400, colour
    # The same page with the images taken out shows no curve: the pixels counted above are the plots'.
    bare = tmp_path / "bare.html"
    text = report.read_text(encoding="utf-8")
    start = text.index('<div class="plots">')
    bare.write_text(text[:start] + text[text.index("</div>", start) + 6:], encoding="utf-8")
    _chromium(f"--screenshot={tmp_path / 'bare.png'}", "--window-size=1280,2000", bare.as_uri())
    bare_top = np.asarray(Image.open(tmp_path / "bare.png").convert("RGB"))[:800]
    assert _colour_pixels(bare_top, RUN_COLOURS[1]) < 50


def test_report_command_writes_html_and_refuses_an_unknown_experiment(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    build_experiment(tmp_path / "store.db")
    out = tmp_path / "r.html"
    assert main(["report", EXPERIMENT, "-o", str(out), "--store", str(tmp_path / "store.db")]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "wrote" in capsys.readouterr().out
    assert main(["report", "no-such", "-o", str(out), "--store", str(tmp_path / "store.db")]) != 0
    assert "no experiment 'no-such'" in capsys.readouterr().err
    assert main(["report", EXPERIMENT, "-o", str(tmp_path / "r.txt"), "--store", str(tmp_path / "store.db")]) == 2
