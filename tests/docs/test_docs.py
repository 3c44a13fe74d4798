"""The documentation is what the code and the results say: the figures the pages quote from the
committed CSVs are what `make docs` (ftbench.tools.docfigures) generates from them now,
ARCHITECTURE.md lists every module of the package and no other, and every link between the
pages leads to a page and a heading that exist."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ftbench.errors import UserError
from ftbench.tools.docfigures import REGION, Results, main, pages, render
from helpers import ROOT

PAGES = pages(ROOT)


def test_the_pages_are_found():
    names = {str(p.relative_to(ROOT)) for p in PAGES}
    assert {"README.md", "ARCHITECTURE.md", "docs/robustness.md", "docs/extending.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_generated_figures_are_current(page):
    text = page.read_text(encoding="utf-8")
    assert render(text, Results(ROOT / "results", configs=ROOT / "configs")) == text, (
        f"{page.relative_to(ROOT)} quotes figures the committed results no longer give: "
        "run make docs")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_accuracy_is_typed_by_hand(page):
    """A mean and spread over random seeds changes with a rebuild: only a generated region may
    hold one (and the markers of the hand-checked figures this replaced are gone)."""
    outside = REGION.sub("", page.read_text(encoding="utf-8"))
    assert re.findall(r"\d+\.\d ± \d+\.\d%", outside) == []
    assert re.findall(r"<!-- (?:acc|wall|runs) ", outside) == []


@pytest.fixture
def copy(tmp_path) -> Path:
    """The committed CSVs and configs, in a folder a test may change."""
    shutil.copytree(ROOT / "results" / "tiny", tmp_path / "results" / "tiny",
                    ignore=shutil.ignore_patterns("runs"))
    shutil.copytree(ROOT / "results" / "bench", tmp_path / "results" / "bench")
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    return tmp_path


def test_a_changed_result_changes_the_page(copy):
    """What a rebuild does: a run's accuracy changes, the generated figure follows, and the
    check names the page until `make docs` writes it again."""
    page = copy / "docs" / "page.md"
    page.parent.mkdir()
    quoted = "LoRA: <!-- gen acc vit-lora-food101 vit-lora -->{}<!-- /gen -->\n"
    page.write_text(quoted.format(""), encoding="utf-8")
    args = ["--results", str(copy / "results"), "--root", str(copy)]
    assert main(args) == 0 and main(["--check", *args]) == 0
    before = page.read_text(encoding="utf-8")
    csv = copy / "results" / "tiny" / "vit-lora-food101.csv"
    csv.write_text(re.sub(r",0\.9\d+,", ",0.5,", csv.read_text(), count=1))
    assert main(["--check", *args]) == 1 and page.read_text(encoding="utf-8") == before
    assert main(args) == 0 and page.read_text(encoding="utf-8") != before


@pytest.mark.parametrize("region, message", [
    ("<!-- gen histogram -->x<!-- /gen -->", "unknown generated region 'histogram'"),
    ("<!-- gen acc factorial -->x<!-- /gen -->", "wrong number of arguments"),
    ("<!-- gen acc factorial no-such -->x<!-- /gen -->", "has no configuration 'no-such'"),
])
def test_a_wrong_region_is_one_line(region, message):
    with pytest.raises(UserError, match=message):
        render(region, Results(ROOT / "results", configs=ROOT / "configs"))


def test_architecture_lists_every_module_and_no_other():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("\n## Every module\n", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([\w/]+\.py)` \|", section, flags=re.M))
    package = ROOT / "code" / "ftbench"
    modules = {str(p.relative_to(package)) for p in package.rglob("*.py")}
    assert sorted(modules - listed) == [], "modules ARCHITECTURE.md does not list"
    assert sorted(listed - modules) == [], "ARCHITECTURE.md names modules that do not exist"


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to -."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_between_the_pages_leads_somewhere(page):
    broken = []
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"\w+://", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and anchor not in _anchors(linked)):
            broken.append(target)
    assert broken == []
