"""The published claims page and the counts and verdicts quoted in the READMEs are what
``normexp claims`` makes of the committed stores: nothing in them was typed or left stale."""

import shutil

import pytest

from normexp.report import claims_page, claims_text, readme_blocks
from normexp.report.tables import markdown
from tests.conftest import ROOT

EXPERIMENTS = ROOT / "experiments"
GENERATED = ("README.md", "experiments/README.md", "docs/claims.md")


@pytest.fixture(scope="module")
def judged():
    return claims_page.judge_folders([EXPERIMENTS])


def test_the_published_page_is_generated_from_the_stores(judged):
    page = claims_page.page_text(judged, EXPERIMENTS, ["experiments"])
    assert page == (EXPERIMENTS / "CLAIMS.md").read_text(encoding="utf-8"), (
        "rebuild: normexp claims experiments --page experiments/CLAIMS.md --readme README.md "
        "--readme experiments/README.md --readme docs/claims.md")


@pytest.mark.parametrize("name", GENERATED)
def test_quoted_counts_and_verdicts_are_generated(judged, name, tmp_path):
    published = ROOT / name
    copy = tmp_path / published.name
    shutil.copy(published, copy)
    page_link = "experiments/CLAIMS.md" if name == "README.md" else (
        "CLAIMS.md" if name.startswith("experiments/") else "../experiments/CLAIMS.md")
    readme_blocks.refresh(copy, claims_page.readme_table(judged, page_link),
                          claims_text.counts(judged), claims_page.readme_values(judged))
    assert copy.read_text(encoding="utf-8") == published.read_text(encoding="utf-8")


def test_every_published_report_shows_the_pages_verdicts(judged):
    for entry in judged:
        report = (entry.folder / "REPORT.md").read_text(encoding="utf-8")
        assert "within-study view" not in report, entry.folder
        cells = claims_text.row(entry)
        line = markdown([""] * len(cells), [cells]).splitlines()[-1]
        assert f"\n{line}\n" in report, (entry.claim["id"], entry.folder)
