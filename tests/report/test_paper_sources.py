"""The paper's sources keep its numbers honest and its pages readable: no number typed by hand
into the prose, figures drawn at the size they are printed with no text under 7 pt, and a
bibliography whose capitals survive BibTeX. (The built PDF's overfull boxes and figure sizes are
checked where the end-to-end test builds it: tests/e2e/test_make_all_pdf.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ftbench.report import figures
from helpers import ROOT

MAIN = ROOT / "paper" / "main.tex"
# What a number typed into the prose looks like: a percentage, a decimal, an angle. Lengths
# (0.9\linewidth) are layout, not results.
HAND_WRITTEN = re.compile(r"\d+(?:\.\d+)?\s*\\%|\b\d+\.\d+\b(?!\\(?:line|text)width)|\^\\circ|°")


def _body(text: str) -> str:
    body = text[text.index("\\begin{document}"):]
    return re.sub(r"(?<!\\)%.*", "", body)  # comments are not printed


def test_the_prose_holds_no_hand_written_percentage_decimal_or_angle():
    found = [m.group() for m in HAND_WRITTEN.finditer(_body(MAIN.read_text()))]
    assert not found, f"numbers typed into paper/main.tex instead of \\ftb{{...}}: {found}"


@pytest.mark.parametrize("text", [r"reached 77.9\% on", r"past 90 \%", "left it at 0.49",
                                  r"by up to $29^\circ$", "29°"])
def test_the_check_catches_each_kind_of_hand_written_number(text):
    body = "\\begin{document}\n" + text
    assert HAND_WRITTEN.search(_body(body)), text
    assert not HAND_WRITTEN.search(_body("\\begin{document}\n% " + text))  # a comment


def test_figures_are_included_at_the_size_they_are_drawn():
    """No width or scale: a figure's fonts print at the size figures.py sets them."""
    templates = sorted((Path(figures.__file__).parent / "templates").glob("*.j2"))
    assert templates, "the report's LaTeX templates moved: point this test at them"
    sources = [MAIN, *templates]
    scaled = [f"{p.name}: {m.group()}" for p in sources
              for m in re.finditer(r"\\includegraphics\[[^\]]*\]", p.read_text())]
    assert not scaled, scaled


def test_the_figure_style_sets_no_text_smaller_than_7_points():
    sizes = {k: v for k, v in figures.STYLE.items() if k.endswith(("size", "fontsize"))}
    assert all(v >= figures.MIN_POINTS >= 7 for v in sizes.values()), sizes


@pytest.mark.slow  # draws every figure of the tiny profile (seconds)
def test_no_text_in_a_drawn_figure_is_smaller_than_7_points(tmp_path, monkeypatch):
    """Every figure the committed tiny results give, as drawn: each visible text in it (titles,
    labels, ticks, legends, annotations, contour labels) at least figures.MIN_POINTS."""
    from matplotlib.text import Text

    from ftbench.config import load_all
    from ftbench.report.render import render_table

    save, drawn, small = figures.save, [], []

    def measure(fig, path):
        drawn.append(path)
        small.extend(f"{path.parent.name}/{path.name}: {t.get_text()!r} {t.get_fontsize()} pt"
                     for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
                     and t.get_fontsize() < figures.MIN_POINTS)
        save(fig, path)

    monkeypatch.setattr(figures, "save", measure)
    for e in load_all(ROOT / "configs", "tiny", check_models=False):
        if e.runs:
            render_table(e, ROOT / "results" / "tiny", tmp_path)
    assert len({p.name for p in drawn}) >= 5, drawn  # every kind of figure the tables draw
    assert not small, small


def test_bibliography_titles_protect_their_capitals():
    """BibTeX lowercases a title's words after the first: a name with capitals inside it
    (PyTorch, CutMix, LoRA) or a word that must stay as written (mixup) needs braces."""
    text = (ROOT / "paper" / "references.bib").read_text()
    bad = []
    for title in re.findall(r"^\s*title\s*=\s*\{(.*)\},?\s*$", text, re.M):
        unbraced = re.sub(r"\{[^{}]*\}", "", title)
        bad += [w for w in re.findall(r"[A-Za-z][A-Za-z-]*", unbraced)
                if re.search(r"[a-z][A-Z]|[A-Z]{2}", w)]
        assert "mixup" not in unbraced, title
    assert not bad, bad
