"""``neuralforge card`` as a user and a script run it: Markdown to stdout, -o md/html/pdf, --set, --edit with a
real editor process, and ``card check`` exiting 1 with the missing fields listed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core import cards


@pytest.fixture
def nf(registered, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        status = main([*argv, "--store", str(registered["store"])])
        out, err = capsys.readouterr()
        return status, out, err
    return run


def test_card_prints_markdown_and_check_lists_missing_fields(nf):
    status, out, err = nf("card", "mnist@1")
    assert status == 0 and out.startswith("---\n") and "# Model card for mnist@1" in out
    assert "lacks intended_use, limitations, ethical_considerations" in err

    status, out, err = nf("card", "check", "mnist@1")
    assert status == 1 and "lacks required field(s): intended_use, limitations, ethical_considerations" in err
    status, _, err = nf("card", "check", "mnist@1", "--require", "intended_use")
    assert status == 1 and "lacks required field(s): intended_use (" in err

    status, _, _ = nf("card", "mnist@1", "--set", "intended_use=Digits in forms.", "--set",
                      "limitations=Few examples.", "--set", "ethical_considerations=A person reviews misreads.")
    assert status == 0
    status, out, _ = nf("card", "check", "mnist@1")
    assert status == 0 and "is complete" in out


def test_check_takes_the_policy_fields_and_bad_input_is_named(nf, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("checks:\n  model_card:\n    required: [caveats_and_recommendations]\n", encoding="utf-8")
    nf("card", "mnist@1", "--set", "intended_use=x", "--set", "limitations=y", "--set", "ethical_considerations=z")
    status, _, err = nf("card", "check", "mnist@1", "--policy", str(policy))
    assert status == 1 and "caveats_and_recommendations" in err
    status, _, err = nf("card", "mnist@1", "--set", "usage=x")
    assert status != 0 and "unknown model card field 'usage'" in err
    status, _, err = nf("card", "mnist@1", "--set", "no equals sign")
    assert status != 0 and "expected FIELD=TEXT" in err
    status, _, err = nf("card", "mnist@9")
    assert status != 0 and "has no version 9" in err
    status, _, err = nf("card", "mnist@1", "--format", "pdf")
    assert status != 0 and "needs a file" in err


def test_exports_markdown_html_and_pdf(nf, tmp_path):
    nf("card", "mnist@1", "--set", "intended_use=Reading <b>digits</b>.")
    status, _, err = nf("card", "mnist@1", "-o", str(tmp_path / "card.md"))
    markdown = (tmp_path / "card.md").read_text(encoding="utf-8")
    assert status == 0 and "wrote" in err and markdown.startswith("---\n") and "Reading <b>digits</b>." in markdown

    status, _, _ = nf("card", "mnist@1", "-o", str(tmp_path / "card.html"))
    page = (tmp_path / "card.html").read_text(encoding="utf-8")
    assert status == 0 and page.startswith("<!DOCTYPE html>") and "<h1>Model card for mnist@1</h1>" in page
    assert "<table>" in page and "Wilson score 95%" in page
    assert "Reading &lt;b&gt;digits&lt;/b&gt;." in page  # the human text stays text

    status, _, err = nf("card", "mnist@1", "-o", str(tmp_path / "card.pdf"))
    pages = cards.pdf_page_count(tmp_path / "card.pdf")
    assert status == 0 and pages >= 2 and f"PDF, {pages} pages" in err
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", str(tmp_path / "card.pdf"),
                        str(tmp_path / "page")], check=True)
        assert list(tmp_path.glob("page*.png"))


def test_a_file_that_is_not_a_pdf_is_refused(tmp_path):
    fake = tmp_path / "fake.pdf"
    fake.write_text("<html></html>", encoding="utf-8")
    with pytest.raises(Exception, match="not a complete PDF"):
        cards.pdf_page_count(fake)


def test_edit_opens_the_editor_on_the_human_sections_and_saves_them(nf, tmp_path, monkeypatch):
    editor = tmp_path / "editor.py"
    editor.write_text(textwrap.dedent("""\
        import sys
        path = sys.argv[1]
        text = open(path, encoding="utf-8").read()
        assert "## Intended use" in text and "Kept from before." in text
        text = text.replace("## Limitations\\n", "## Limitations\\nOnly 26 validation digits.\\n")
        open(path, "w", encoding="utf-8").write(text)
        """), encoding="utf-8")
    nf("card", "mnist@1", "--set", "intended_use=Kept from before.")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    status, _, err = nf("card", "mnist@1", "--edit", "-o", str(tmp_path / "card.md"))
    assert status == 0, err
    text = (tmp_path / "card.md").read_text(encoding="utf-8")
    assert "## Limitations\n\nOnly 26 validation digits." in text and "Kept from before." in text

    monkeypatch.setenv("EDITOR", f"{sys.executable} -c 'import sys; sys.exit(3)'")
    status, _, err = nf("card", "mnist@1", "--edit")
    assert status == 1 and "editor exited with status 3" in err
