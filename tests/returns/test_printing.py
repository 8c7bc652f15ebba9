"""Returns on paper: A4 PDFs printed by LibreOffice repeat the right heading rows, cut no
heading short, print the transactions at 8 pt or more, and leave no title alone at a page's
foot."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta

import pytest

from tests.returns.spreadsheet import needs_libreoffice, to_pdf

PDFTOTEXT = shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(PDFTOTEXT is None, reason="poppler-utils missing")
WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
)
PAGE = re.compile(r"<page width=\"[\d.]+\" height=\"[\d.]+\">(.*?)</page>", re.S)


def pages(pdf) -> list[list[tuple[float, float, float, str]]]:
    """Per page: (x, top, height, text) of every word."""
    xml = subprocess.run(
        [PDFTOTEXT, "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    result = []
    for page in PAGE.findall(xml):
        words = []
        for x, top, _, bottom, word in WORD.findall(page):
            word = word.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
            words.append((float(x), float(top), float(bottom) - float(top), word))
        result.append(words)
    return result


def lines(words) -> list[tuple[float, str]]:
    """Words joined into lines by their top edge."""
    rows: dict[int, list] = {}
    for x, top, _, word in words:
        rows.setdefault(round(top), []).append((x, word))
    return [
        (top, " ".join(w for _, w in sorted(items)))
        for top, items in sorted(rows.items())
    ]


@pytest.fixture
def long_year(hsf_year, create_disbursement, create_young_person):
    """Enough ledger lines for the transactions to run over several pages."""
    both = hsf_year["households"][0]
    for day in range(70):
        create_disbursement(
            hsf_year["grant"],
            "12.34",
            item="Shoes",
            household_id=both,
            awarded_on=date(2023, 6, 1) + timedelta(days=day),
            supplier="Clarks of Southampton",
        )
    return hsf_year


@needs_libreoffice
@needs_poppler
@pytest.mark.parametrize("key", ["hsf", "hsf-dwp", "budget", "activities"])
def test_a4_print_is_legible_and_whole(long_year, build, tmp_path, key):
    built = build(long_year["grant"], key)
    printed = pages(to_pdf(built.workbook, tmp_path, key))
    assert len(printed) >= 4
    # Calibrate word heights against the cover's 14 pt title, printed at 100%.
    cover = next(page for page in printed if lines(page)[0][1] == "Cover")
    title_top = lines(cover)[1][0]
    cover_title = next(w for w in cover if round(w[1]) == title_top)
    points_per_unit = 14 / cover_title[2]
    for number, words in enumerate(printed, start=1):
        body = [w for w in words if not re.fullmatch(r"Page|\d+|of", w[3])]
        smallest = min((w[2] * points_per_unit for w in body), default=99)
        assert smallest >= 7.9, f"{key} page {number} prints at {smallest:.1f} pt"

    text = " ".join(w[3] for page in printed for w in page)
    for table in built.figures.plain["tables"]:
        for heading in table["heading"]:
            for word in heading.split():
                assert word in text, f"{key}: heading word {word!r} cut short"

    # The transactions run over several pages, each starting with their heading row.
    transactions = [
        page for page in printed if page and lines(page)[0][1] == "Transactions"
    ]
    assert len(transactions) >= 2
    for page in transactions:
        first_row = min(w[1] for w in page if re.fullmatch(r"\d\d/\d\d/\d{4}", w[3]))
        heading = {w[3] for w in page if lines(page)[0][0] + 1 < w[1] < first_row}
        assert {"Date", "Ledger", "Beneficiary", "Amount", "Quantity"} <= heading

    # No table's title stands alone at the foot of a page.
    titles = {t["title"] for t in built.figures.plain["tables"]}
    for number, page in enumerate(printed, start=1):
        content = [line for _, line in lines(page) if not line.startswith("Page ")]
        if content:
            assert content[-1] not in titles, f"{key} page {number} ends on a title"
